import * as tf from '@tensorflow/tfjs';
import { ArgumentError } from '../errors';
import { saveModel } from './io';
import { applyNet } from './layers';

/** What a forward pass returns: the model owns its loss terms (pythae style). */
export interface ForwardOutput {
  /** Reconstruction, in the model's input layout (e.g. `[b, 784]` or `[b, 28, 28, 1]`), in the output activation's range. */
  recon: tf.Tensor;
  /** Pre-activation of the reconstruction when the output activation is a sigmoid (for a stable BCE). */
  reconLogits?: tf.Tensor;
  /** Latent code `[b, ...latentShape]`. */
  latent: tf.Tensor;
  /**
   * Extra loss term the model adds to the reconstruction loss (sparsity penalty, VAE KL):
   * a scalar, the batch's mean per example. The trainer weighs it like the reconstruction
   * loss: multiplied by the batch size under `sum` reduction, divided by the values per
   * example under `mean`, so the balance between the two terms does not depend on the
   * reduction.
   */
  penalty?: tf.Scalar;
  /**
   * What `recon` is compared with when that is not the model's input (greedy pretraining
   * reconstructs a hidden layer); absent for ordinary autoencoders.
   */
  target?: tf.Tensor;
}

/** Output activations of a decoder. */
export type OutputActivation = 'sigmoid' | 'tanh' | 'none';

/** Weight initialisation: PyTorch's `nn.Linear`/`nn.Conv2d` default, Xavier/Glorot or He. */
export type Initializer = 'pytorch' | 'glorot' | 'he';

/**
 * The interface every aelab autoencoder shares. Subclasses build `encoderNet` and
 * `decoderNet` (tfjs layers models); this class adapts input layouts, applies the output
 * activation and counts parameters, so the trainer never needs to know the architecture.
 */
export abstract class Autoencoder {
  /** Architecture name, e.g. `ae`, as `aelab models` lists it. */
  abstract readonly name: string;
  /** Shape of one input example, e.g. `[784]` or `[28, 28, 1]`. */
  abstract readonly inputShape: number[];
  /** Shape of one latent code, e.g. `[20]` or `[3, 3, 64]`. */
  abstract readonly latentShape: number[];
  /** Activation applied to the decoder network's output. */
  abstract readonly outputActivation: OutputActivation;
  /** Maps an input batch to the latent code. */
  protected abstract readonly encoderNet: tf.LayersModel;
  /** Maps a latent batch to the reconstruction's pre-activation. */
  protected abstract readonly decoderNet: tf.LayersModel;
  /** JSON-serialisable configuration: exactly what is needed to rebuild the architecture. */
  abstract readonly config: Record<string, unknown>;

  /**
   * Encodes a batch.
   * @param x `[b, ...inputShape]`, or the same examples in another layout of equal size
   *   (`[b, 28, 28, 1]` for a model that takes `[784]`, and vice versa)
   * @returns latent codes `[b, ...latentShape]`
   */
  encode(x: tf.Tensor, training = false): tf.Tensor {
    return tf.tidy(() => applyNet(this.encoderNet, this.adaptInput(x), training));
  }

  /**
   * Decodes a batch of latent codes.
   * @param z `[b, ...latentShape]` (a flat `[b, prod(latentShape)]` is reshaped)
   * @returns reconstructions `[b, ...inputShape]`
   */
  decode(z: tf.Tensor, training = false): tf.Tensor {
    return tf.tidy(() => this.activate(this.decodeLogits(z, training)));
  }

  /** Full pass: reconstruction, latent code and any extra loss term. */
  forward(x: tf.Tensor, training = false): ForwardOutput {
    return tf.tidy(() => {
      const latent = this.encode(x, training);
      const reconLogits = this.decodeLogits(latent, training);
      const recon = this.activate(reconLogits);
      return this.outputActivation === 'sigmoid' ? { recon, reconLogits, latent } : { recon, latent };
    });
  }

