import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { onBackend, randn, relErr } from './kernel-check';

describe('registered wasm kernels agree with the cpu backend (forward and gradient)', () => {
  const cases: { name: string; shapes: number[][]; f: (...xs: tf.Tensor[]) => tf.Tensor }[] = [
    { name: 'matMul', shapes: [[64, 784], [784, 40]], f: (a, b) => tf.matMul(a, b) },
    { name: 'matMul transposeA', shapes: [[64, 78], [64, 40]], f: (a, b) => tf.matMul(a, b, true, false) },
    { name: 'matMul transposeB', shapes: [[64, 78], [40, 78]], f: (a, b) => tf.matMul(a, b, false, true) },
    { name: 'matMul both transposed', shapes: [[78, 64], [40, 78]], f: (a, b) => tf.matMul(a, b, true, true) },
    { name: 'batched matMul transposeB', shapes: [[3, 16, 20], [3, 12, 20]], f: (a, b) => tf.matMul(a, b, false, true) },
    {
      name: 'fused matMul + bias + relu, transposeB',
      shapes: [[32, 50], [20, 50], [20]],
      f: (a, b, bias) => tf.fused.matMul({ a, b, bias, transposeB: true, activation: 'relu' }),
    },
    { name: 'dense layer (fused) with sigmoid', shapes: [[32, 50], [50, 20], [20]], f: (a, w, bias) => tf.fused.matMul({ a, b: w, bias, activation: 'sigmoid' }) },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      assert.equal(tf.getBackend(), 'wasm');
      const inputs = c.shapes.map((shape, i) => ({ shape, data: randn(shape, 17 + i) }));
      const wasm = await onBackend('wasm', c.f, inputs);
      const cpu = await onBackend('cpu', c.f, inputs);
      assert.equal(wasm.length, cpu.length);
      for (let i = 0; i < wasm.length; i++) {
        const e = relErr(wasm[i], cpu[i]);
        assert.ok(e <= 1e-4, `${i === 0 ? 'output' : `gradient ${i}`}: relative error ${e}`);
      }
    });
  }
});
