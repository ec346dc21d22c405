/**
 * Applications of autoencoders (seed 000 Part 6 and Exercises 3-4, seeds 003 and 004):
 * anomaly detection with ROC analysis, the tabular signal-vs-background study, compression
 * with rate-distortion, clustering in latent space, transfer and semi-supervised learning.
 */
export * from './roc';
export * from './anomaly';
export * from './tabular';
export * from './compression';
export * from './clustering';
export * from './transfer';
export * from './semisupervised';
