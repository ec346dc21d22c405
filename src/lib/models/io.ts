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
 * Saves `model` (architecture config and every weight, batch-norm statistics included)
 * into `dir`, replacing an earlier save there only once the new one is complete.
 */
export async function saveModel(model: Autoencoder, dir: string): Promise<void> {
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
    writeFileSynced(path.join(tmp, 'model.json'), JSON.stringify(json, null, 2));
    const hadOld = fs.existsSync(target);
    if (hadOld) fs.renameSync(target, old);
    fs.renameSync(tmp, target);
    if (hadOld) fs.rmSync(old, { recursive: true, force: true });
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!fs.existsSync(target) && fs.existsSync(old)) fs.renameSync(old, target);
    const e = err as NodeJS.ErrnoException;
    throw new AelabError(`could not save the model to ${dir}: ${e.code ?? ''} ${e.message}`.replace(/\s+/g, ' ').trim());
  }
}

/**
 * Loads a model saved by `saveModel`. A missing, damaged, truncated or mismatched save
 * gives a `DataFormatError` that names the file and what is wrong.
 */
export async function loadModel(dir: string): Promise<Autoencoder> {
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
  const factory = registry.get(json.name);
  if (!factory) throw new DataFormatError(jsonFile, `architecture "${json.name}" is unknown; known: ${registeredModels().join(', ')}`);
  if (!Array.isArray(json.weights)) throw new DataFormatError(jsonFile, 'has no weight manifest');
  if (!fs.existsSync(binFile)) throw new DataFormatError(binFile, 'does not exist');
  const bytes = fs.readFileSync(binFile);
  const expected = json.weights.reduce((n, s) => n + 4 * s.shape.reduce((a, b) => a * b, 1), 0);
  if (bytes.length !== expected) {
    throw new DataFormatError(binFile, `holds ${bytes.length} bytes, but model.json describes ${expected} bytes of weights (truncated or from another save)`);
  }
  const model = factory(json.config);
  const weights = model.weights;
  if (weights.length !== json.weights.length) {
    model.dispose();
    throw new DataFormatError(jsonFile, `describes ${json.weights.length} weight tensors, but a ${json.name} with this config has ${weights.length}`);
  }
  const decoded = tf.io.decodeWeights(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length), json.weights);
  try {
    json.weights.forEach((spec, i) => {
      const w = weights[i];
      if (spec.shape.join() !== w.shape.join()) {
        throw new DataFormatError(jsonFile, `weight ${i} (${spec.name}) has shape [${spec.shape}], but the model expects [${w.shape}]`);
      }
      w.write(decoded[spec.name]);
    });
  } catch (err) {
    model.dispose();
    throw err;
  } finally {
    Object.values(decoded).forEach((t) => t.dispose());
  }
  return model;
}