  /**
   * Decodes `n` latent codes drawn from a standard normal (seeded): samples from the prior
   * for a VAE, and for a plain autoencoder the seed 000 check of what random codes decode to.
   * @returns `[n, ...inputShape]`
   */
  sample(n: number, seed = 1): tf.Tensor {
    return tf.tidy(() => this.decode(tf.randomNormal([n, ...this.latentShape], 0, 1, 'float32', seed)));
  }

  /** The trainable variables, in a stable order (encoder first). */
  get trainableWeights(): tf.Variable[] {
    return [...this.encoderNet.trainableWeights, ...this.decoderNet.trainableWeights].map((w) => w.read() as tf.Variable);
  }

  /** The encoder's trainable variables alone (what a classifier on the encoder fine-tunes). */
  get encoderWeights(): tf.Variable[] {
    return this.encoderNet.trainableWeights.map((w) => w.read() as tf.Variable);
  }

  /** Every weight (trainable and not, e.g. batch-norm statistics), encoder first. */
  get weights(): tf.LayerVariable[] {
    return [...this.encoderNet.weights, ...this.decoderNet.weights];
  }

  /** Number of trainable parameters, counted as PyTorch counts `model.parameters()`. */
  paramCount(): number {
    return this.trainableWeights.reduce((n, w) => n + w.size, 0);
  }

  /** Input size over latent size (e.g. 784 / 20 = 39.2). */
  get compressionRatio(): number {
    return prod(this.inputShape) / prod(this.latentShape);
  }

  /** A printable summary: layers, output shapes and parameter counts of both halves. */
  summary(): string {
    const lines: string[] = [`${this.name}: input [${this.inputShape}] -> latent [${this.latentShape}], ${this.paramCount().toLocaleString('en-US')} parameters`];
    for (const [part, net] of [['encoder', this.encoderNet], ['decoder', this.decoderNet]] as const) {
      lines.push(`  ${part}:`);
      for (const layer of net.layers) {
        if (layer.getClassName() === 'InputLayer') continue;
        const out = JSON.stringify(layer.outputShape).replace(/null/g, 'b');
        // Trainable only, as PyTorch counts (batch-norm running statistics are not parameters).
        const params = layer.trainableWeights.reduce((n, w) => n + w.read().size, 0);
        lines.push(`    ${layer.name.padEnd(24)} ${out.padEnd(20)} ${params.toLocaleString('en-US')}`);
      }
    }
    return lines.join('\n');
  }

  /**
   * Saves the architecture config and every weight into `dir` (`model.json`,
   * `weights.bin`); `models.load(dir)` rebuilds the model. The previous save in `dir`
   * survives an interrupted save.
   */
  save(dir: string): Promise<void> {
    return saveModel(this, dir);
  }

  /** Frees the model's weights. */
  dispose(): void {
    this.encoderNet.dispose();
    this.decoderNet.dispose();
  }

  /** Pre-activation output of the decoder, `[b, ...inputShape]`. */
  protected decodeLogits(z: tf.Tensor, training: boolean): tf.Tensor {
    const zz = z.shape.length === 2 && this.latentShape.length > 1 ? z.reshape([-1, ...this.latentShape]) : z;
    return applyNet(this.decoderNet, zz, training);
  }

  protected activate(logits: tf.Tensor): tf.Tensor {
    switch (this.outputActivation) {
      case 'sigmoid':
        return tf.sigmoid(logits);
      case 'tanh':
        return tf.tanh(logits);
      default:
        return logits;
    }
  }

  /** Reshapes a batch to `[b, ...inputShape]` when it holds the same number of values per example. */
  protected adaptInput(x: tf.Tensor): tf.Tensor {
    const want = this.inputShape;
    const got = x.shape.slice(1);
    if (got.length === want.length && got.every((d, i) => d === want[i])) return x;
    if (x.rank >= 2 && prod(got) === prod(want)) return x.reshape([x.shape[0], ...want]);
    throw new ArgumentError('x', x, `a batch of shape [b, ${want.join(', ')}] (or the same ${prod(want)} values per example in another layout)`);
  }
}

/** Product of the entries of a shape. */
export function prod(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
