/**
 * The study's convolutional architecture now lives in the model zoo (`models/conv.ts`,
 * registry name `conv-bottleneck`), registered like every other model when the library
 * loads. These names stay for programs written against earlier versions.
 */
export { ConvBottleneckAutoencoder, type ConvBottleneckConfig } from '../models/conv';

/** Kept for earlier programs: `conv-bottleneck` is registered when `models` loads; nothing to do. */
export function registerStudyModels(): void {}
