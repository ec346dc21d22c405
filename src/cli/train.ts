/**
 * `aelab train`, `aelab evaluate` and `aelab models`: the training loop from the command line.
 * A run directory holds everything about one training run:
 *
 * ```
 * runs/ae/
 *   config.json        the command's settings, the model's config, the data, the results
 *   model/             the trained model (model.save; the best epoch's weights with --early-stop)
 *   checkpoints/       best/, last/ and checkpoint.json, written during training; last/ is
 *                      also a resumable checkpoint (Ctrl-C writes one; --resume continues)
 *   history.json/.csv  one record per epoch
 *   snapshots/         reconstruction_<epoch>.png, sample_<epoch>.png (--snapshot-every)
 * ```
 */
import { Command, InvalidArgumentError } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../lib/backend';
import { AelabError, ArgumentError } from '../lib/errors';
import { writeFileAtomic } from '../lib/io';
import { version } from '../lib/version';
import { Dataset, datasetSize, disposeDataset, takeRows } from '../lib/data/dataset';
import { loadCsv } from '../lib/data/csv';
import { loadFashionMnist, loadMnist } from '../lib/data/mnist';
import * as models from '../lib/models';
import type { Autoencoder } from '../lib/models/autoencoder';
import { InterruptedError, evaluate, fit, saveHistory } from '../lib/train/fit';
import { LOSSES, LossName, Reduction } from '../lib/train/losses';
import { OPTIMIZERS, OptimizerName } from '../lib/train/optimizers';
import { terminalProgress } from '../lib/train/progress';
import { checkpointProgress } from '../lib/train/checkpoint';
import { handleInterrupt } from './interrupt';

/** The options of `aelab train`, as parsed. */
interface TrainOptions {
  model: string;
  epochs: number;
  lr: number;
  batchSize: number;
  latent?: number;
  loss: LossName;
  reduction?: Reduction;
  seed: number;
  out?: string;
  optimizer: OptimizerName;
  noise?: number;
  clipNorm?: number;
  plateau?: number;
  plateauFactor: number;
  earlyStop?: number;
  subset?: number;
  validation?: number;
  testSize?: number;
  snapshotEvery?: number;
  dataset: string;
  label?: string;
  scale: 'minmax' | 'standard';
  resume?: string;
}

/** What a run's `config.json` holds. */
export interface RunConfig {
  aelab: string;
  created: string;
  model: { name: string; config: Record<string, unknown>; params: number };
  data: DataSpec;
  training: {
    epochs: number;
    lr: number;
    batchSize: number;
    loss: LossName;
    reduction: Reduction;
    optimizer: OptimizerName;
    seed: number;
    noise: number | null;
    clipNorm: number | null;
    plateau: { patience: number; factor: number } | null;
    earlyStop: number | null;
    snapshotEvery: number | null;
  };
  result?: { epochs: number; bestEpoch: number; stoppedEarly: boolean; seconds: number; test: { loss: number; mse: number; psnr: number; examples: number } };
}

/** Which data a run used, enough to load the same splits again. */
export interface DataSpec {
  /** `mnist`, `fashion-mnist` or `csv:PATH`. */
  dataset: string;
  /** CSV: the label column (left out of the features). */
  label?: string;
  /** CSV: `minmax` (to [0, 1], fitted on the train part) or `standard`. */
  scale?: 'minmax' | 'standard';
  /** Training examples (validation included); all when absent. */
  subset?: number;
  /** Examples held out of the training part for validation. */
  validation?: number;
  /** Test examples; all (images) or 20% of the rows (CSV) when absent. */
  testSize?: number;
  /** Seed of the subset choice and the splits. */
  seed: number;
}

interface RunData {
  train: Dataset;
  validation?: Dataset;
  test: Dataset;
  /** Values per example (the model's `inputDim` for tabular data). */
  features: number;
  /** True for 28x28 image datasets (snapshots possible). */
  images: boolean;
  dispose(): void;
}

const DATASETS = ['mnist', 'fashion-mnist', 'csv:PATH'];

