/**
 * Optimizers by name, with PyTorch's defaults and update rules, and a way to read and
 * change any optimizer's learning rate while it trains (what `ReduceLROnPlateau` needs).
 *
 * | name       | PyTorch                                  | here                                    |
 * |------------|------------------------------------------|-----------------------------------------|
 * | `adam`     | `optim.Adam(betas=(0.9, 0.999), eps=1e-8)` | `tf.train.adam` with eps 1e-8 (tfjs's default eps is the backend's, 1e-7; the update rule is the same) |
 * | `sgd`      | `optim.SGD(lr)`                          | `tf.train.sgd` (same rule)              |
 * | `momentum` | `optim.SGD(lr, momentum=0.9)`            | `tf.train.momentum(lr, 0.9)` (same rule: buf = m*buf + g, p -= lr*buf) |
 * | `rmsprop`  | `optim.RMSprop(alpha=0.99, eps=1e-8)`    | `TorchRMSprop` below: tfjs's RMSProp defaults to decay 0.9 and puts eps inside the square root, `sqrt(v + eps)`, where PyTorch adds it outside, `sqrt(v) + eps` |
 * | `adagrad`  | `optim.Adagrad(initial_accumulator_value=0, eps=1e-10)` | `TorchAdagrad` below: tfjs's Adagrad starts the accumulator at 0.1 and uses `sqrt(sum + 1e-7)` |
 * | `rprop`    | `optim.Rprop(etas=(0.5, 1.2), step_sizes=(1e-6, 50))` | `Rprop` below: TensorFlow.js has none |
 *
 * Learning rates are in parameter units per unit of gradient (SGD-like) or parameter units
 * per step (Adam, RMSprop, Adagrad normalise the gradient); for Rprop the learning rate is
 * the initial step size, in parameter units.
 */
import * as tf from '@tensorflow/tfjs';
import { ArgumentError, checkNumber } from '../errors';
import { NativeAdam } from '../kernels/native';

/** Optimizers `makeOptimizer` knows by name. */
export type OptimizerName = 'adam' | 'sgd' | 'momentum' | 'rmsprop' | 'adagrad' | 'rprop';

export const OPTIMIZERS: readonly OptimizerName[] = ['adam', 'sgd', 'momentum', 'rmsprop', 'adagrad', 'rprop'];

/** Settings of the named optimizers beyond the learning rate; each applies to the optimizers listed. */
export interface OptimizerOptions {
  /** adam: decay of the first moment (default 0.9). */
  beta1?: number;
  /** adam: decay of the second moment (default 0.999). */
  beta2?: number;
  /** adam 1e-8, rmsprop 1e-8, adagrad 1e-10: added to the denominator (PyTorch's defaults). */
  epsilon?: number;
  /** momentum (default 0.9), rmsprop (default 0), sgd (default 0; a value > 0 makes it `momentum`). */
  momentum?: number;
  /** momentum / sgd: Nesterov momentum (default false). */
  nesterov?: boolean;
  /** rmsprop: smoothing constant of the squared-gradient average (PyTorch's `alpha`, default 0.99). */
  alpha?: number;
  /** rmsprop: divide by the centred second moment, an estimate of the gradient's variance (default false). */
  centered?: boolean;
  /** adagrad: starting value of the sum of squared gradients (default 0, as PyTorch). */
  initialAccumulator?: number;
  /** adagrad: learning-rate decay, lr / (1 + (step - 1) * lrDecay) (default 0). */
  lrDecay?: number;
  /** rprop: multiplicative decrease and increase of the step size, `[etaMinus, etaPlus]` with 0 < etaMinus < 1 < etaPlus (default [0.5, 1.2]). */
  etas?: [number, number];
  /** rprop: smallest and largest step size, in parameter units (default [1e-6, 50]). */
  stepSizes?: [number, number];
}

/**
 * Builds an optimizer by name with PyTorch's defaults (see the table at the top of this file).
 * The caller owns it and calls `dispose()` when done.
 * @param name one of `OPTIMIZERS`
 * @param lr learning rate (> 0); for `rprop` the initial step size
 * @throws ArgumentError for an unknown name, a bad learning rate or a bad option
 */
