/** The model zoo: every autoencoder shares the `Autoencoder` interface. */
export * from './autoencoder';
export { MLPAutoencoder, SimpleAutoencoder, FlexibleAutoencoder, DeepAutoencoder, TabularAutoencoder, HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS, type MLPConfig } from './mlp';
export { AE, type AEConfig } from './ae';
export { ConvAutoencoderBase, ConvAutoencoder, DeepConvAutoencoder, StridedConvAutoencoder, ConvBottleneckAutoencoder, type ConvAutoencoderConfig, type DeepConvAutoencoderConfig, type StridedConvAutoencoderConfig, type ConvBottleneckConfig, type DownsampleMode, type UpsampleMode } from './conv';
export { StackedAutoencoder, TiedDense, type StackedConfig } from './stacked';
export { SparseAutoencoder, type SparseConfig, type SparsityPenalty } from './sparse';
export { VAE, ConvVAE, VariationalAutoencoder, type VAEConfig, type ConvVAEConfig, type VAEForwardOutput } from './vae';
export { EncoderClassifier, type ClassifierConfig } from './classifier';
export { GAN, type GANConfig } from './gan';
export { type HiddenActivation } from './layers';
export { loadModel as load, saveModel, registerModel, registeredModels, createModel, MODEL_FORMAT, type ModelFactory } from './io';
export { SaveError, loadWeights, readWeights } from './io';