/** Adds `train`, `evaluate` and `models` to the `aelab` program. */
export function addTrainCommands(cli: Command): void {
  const train = cli
    .command('train')
    .description('train an autoencoder (any registered architecture) and save the run: model, history, snapshots, config')
    .option('--model <name>', `architecture (aelab models lists them)`, modelName, 'ae')
    .option('--dataset <name>', `${DATASETS.join(' | ')}`, datasetName, 'mnist')
    .option('--label <column>', 'CSV: the label column, left out of the inputs')
    .option('--scale <how>', 'CSV: minmax (to [0, 1] on the train part) | standard', oneOf('--scale', ['minmax', 'standard']), 'minmax')
    .option('--epochs <n>', 'passes over the training set', positiveInt('--epochs'), 10)
    .option('--lr <x>', 'learning rate (Rprop: initial step size)', positiveNumber('--lr'), 1e-3)
    .option('--batch-size <n>', 'examples per step', positiveInt('--batch-size'), 128)
    .option('--latent <n>', "latent units (the model's latentDim; default: the model's own)", positiveInt('--latent'))
    .option('--loss <name>', LOSSES.join(' | '), oneOf('--loss', LOSSES), 'bce')
    .option('--reduction <how>', "mean | sum (default: sum for bce, as seed 000; mean otherwise, as nn.MSELoss)", oneOf('--reduction', ['mean', 'sum']))
    .option('--optimizer <name>', OPTIMIZERS.join(' | '), oneOf('--optimizer', OPTIMIZERS), 'adam')
    .option('--noise <factor>', 'denoising: std of the Gaussian noise on the inputs (seed 000: 0.1)', nonNegativeNumber('--noise'))
    .option('--clip-norm <x>', 'clip gradients to this global norm (seed 000: 1.0)', positiveNumber('--clip-norm'))
    .option('--plateau <patience>', 'lower the lr when the monitored loss stalls this many epochs', nonNegativeInt('--plateau'))
    .option('--plateau-factor <x>', 'factor of --plateau (seed 000: 0.5)', fraction('--plateau-factor'), 0.5)
    .option('--early-stop <patience>', 'stop after this many epochs without improvement; keep the best weights', positiveInt('--early-stop'))
    .option('--subset <n>', 'training examples to use (validation included)', positiveInt('--subset'))
    .option('--validation <n>', 'examples held out of training; monitored by --plateau / --early-stop / checkpoints', positiveInt('--validation'))
    .option('--test-size <n>', 'test examples (default: all; CSV: 20% of the rows)', positiveInt('--test-size'))
    .option('--snapshot-every <n>', 'write reconstruction and sample grids every n epochs (images only)', positiveInt('--snapshot-every'))
    .option('--seed <n>', 'seed of the weights, data choice, shuffle and noise', nonNegativeInt('--seed'), 1)
    .option('--out <dir>', 'run directory (default: runs/<model>)')
    .option('--resume <run>', "continue an interrupted run from its checkpoint with the settings of its config.json (only --epochs may be given too)")
    .action(async (opts: TrainOptions) => {
      await trainCommand(opts, train);
    });
  usageAfterError(train);

  const evaluateCmd = cli
    .command('evaluate')
    .description("evaluate a run's model on its test set: loss, MSE and PSNR")
    .argument('<run>', 'run directory written by aelab train')
    .option('--test-size <n>', 'test examples (default: as the run was trained)', positiveInt('--test-size'))
    .option('--noise <factor>', 'evaluate on noisy inputs against clean targets', nonNegativeNumber('--noise'))
    .option('--json', 'print as JSON')
    .action(async (run: string, opts: { testSize?: number; noise?: number; json?: boolean }) => {
      await evaluateCommand(run, opts);
    });
  usageAfterError(evaluateCmd);

  const modelsCmd = cli
    .command('models')
    .description('list the registered architectures with their parameter counts and latent shapes (default configs)')
    .option('--json', 'print as JSON: [{"name", "params", "latentShape"}]')
    .action(async (opts: { json?: boolean }) => {
      await modelsCommand(opts);
    });
  usageAfterError(modelsCmd);
}