export function makeOptimizer(name: OptimizerName, lr: number, options: OptimizerOptions = {}): tf.Optimizer {
  checkNumber('lr', lr, Number.MIN_VALUE);
  if (options === null || typeof options !== 'object') throw new ArgumentError('options', options, 'an object of optimizer options');
  const o = options;
  const unit = (arg: string, v: number | undefined, dflt: number) => (v === undefined ? dflt : checkUnit(arg, v));
  const nonNeg = (arg: string, v: number | undefined, dflt: number) => (v === undefined ? dflt : checkNumber(arg, v, 0));
  switch (name) {
    case 'adam':
      // One fused update per variable with the native kernels on wasm; exactly tfjs's Adam elsewhere.
      return new NativeAdam(lr, unit('beta1', o.beta1, 0.9), unit('beta2', o.beta2, 0.999), positive('epsilon', o.epsilon, 1e-8));
    case 'sgd':
    case 'momentum': {
      const m = unit('momentum', o.momentum, name === 'momentum' ? 0.9 : 0);
      return m > 0 ? tf.train.momentum(lr, m, o.nesterov ?? false) : tf.train.sgd(lr);
    }
    case 'rmsprop':
      return new TorchRMSprop(lr, {
        alpha: unit('alpha', o.alpha, 0.99),
        epsilon: positive('epsilon', o.epsilon, 1e-8),
        momentum: unit('momentum', o.momentum, 0),
        centered: o.centered ?? false,
      });
    case 'adagrad':
      return new TorchAdagrad(lr, {
        initialAccumulator: nonNeg('initialAccumulator', o.initialAccumulator, 0),
        epsilon: positive('epsilon', o.epsilon, 1e-10),
        lrDecay: nonNeg('lrDecay', o.lrDecay, 0),
      });
    case 'rprop':
      return new Rprop(lr, { etas: o.etas, stepSizes: o.stepSizes });
    default:
      throw new ArgumentError('optimizer', name, `one of ${OPTIMIZERS.join(', ')}`);
  }
}

/**
 * The learning rate an optimizer uses for its next step (for Rprop: the step size new
 * parameters start from; see `setLearningRate`).
 */
export function getLearningRate(optimizer: tf.Optimizer): number {
  const lr = (optimizer as unknown as { learningRate?: unknown }).learningRate;
  if (typeof lr !== 'number') throw new ArgumentError('optimizer', optimizer.getClassName(), 'an optimizer with a learning rate');
  return lr;
}

/**
 * Changes the learning rate of an optimizer between steps; the next step uses it. Works for
 * every tfjs optimizer (SGD and momentum keep it as a cached tensor, which is replaced; the
 * others read the number) and for the ones in this file.
 *
 * Rprop differs from PyTorch here on purpose: PyTorch's Rprop reads `lr` only to initialise
 * its per-weight step sizes, so a scheduler has no effect on it after the first step; aelab's
 * `Rprop` rescales every current step size by `newLr / oldLr`, so a plateau reduction by a
 * factor of 0.1 makes every step 10 times smaller, as it does for the other optimizers.
 * @param lr the new learning rate, > 0
 */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  checkNumber('lr', lr, Number.MIN_VALUE);
  const o = optimizer as unknown as { learningRate?: unknown; setLearningRate?: (lr: number) => void };
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else if (typeof o.learningRate === 'number') o.learningRate = lr;
  else throw new ArgumentError('optimizer', optimizer.getClassName(), 'an optimizer with a learning rate');
}

// ---------------------------------------------------------------------------------------
// Optimizers that keep per-variable state slots, indexed by the position of the variable in
// the gradient list (as tfjs's own optimizers do: call applyGradients with the variables in
// the same order every step, which `minimize` and `fit` do).

/** A gradient or state tensor with its variable's name (tfjs's `NamedTensor`, not exported by the union package). */
interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

interface Slot {
  originalName: string;
  variable: tf.Variable;
}

/** Base of the optimizers below: slot bookkeeping, getWeights/setWeights, dispose. */
abstract class SlotOptimizer extends tf.Optimizer {
  /** slots[k][i]: the k-th state tensor (by `slotNames[k]`) of the i-th variable. */
  protected slots: Slot[][];

  constructor(
    public learningRate: number,
    private readonly slotNames: readonly string[],
  ) {
    super();
    this.slots = slotNames.map(() => []);
  }

