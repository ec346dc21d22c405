/**
 * The stacked autoencoder of seed 001 Part 3 (greedy layer-wise pretraining), with the
 * tied-weights option of seed 004 Q5.
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError } from '../errors';
import { Rng } from '../random';
import { Autoencoder, ForwardOutput, Initializer, OutputActivation } from './autoencoder';
import { dense, initializers } from './layers';
import { checkInit } from './mlp';
import { registerModel } from './io';

/** Configuration of `StackedAutoencoder`. */
export interface StackedConfig {
  /** Sizes from the input to the code (default `[784, 512, 256, 128, 32]`, the seed's). */
  layerDims?: number[];
  /**
   * Tie each decoder layer to its encoder layer: the decoder uses the encoder's kernel
   * transposed and owns only its bias (default false).
   */
  tied?: boolean;
  /** Weight initialisation (default `pytorch`). */
  init?: Initializer;
  /** Seed of the weight initialisation (default 1). */
  seed?: number;
}

/**
 * A dense layer whose kernel is another dense layer's kernel, transposed: `y = x W^T + b`
 * where `W` `[units, inDim]` is the encoder layer's `[inDim -> units]` kernel. Only the bias
 * is this layer's own weight, so the pair shares one variable and gradients from both uses
 * add up in it.
 */
export class TiedDense extends tf.layers.Layer {
  static className = 'AelabTiedDense';
  private bias?: tf.LayerVariable;
  private readonly biasInit: ReturnType<typeof tf.initializers.zeros>;

  constructor(
    private readonly source: tf.layers.Layer,
    private readonly units: number,
    biasInit: ReturnType<typeof tf.initializers.zeros>,
    name?: string,
  ) {
    super(name ? { name } : {});
    this.biasInit = biasInit;
  }

  override build(): void {
    this.bias = this.addWeight('bias', [this.units], 'float32', this.biasInit);
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape): tf.Shape {
    return [...inputShape.slice(0, -1), this.units];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const kernel = this.sharedKernel();
      return tf.matMul(x, kernel, false, true).add(this.bias!.read());
    });
  }

  /** The encoder kernel this layer reads, `[units, inDim]` (a variable of the source layer). */
  sharedKernel(): tf.Variable {
    const k = this.source.trainableWeights.find((w) => w.originalName.endsWith('kernel'));
    if (!k) throw new Error(`tied layer ${this.name}: its source layer has no kernel yet`);
    return k.read() as tf.Variable;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), units: this.units };
  }
}

/**
 * A deep fully connected autoencoder built from one small autoencoder per layer pair, so
 * it can be pretrained greedily, block by block (seed 001's `StackedAutoencoder`), and then
 * fine-tuned end to end as one model. Block `i` is `Linear(d[i] -> d[i+1]) -> ReLU ->
 * Linear(d[i+1] -> d[i]) -> (sigmoid if i = 0 else ReLU)`; the full model chains the
 * encoder halves, then the decoder halves in reverse. With `tied: true` each decoder half
 * reuses its encoder half's kernel transposed (seed 004 Q5), almost halving the parameters.
 */
export class StackedAutoencoder extends Autoencoder {
  /** `stacked`, or `stacked-tied` with tied weights. */
  readonly name: string;
  readonly inputShape: number[];
  readonly latentShape: number[];
  readonly outputActivation: OutputActivation = 'sigmoid';
  readonly config: Required<StackedConfig>;
  protected readonly encoderNet: tf.LayersModel;
  protected readonly decoderNet: tf.LayersModel;
  /** Encoder dense layers, input side first. */
  private readonly encLayers: tf.layers.Layer[];
  /** Decoder dense layers by block: `decLayers[i]` maps `d[i+1] -> d[i]`. */
  private readonly decLayers: tf.layers.Layer[];

