/**
 * A classifier on an autoencoder's encoder (seed 000 `transfer_learning`): the encoder's
 * code feeds a small head, `Linear(latent, 128) -> ReLU -> Dropout(0.3) -> Linear(128,
 * classes)`. With `frozen` only the head trains (features as they are); without, the encoder
 * is fine-tuned with it.
 */
import * as tf from '@tensorflow/tfjs';
import { checkInteger, checkNumber } from '../errors';
import { Rng } from '../random';
import type { Autoencoder, Initializer } from './autoencoder';
import { applyNet, dense } from './layers';
import { prod } from './autoencoder';

/** Options of `EncoderClassifier`. */
export interface ClassifierConfig {
  /** Number of classes (default 10). */
  classes?: number;
  /** Hidden units of the head (default 128, as the seed). */
  hidden?: number;
  /** Dropout rate in the head (default 0.3, as the seed). */
  dropout?: number;
  /** Train only the head (default true); false fine-tunes the encoder too. */
  frozen?: boolean;
  /** Initialisation of the head (default `pytorch`). */
  init?: Initializer;
  /** Seed of the head's initialisation and dropout (default 1). */
  seed?: number;
}

/** Class scores from an autoencoder's code. The encoder stays owned by its autoencoder. */
export class EncoderClassifier {
  readonly config: Required<ClassifierConfig>;
  readonly head: tf.Sequential;

  constructor(readonly encoder: Autoencoder, config: ClassifierConfig = {}) {
    const c: Required<ClassifierConfig> = { classes: 10, hidden: 128, dropout: 0.3, frozen: true, init: 'pytorch', seed: 1, ...config };
    checkInteger('classes', c.classes, 2);
    checkInteger('hidden', c.hidden, 1);
    checkNumber('dropout', c.dropout, 0, 0.999);
    this.config = c;
    const rng = new Rng(c.seed);
    const latent = prod(encoder.latentShape);
    this.head = tf.sequential({
      name: 'head',
      layers: [
        tf.layers.inputLayer({ inputShape: [latent] }),
        dense(c.hidden, latent, c.init, rng, 'head1'),
        tf.layers.reLU(),
        tf.layers.dropout({ rate: c.dropout, seed: rng.seed() }),
        dense(c.classes, c.hidden, c.init, rng, 'head2'),
      ],
    });
  }

  /**
   * Class logits `[b, classes]` for inputs in the encoder's layout. The encoder runs in
   * inference mode when frozen (batch-norm statistics and dropout as trained).
   */
  logits(x: tf.Tensor, training = false): tf.Tensor2D {
    return tf.tidy(() => {
      const z = this.encoder.encode(x, training && !this.config.frozen);
      return applyNet(this.head, z.reshape([z.shape[0], -1]), training) as tf.Tensor2D;
    });
  }

  /** Predicted class per example, `[b]` int32. */
  predict(x: tf.Tensor): tf.Tensor1D {
    return tf.tidy(() => this.logits(x).argMax(-1) as tf.Tensor1D);
  }

  /** What training updates: the head, plus the encoder unless frozen. */
  get trainableWeights(): tf.Variable[] {
    const head = this.head.trainableWeights.map((w) => w.read() as tf.Variable);
    return this.config.frozen ? head : [...this.encoder.encoderWeights, ...head];
  }

  /** Trainable parameters (head only when frozen). */
  paramCount(): number {
    return this.trainableWeights.reduce((n, w) => n + w.size, 0);
  }

  /** Frees the head (the encoder belongs to its autoencoder). */
  dispose(): void {
    this.head.dispose();
  }
}