async function trainCommand(o: TrainOptions, cmd: Command): Promise<void> {
  if (o.resume !== undefined) return resumeCommand(o, cmd);
  const isCsv = o.dataset.startsWith('csv:');
  if (!isCsv && o.label !== undefined) cmd.error('error: --label applies to --dataset csv:PATH only', { exitCode: 2 });
  if (isCsv && o.snapshotEvery !== undefined) cmd.error('error: --snapshot-every needs an image dataset (mnist, fashion-mnist)', { exitCode: 2 });
  if (o.subset !== undefined && o.validation !== undefined && o.validation >= o.subset) {
    cmd.error(`error: --validation (${o.validation}) must be smaller than --subset (${o.subset})`, { exitCode: 2 });
  }
  const spec: DataSpec = { dataset: o.dataset, seed: o.seed };
  if (isCsv) Object.assign(spec, { label: o.label, scale: o.scale });
  if (o.subset !== undefined) spec.subset = o.subset;
  if (o.validation !== undefined) spec.validation = o.validation;
  if (o.testSize !== undefined) spec.testSize = o.testSize;
  const training: RunConfig['training'] = {
    epochs: o.epochs,
    lr: o.lr,
    batchSize: o.batchSize,
    loss: o.loss,
    reduction: o.reduction ?? (o.loss === 'bce' ? 'sum' : 'mean'),
    optimizer: o.optimizer,
    seed: o.seed,
    noise: o.noise ?? null,
    clipNorm: o.clipNorm ?? null,
    plateau: o.plateau === undefined ? null : { patience: o.plateau, factor: o.plateauFactor },
    earlyStop: o.earlyStop ?? null,
    snapshotEvery: o.snapshotEvery ?? null,
  };
  const modelConfig: Record<string, unknown> = { seed: o.seed };
  if (o.latent !== undefined) modelConfig.latentDim = o.latent;
  await runTraining(cmd, { out: path.resolve(o.out ?? path.join('runs', o.model)), spec, training, model: o.model, modelConfig, resume: false });
}

/** `aelab train --resume RUN`: the settings come from the run's config.json; only --epochs may change. */
async function resumeCommand(o: TrainOptions, cmd: Command): Promise<void> {
  for (const opt of cmd.options) {
    const key = opt.attributeName();
    if (key !== 'resume' && key !== 'epochs' && cmd.getOptionValueSource(key) === 'cli') {
      cmd.error(`error: --resume takes the settings from the run's config.json; only --epochs may be given with it (not ${opt.long})`, { exitCode: 2 });
    }
  }
  const run = path.resolve(o.resume!);
  const config = readRunConfig(run);
  if (!config.model?.name || !config.model.config) throw new AelabError(`${path.join(run, 'config.json')} has no model section: not written by aelab train`);
  const last = path.join(run, 'checkpoints', 'last');
  const reached = checkpointProgress(last);
  if (!reached) console.error(`aelab: ${last} holds no checkpoint (stopped before the first epoch ended); training from the start`);
  const training = { ...config.training };
  if (cmd.getOptionValueSource('epochs') === 'cli') training.epochs = o.epochs;
  await runTraining(cmd, { out: run, spec: config.data, training, model: config.model.name, modelConfig: config.model.config, resume: true, created: config.created });
}

/** One training run, fresh or resumed. */
interface RunPlan {
  out: string;
  spec: DataSpec;
  training: RunConfig['training'];
  model: string;
  /** The model's config (a fresh CSV run adds `inputDim` from the data). */
  modelConfig: Record<string, unknown>;
  resume: boolean;
  /** When the run was first started (kept on resume). */
  created?: string;
}

