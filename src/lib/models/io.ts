/**
 * Saving and loading autoencoders without tfjs-node: `model.json` holds the architecture's
 * name, its config and the weight manifest, `weights.bin` the weights as tfjs encodes
 * them (`tf.io.encodeWeights`). A save goes to a temporary directory that replaces the old
 * one only when complete, so an interrupted save leaves the previous save intact.
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AelabError, ArgumentError, DataFormatError } from '../errors';
import { writeFileSynced } from '../io';
import { version } from '../version';
import type { Autoencoder } from './autoencoder';

/** The format marker written into every `model.json`. */
export const MODEL_FORMAT = 'aelab-model/1';

/** A constructor that rebuilds an architecture from its JSON config. */
export type ModelFactory = (config: Record<string, unknown>) => Autoencoder;

const registry = new Map<string, ModelFactory>();

/** Makes `loadModel` able to rebuild models named `name` (each architecture registers itself). */
export function registerModel(name: string, factory: ModelFactory): void {
  registry.set(name, factory);
}

/**
 * Builds the architecture registered as `name` from its config (`{}` for its defaults),
 * e.g. `createModel('deep-conv', { latentChannels: 32 })`.
 */
export function createModel(name: string, config: Record<string, unknown> = {}): Autoencoder {
  const factory = registry.get(name);
  if (!factory) throw new ArgumentError('model', name, `one of ${registeredModels().join(', ')}`);
  return factory(config);
}

/** Names of the architectures `loadModel` can rebuild. */
export function registeredModels(): string[] {
  return [...registry.keys()];
}

interface ModelJson {
  format: string;
  aelab: string;
  name: string;
  config: Record<string, unknown>;
  weights: tf.io.WeightsManifestEntry[];
}

/**
 * A save could not be written (unwritable or missing directory, a path through a regular
 * file, a full disk). The previous save at `path`, if any, is intact.
 */
export class SaveError extends AelabError {
  constructor(
    /** The directory or file that could not be written. */
    readonly path: string,
    /** The system's reason, e.g. `ENOSPC no space left on device`. */
    readonly reason: string,
  ) {
    super(`could not save to ${path}: ${reason}`);
  }

  /** A SaveError for `path` from a Node.js file-system error. */
  static from(path: string, err: unknown): SaveError {
    if (err instanceof SaveError) return err;
    const e = err as NodeJS.ErrnoException;
    const message = e.message ?? String(err);
    // Node's messages start with the code already ("ENOSPC: no space left on device, write").
    return new SaveError(path, (e.code && !message.startsWith(e.code) ? `${e.code}: ${message}` : message).replace(/\s+/g, ' ').trim());
  }
}

/**
 * Saves `model` (architecture config and every weight, batch-norm statistics included)
 * into `dir`, replacing an earlier save there only once the new one is complete.
 * @param extraFiles more files written into the same directory in the same atomic step
 *   (a training checkpoint's optimizer state); `loadModel` ignores them
 * @throws SaveError naming `dir` when it cannot be written; the earlier save is then intact
 */
export async function saveModel(model: Autoencoder, dir: string, extraFiles: Record<string, string | Uint8Array> = {}): Promise<void> {
  const named: tf.NamedTensorMap = {};
  model.weights.forEach((w, i) => (named[`${i}:${w.originalName}`] = w.read()));
  const { data, specs } = await tf.io.encodeWeights(named);
  const json: ModelJson = { format: MODEL_FORMAT, aelab: version, name: model.name, config: model.config, weights: specs };
  const target = path.resolve(dir);
  const tmp = `${target}.saving-${process.pid}`;
  const old = `${target}.old-${process.pid}`;
  try {
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    writeFileSynced(path.join(tmp, 'weights.bin'), new Uint8Array(data));
    for (const [name, content] of Object.entries(extraFiles)) writeFileSynced(path.join(tmp, name), content);
    // model.json last: a directory without it is never taken for a save.
    writeFileSynced(path.join(tmp, 'model.json'), JSON.stringify(json, null, 2));
    const hadOld = fs.existsSync(target);
    if (hadOld) fs.renameSync(target, old);
    fs.renameSync(tmp, target);
    if (hadOld) fs.rmSync(old, { recursive: true, force: true });
  } catch (err) {
    try {
      fs.rmSync(tmp, { recursive: true, force: true });
      if (!fs.existsSync(target) && fs.existsSync(old)) fs.renameSync(old, target);
    } catch {
      // the cleanup's own failure must not hide the reason of the first one
    }
    throw SaveError.from(dir, err);
  }
}

