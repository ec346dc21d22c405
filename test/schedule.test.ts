import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ArgumentError } from '../src/lib/errors';
import { getLearningRate, makeOptimizer } from '../src/lib/train/optimizers';
import { EarlyStopping, PlateauOptions, ReduceLROnPlateau } from '../src/lib/train/schedule';

/** The learning rate after each `step(value)` of a fresh scheduler on an Adam optimizer starting at `lr`. */
function lrTrace(values: number[], options: PlateauOptions, lr = 1): number[] {
  const opt = makeOptimizer('adam', lr);
  const s = new ReduceLROnPlateau(opt, options);
  const trace = values.map((v) => {
    s.step(v);
    return getLearningRate(opt);
  });
  opt.dispose();
  return trace;
}

// The lr traces below are the ones torch.optim.lr_scheduler.ReduceLROnPlateau gives for the
// same values and options (checked against Debian's python3-torch 1.13.1 on this machine).
describe('ReduceLROnPlateau (PyTorch semantics)', () => {
  it('has PyTorch’s defaults', () => {
    const opt = tf.train.sgd(0.1);
    const s = new ReduceLROnPlateau(opt);
    assert.deepEqual(
      [s.mode, s.factor, s.patience, s.threshold, s.thresholdMode, s.cooldown, s.minLr, s.eps],
      ['min', 0.1, 10, 1e-4, 'rel', 0, 0, 1e-8],
    );
    opt.dispose();
  });

  it('lowers the rate on the (patience+1)-th flat epoch, not before, then counts again', () => {
    // Epoch 1 sets the best; epochs 2 and 3 are the 2 tolerated flat epochs; epoch 4 lowers the rate.
    const flat = [5, 5, 5, 5, 5, 5, 5, 5];
    assert.deepEqual(lrTrace(flat, { patience: 2, factor: 0.5 }), [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25]);
    // Patience 0: every epoch without improvement lowers it.
    assert.deepEqual(lrTrace([5, 5, 5], { patience: 0, factor: 0.5 }), [1, 0.5, 0.25]);
    // An improvement resets the count.
    assert.deepEqual(lrTrace([5, 5, 5, 4, 4, 4, 4], { patience: 2, factor: 0.5 }), [1, 1, 1, 1, 1, 1, 0.5]);
  });

  it('counts an improvement only beyond the threshold (relative by default, absolute on request)', () => {
    // 5 * (1 - 1e-4) = 4.9995: 4.9996 is not better, so the plateau goes on.
    assert.deepEqual(lrTrace([5, 4.9996, 4.99955, 4.9996], { patience: 2, factor: 0.1 }), [1, 1, 1, 0.1]);
    assert.deepEqual(lrTrace([5, 4.9994, 4.9988, 4.9982], { patience: 2, factor: 0.1 }), [1, 1, 1, 1]);
    assert.deepEqual(lrTrace([5, 4.95, 4.91, 4.92], { patience: 2, factor: 0.1, threshold: 0.1, thresholdMode: 'abs' }), [1, 1, 1, 0.1]);
  });

  it('respects cooldown: bad epochs are not counted for `cooldown` epochs after a reduction', () => {
    const flat = [1, 1, 1, 1, 1, 1, 1, 1];
    // Without cooldown, patience 1 lowers at epochs 3, 5, 7.
    const lrs = (trace: number[]) => trace.map((v) => Math.round(Math.log2(1 / v)));
    assert.deepEqual(lrs(lrTrace(flat, { patience: 1, factor: 0.5 })), [0, 0, 1, 1, 2, 2, 3, 3]);
    // Cooldown 2: after the cut at epoch 3, epochs 4 and 5 do not count; epochs 6 and 7 do, cut at 7.
    assert.deepEqual(lrs(lrTrace(flat, { patience: 1, factor: 0.5, cooldown: 2 })), [0, 0, 1, 1, 1, 1, 2, 2]);
  });

  it('works in max mode and never goes below minLr', () => {
    assert.deepEqual(lrTrace([0.5, 0.6, 0.6, 0.6], { mode: 'max', patience: 1, factor: 0.5 }), [1, 1, 1, 0.5]);
    assert.deepEqual(lrTrace([3, 3, 3, 3, 3], { patience: 0, factor: 0.1, minLr: 0.05 }), [1, 0.1, 0.05, 0.05, 0.05]);
  });

  it('returns whether it lowered the rate, and names a bad option', () => {
    const opt = tf.train.sgd(0.1);
    const s = new ReduceLROnPlateau(opt, { patience: 0 });
    assert.equal(s.step(1), false);
    assert.equal(s.step(1), true);
    assert.ok(Math.abs(s.lr - 0.01) < 1e-12);
    assert.throws(() => new ReduceLROnPlateau(opt, { factor: 1 }), (e: unknown) => e instanceof ArgumentError && e.argument === 'plateau.factor');
    assert.throws(() => new ReduceLROnPlateau(opt, { patience: -1 }), (e: unknown) => e instanceof ArgumentError && e.argument === 'plateau.patience');
    assert.throws(() => new ReduceLROnPlateau(opt, { mode: 'down' as 'min' }), (e: unknown) => e instanceof ArgumentError && e.argument === 'plateau.mode');
    opt.dispose();
  });
});

describe('EarlyStopping', () => {
  /** The epoch (1-based) after which `step` says stop, or 0. */
  function stopEpoch(values: number[], es: EarlyStopping): number {
    for (let i = 0; i < values.length; i++) if (es.step(values[i])) return i + 1;
    return 0;
  }

  it('stops after `patience` epochs without improvement and remembers the best epoch', () => {
    const es = new EarlyStopping({ patience: 3 });
    // best at epoch 3 (2.0); epochs 4, 5, 6 are not better: stop after epoch 6.
    assert.equal(stopEpoch([3, 2.5, 2.0, 2.2, 2.1, 2.05, 1.0], es), 6);
    assert.equal(es.bestEpoch, 3);
    assert.equal(es.best, 2.0);
    assert.equal(es.stoppedEpoch, 6);
  });

  it('does not stop while the value keeps improving, and restarts the count on an improvement', () => {
    assert.equal(stopEpoch([5, 4, 3, 2, 1], new EarlyStopping({ patience: 1 })), 0);
    const es = new EarlyStopping({ patience: 2 });
    assert.equal(stopEpoch([5, 5.1, 4.9, 5, 5, 5], es), 5);
    assert.equal(es.bestEpoch, 3);
  });

  it('ignores improvements smaller than minDelta, and works in max mode', () => {
    // With minDelta 0.1, 4.95 and 4.91 do not beat 5.0 - 0.1; stop after epoch 3.
    const es = new EarlyStopping({ patience: 2, minDelta: 0.1 });
    assert.equal(stopEpoch([5.0, 4.95, 4.91, 3.0], es), 3);
    assert.equal(es.bestEpoch, 1);
    const acc = new EarlyStopping({ patience: 2, mode: 'max' });
    assert.equal(stopEpoch([0.5, 0.7, 0.69, 0.71, 0.7, 0.6], acc), 6);
    assert.equal(acc.bestEpoch, 4);
  });

  it('names a bad option', () => {
    assert.throws(() => new EarlyStopping({ patience: 0 }), (e: unknown) => e instanceof ArgumentError && e.argument === 'earlyStopping.patience');
    assert.throws(() => new EarlyStopping({ minDelta: -1 }), (e: unknown) => e instanceof ArgumentError && e.argument === 'earlyStopping.minDelta');
  });
});
