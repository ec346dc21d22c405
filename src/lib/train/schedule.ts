/**
 * Epoch-level control of training: lowering the learning rate when a monitored loss stops
 * improving (`ReduceLROnPlateau`, seed 000 Part 3) and stopping when it has stopped
 * improving for good (`EarlyStopping`, seed 000's "when validation available").
 */
import type * as tf from '@tensorflow/tfjs';
import { ArgumentError, checkInteger, checkNumber } from '../errors';
import { getLearningRate, setLearningRate } from './optimizers';

/** `min`: lower is better (losses); `max`: higher is better (accuracies). */
export type MonitorMode = 'min' | 'max';

/** Options of `ReduceLROnPlateau`; the defaults are PyTorch's. */
export interface PlateauOptions {
  /** `min` (default) or `max`. */
  mode?: MonitorMode;
  /** Multiplies the learning rate on a plateau, in (0, 1) (default 0.1; seed 000 Part 3 uses 0.5). */
  factor?: number;
  /** Epochs without improvement that are tolerated; the next one lowers the rate (default 10; seed 000 uses 2). */
  patience?: number;
  /** How much better than the best a value must be to count as an improvement (default 1e-4). */
  threshold?: number;
  /** `rel` (default): better than best * (1 -/+ threshold); `abs`: better than best -/+ threshold. */
  thresholdMode?: 'rel' | 'abs';
  /** Epochs to wait after a reduction before counting bad epochs again (default 0). */
  cooldown?: number;
  /** The learning rate never goes below this (default 0). */
  minLr?: number;
  /** A reduction smaller than this is skipped (default 1e-8). */
  eps?: number;
}

/**
 * `torch.optim.lr_scheduler.ReduceLROnPlateau`, acting on a tfjs optimizer through
 * `setLearningRate`. Call `step(value)` once per epoch with the monitored value (validation
 * loss when there is one). With patience p, the rate drops on the (p+1)-th consecutive epoch
 * without improvement, then the count restarts (after `cooldown` epochs in which bad epochs
 * are not counted).
 */
export class ReduceLROnPlateau {
  readonly mode: MonitorMode;
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdMode: 'rel' | 'abs';
  readonly cooldown: number;
  readonly minLr: number;
  readonly eps: number;
  /** Best value seen so far (Infinity / -Infinity before the first step). */
  best: number;
  /** Consecutive epochs without improvement (not counted during cooldown). */
  numBadEpochs = 0;
  /** Epochs of cooldown left. */
  cooldownCounter = 0;
  /** Steps taken (PyTorch's `last_epoch`). */
  lastEpoch = 0;

  /**
   * @param optimizer the optimizer whose learning rate is lowered (any tfjs optimizer or one of `makeOptimizer`'s)
   * @throws ArgumentError naming the bad option
   */
  constructor(
    readonly optimizer: tf.Optimizer,
    options: PlateauOptions = {},
  ) {
    const o = options ?? {};
    this.mode = checkMode('plateau.mode', o.mode ?? 'min');
    this.factor = checkNumber('plateau.factor', o.factor ?? 0.1, 0);
    if (!(this.factor > 0 && this.factor < 1)) throw new ArgumentError('plateau.factor', this.factor, 'a number in (0, 1)');
    this.patience = checkInteger('plateau.patience', o.patience ?? 10, 0);
    this.threshold = checkNumber('plateau.threshold', o.threshold ?? 1e-4, 0);
    this.thresholdMode = o.thresholdMode ?? 'rel';
    if (this.thresholdMode !== 'rel' && this.thresholdMode !== 'abs') throw new ArgumentError('plateau.thresholdMode', this.thresholdMode, 'rel or abs');
    this.cooldown = checkInteger('plateau.cooldown', o.cooldown ?? 0, 0);
    this.minLr = checkNumber('plateau.minLr', o.minLr ?? 0, 0);
    this.eps = checkNumber('plateau.eps', o.eps ?? 1e-8, 0);
    this.best = this.mode === 'min' ? Infinity : -Infinity;
  }

