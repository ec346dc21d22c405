/**
 * Sparse autoencoders (seed 000 Exercises 2 and 6): a fully connected autoencoder whose
 * code is pushed towards few active units by a penalty the model adds to its loss.
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError, checkNumber } from '../errors';
import { ForwardOutput } from './autoencoder';
import { MLPAutoencoder, MLPConfig } from './mlp';
import { registerModel } from './io';

/** Which sparsity penalty: L1 on the code, or KL divergence from a target activation rate. */
export type SparsityPenalty = 'l1' | 'kl';

/** Configuration of `SparseAutoencoder` (plus any `MLPConfig` field). */
export interface SparseConfig extends MLPConfig {
  /** `l1` (default): `weight * sum_j |z_j|` per example, on a ReLU code. `kl`: `weight * sum_j KL(target || mean_batch(z_j))` on a sigmoid code. */
  sparsity?: SparsityPenalty;
  /** Penalty weight: lambda for L1 (default 0.01), beta for KL (default 3). */
  sparsityWeight?: number;
  /** KL only: target mean activation rho of each code unit, in (0, 1) (default 0.05). */
  sparsityTarget?: number;
}

/**
 * A fully connected autoencoder (default 784-256-64, overcomplete-friendly) with a sparsity
 * penalty on its code. `forward` returns the penalty as `penalty` (mean per example), which
 * the trainer adds to the reconstruction loss.
 */
export class SparseAutoencoder extends MLPAutoencoder {
  override readonly name = 'sparse';
  declare readonly config: Required<SparseConfig>;

  constructor(config: SparseConfig = {}) {
    const sparsity = config.sparsity ?? 'l1';
    if (sparsity !== 'l1' && sparsity !== 'kl') throw new ArgumentError('sparsity', sparsity, 'l1 or kl');
    const weight = checkNumber('sparsityWeight', config.sparsityWeight ?? (sparsity === 'l1' ? 0.01 : 3), 0);
    const target = checkNumber('sparsityTarget', config.sparsityTarget ?? 0.05, 1e-6, 1 - 1e-6);
    const { sparsity: _s, sparsityWeight: _w, sparsityTarget: _t, ...mlp } = config;
    super(mlp, { hidden: [256], latentDim: 64, latentActivation: sparsity === 'l1' ? 'relu' : 'sigmoid' });
    Object.assign(this.config, { sparsity, sparsityWeight: weight, sparsityTarget: target });
  }

  override forward(x: tf.Tensor, training = false): ForwardOutput {
    return tf.tidy(() => {
      const out = super.forward(x, training);
      return { ...out, penalty: this.penalty(out.latent) };
    });
  }

  /**
   * The sparsity penalty of a batch of codes `[b, latentDim]`, a scalar per example.
   * KL uses the batch's mean activation of each unit, clipped to (1e-6, 1 - 1e-6).
   */
  penalty(z: tf.Tensor): tf.Scalar {
    const { sparsity, sparsityWeight: w, sparsityTarget: rho } = this.config;
    return tf.tidy(() => {
      if (sparsity === 'l1') return tf.abs(z).sum(1).mean().mul(w) as tf.Scalar;
      const rhoHat = tf.clipByValue(z.mean(0), 1e-6, 1 - 1e-6);
      const kl = tf.add(
        tf.mul(rho, tf.log(tf.div(rho, rhoHat))),
        tf.mul(1 - rho, tf.log(tf.div(1 - rho, tf.sub(1, rhoHat)))),
      );
      return kl.sum().mul(w) as tf.Scalar;
    });
  }
}

registerModel('sparse', (config) => new SparseAutoencoder(config as SparseConfig));
