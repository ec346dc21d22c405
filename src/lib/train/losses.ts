import * as tf from '@tensorflow/tfjs';
import { ArgumentError } from '../errors';
import type { ForwardOutput } from '../models/autoencoder';
import { bceWithLogits } from '../kernels/native';

/** Reconstruction losses. */
export type LossName = 'bce' | 'mse' | 'mae';
/** `mean` over every element (PyTorch's default) or `sum` over every element (seed 000's BCE). */
export type Reduction = 'mean' | 'sum';

export const LOSSES: readonly LossName[] = ['bce', 'mse', 'mae'];

/**
 * Element-wise reconstruction error `[b, ...]` between `target` and the model output.
 * BCE is computed from the logits when the model gives them (stable, and equal to
 * PyTorch's BCE on sigmoid outputs), else from the probabilities with PyTorch's clamp of
 * log at -100.
 */
export function elementwiseLoss(loss: LossName, target: tf.Tensor, out: Pick<ForwardOutput, 'recon' | 'reconLogits'>): tf.Tensor {
  return tf.tidy(() => {
    const t = target.reshape(out.recon.shape);
    switch (loss) {
      case 'bce': {
        // max(l, 0) - l*t + log(1 + exp(-|l|)): one native kernel each way where it can run.
        if (out.reconLogits) return bceWithLogits(out.reconLogits, t);
        const p = out.recon;
        const logP = tf.maximum(tf.log(p), -100);
        const log1mP = tf.maximum(tf.log(tf.sub(1, p)), -100);
        return tf.neg(t.mul(logP).add(tf.sub(1, t).mul(log1mP)));
      }
      case 'mse':
        return tf.squaredDifference(out.recon, t);
      case 'mae':
        return tf.abs(tf.sub(out.recon, t));
      default:
        throw new ArgumentError('loss', loss, `one of ${LOSSES.join(', ')}`);
    }
  });
}

/** The scalar loss of a batch under `reduction`. */
export function reconstructionLoss(loss: LossName, reduction: Reduction, target: tf.Tensor, out: Pick<ForwardOutput, 'recon' | 'reconLogits'>): tf.Scalar {
  return tf.tidy(() => {
    const e = elementwiseLoss(loss, target, out);
    return reduction === 'sum' ? e.sum() : e.mean();
  });
}

/** Per-example error `[b]`: the element-wise loss averaged over each example's values. */
export function perSampleLoss(loss: LossName, target: tf.Tensor, out: Pick<ForwardOutput, 'recon' | 'reconLogits'>): tf.Tensor1D {
  return tf.tidy(() => {
    const e = elementwiseLoss(loss, target, out);
    return e.reshape([e.shape[0], -1]).mean(1) as tf.Tensor1D;
  });
}