async function runTraining(cmd: Command, plan: RunPlan): Promise<void> {
  const { out, spec, training: t } = plan;
  const isCsv = spec.dataset.startsWith('csv:');
  await initBackend();
  const data = await usageOnArgumentError(cmd, () => loadRunData(spec));
  let model: Autoencoder | undefined;
  let snapshotImages: tf.Tensor | undefined;
  const interrupt = handleInterrupt('stopping after this batch and saving a checkpoint');
  try {
    if (t.batchSize > datasetSize(data.train)) {
      cmd.error(`error: --batch-size (${t.batchSize}) must be at most the ${datasetSize(data.train)} training examples`, { exitCode: 2 });
    }
    const config = { ...plan.modelConfig };
    if (isCsv && !plan.resume) config.inputDim = data.features;
    model = await usageOnArgumentError(cmd, async () => createModel(plan.model, config));
    console.error(`aelab: ${model.name}, ${model.paramCount().toLocaleString('en-US')} parameters; ${datasetSize(data.train)} training examples` +
      `${data.validation ? `, ${datasetSize(data.validation)} validation` : ''}, ${datasetSize(data.test)} test; run directory ${out}`);

    const runConfig: RunConfig = {
      aelab: version,
      created: plan.created ?? new Date().toISOString(),
      model: { name: model.name, config: model.config, params: model.paramCount() },
      data: spec,
      training: t,
    };
    // Written first, so that an interrupted run still says what it was (and can be resumed).
    writeFileAtomic(path.join(out, 'config.json'), JSON.stringify(runConfig, null, 2) + '\n');

    if (t.snapshotEvery !== null) snapshotImages = tf.tidy(() => data.test.x.slice(0, Math.min(8, datasetSize(data.test))));
    const t0 = performance.now();
    const m = model;
    const checkpointDir = path.join(out, 'checkpoints');
    let history;
    try {
      history = await usageOnArgumentError(cmd, () =>
        fit(m, data.train, {
          epochs: t.epochs,
          batchSize: t.batchSize,
          lr: t.lr,
          optimizer: t.optimizer,
          loss: t.loss,
          reduction: t.reduction,
          seed: t.seed,
          noise: t.noise === null ? undefined : { std: t.noise },
          clipNorm: t.clipNorm ?? undefined,
          plateau: t.plateau ?? undefined,
          earlyStopping: t.earlyStop === null ? undefined : { patience: t.earlyStop, restoreBest: true },
          validationData: data.validation,
          checkpointDir,
          resume: plan.resume,
          signal: interrupt.signal,
          snapshots: snapshotImages ? { dir: path.join(out, 'snapshots'), every: t.snapshotEvery!, images: snapshotImages, scale: 2 } : undefined,
          progress: terminalProgress('train'),
          onTrainBegin: (info) => {
            if (info.initialEpoch) console.error(`aelab: resuming after epoch ${info.initialEpoch} of ${info.epochs} from ${path.join(checkpointDir, 'last')}`);
          },
        }),
      );
    } catch (err) {
      if (err instanceof InterruptedError) {
        if (err.history?.epochs.length) saveHistory(err.history, out);
        if (err.checkpoint) console.error(`aelab: continue with: aelab train --resume ${out}`);
      }
      throw err;
    }
    const seconds = (performance.now() - t0) / 1000;
    await model.save(path.join(out, 'model'));
    saveHistory(history, out);
    const test = await evaluate(model, data.test, { loss: t.loss, reduction: t.reduction });
    runConfig.result = { epochs: history.epochs.length, bestEpoch: history.bestEpoch, stoppedEarly: history.stoppedEarly, seconds, test };
    writeFileAtomic(path.join(out, 'config.json'), JSON.stringify(runConfig, null, 2) + '\n');
    const stopped = history.stoppedEarly ? ` (stopped early; weights of epoch ${history.restoredEpoch ?? history.epochs.length})` : '';
    console.error(`aelab: ${history.epochs.length} epoch${history.epochs.length === 1 ? '' : 's'} in ${seconds.toFixed(1)} s${stopped}; test ${describeEvaluation(t.loss, t.reduction, test)}`);
    console.log(out);
  } finally {
    interrupt.dispose();
    snapshotImages?.dispose();
    model?.dispose();
    data.dispose();
  }
}

/** A run directory's config.json. */
function readRunConfig(run: string): RunConfig {
  const configFile = path.join(run, 'config.json');
  if (!fs.existsSync(configFile)) throw new AelabError(`${configFile} does not exist: is ${run} a run directory written by aelab train?`);
  let config: RunConfig;
  try {
    config = JSON.parse(fs.readFileSync(configFile, 'utf8')) as RunConfig;
  } catch (err) {
    throw new AelabError(`${configFile} is not valid JSON (${(err as Error).message})`);
  }
  if (!config.data || !config.training) throw new AelabError(`${configFile} has no data or training section: not written by aelab train`);
  return config;
}

