/**
 * aelab: build, train and analyse autoencoders in TypeScript on TensorFlow.js.
 *
 * ```ts
 * import { initBackend, data, models, train, viz } from 'aelab';
 * await initBackend();
 * const { train: trainSet, test } = await data.loadMnist({ trainSize: 5000 });
 * const ae = new models.AE();
 * await train.fit(ae, trainSet, { epochs: 3, loss: 'bce', reduction: 'sum' });
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { queueKernelSends } from './notebook/kernel';

// In a tslab notebook, send the kernel's output messages one at a time (see notebook/kernel.ts).
queueKernelSends();

export { tf };
export * as data from './data';
export * as models from './models';
export * as train from './train';
export * as viz from './viz';
export * as analysis from './analysis';
export * as apps from './apps';
export * as study from './study';
export { initBackend, backendInfo, describeBackend, BACKENDS, type BackendName, type BackendInfo, type InitBackendOptions } from './backend';
export { AelabError, ArgumentError, DataFormatError, BackendError } from './errors';
export { Rng, mixSeed } from './random';
export { writeFileAtomic } from './io';
export { version } from './version';
export { queueKernelSends } from './notebook/kernel';
