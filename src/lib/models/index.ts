/** The model zoo: every autoencoder shares the `Autoencoder` interface. */
export * from './autoencoder';
export { AE, type AEConfig } from './ae';
export { type HiddenActivation } from './layers';