async function evaluateCommand(run: string, opts: { testSize?: number; noise?: number; json?: boolean }): Promise<void> {
  const config = readRunConfig(run);
  await initBackend({ quiet: opts.json === true });
  const model = await models.load(path.join(run, 'model'));
  const spec: DataSpec = { ...config.data, ...(opts.testSize !== undefined ? { testSize: opts.testSize } : {}) };
  const data = await loadRunData(spec);
  try {
    const { loss, reduction } = config.training;
    const e = await evaluate(model, data.test, { loss, reduction, noise: opts.noise === undefined ? undefined : { std: opts.noise }, seed: config.training.seed });
    if (opts.json) {
      console.log(JSON.stringify({ run: path.resolve(run), model: model.name, dataset: spec.dataset, examples: e.examples, lossName: loss, reduction, loss: e.loss, mse: e.mse, psnr: e.psnr, noise: opts.noise ?? null }, null, 2));
      return;
    }
    console.log(`run ${path.resolve(run)}: ${model.name} on the ${spec.dataset} test set, ${e.examples} examples${opts.noise === undefined ? '' : `, noise ${opts.noise}`}`);
    console.log(`test loss: ${e.loss.toFixed(4)} (${loss}, ${reduction === 'sum' ? 'summed per example' : 'mean per value'})`);
    console.log(`MSE: ${e.mse.toFixed(6)}`);
    console.log(`PSNR: ${e.psnr.toFixed(2)} dB`);
  } finally {
    model.dispose();
    data.dispose();
  }
}

async function modelsCommand(opts: { json?: boolean }): Promise<void> {
  await initBackend({ quiet: true });
  const rows = models.registeredModels().map((name) => {
    try {
      const m = createModel(name, {});
      try {
        return { name, params: m.paramCount() as number | null, latentShape: [...m.latentShape] as number[] | null, inputShape: [...m.inputShape] as number[] | null, error: undefined as string | undefined };
      } finally {
        m.dispose();
      }
    } catch (err) {
      return { name, params: null, latentShape: null, inputShape: null, error: (err as Error).message };
    }
  });
  if (opts.json) {
    console.log(JSON.stringify(rows.map(({ name, params, latentShape }) => ({ name, params, latentShape })), null, 2));
  } else {
    const shape = (s: number[] | null) => (s ? `[${s.join(', ')}]` : '?');
    console.log(`${'name'.padEnd(16)}${'parameters'.padStart(12)}  ${'input'.padEnd(14)}latent`);
    for (const r of rows) {
      console.log(`${r.name.padEnd(16)}${(r.params?.toLocaleString('en-US') ?? '?').padStart(12)}  ${shape(r.inputShape).padEnd(14)}${shape(r.latentShape)}`);
    }
  }
  for (const r of rows) if (r.error) console.error(`aelab: ${r.name}: ${r.error}`);
}

/**
 * Builds a registered architecture by name from a config object (what `models.load` does
 * before it reads the weights).
 */
export function createModel(name: string, config: Record<string, unknown>): Autoencoder {
  const known = models.registeredModels();
  if (!known.includes(name)) throw new ArgumentError('model', name, `one of ${known.join(', ')}`);
  // The registry's own constructor, once models/io.ts exports it.
  const create = (models as unknown as { createModel?: (n: string, c: Record<string, unknown>) => Autoencoder }).createModel;
  if (typeof create === 'function') return create(name, config);
  // Until then: the exported Autoencoder classes, each identified by the name an instance built
  // from an empty config reports.
  const cls = classesByName().get(name);
  if (!cls) throw new AelabError(`cannot build "${name}" by name: models/io.ts does not export createModel, and no exported class reports that name`);
  return new cls(config);
}

type ModelClass = new (config: Record<string, unknown>) => Autoencoder;
let byName: Map<string, ModelClass> | undefined;

function classesByName(): Map<string, ModelClass> {
  if (byName) return byName;
  byName = new Map();
  for (const value of Object.values(models)) {
    if (typeof value !== 'function' || !(value.prototype instanceof models.Autoencoder)) continue;
    try {
      const m = new (value as ModelClass)({});
      if (typeof m.name === 'string' && !byName.has(m.name)) byName.set(m.name, value as ModelClass);
      m.dispose();
    } catch {
      // abstract or needs arguments: not buildable from a config alone
    }
  }
  return byName;
}