  /** The optimizer's current learning rate. */
  get lr(): number {
    return getLearningRate(this.optimizer);
  }

  /** True when `value` improves on `best` by more than the threshold. A NaN never does. */
  isBetter(value: number): boolean {
    if (this.mode === 'min') {
      return this.thresholdMode === 'rel' ? value < this.best * (1 - this.threshold) : value < this.best - this.threshold;
    }
    return this.thresholdMode === 'rel' ? value > this.best * (this.threshold + 1) : value > this.best + this.threshold;
  }

  /**
   * Records one epoch's monitored value and lowers the learning rate on a plateau.
   * @returns true when the learning rate was lowered by this call
   */
  step(value: number): boolean {
    if (typeof value !== 'number') throw new ArgumentError('value', value, 'a number (the monitored loss of this epoch)');
    this.lastEpoch += 1;
    if (this.isBetter(value)) {
      this.best = value;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs += 1;
    }
    if (this.cooldownCounter > 0) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0; // bad epochs are ignored during cooldown
    }
    if (this.numBadEpochs > this.patience) {
      const reduced = this.reduce();
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
      return reduced;
    }
    return false;
  }

  private reduce(): boolean {
    const old = this.lr;
    const next = Math.max(old * this.factor, this.minLr);
    if (old - next > this.eps) {
      setLearningRate(this.optimizer, next);
      return true;
    }
    return false;
  }
}

/** Options of `EarlyStopping`. */
export interface EarlyStoppingOptions {
  /** Epochs without improvement after which training stops, >= 1 (default 5). */
  patience?: number;
  /** An improvement must beat the best by more than this, in the monitored value's units (absolute; default 0). */
  minDelta?: number;
  /** `min` (default) or `max`. */
  mode?: MonitorMode;
}

/**
 * Stops training once the monitored value has not improved (by more than `minDelta`) for
 * `patience` epochs in a row, as Keras's `EarlyStopping` (PyTorch has no built-in one).
 * With patience 3 and the best value at epoch 4, epochs 5, 6, 7 are the three without
 * improvement and training stops after epoch 7.
 */
export class EarlyStopping {
  readonly patience: number;
  readonly minDelta: number;
  readonly mode: MonitorMode;
  /** Best value seen (Infinity / -Infinity before the first step). */
  best: number;
  /** Epoch of `best` (1-based, as `step` counts), 0 before the first step. */
  bestEpoch = 0;
  /** Epochs since the last improvement. */
  wait = 0;
  /** Epochs seen. */
  epoch = 0;
  /** The epoch after which `step` said stop, 0 while training goes on. */
  stoppedEpoch = 0;

  /** @throws ArgumentError naming the bad option */
  constructor(options: EarlyStoppingOptions = {}) {
    const o = options ?? {};
    this.patience = checkInteger('earlyStopping.patience', o.patience ?? 5, 1);
    this.minDelta = checkNumber('earlyStopping.minDelta', o.minDelta ?? 0, 0);
    this.mode = checkMode('earlyStopping.mode', o.mode ?? 'min');
    this.best = this.mode === 'min' ? Infinity : -Infinity;
  }

  /**
   * Records one epoch's monitored value.
   * @returns true when training should stop after this epoch
   */
  step(value: number): boolean {
    if (typeof value !== 'number') throw new ArgumentError('value', value, 'a number (the monitored loss of this epoch)');
    this.epoch += 1;
    const improved = this.mode === 'min' ? value < this.best - this.minDelta : value > this.best + this.minDelta;
    if (improved) {
      this.best = value;
      this.bestEpoch = this.epoch;
      this.wait = 0;
      return false;
    }
    this.wait += 1;
    if (this.wait >= this.patience) {
      this.stoppedEpoch = this.epoch;
      return true;
    }
    return false;
  }
}

function checkMode(argument: string, mode: unknown): MonitorMode {
  if (mode !== 'min' && mode !== 'max') throw new ArgumentError(argument, mode, 'min or max');
  return mode;
}