  /** Initial value of slot `k` for a variable. */
  protected abstract initSlot(k: number, value: tf.Variable): tf.Tensor;

  /**
   * Updates one variable in place from its gradient, inside a `tf.tidy`.
   * @param state the variable's slots, in `slotNames` order
   */
  protected abstract update(value: tf.Variable, gradient: tf.Tensor, state: tf.Variable[]): void;

  override applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const list: NamedTensor[] = Array.isArray(variableGradients)
      ? variableGradients
      : Object.keys(variableGradients).map((name) => ({ name, tensor: variableGradients[name] }));
    list.forEach(({ name, tensor: gradient }, i) => {
      const value = tf.engine().registeredVariables[name];
      if (!value) throw new ArgumentError('variableGradients', name, 'names of registered variables');
      this.slotNames.forEach((slotName, k) => {
        if (this.slots[k][i] == null) {
          this.slots[k][i] = { originalName: `${name}/${slotName}`, variable: tf.tidy(() => this.initSlot(k, value).variable(false)) };
        }
      });
      if (gradient == null) return;
      tf.tidy(() => this.update(value, gradient, this.slots.map((s) => s[i].variable)));
    });
    this.incrementIterations();
  }

  override dispose(): void {
    super.dispose();
    for (const s of this.slots) tf.dispose(s.map((v) => v.variable));
    this.slots = this.slotNames.map(() => []);
  }

  override async getWeights(): Promise<NamedTensor[]> {
    const state = this.slots.flatMap((s) => s.map((v) => ({ name: v.originalName, tensor: v.variable as tf.Tensor })));
    return [await this.saveIterations(), ...state];
  }

  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const values = await this.extractIterations(weightValues);
    const per = values.length / this.slotNames.length;
    if (!Number.isInteger(per)) {
      throw new ArgumentError('weightValues', values.length, `a multiple of ${this.slotNames.length} state tensors (${this.slotNames.join(', ')} per variable)`);
    }
    for (const s of this.slots) tf.dispose(s.map((v) => v.variable));
    this.slots = this.slotNames.map((_, k) =>
      values.slice(k * per, (k + 1) * per).map((v) => ({ originalName: v.name, variable: v.tensor.variable(false) })),
    );
  }
}

/** Options of `Rprop` (PyTorch's defaults). */
export interface RpropOptions {
  /** `[etaMinus, etaPlus]`, 0 < etaMinus < 1 < etaPlus (default [0.5, 1.2]). */
  etas?: [number, number];
  /** `[min, max]` step size in parameter units, 0 <= min <= max (default [1e-6, 50]). */
  stepSizes?: [number, number];
}

/**
 * Resilient backpropagation, `torch.optim.Rprop`: each weight has its own step size, which
 * starts at `lr`; only the sign of the gradient is used. Per weight, each step:
 *
 * - if the gradient has the same sign as the previous step's, the step grows by `etaPlus`
 *   (clamped to `stepSizes[1]`), if the sign flipped it shrinks by `etaMinus` (clamped to
 *   `stepSizes[0]`), if either is zero it stays;
 * - where the sign flipped, the gradient is treated as 0: the weight does not move this
 *   step, and the next step counts as "after a zero" (its step size stays);
 * - the weight moves by `-sign(gradient) * stepSize`.
 *
 * Full-batch by design (the sign of a mini-batch gradient is noisy); seed 002 tries it on
 * mini-batches and finds it slow. Slots per variable: `prev` (last effective gradient) and
 * `stepSize`.
 */
export class Rprop extends SlotOptimizer {
  static get className(): string {
    return 'Rprop';
  }
  readonly etas: [number, number];
  readonly stepSizes: [number, number];

  /** @param learningRate initial step size of every weight, in parameter units (PyTorch's default is 0.01) */
  constructor(learningRate: number, options: RpropOptions = {}) {
    super(checkNumber('lr', learningRate, Number.MIN_VALUE), ['prev', 'stepSize']);
    const etas = options.etas ?? [0.5, 1.2];
    if (!Array.isArray(etas) || etas.length !== 2 || !(etas[0] > 0 && etas[0] < 1 && etas[1] > 1 && Number.isFinite(etas[1]))) {
      throw new ArgumentError('etas', etas, '[etaMinus, etaPlus] with 0 < etaMinus < 1 < etaPlus');
    }
    const steps = options.stepSizes ?? [1e-6, 50];
    if (!Array.isArray(steps) || steps.length !== 2 || !(steps[0] >= 0 && steps[0] <= steps[1] && Number.isFinite(steps[1]))) {
      throw new ArgumentError('stepSizes', steps, '[min, max] with 0 <= min <= max');
    }
    this.etas = [etas[0], etas[1]];
    this.stepSizes = [steps[0], steps[1]];
  }

