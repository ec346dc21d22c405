/**
 * Greedy layer-wise pretraining (seed 001 Part 3, the 2006-2012 recipe): train the stacked
 * autoencoder's first block to reconstruct the input, freeze it, train the second block to
 * reconstruct the first block's code, and so on; then fine-tune the whole stack end to end.
 * Each stage is an ordinary `fit` run, so every option of the loop applies.
 */
import type * as tf from '@tensorflow/tfjs';
import { checkInteger } from '../errors';
import type { Dataset } from '../data/dataset';
import type { Autoencoder, ForwardOutput } from '../models/autoencoder';
import type { StackedAutoencoder } from '../models/stacked';
import { FitOptions, History, fit } from './fit';

/** Options of `greedyPretrain`. */
export interface PretrainOptions extends Omit<FitOptions, 'epochs' | 'checkpointDir' | 'snapshots' | 'earlyStopping'> {
  /** Epochs per block (default 5, as the seed's `pretrain_layer`). */
  epochsPerLayer?: number;
  /** Called before each block is trained, with its index from 0. */
  onLayer?: (block: number, blocks: number) => void;
}

/**
 * Pretrains the blocks of `model` one after another, each against its own input (the
 * input image for block 0, the previous blocks' code after that), with MSE by default as
 * the seed does. Returns one history per block; `fit(model, ...)` afterwards fine-tunes the
 * whole stack.
 */
export async function greedyPretrain(model: StackedAutoencoder, trainSet: Dataset, options: PretrainOptions = {}): Promise<History[]> {
  const { epochsPerLayer = 5, onLayer, ...fitOptions } = options;
  checkInteger('epochsPerLayer', epochsPerLayer, 1);
  const histories: History[] = [];
  for (let i = 0; i < model.blockCount; i++) {
    onLayer?.(i, model.blockCount);
    // `fit` needs only the forward pass and the variables to train of what it trains.
    const block = {
      name: `${model.name}-block${i + 1}`,
      inputShape: model.inputShape,
      latentShape: [model.config.layerDims[i + 1]],
      forward: (x: tf.Tensor, training = false): ForwardOutput => model.blockForward(x, i),
      get trainableWeights(): tf.Variable[] {
        return model.blockWeights(i);
      },
      weights: [],
    } as unknown as Autoencoder;
    histories.push(await fit(block, trainSet, { loss: 'mse', ...fitOptions, epochs: epochsPerLayer }));
  }
  return histories;
}
