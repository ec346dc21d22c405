/** The model zoo: every autoencoder shares the `Autoencoder` interface. */
export * from './autoencoder';
export { AE, type AEConfig } from './ae';
export { type HiddenActivation } from './layers';
export { loadModel as load, saveModel, registerModel, registeredModels, MODEL_FORMAT, type ModelFactory } from './io';