  protected initSlot(k: number, value: tf.Variable): tf.Tensor {
    return k === 0 ? tf.zerosLike(value) : tf.fill(value.shape, this.learningRate, 'float32');
  }

  protected update(value: tf.Variable, gradient: tf.Tensor, [prev, stepSize]: tf.Variable[]): void {
    const [etaMinus, etaPlus] = this.etas;
    const s = tf.sign(tf.mul(gradient, prev)); // +1 same sign, -1 flipped, 0 either was zero
    const same = tf.relu(s);
    const flipped = tf.relu(tf.neg(s));
    // factor: etaPlus where same, etaMinus where flipped, 1 elsewhere
    const factor = tf.add(1, tf.add(tf.mul(same, etaPlus - 1), tf.mul(flipped, etaMinus - 1)));
    const newStep = tf.clipByValue(tf.mul(stepSize, factor), this.stepSizes[0], this.stepSizes[1]);
    const effective = tf.mul(gradient, tf.sub(1, flipped)); // gradient := 0 where the sign flipped
    value.assign(tf.sub(value, tf.mul(tf.sign(effective), newStep)));
    stepSize.assign(newStep);
    prev.assign(effective);
  }

  /** Sets the learning rate, rescaling every current step size by `lr / previous lr` (see `setLearningRate`). */
  setLearningRate(lr: number): void {
    checkNumber('lr', lr, Number.MIN_VALUE);
    const ratio = lr / this.learningRate;
    this.learningRate = lr;
    for (const slot of this.slots[1]) {
      tf.tidy(() => slot.variable.assign(tf.mul(slot.variable, ratio)));
    }
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.learningRate, etas: this.etas, stepSizes: this.stepSizes };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    const Ctor = cls as unknown as new (lr: number, o: RpropOptions) => T;
    return new Ctor(config['learningRate'] as number, { etas: config['etas'] as [number, number], stepSizes: config['stepSizes'] as [number, number] });
  }
}

/** Options of `TorchRMSprop` (PyTorch's defaults). */
export interface TorchRMSpropOptions {
  /** Smoothing constant of the squared-gradient average (default 0.99). */
  alpha?: number;
  /** Added to the root of the average (default 1e-8). */
  epsilon?: number;
  /** Momentum of the update (default 0). */
  momentum?: number;
  /** Use the centred second moment (default false). */
  centered?: boolean;
}

/**
 * `torch.optim.RMSprop`: `v = alpha*v + (1-alpha)*g^2`, (centred: `gAvg = alpha*gAvg +
 * (1-alpha)*g`, `v' = v - gAvg^2`), `d = sqrt(v') + eps`; without momentum `p -= lr*g/d`,
 * with it `buf = momentum*buf + g/d`, `p -= lr*buf`. Slots: `squareAvg`, `gradAvg`,
 * `momentum` (the last two stay zero when unused).
 */
export class TorchRMSprop extends SlotOptimizer {
  static get className(): string {
    return 'TorchRMSprop';
  }
  readonly alpha: number;
  readonly epsilon: number;
  readonly momentum: number;
  readonly centered: boolean;

  constructor(learningRate: number, options: TorchRMSpropOptions = {}) {
    super(checkNumber('lr', learningRate, Number.MIN_VALUE), ['squareAvg', 'gradAvg', 'momentum']);
    this.alpha = checkUnit('alpha', options.alpha ?? 0.99);
    this.epsilon = positive('epsilon', options.epsilon, 1e-8);
    this.momentum = checkUnit('momentum', options.momentum ?? 0);
    this.centered = options.centered ?? false;
  }

  protected initSlot(_k: number, value: tf.Variable): tf.Tensor {
    return tf.zerosLike(value);
  }

