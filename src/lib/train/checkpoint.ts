/**
 * Resumable training checkpoints. `fit` with `checkpointDir` writes `last/` after every
 * epoch, and where an interruption (`signal`) stopped it mid-epoch: a model save
 * (`model.json`, `weights.bin`, loadable by `models.load`) plus, in the same atomic step,
 *
 * - `optimizer.bin`: the optimizer's state tensors (`getWeights()`: the step count and the
 *   slot variables, Adam's moments, RMSprop's averages, Rprop's step sizes), and any other
 *   variable the optimizer holds (Adam's running `beta^t` products), float32/int32 as tfjs
 *   encodes them;
 * - `training.json`: the epoch and batch reached, the running loss sums of a partial epoch,
 *   the history, the best epoch, the learning rate, the plateau and early-stopping counters,
 *   the state of the model's own random generators (a VAE's sampling noise) and the settings
 *   that fix the trajectory (checked on resume).
 *
 * The shuffle order and the input noise of epoch `e` depend only on `(seed, e)` (see
 * `batches`), so a resumed run replays the rest of training exactly: the same seed gives
 * bit-identical weights to a run that was never interrupted.
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AelabError, DataFormatError } from '../errors';
import { Rng } from '../random';
import type { Autoencoder } from '../models/autoencoder';
import { saveModel } from '../models/io';
import { setLearningRate } from './optimizers';

/** The format marker of `training.json`. */
export const CHECKPOINT_FORMAT = 'aelab-checkpoint/1';

/** A checkpoint exists but cannot continue this training (other settings, other model, missing optimizer state). */
export class CheckpointError extends AelabError {
  constructor(
    /** The checkpoint directory. */
    readonly dir: string,
    /** What does not match, in words. */
    readonly problem: string,
  ) {
    super(`cannot resume from ${dir}: ${problem}`);
  }
}

/** Everything `fit` needs to continue, besides the weights and the optimizer's tensors. */
export interface TrainingState {
  /** Epochs completed. */
  epoch: number;
  /** Batches of epoch `epoch + 1` trained as well (0 at an epoch boundary). */
  batch: number;
  /** Running sums of that partial epoch (host float64, as `fit` keeps them). */
  meter?: { total: number; normTotal: number; seen: number; lastLoss: number };
  /** `History` of the completed epochs. */
  history: { epochs: unknown[]; monitor: string; bestEpoch: number; stoppedEarly: boolean };
  /** Best epoch so far and its monitored loss. */
  best: { epoch: number; value: number };
  /** Early stopping ended training at `epoch`. */
  stopped: boolean;
  /** The learning rate of the next step. */
  lr: number;
  /** `ReduceLROnPlateau`'s and `EarlyStopping`'s counters. */
  plateau?: Record<string, number>;
  earlyStopping?: Record<string, number>;
  /** Settings that fix the trajectory; a resume with other values is refused. */
  settings: Record<string, unknown>;
}

/** What `training.json` holds: the state plus the optimizer's manifest and the model's generators. */
interface CheckpointFile extends TrainingState {
  format: string;
  optimizer: { className: string; specs: tf.io.WeightsManifestEntry[]; names: string[]; extras: string[] } | null;
  /** `Rng` states of the model's own properties, by property name. */
  rng: Record<string, number[]>;
}

/**
 * Writes a resumable checkpoint into `dir` (replacing the previous one only when complete).
 * @throws SaveError naming `dir` when it cannot be written; the previous checkpoint stays
 */
export async function saveCheckpoint(dir: string, model: Autoencoder, optimizer: tf.Optimizer, state: TrainingState): Promise<void> {
  const { bytes, manifest } = await encodeOptimizer(optimizer);
  const file: CheckpointFile = { format: CHECKPOINT_FORMAT, ...state, optimizer: manifest, rng: modelRngs(model) };
  await saveModel(model, dir, { 'optimizer.bin': bytes, 'training.json': toJson(file) });
}

/**
 * The state of the checkpoint in `dir`, or undefined when there is none (no `training.json`:
 * a model save only, or nothing).
 * @throws DataFormatError when `training.json` is damaged
 */
export function readCheckpoint(dir: string): TrainingState | undefined {
  const file = readFile(dir);
  if (!file) return undefined;
  const { format: _f, optimizer: _o, rng: _r, ...state } = file;
  return state;
}

/**
 * Puts the checkpoint's optimizer state into `optimizer` (same class and variables in the
 * same order, which `fit` guarantees) and its learning rate, and the model's generators
 * into `model`. The model's weights are read separately (`loadWeights`).
 */
