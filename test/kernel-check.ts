// Shared by the kernel tests: seeded inputs, a kernel's outputs and gradients on a given
// backend, and the relative error used to compare them with the `cpu` backend.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../src/lib/random';

/**
 * Relative error of a tensor, max |a - b| / max |b|: float32 sums of hundreds of products
 * in a different order differ by rounding relative to the tensor's scale, not to each
 * element (an element that cancels to near zero has no meaningful relative error).
 */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / Math.max(scale, 1e-30);
}

/** Seeded standard normal values (times `scale`) for a tensor of `shape`. */
export function randn(shape: number[], seed: number, scale = 1): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: shape.reduce((x, y) => x * y, 1) }, () => scale * r.normal());
}

/** Outputs and (unless `withGrads` is false) gradients of sum(f(...)^2) of f on the given backend, as host arrays. */
export async function onBackend(backend: string, f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: { shape: number[]; data: Float32Array }[], withGrads = true): Promise<Float32Array[]> {
  const saved = tf.getBackend();
  await tf.setBackend(backend);
  try {
    return tf.tidy(() => {
      const xs = inputs.map((i) => tf.tensor(i.data, i.shape));
      const y = f(...xs);
      const grads = withGrads ? tf.grads((...a: tf.Tensor[]) => f(...a).square().sum())(xs) : [];
      return [y, ...grads].map((t) => t.dataSync() as Float32Array);
    });
  } finally {
    await tf.setBackend(saved);
  }
}