  protected update(value: tf.Variable, g: tf.Tensor, [squareAvg, gradAvg, buf]: tf.Variable[]): void {
    const v = tf.add(tf.mul(squareAvg, this.alpha), tf.mul(tf.square(g), 1 - this.alpha));
    squareAvg.assign(v);
    let avg: tf.Tensor;
    if (this.centered) {
      const ga = tf.add(tf.mul(gradAvg, this.alpha), tf.mul(g, 1 - this.alpha));
      gradAvg.assign(ga);
      avg = tf.add(tf.sqrt(tf.sub(v, tf.square(ga))), this.epsilon);
    } else {
      avg = tf.add(tf.sqrt(v), this.epsilon);
    }
    if (this.momentum > 0) {
      const b = tf.add(tf.mul(buf, this.momentum), tf.div(g, avg));
      buf.assign(b);
      value.assign(tf.sub(value, tf.mul(b, this.learningRate)));
    } else {
      value.assign(tf.sub(value, tf.mul(tf.div(g, avg), this.learningRate)));
    }
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.learningRate, alpha: this.alpha, epsilon: this.epsilon, momentum: this.momentum, centered: this.centered };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    const Ctor = cls as unknown as new (lr: number, o: TorchRMSpropOptions) => T;
    const { learningRate, ...rest } = config as unknown as { learningRate: number } & TorchRMSpropOptions;
    return new Ctor(learningRate, rest);
  }
}

/** Options of `TorchAdagrad` (PyTorch's defaults). */
export interface TorchAdagradOptions {
  /** Starting value of the sum of squared gradients (default 0; tfjs's Adagrad uses 0.1). */
  initialAccumulator?: number;
  /** Added to the root of the sum (default 1e-10). */
  epsilon?: number;
  /** The step's learning rate is lr / (1 + (step - 1) * lrDecay) (default 0). */
  lrDecay?: number;
}

/**
 * `torch.optim.Adagrad`: `sum += g^2`, `p -= clr * g / (sqrt(sum) + eps)` with
 * `clr = lr / (1 + (step - 1) * lrDecay)`. Slot: `sum`.
 */
export class TorchAdagrad extends SlotOptimizer {
  static get className(): string {
    return 'TorchAdagrad';
  }
  readonly initialAccumulator: number;
  readonly epsilon: number;
  readonly lrDecay: number;

  constructor(learningRate: number, options: TorchAdagradOptions = {}) {
    super(checkNumber('lr', learningRate, Number.MIN_VALUE), ['sum']);
    this.initialAccumulator = checkNumber('initialAccumulator', options.initialAccumulator ?? 0, 0);
    this.epsilon = positive('epsilon', options.epsilon, 1e-10);
    this.lrDecay = checkNumber('lrDecay', options.lrDecay ?? 0, 0);
  }

  protected initSlot(_k: number, value: tf.Variable): tf.Tensor {
    return tf.fill(value.shape, this.initialAccumulator, 'float32');
  }

  protected update(value: tf.Variable, g: tf.Tensor, [sum]: tf.Variable[]): void {
    // `iterations` counts completed steps; PyTorch's `step` is this one, from 1.
    const clr = this.learningRate / (1 + this.iterations * this.lrDecay);
    const s = tf.add(sum, tf.square(g));
    sum.assign(s);
    value.assign(tf.sub(value, tf.mul(tf.div(g, tf.add(tf.sqrt(s), this.epsilon)), clr)));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.learningRate, initialAccumulator: this.initialAccumulator, epsilon: this.epsilon, lrDecay: this.lrDecay };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    const Ctor = cls as unknown as new (lr: number, o: TorchAdagradOptions) => T;
    const { learningRate, ...rest } = config as unknown as { learningRate: number } & TorchAdagradOptions;
    return new Ctor(learningRate, rest);
  }
}

tf.serialization.registerClass(Rprop);
tf.serialization.registerClass(TorchRMSprop);
tf.serialization.registerClass(TorchAdagrad);

function checkUnit(argument: string, value: number): number {
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) throw new ArgumentError(argument, value, 'a number in [0, 1)');
  return value;
}

function positive(argument: string, value: number | undefined, dflt: number): number {
  if (value === undefined) return dflt;
  return checkNumber(argument, value, Number.MIN_VALUE);
}
