/**
 * Study profiles: how much data and how many epochs. `quick` is a first look (and what CI
 * runs), `standard` the default, `full` the seeds' epoch counts on all the data. `test` is
 * a tiny hidden profile for the project's own tests.
 */
import { ArgumentError } from '../errors';

/** Names of the profiles; `test` is for the project's tests and is not listed in the help. */
export const PROFILE_NAMES = ['quick', 'standard', 'full', 'test'] as const;

/** One of `PROFILE_NAMES`. */
export type ProfileName = (typeof PROFILE_NAMES)[number];

/** Everything a profile fixes. Sizes are numbers of images. */
export interface StudyProfile {
  name: ProfileName;
  /** One line for the report and the progress output. */
  description: string;
  /** Training images of the normal classes (0-8), or `null` for all of them (~54,000). */
  trainSize: number | null;
  /** Test images of all ten classes, or `null` for all 10,000. */
  testSize: number | null;
  /** Training epochs of every model (the stacked model's fine-tuning included). */
  epochs: number;
  /** Epochs of the deep model when it differs (full: seed 000 Part 3's 15). */
  deepEpochs?: number;
  /** Greedy pretraining epochs per block of the stacked model (seed 001: 5). */
  pretrainEpochs: number;
  /** Examples per training step. */
  batchSize: number;
  /** Labelled training images (all ten classes) for the transfer-learning head. */
  labelledSize: number;
  /** Epochs of the transfer-learning head (seed 000: 5). */
  transferEpochs: number;
  /** Normal training images whose errors set the anomaly threshold (at most `trainSize`). */
  thresholdSize: number;
  /** Points of the latent geometry (seed: 2,000) and of its distance subset (seed: 500). */
  geometrySamples: number;
  geometryPairs: number;
  /** Test points clustered with k-means (seed: 5,000) and k-means restarts (seed: 10). */
  clusterPoints: number;
  kmeansRestarts: number;
  /** Points of the latent scatter plot, and how they are projected (t-SNE as the seed, or PCA for speed). */
  projectionPoints: number;
  projection: 'pca' | 'tsne';
  /** Pairs of test images whose interpolations are scored for smoothness. */
  interpolationPairs: number;
}

const BASE = { batchSize: 128, kmeansRestarts: 10, interpolationPairs: 16 };

/** The profiles by name. */
export const PROFILES: Readonly<Record<ProfileName, StudyProfile>> = {
  test: {
    ...BASE,
    name: 'test',
    description: 'tiny run for the test suite: 384 training images, 1 epoch, 300 test images',
    trainSize: 384,
    testSize: 300,
    epochs: 1,
    pretrainEpochs: 1,
    labelledSize: 300,
    transferEpochs: 1,
    thresholdSize: 384,
    geometrySamples: 200,
    geometryPairs: 100,
    clusterPoints: 250,
    kmeansRestarts: 2,
    projectionPoints: 200,
    projection: 'pca',
    interpolationPairs: 4,
  },
  quick: {
    ...BASE,
    name: 'quick',
    description: 'first look: 8,000 training images, 1 epoch, 1,000 test images',
    trainSize: 8000,
    testSize: 1000,
    epochs: 1,
    pretrainEpochs: 1,
    labelledSize: 1000,
    transferEpochs: 10,
    thresholdSize: 1000,
    geometrySamples: 800,
    geometryPairs: 300,
    clusterPoints: 800,
    kmeansRestarts: 4,
    projectionPoints: 800,
    projection: 'pca',
    interpolationPairs: 8,
  },
  standard: {
    ...BASE,
    name: 'standard',
    description: '10,000 training images, 5 epochs, 2,000 test images',
    trainSize: 10000,
    testSize: 2000,
    epochs: 5,
    pretrainEpochs: 1,
    labelledSize: 2000,
    transferEpochs: 10,
    thresholdSize: 2000,
    geometrySamples: 1800,
    geometryPairs: 500,
    clusterPoints: 1800,
    projectionPoints: 1000,
    projection: 'tsne',
  },
  full: {
    ...BASE,
    name: 'full',
    description: "the seeds' epoch counts on all the data: every training image of digits 0-8, 10 epochs (deep: 15; stacked: 5 per block, then 10), all 10,000 test images",
    trainSize: null,
    testSize: null,
    epochs: 10,
    deepEpochs: 15,
    pretrainEpochs: 5,
    labelledSize: 5000,
    transferEpochs: 5,
    thresholdSize: 5000,
    geometrySamples: 2000,
    geometryPairs: 500,
    clusterPoints: 5000,
    projectionPoints: 2000,
    projection: 'tsne',
    interpolationPairs: 32,
  },
};

/** The profile named `name`; an `ArgumentError` naming the choices for anything else. */
export function profile(name: string): StudyProfile {
  if (!(PROFILE_NAMES as readonly string[]).includes(name)) throw new ArgumentError('profile', name, 'quick, standard or full');
  return PROFILES[name as ProfileName];
}