export async function restoreTrainingState(dir: string, model: Autoencoder, optimizer: tf.Optimizer): Promise<void> {
  const file = readFile(dir)!;
  const m = file.optimizer;
  if (!m) throw new CheckpointError(dir, 'its optimizer state was not saved (the optimizer has no getWeights())');
  if (m.className !== optimizer.getClassName()) throw new CheckpointError(dir, `it was written by a ${m.className} optimizer, not ${optimizer.getClassName()}`);
  // The learning rate first: Rprop rescales its step sizes when it changes, and must not
  // rescale the restored ones.
  if (Number.isFinite(file.lr)) setLearningRate(optimizer, file.lr);
  const bin = path.join(dir, 'optimizer.bin');
  const bytes = fs.existsSync(bin) ? fs.readFileSync(bin) : Buffer.alloc(0);
  const expected = m.specs.reduce((n, s) => n + 4 * s.shape.reduce((a, b) => a * b, 1), 0);
  if (bytes.length !== expected) throw new DataFormatError(bin, `holds ${bytes.length} bytes, but training.json describes ${expected}`);
  const decoded = tf.io.decodeWeights(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length), m.specs);
  try {
    await optimizer.setWeights(m.names.map((name, i) => ({ name, tensor: decoded[String(i)] })));
    const own = optimizer as unknown as Record<string, unknown>;
    m.extras.forEach((key, i) => {
      const v = own[key];
      if (!(v instanceof tf.Variable)) throw new CheckpointError(dir, `the optimizer has no variable "${key}"`);
      v.assign(decoded[`extra${i}`]);
    });
  } finally {
    tf.dispose(Object.values(decoded));
  }
  const rngs = rngProperties(model);
  for (const [key, state] of Object.entries(file.rng)) rngs[key]?.restore(state);
}

/**
 * The epoch (and batch of the next epoch) a checkpoint in `dir` reached, or undefined when
 * there is none; cheap enough to decide whether to resume.
 */
export function checkpointProgress(dir: string): { epoch: number; batch: number } | undefined {
  const state = readCheckpoint(dir);
  return state && { epoch: state.epoch, batch: state.batch };
}

// ---------------------------------------------------------------------------------------

async function encodeOptimizer(optimizer: tf.Optimizer): Promise<{ bytes: Uint8Array; manifest: CheckpointFile['optimizer'] }> {
  let weights: { name: string; tensor: tf.Tensor }[];
  try {
    weights = await optimizer.getWeights();
  } catch {
    return { bytes: new Uint8Array(0), manifest: null };
  }
  // Variables outside getWeights(): tfjs's Adam keeps beta1^t and beta2^t as running
  // products, which setWeights recomputes with pow(); the float32 results differ in the
  // last bit, so they are saved as they are.
  const listed = new Set(weights.map((w) => w.tensor));
  const extras = Object.entries(optimizer as unknown as Record<string, unknown>).filter(
    (e): e is [string, tf.Variable] => e[1] instanceof tf.Variable && !listed.has(e[1]) && !e[1].isDisposed,
  );
  const named = [...weights.map((w, i) => ({ name: String(i), tensor: w.tensor })), ...extras.map(([, v], i) => ({ name: `extra${i}`, tensor: v as tf.Tensor }))];
  try {
    const { data, specs } = await tf.io.encodeWeights(named);
    return { bytes: new Uint8Array(data), manifest: { className: optimizer.getClassName(), specs, names: weights.map((w) => w.name), extras: extras.map(([k]) => k) } };
  } finally {
    // getWeights() makes a new tensor for the step count; the others are the optimizer's own.
    for (const w of weights) if (!(w.tensor instanceof tf.Variable)) w.tensor.dispose();
  }
}

function readFile(dir: string): CheckpointFile | undefined {
  const file = path.join(dir, 'training.json');
  if (!fs.existsSync(file)) return undefined;
  let v: CheckpointFile;
  try {
    v = fromJson(fs.readFileSync(file, 'utf8')) as CheckpointFile;
  } catch (err) {
    throw new DataFormatError(file, `is not valid JSON (${(err as Error).message})`);
  }
  if (v?.format !== CHECKPOINT_FORMAT) throw new DataFormatError(file, `format is ${JSON.stringify(v?.format)}, expected "${CHECKPOINT_FORMAT}"`);
  if (!Number.isInteger(v.epoch) || !Number.isInteger(v.batch) || !v.history || !Array.isArray(v.history.epochs)) {
    throw new DataFormatError(file, 'lacks the epoch, batch or history of a training checkpoint');
  }
  return v;
}

/** The model's own random generators (a VAE's sampling noise), by property name. */
function rngProperties(model: Autoencoder): Record<string, Rng> {
  const out: Record<string, Rng> = {};
  for (const [k, v] of Object.entries(model as unknown as Record<string, unknown>)) if (v instanceof Rng) out[k] = v;
  return out;
}

function modelRngs(model: Autoencoder): Record<string, number[]> {
  return Object.fromEntries(Object.entries(rngProperties(model)).map(([k, r]) => [k, r.state()]));
}

/** JSON with NaN and the infinities kept (`{"$number": "Infinity"}`), which plain JSON turns into null. */
function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && !Number.isFinite(x) ? { $number: String(x) } : x), 2);
}

function fromJson(text: string): unknown {
  return JSON.parse(text, (_k, x: unknown) => (x !== null && typeof x === 'object' && '$number' in x ? Number((x as { $number: string }).$number) : x));
}