  constructor(config: StackedConfig = {}) {
    super();
    const c: Required<StackedConfig> = { layerDims: [784, 512, 256, 128, 32], tied: false, init: 'pytorch', seed: 1, ...config };
    const d = c.layerDims;
    if (!Array.isArray(d) || d.length < 2 || d.some((s) => !Number.isInteger(s) || s < 1)) {
      throw new ArgumentError('layerDims', d, 'at least two integers >= 1, input size first');
    }
    checkInit(c.init);
    this.config = c;
    this.name = c.tied ? 'stacked-tied' : 'stacked';
    this.inputShape = [d[0]];
    this.latentShape = [d[d.length - 1]];
    const rng = new Rng(c.seed);
    const blocks = d.length - 1;
    this.encLayers = [];
    this.decLayers = [];
    for (let i = 0; i < blocks; i++) {
      this.encLayers.push(dense(d[i + 1], d[i], c.init, rng, `enc${i + 1}`));
      this.decLayers.push(
        c.tied
          ? new TiedDense(this.encLayers[i], d[i], initializers(c.init, d[i + 1], rng).biasInitializer, `dec${i + 1}_tied`)
          : dense(d[i], d[i + 1], c.init, rng, `dec${i + 1}`),
      );
    }
    const encoder: tf.layers.Layer[] = [tf.layers.inputLayer({ inputShape: [d[0]] })];
    this.encLayers.forEach((l) => encoder.push(l, tf.layers.reLU()));
    this.encoderNet = tf.sequential({ name: 'encoder', layers: encoder });
    const decoder: tf.layers.Layer[] = [tf.layers.inputLayer({ inputShape: [d[blocks]] })];
    for (let i = blocks - 1; i >= 0; i--) {
      decoder.push(this.decLayers[i]);
      if (i > 0) decoder.push(tf.layers.reLU());
    }
    this.decoderNet = tf.sequential({ name: 'decoder', layers: decoder });
  }

  /** Number of blocks (layer pairs) that greedy pretraining trains one after another. */
  get blockCount(): number {
    return this.encLayers.length;
  }

  /**
   * The trainable variables of block `i` alone: its encoder kernel and bias and its
   * decoder's (only the bias when tied).
   */
  blockWeights(i: number): tf.Variable[] {
    this.checkBlock(i);
    return [...this.encLayers[i].trainableWeights, ...this.decLayers[i].trainableWeights].map((w) => w.read() as tf.Variable);
  }

  /**
   * The input of block `i`: `x` through the (already trained) encoder blocks before it,
   * `[b, d[i]]`. Training block `i` asks only for `blockWeights(i)`'s gradients, so the
   * earlier blocks stay fixed without a stop-gradient.
   */
  blockInput(x: tf.Tensor, i: number): tf.Tensor {
    this.checkBlock(i);
    return tf.tidy(() => {
      let h = this.adaptInput(x);
      for (let j = 0; j < i; j++) h = tf.relu(this.encLayers[j].apply(h) as tf.Tensor);
      return h;
    });
  }

  /**
   * Block `i` as a small autoencoder of its own input (seed 001's `pretrain_layer`): the
   * reconstruction of `blockInput(x, i)` and that input as the `target`. Block 0 ends in a
   * sigmoid (pixels), deeper blocks in a ReLU (hidden activations), as in the seed.
   */
  blockForward(x: tf.Tensor, i: number): ForwardOutput {
    return tf.tidy(() => {
      const target = this.blockInput(x, i);
      const latent = tf.relu(this.encLayers[i].apply(target) as tf.Tensor);
      const logits = this.decLayers[i].apply(latent) as tf.Tensor;
      return i === 0 ? { recon: tf.sigmoid(logits), reconLogits: logits, latent, target } : { recon: tf.relu(logits), latent, target };
    });
  }

  private checkBlock(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.encLayers.length) throw new ArgumentError('block', i, `an integer from 0 to ${this.encLayers.length - 1}`);
  }
}

registerModel('stacked', (config) => new StackedAutoencoder(config as StackedConfig));
registerModel('stacked-tied', (config) => new StackedAutoencoder({ tied: true, ...(config as StackedConfig) }));