/** Loads the splits a run trains and evaluates on. */
async function loadRunData(spec: DataSpec): Promise<RunData> {
  if (spec.dataset === 'mnist' || spec.dataset === 'fashion-mnist') {
    const load = spec.dataset === 'mnist' ? loadMnist : loadFashionMnist;
    const d = await load({ trainSize: spec.subset, testSize: spec.testSize, validation: spec.validation, seed: spec.seed });
    return { train: d.train, validation: d.validation, test: d.test, features: 784, images: true, dispose: () => [d.train, d.validation, d.test].forEach(disposeDataset) };
  }
  const file = spec.dataset.slice('csv:'.length);
  const table = await loadCsv(file, { label: spec.label });
  try {
    const rows = datasetSize(table);
    const test = spec.testSize ?? Math.max(1, Math.round(0.2 * rows));
    const parts = table.split({ test, validation: spec.validation, seed: spec.seed, standardize: spec.scale === 'standard' });
    let train = parts.train;
    if (spec.subset !== undefined && spec.subset - (spec.validation ?? 0) < datasetSize(train)) {
      train = takeRows(parts.train, spec.subset - (spec.validation ?? 0));
      disposeDataset(parts.train);
    }
    const all = [train, parts.validation, parts.test!];
    if (spec.scale !== 'standard') minMaxScale(train, all);
    return { train, validation: parts.validation, test: parts.test!, features: table.featureNames.length, images: false, dispose: () => all.forEach(disposeDataset) };
  } finally {
    table.dispose();
  }
}

/** Scales every column of every part to [0, 1] by the min and max of `fitOn` (a constant column becomes 0). */
function minMaxScale(fitOn: Dataset, parts: (Dataset | undefined)[]): void {
  const [lo, range] = tf.tidy(() => {
    const min = fitOn.x.min(0);
    const span = fitOn.x.max(0).sub(min);
    return [min, tf.where(span.greater(0), span, tf.onesLike(span))];
  });
  for (const p of parts) {
    if (!p) continue;
    const raw = p.x;
    p.x = tf.tidy(() => raw.sub(lo).div(range));
    raw.dispose();
  }
  tf.dispose([lo, range]);
}

function describeEvaluation(loss: LossName, reduction: Reduction, e: { loss: number; mse: number; psnr: number }): string {
  return `${loss} ${e.loss.toFixed(4)} (${reduction === 'sum' ? 'per example' : 'mean per value'}), MSE ${e.mse.toFixed(6)}, PSNR ${e.psnr.toFixed(2)} dB`;
}

/** Runs `f`; an ArgumentError (a bad option value found by the library) becomes a usage error, exit code 2. */
async function usageOnArgumentError<T>(cmd: Command, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof ArgumentError) cmd.error(`error: ${err.message}`, { exitCode: 2 });
    throw err;
  }
}

/** After a usage error, print the command's usage line (one line) instead of the whole help. */
function usageAfterError(cmd: Command): void {
  cmd.showHelpAfterError(`Usage: aelab ${cmd.name()} ${cmd.usage()}  (aelab ${cmd.name()} --help lists the options)`);
}

// ---------------------------------------------------------------------------------------
// Option parsers: each throws commander's InvalidArgumentError, which main() turns into exit code 2.

function positiveInt(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be an integer >= 1.`);
    return n;
  };
}

function nonNegativeInt(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be an integer >= 0.`);
    return n;
  };
}

function positiveNumber(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a number > 0.`);
    return n;
  };
}

function nonNegativeNumber(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number >= 0.`);
    return n;
  };
}

function fraction(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !(n > 0 && n < 1)) throw new InvalidArgumentError(`${name} must be a number in (0, 1).`);
    return n;
  };
}

function oneOf<T extends string>(name: string, values: readonly T[]) {
  return (v: string): T => {
    if (!values.includes(v as T)) throw new InvalidArgumentError(`${name} must be one of ${values.join(', ')}.`);
    return v as T;
  };
}

function modelName(v: string): string {
  const known = models.registeredModels();
  if (!known.includes(v)) throw new InvalidArgumentError(`--model must be one of ${known.join(', ')}.`);
  return v;
}

function datasetName(v: string): string {
  if (v === 'mnist' || v === 'fashion-mnist') return v;
  if (v.startsWith('csv:') && v.length > 4) return v;
  throw new InvalidArgumentError(`--dataset must be one of ${DATASETS.join(', ')}.`);
}