/**
 * Loads a model saved by `saveModel`. A missing, damaged, truncated or mismatched save
 * gives a `DataFormatError` that names the file and what is wrong.
 */
export async function loadModel(dir: string): Promise<Autoencoder> {
  const save = readSave(dir);
  const factory = registry.get(save.json.name);
  if (!factory) throw new DataFormatError(save.jsonFile, `architecture "${save.json.name}" is unknown; known: ${registeredModels().join(', ')}`);
  const model = factory(save.json.config);
  try {
    writeWeights(model, decodeSave(save, model));
  } catch (err) {
    model.dispose();
    throw err;
  }
  return model;
}

/**
 * Reads the weights of a save into an existing model of the same architecture and config
 * (resuming training into the model object a caller already holds).
 * @throws DataFormatError when the save is damaged or holds another architecture or config
 */
export function loadWeights(model: Autoencoder, dir: string): void {
  writeWeights(model, readWeights(model, dir));
}

/**
 * The weights of a save as new tensors, in the order of `model.weights` (checked against
 * the model's architecture, config and shapes); the caller disposes them.
 */
export function readWeights(model: Autoencoder, dir: string): tf.Tensor[] {
  const save = readSave(dir);
  if (save.json.name !== model.name || JSON.stringify(save.json.config) !== JSON.stringify(model.config)) {
    throw new DataFormatError(save.jsonFile, `holds a ${save.json.name} with config ${JSON.stringify(save.json.config)}, not this ${model.name} with config ${JSON.stringify(model.config)}`);
  }
  return decodeSave(save, model);
}

interface Save {
  json: ModelJson;
  jsonFile: string;
  bytes: Buffer;
}

/** Reads and checks `model.json` and `weights.bin` of a save (sizes, format, manifest). */
function readSave(dir: string): Save {
  const jsonFile = path.join(dir, 'model.json');
  const binFile = path.join(dir, 'weights.bin');
  if (!fs.existsSync(jsonFile)) throw new DataFormatError(jsonFile, 'does not exist: is this a directory written by model.save()?');
  let json: ModelJson;
  try {
    json = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as ModelJson;
  } catch (err) {
    throw new DataFormatError(jsonFile, `is not valid JSON (${(err as Error).message})`);
  }
  if (json.format !== MODEL_FORMAT) throw new DataFormatError(jsonFile, `format is ${JSON.stringify(json.format)}, expected "${MODEL_FORMAT}"`);
  if (!Array.isArray(json.weights)) throw new DataFormatError(jsonFile, 'has no weight manifest');
  if (!fs.existsSync(binFile)) throw new DataFormatError(binFile, 'does not exist');
  const bytes = fs.readFileSync(binFile);
  const expected = json.weights.reduce((n, s) => n + 4 * s.shape.reduce((a, b) => a * b, 1), 0);
  if (bytes.length !== expected) {
    throw new DataFormatError(binFile, `holds ${bytes.length} bytes, but model.json describes ${expected} bytes of weights (truncated or from another save)`);
  }
  return { json, jsonFile, bytes };
}

/** Decodes a save's weights for `model` (count and shapes checked); new tensors in `model.weights` order. */
function decodeSave({ json, jsonFile, bytes }: Save, model: Autoencoder): tf.Tensor[] {
  const weights = model.weights;
  if (weights.length !== json.weights.length) {
    throw new DataFormatError(jsonFile, `describes ${json.weights.length} weight tensors, but a ${json.name} with this config has ${weights.length}`);
  }
  json.weights.forEach((spec, i) => {
    if (spec.shape.join() !== weights[i].shape.join()) {
      throw new DataFormatError(jsonFile, `weight ${i} (${spec.name}) has shape [${spec.shape}], but the model expects [${weights[i].shape}]`);
    }
  });
  const decoded = tf.io.decodeWeights(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer, json.weights);
  return json.weights.map((spec) => decoded[spec.name]);
}

/** Writes decoded weights into the model and frees them. */
function writeWeights(model: Autoencoder, values: tf.Tensor[]): void {
  try {
    model.weights.forEach((w, i) => w.write(values[i]));
  } finally {
    tf.dispose(values);
  }
}
