import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../src/lib/data/mnist';
import { Dataset, disposeDataset } from '../src/lib/data/dataset';
import { ArgumentError } from '../src/lib/errors';
import { AE } from '../src/lib/models/ae';
import { evaluateLoss, fit } from '../src/lib/train/fit';
import { OPTIMIZERS, OptimizerName, Rprop, TorchAdagrad, TorchRMSprop, getLearningRate, makeOptimizer, setLearningRate } from '../src/lib/train/optimizers';

// A separable quadratic f(w) = sum_i a_i (w_i - c_i)^2 / 2, gradient a_i (w_i - c_i).
const A = [1, 2, 0.5, 3];
const C = [1, -2, 0.37, 0];
const grad = (w: number[]) => w.map((wi, i) => A[i] * (wi - C[i]));
const lossOf = (w: tf.Variable) => () => tf.tidy(() => tf.sum(tf.mul(tf.tensor1d(A), tf.square(tf.sub(w, tf.tensor1d(C))))).div(2) as tf.Scalar);

/** torch.optim.Rprop's rule (PyTorch 2.x `_single_tensor_rprop`), in float64, written from the published algorithm. */
function rpropByHand(w0: number[], lr: number, steps: number, etas = [0.5, 1.2], sizes = [1e-6, 50]) {
  const w = [...w0];
  const prev = w.map(() => 0);
  const step = w.map(() => lr);
  const trajectory: number[][] = [];
  let flips = 0;
  for (let t = 0; t < steps; t++) {
    const g = grad(w);
    for (let i = 0; i < w.length; i++) {
      const s = Math.sign(g[i] * prev[i]);
      const factor = s > 0 ? etas[1] : s < 0 ? etas[0] : 1;
      step[i] = Math.min(Math.max(step[i] * factor, sizes[0]), sizes[1]);
      const effective = s < 0 ? 0 : g[i];
      if (s < 0) flips++;
      w[i] -= Math.sign(effective) * step[i];
      prev[i] = effective;
    }
    trajectory.push([...w]);
  }
  return { trajectory, flips };
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string) {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol * Math.max(1, Math.abs(expected[i])), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

describe('optimizers', () => {
  it('Rprop follows the published update rule step by step, sign flips and clamping included', () => {
    for (const [lr, sizes] of [
      [0.4, [1e-6, 50]],
      [0.3, [0.05, 0.5]], // the max step 0.5 is reached and the min 0.05 after repeated flips
    ] as const) {
      const { trajectory, flips } = rpropByHand([0, 0, 0, 0], lr, 12, [0.5, 1.2], [...sizes]);
      assert.ok(flips >= 2, `the problem must make the gradient sign flip (got ${flips} flips)`);
      // Never within float32 rounding of a minimum, where the sign of the gradient would be noise.
      for (const w of trajectory) w.forEach((wi, i) => assert.ok(C[i] === 0 || Math.abs(wi - C[i]) > 1e-4, `w[${i}] = ${wi} too close to ${C[i]}`));
      const w = tf.variable(tf.zeros([4]));
      const opt = new Rprop(lr, { stepSizes: [sizes[0], sizes[1]] });
      for (const expected of trajectory) {
        opt.minimize(lossOf(w), false, [w]);
        assertClose(w.dataSync(), expected, 1e-5, `lr ${lr} step`);
      }
      opt.dispose();
      w.dispose();
    }
  });

  it('RMSprop and Adagrad follow PyTorch’s update rules, not tfjs’s', () => {
    // RMSprop, centred with momentum, and plain; Adagrad with lr decay: 5 steps each, by hand in float64.
    const cases: { make: () => tf.Optimizer; step: (w: number[], g: number[], s: Record<string, number[]>, t: number) => void }[] = [
      {
        make: () => new TorchRMSprop(0.01, { alpha: 0.9, momentum: 0.5, centered: true }),
        step: (w, g, s) => {
          for (let i = 0; i < w.length; i++) {
            s.v[i] = 0.9 * s.v[i] + 0.1 * g[i] * g[i];
            s.ga[i] = 0.9 * s.ga[i] + 0.1 * g[i];
            const avg = Math.sqrt(s.v[i] - s.ga[i] * s.ga[i]) + 1e-8;
            s.buf[i] = 0.5 * s.buf[i] + g[i] / avg;
            w[i] -= 0.01 * s.buf[i];
          }
        },
      },
      {
        make: () => makeOptimizer('rmsprop', 0.01),
        step: (w, g, s) => {
          for (let i = 0; i < w.length; i++) {
            s.v[i] = 0.99 * s.v[i] + 0.01 * g[i] * g[i];
            w[i] -= (0.01 * g[i]) / (Math.sqrt(s.v[i]) + 1e-8);
          }
        },
      },
      {
        make: () => new TorchAdagrad(0.1, { lrDecay: 0.1 }),
        step: (w, g, s, t) => {
          const clr = 0.1 / (1 + t * 0.1);
          for (let i = 0; i < w.length; i++) {
            s.sum[i] += g[i] * g[i];
            w[i] -= (clr * g[i]) / (Math.sqrt(s.sum[i]) + 1e-10);
          }
        },
      },
    ];
    for (const c of cases) {
      const w = tf.variable(tf.tensor1d([0.5, 0.5, 0.5, 0.5]));
      const ref = [0.5, 0.5, 0.5, 0.5];
      const state = { v: [0, 0, 0, 0], ga: [0, 0, 0, 0], buf: [0, 0, 0, 0], sum: [0, 0, 0, 0] };
      const opt = c.make();
      for (let t = 0; t < 5; t++) {
        c.step(ref, grad(ref), state, t);
        opt.minimize(lossOf(w), false, [w]);
        assertClose(w.dataSync(), ref, 1e-5, `${opt.getClassName()} step ${t + 1}`);
      }
      opt.dispose();
      w.dispose();
    }
  });

  it('gives the trajectories PyTorch 1.13 prints for the same problem', () => {
    // Printed by Debian's python3-torch 1.13.1 on this machine (w.tolist() after each
    // opt.step() on the quadratic above, 7 significant digits): torch.optim.Rprop(lr=0.4) from
    // 0, RMSprop(lr=0.01, alpha=0.9, momentum=0.5, centered=True), Adagrad(lr=0.1,
    // lr_decay=0.1) and Adam(lr=0.01) from 0.5.
    const torch: [() => tf.Optimizer, number, number[][]][] = [
      [() => new Rprop(0.4), 0, [[0.4, -0.4, 0.4, 0.0], [0.88, -0.88, 0.4, 0.0], [1.456, -1.456, 0.2, 0.0], [1.456, -2.1472, 0.2, 0.0], [1.168, -2.1472, 0.3, 0.0], [0.8224001, -1.8016, 0.42, 0.0], [0.8224001, -1.8016, 0.42, 0.0], [0.9952001, -1.9744, 0.36, 0.0], [1.20256, -2.18176, 0.36, 0.0], [1.20256, -2.18176, 0.39, 0.0], [1.09888, -2.07808, 0.39, 0.0], [0.9744642, -1.953664, 0.375, 0.0]]],
      [() => new TorchRMSprop(0.01, { alpha: 0.9, momentum: 0.5, centered: true }), 0.5, [[0.5333333, 0.4666667, 0.4666667, 0.4666667], [0.5746382, 0.4246722, 0.4283788, 0.4253617], [0.6159703, 0.3815123, 0.3959198, 0.3840297], [0.6549202, 0.3393729, 0.3734589, 0.3450797], [0.6910179, 0.2986047, 0.3613635, 0.308982]]],
      [() => new TorchAdagrad(0.1, { lrDecay: 0.1 }), 0.5, [[0.6, 0.4, 0.4, 0.4], [0.6567905, 0.3370426, 0.3795582, 0.3432095], [0.6961588, 0.29045, 0.3736033, 0.3038413], [0.7258391, 0.2534848, 0.3715318, 0.274161], [0.7493245, 0.2229542, 0.3707142, 0.2506755]]],
      [() => makeOptimizer('adam', 0.01), 0.5, [[0.51, 0.49, 0.49, 0.49], [0.5199942, 0.4800011, 0.4800288, 0.4800058], [0.5299786, 0.4700039, 0.4701095, 0.4700213], [0.5399492, 0.4600092, 0.4602682, 0.4600508], [0.5499017, 0.4500178, 0.4505347, 0.4500983]]],
    ];
    for (const [make, w0, trajectory] of torch) {
      const w = tf.variable(tf.fill([4], w0));
      const opt = make();
      trajectory.forEach((expected, t) => {
        opt.minimize(lossOf(w), false, [w]);
        assertClose(w.dataSync(), expected, 2e-6, `${opt.getClassName()} step ${t + 1}`);
      });
      opt.dispose();
      w.dispose();
    }
  });

  it('Rprop is a serialisable tf.Optimizer whose saved state continues the same trajectory', async () => {
    assert.ok(new Rprop(0.1) instanceof tf.Optimizer);
    const w = tf.variable(tf.zeros([4]));
    const a = new Rprop(0.4);
    for (let i = 0; i < 3; i++) a.minimize(lossOf(w), false, [w]);
    const cls = tf.serialization.SerializationMap.getMap().classNameMap['Rprop'];
    assert.ok(cls, 'Rprop is registered with tf.serialization');
    const b = cls[1](cls[0], a.getConfig()) as unknown as Rprop;
    const saved = await a.getWeights();
    assert.equal(saved.length, 1 + 2); // iterations, prev, stepSize
    await b.setWeights(saved.map((s) => ({ name: s.name, tensor: tf.clone(s.tensor) })));
    tf.dispose(saved[0].tensor);
    const w2 = tf.variable(w.clone());
    for (let i = 0; i < 4; i++) {
      a.minimize(lossOf(w), false, [w]);
      b.minimize(lossOf(w2), false, [w2]);
      assert.deepEqual(Array.from(w2.dataSync()), Array.from(w.dataSync()));
    }
    assert.equal(b.iterations, 7);
    tf.dispose([w, w2]);
    a.dispose();
    b.dispose();
  });

  it('setLearningRate takes effect on the next step of every optimizer', () => {
    // Two identical runs; after one step, run B's rate is cut to a tenth: its second step must be a
    // tenth of run A's (every rule here is linear in the rate; Rprop's step sizes are rescaled).
    // tfjs's own optimizers are included: setLearningRate works on any of them.
    const candidates: [string, number, (lr: number) => tf.Optimizer][] = [
      ...OPTIMIZERS.map((name): [string, number, (lr: number) => tf.Optimizer] => [name, name === 'sgd' || name === 'momentum' ? 0.05 : 0.01, (lr) => makeOptimizer(name, lr)]),
      ['tf.train.rmsprop', 0.01, (lr) => tf.train.rmsprop(lr)],
      ['tf.train.adagrad', 0.01, (lr) => tf.train.adagrad(lr)],
      ['tf.train.adamax', 0.01, (lr) => tf.train.adamax(lr)],
      ['tf.train.adadelta', 10, (lr) => tf.train.adadelta(lr)],
    ];
    for (const [name, lr, make] of candidates) {
      const run = (cut: boolean) => {
        const w = tf.variable(tf.tensor1d([0.5, -0.5, 2, 1]));
        const opt = make(lr);
        opt.minimize(lossOf(w), false, [w]);
        const before = Array.from(w.dataSync());
        if (cut) {
          setLearningRate(opt, lr / 10);
          assert.equal(getLearningRate(opt), lr / 10, name);
        } else {
          assert.equal(getLearningRate(opt), lr, name);
        }
        opt.minimize(lossOf(w), false, [w]);
        const delta = Array.from(w.dataSync()).map((v, i) => v - before[i]);
        opt.dispose();
        w.dispose();
        return delta;
      };
      const full = run(false);
      const cut = run(true);
      assert.ok(full.some((d) => Math.abs(d) > 1e-3), `${name} moved: ${full}`);
      full.forEach((d, i) => assert.ok(Math.abs(cut[i] - d / 10) <= 1e-3 * Math.abs(d) + 1e-7, `${name}[${i}]: ${cut[i]} vs ${d / 10}`));
    }
  });

  it('rejects unknown names and bad settings with an ArgumentError naming them', () => {
    assert.throws(() => makeOptimizer('adamw' as OptimizerName, 1e-3), (e: unknown) => e instanceof ArgumentError && /optimizer must be one of adam, sgd/.test(e.message));
    assert.throws(() => makeOptimizer('adam', -1), (e: unknown) => e instanceof ArgumentError && e.argument === 'lr');
    assert.throws(() => makeOptimizer('rmsprop', 1e-3, { alpha: 1.5 }), (e: unknown) => e instanceof ArgumentError && e.argument === 'alpha');
    assert.throws(() => new Rprop(0.01, { etas: [1.2, 0.5] }), (e: unknown) => e instanceof ArgumentError && e.argument === 'etas');
    assert.throws(() => setLearningRate(tf.train.sgd(1), 0), (e: unknown) => e instanceof ArgumentError && e.argument === 'lr');
  });

  describe('on MNIST', () => {
    let data: Dataset;
    before(async () => {
      ({ train: data } = await loadMnist({ trainSize: 512, testSize: 1, seed: 4 }));
    });
    after(() => disposeDataset(data));

    it('every optimizer lowers the loss of a small autoencoder', async () => {
      // 784-64-10 AE, BCE (mean), 4 epochs of 4 batches; the rates are ordinary choices for each rule.
      const rates: Record<OptimizerName, number> = { adam: 1e-3, sgd: 10, momentum: 1, rmsprop: 1e-3, adagrad: 1e-2, rprop: 1e-3 };
      const results: Record<string, [number, number]> = {};
      for (const name of OPTIMIZERS) {
        const ae = new AE({ hiddenDim: 64, latentDim: 10, seed: 2 });
        const before = await evaluateLoss(ae, data, { loss: 'bce' });
        await fit(ae, data, { optimizer: name, lr: rates[name], epochs: 4, batchSize: 128, loss: 'bce', seed: 2 });
        const after = await evaluateLoss(ae, data, { loss: 'bce' });
        ae.dispose();
        results[name] = [before, after];
        assert.ok(after < 0.9 * before, `${name}: BCE ${before.toFixed(4)} -> ${after.toFixed(4)}`);
      }
      if (process.env.AELAB_TEST_VERBOSE) console.log(results);
    });
  });
});
