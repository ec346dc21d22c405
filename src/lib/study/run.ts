/**
 * `runStudy`: seed 000's Final Project end to end. Trains the seven architectures on the
 * normal classes, runs every analysis and application on each, and writes the study
 * directory:
 *
 * ```
 * <out>/index.html              the self-contained report
 * <out>/report.json             every figure (compare runs with it)
 * <out>/baseline.json           k-means on raw pixels and the data sizes
 * <out>/models/<name>/model/    the trained model (models.load)
 * <out>/models/<name>/training.json, metrics.json, *.png
 * ```
 *
 * Resumable: a model whose `training.json` matches the run's settings is not trained again,
 * and one whose `metrics.json` matches too is not analysed again (`force` redoes both). A
 * model whose training was interrupted (`signal`, Ctrl-C) continues from its checkpoint
 * (`models/<name>/checkpoints/last`, written after every epoch and at the interruption) and
 * ends with the weights an uninterrupted run gives.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../backend';
import { AelabError, ArgumentError, checkInteger } from '../errors';
import { writeFileAtomic } from '../io';
import { version } from '../version';
import { Dataset, datasetSize, disposeDataset, filterClasses, hostData, labelsOf, takeRows } from '../data/dataset';
import { loadFashionMnist, loadMnist } from '../data/mnist';
import type { Autoencoder } from '../models/autoencoder';
import { loadModel } from '../models/io';
import { checkpointProgress } from '../train/checkpoint';
import { InterruptedError } from '../train/fit';
import { sampleIndices } from '../analysis/common';
import { adjustedRandIndex, kmeansBest, normalizedMutualInfo, silhouetteScore } from '../apps/clustering';
import { ARCHITECTURES, STUDY_MODELS, StudyArchitecture } from './architectures';
import { IMAGE_CAPTIONS, ModelImages, ModelMetrics, StudyData, analyzeModel, disposeStudyData } from './analyze';
import { ProfileName, StudyProfile, profile as profileByName } from './profiles';
import { REPORT_FORMAT, StudyModelReport, StudyReport, recommend, renderHtml } from './report';
import { TrainingSummary, epochsOf, trainArchitecture } from './training';

/** Datasets the study runs on. */
export const STUDY_DATASETS = ['mnist', 'fashion-mnist'] as const;

/** Version of the files a study writes; a different version means "not reusable". */
export const STUDY_FORMAT = 1;

/** Options of `runStudy`; every one has a default. */
export interface StudyOptions {
  /** `quick`, `standard` (default), `full`, or a profile object of your own. */
  profile?: ProfileName | StudyProfile;
  /** `mnist` (default) or `fashion-mnist`. */
  dataset?: (typeof STUDY_DATASETS)[number];
  /** Study directory (default `reports/study`). */
  out?: string;
  /** Retrain and reanalyse every model even when an earlier run's results match (default false). */
  force?: boolean;
  /** Seed of the data subsets, the weights, the shuffles and the noise (default 1). */
  seed?: number;
  /** Architectures to include, a subset of `STUDY_MODELS` (default: all seven). */
  models?: string[];
  /** Receives one line per step and stage (default: nothing is printed). */
  log?: (line: string) => void;
  /** Show training progress (a bar on a terminal, a line per epoch otherwise) on stderr (default false). */
  progress?: boolean;
  /** The command line recorded in the report (default: the equivalent `aelab study` command). */
  command?: string;
  /** Epochs of every model instead of the profile's (the deep model's own count included). */
  epochs?: number;
  /**
   * Stops the study when aborted (Ctrl-C): training stops after the batch in progress with a
   * resumable checkpoint, analysis before its next stage; `runStudy` then throws an
   * `InterruptedError`, and the next run continues where this one stopped.
   */
  signal?: AbortSignal;
}

/** What `runStudy` returns. */
export interface StudyResult {
  report: StudyReport;
  /** Absolute paths of the written report files. */
  htmlPath: string;
  jsonPath: string;
  /** Models trained by this run, analysed only (trained earlier), and reused whole. */
  trained: string[];
  analysed: string[];
  reused: string[];
  /** Inline charts and pictures in the HTML page. */
  charts: number;
  pictures: number;
}

interface TrainingFile {
  format: number;
  key: string;
  trainedAt: string;
  training: TrainingSummary;
}

/** Written before a model's training starts; its checkpoints resume only under the same key. */
interface PartialFile {
  format: number;
  key: string;
}

interface MetricsFile {
  format: number;
  key: string;
  analysedAt: string;
  complete: boolean;
  metrics: ModelMetrics;
}

interface BaselineFile {
  format: number;
  key: string;
  data: StudyReport['data'];
  clustering: StudyReport['baseline']['clustering'];
}

/** The classes every model is trained on (seed 000 Exercise 3: digits 0-8). */
export const NORMAL_CLASSES = [0, 1, 2, 3, 4, 5, 6, 7, 8];
/** The class held out of training: the anomaly of the anomaly-detection test (digit 9; Fashion-MNIST: ankle boot). */
export const ANOMALY_CLASS = 9;

/**
 * Runs the study and writes its directory (see the module comment). Re-running with the
 * same settings reuses every model already trained and analysed and only rewrites the
 * report; `force: true` retrains everything.
 * @returns the report, the paths written and what was trained, analysed and reused
 */
export async function runStudy(options: StudyOptions = {}): Promise<StudyResult> {
  const t0 = performance.now();
  const p0 = typeof options.profile === 'object' ? options.profile : profileByName(options.profile ?? 'standard');
  const p: StudyProfile = options.epochs === undefined ? p0 : { ...p0, epochs: checkInteger('epochs', options.epochs, 1), deepEpochs: undefined };
  const dataset = options.dataset ?? 'mnist';
  if (!(STUDY_DATASETS as readonly string[]).includes(dataset)) throw new ArgumentError('dataset', dataset, STUDY_DATASETS.join(' or '));
  const seed = checkInteger('seed', options.seed ?? 1, 0);
  const out = path.resolve(options.out ?? path.join('reports', 'study'));
  const names = options.models ?? [...STUDY_MODELS];
  if (!Array.isArray(names) || names.length === 0) throw new ArgumentError('models', names, `a non-empty list of ${STUDY_MODELS.join(', ')}`);
  for (const n of names) if (!(STUDY_MODELS as readonly string[]).includes(n)) throw new ArgumentError('models', n, `names among ${STUDY_MODELS.join(', ')}`);
  const archs = ARCHITECTURES.filter((a) => names.includes(a.name));
  const log = options.log ?? (() => {});
  const command = options.command ?? studyCommand(p.name, dataset, options.out, seed, names, options.epochs);
  const signal = options.signal;
  const stopIfAsked = (what: string) => {
    if (signal?.aborted) throw new InterruptedError(`study interrupted ${what}; run the same command again (or with --resume) to continue`);
  };

  await initBackend({ quiet: true });
  try {
    fs.mkdirSync(path.join(out, 'models'), { recursive: true });
  } catch (err) {
    throw new AelabError(`cannot create the study directory ${out}: ${(err as Error).message}`);
  }
  log(`aelab study: ${archs.length} architectures on ${dataset}, profile ${p.name} (${p.description}), seed ${seed}; writing ${displayPath(out)}`);

  const dataKey = JSON.stringify({ format: STUDY_FORMAT, dataset, seed, normal: NORMAL_CLASSES, anomaly: ANOMALY_CLASS, profile: p });
  let data: StudyData | undefined;
  const getData = async (): Promise<StudyData> => {
    if (!data) {
      const t = performance.now();
      data = await loadStudyData(dataset, p, seed);
      log(`aelab study: loaded ${dataset}: ${datasetSize(data.train).toLocaleString('en-US')} training images of classes ${NORMAL_CLASSES[0]}-${NORMAL_CLASSES.at(-1)}, ` +
        `${datasetSize(data.labelled).toLocaleString('en-US')} labelled images, ${datasetSize(data.test).toLocaleString('en-US')} test images (${secs(t)})`);
    }
    return data;
  };

  const trained: string[] = [];
  const analysed: string[] = [];
  const reused: string[] = [];
  const reports: StudyModelReport[] = [];
  const failures: StudyReport['failures'] = [];
  try {
    // The pixel-space clustering baseline and the data sizes, shared by every model.
    const baselineFile = path.join(out, 'baseline.json');
    let baseline = readJson<BaselineFile>(baselineFile);
    if (options.force || !baseline || baseline.key !== dataKey) {
      const d = await getData();
      const t = performance.now();
      baseline = { format: STUDY_FORMAT, key: dataKey, data: dataSizes(d), clustering: await pixelClustering(d, p, seed) };
      writeFileAtomic(baselineFile, JSON.stringify(baseline, null, 2));
      log(`aelab study: k-means on raw pixels: silhouette ${baseline.clustering.silhouette.toFixed(3)}, NMI ${baseline.clustering.nmi.toFixed(3)} (${secs(t)})`);
    }

    for (const [i, arch] of archs.entries()) {
      const label = `[${i + 1}/${archs.length}] ${arch.name}`;
      stopIfAsked(`before ${arch.name}`);
      const dir = path.join(out, 'models', arch.name);
      const trainKey = JSON.stringify({ format: STUDY_FORMAT, dataset, seed, normal: NORMAL_CLASSES, arch: { name: arch.name, description: arch.description, recipe: arch.recipe }, trainSize: p.trainSize, epochs: epochsOf(arch, p), pretrainEpochs: arch.recipe.pretrain ? p.pretrainEpochs : undefined, batchSize: p.batchSize });
      const metricsKey = JSON.stringify({ trainKey, dataKey });
      if (options.force) fs.rmSync(dir, { recursive: true, force: true });
      let trainingFile = readJson<TrainingFile>(path.join(dir, 'training.json'));
      const metricsFile = readJson<MetricsFile>(path.join(dir, 'metrics.json'));
      const haveModel = fs.existsSync(path.join(dir, 'model', 'model.json'));
      const t = performance.now();

      if (trainingFile?.key === trainKey && haveModel && metricsFile?.key === metricsKey && metricsFile.complete) {
        log(`${label}: skipped, already trained and analysed (${displayPath(dir)}; --force retrains)`);
        reused.push(arch.name);
        reports.push(modelReport(arch, 'reused', trainingFile, metricsFile, dir, out));
        continue;
      }

      const d = await getData();
      let model: Autoencoder | undefined;
      try {
        let status: StudyModelReport['status'] = 'analysed';
        if (trainingFile?.key === trainKey && haveModel) {
          log(`${label}: trained earlier (${trainingFile.trainedAt}); loading it to analyse`);
          model = await loadModel(path.join(dir, 'model'));
        } else {
          const checkpointDir = path.join(dir, 'checkpoints');
          const partialFile = path.join(dir, 'partial.json');
          const reached = readJson<PartialFile>(partialFile)?.key === trainKey ? progressOf(path.join(checkpointDir, 'last')) : undefined;
          if (!reached) {
            if (trainingFile || haveModel) log(`${label}: the saved model was trained with other settings; training again`);
            fs.rmSync(dir, { recursive: true, force: true });
            const pf: PartialFile = { format: STUDY_FORMAT, key: trainKey };
            writeFileAtomic(partialFile, JSON.stringify(pf));
          }
          model = arch.create(seed);
          const epochs = epochsOf(arch, p);
          log(
            reached
              ? `${label}: resuming the interrupted training after epoch ${reached.epoch}${reached.batch ? ` and ${reached.batch} batches` : ''} of ${epochs}`
              : `${label}: training ${epochs} epoch${epochs === 1 ? '' : 's'} on ${datasetSize(d.train).toLocaleString('en-US')} images; ${model.paramCount().toLocaleString('en-US')} parameters`,
          );
          const training = await trainArchitecture(arch, model, d.train, {
            profile: p,
            seed,
            progressLabel: options.progress ? label : undefined,
            log,
            checkpointDir,
            resume: reached !== undefined,
            signal,
          });
          await model.save(path.join(dir, 'model'));
          trainingFile = { format: STUDY_FORMAT, key: trainKey, trainedAt: new Date().toISOString(), training };
          writeFileAtomic(path.join(dir, 'training.json'), JSON.stringify(trainingFile, null, 2));
          // Trained: the checkpoints (optimizer state included) are no longer needed.
          fs.rmSync(checkpointDir, { recursive: true, force: true });
          fs.rmSync(partialFile, { force: true });
          log(`${label}: trained in ${training.seconds.toFixed(1)} s (${training.msPerStep.toFixed(1)} ms per step), final loss ${training.history.at(-1)?.trainLoss.toFixed(4)}`);
          status = 'trained';
        }
        const { metrics, images } = await analyzeModel(arch.name, model, d, {
          profile: p,
          seed,
          onStage: (stage, done) => {
            if (!done) return stopIfAsked(`before the ${stage} analysis of ${arch.name} (its trained model is saved)`);
            log(done.error ? `${label}: ${stage} FAILED: ${done.error}` : `${label}: ${stage}: ${done.summary} (${done.seconds.toFixed(1)} s)`);
          },
        });
        for (const [name, png] of Object.entries(images)) writeFileAtomic(path.join(dir, `${name}.png`), png);
        const complete = Object.keys(metrics.errors).length === 0;
        const mf: MetricsFile = { format: STUDY_FORMAT, key: metricsKey, analysedAt: new Date().toISOString(), complete, metrics };
        writeFileAtomic(path.join(dir, 'metrics.json'), JSON.stringify(mf, null, 2));
        (status === 'trained' ? trained : analysed).push(arch.name);
        reports.push(modelReport(arch, status, trainingFile, mf, dir, out));
        log(`${label}: done (${secs(t)})`);
      } finally {
        model?.dispose();
      }
    }
  } finally {
    if (data) disposeStudyData(data);
  }

  for (const m of reports) for (const [stage, message] of Object.entries(m.metrics.errors)) failures.push({ model: m.name, stage, message });
  const baseline = readJson<BaselineFile>(path.join(out, 'baseline.json'))!;
  const report: StudyReport = {
    format: REPORT_FORMAT,
    aelab: version,
    created: new Date().toISOString(),
    command,
    dataset,
    classNames: dataset === 'mnist' ? ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] : FASHION_NAMES,
    normalClasses: NORMAL_CLASSES,
    anomalyClass: ANOMALY_CLASS,
    seed,
    profile: p,
    data: baseline.data,
    baseline: { clustering: baseline.clustering },
    models: reports,
    recommendations: [],
    failures,
    seconds: 0,
  };
  report.recommendations = recommend(report);
  const tr = performance.now();
  report.seconds = (performance.now() - t0) / 1000;
  const rendered = await renderHtml(report, (model, name) => {
    const file = path.join(out, 'models', model, `${name}.png`);
    return fs.existsSync(file) ? fs.readFileSync(file) : undefined;
  });
  const htmlPath = path.join(out, 'index.html');
  const jsonPath = path.join(out, 'report.json');
  writeFileAtomic(jsonPath, JSON.stringify(report, null, 2));
  writeFileAtomic(htmlPath, rendered.html);
  log(`aelab study: report with ${rendered.charts} charts and ${rendered.pictures} pictures (${secs(tr)})`);
  for (const r of report.recommendations.slice(0, 4)) log(`aelab study: best for ${r.heading.toLowerCase()}: ${r.title} (${r.display})`);
  log(`aelab study: wrote ${htmlPath} and report.json in ${secs(t0)}: ${trained.length} trained, ${analysed.length} analysed, ${reused.length} reused` +
    (failures.length ? `; ${failures.length} analysis stage(s) FAILED` : ''));
  return { report, htmlPath, jsonPath, trained, analysed, reused, charts: rendered.charts, pictures: rendered.pictures };
}

const FASHION_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/**
 * Loads the study's data: `trainSize` training images of the normal classes (shuffled with
 * `seed`), `labelledSize` labelled training images of all classes and `testSize` test images
 * of all classes (shuffled with `seed + 1`).
 */
export async function loadStudyData(dataset: string, p: StudyProfile, seed: number): Promise<StudyData> {
  const load = dataset === 'fashion-mnist' ? loadFashionMnist : loadMnist;
  const normal = await load({ classes: NORMAL_CLASSES, trainSize: p.trainSize ?? undefined, testSize: 1, seed });
  disposeDataset(normal.test);
  const all = await load({ trainSize: p.labelledSize, testSize: p.testSize ?? undefined, seed: seed + 1 });
  const classNames = all.test.classNames ?? (dataset === 'mnist' ? ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] : FASHION_NAMES);
  const present = new Set(labelsOf(all.test));
  if (!present.has(ANOMALY_CLASS) || !NORMAL_CLASSES.some((c) => present.has(c))) {
    for (const ds of [normal.train, all.train, all.test]) disposeDataset(ds);
    throw new ArgumentError('testSize', p.testSize, `enough test images to hold class ${ANOMALY_CLASS} and the normal classes`);
  }
  return {
    train: normal.train,
    threshold: takeRows(normal.train, Math.min(p.thresholdSize, datasetSize(normal.train))),
    labelled: all.train,
    test: all.test,
    testNormal: filterClasses(all.test, NORMAL_CLASSES),
    classNames: [...classNames],
    normalClasses: NORMAL_CLASSES,
    anomalyClass: ANOMALY_CLASS,
  };
}

function dataSizes(d: StudyData): StudyReport['data'] {
  return { train: datasetSize(d.train), threshold: datasetSize(d.threshold), labelled: datasetSize(d.labelled), test: datasetSize(d.test), testNormal: datasetSize(d.testNormal) };
}

/** k-means on the raw pixels of the same normal test images the codes are clustered on. */
async function pixelClustering(d: StudyData, p: StudyProfile, seed: number): Promise<StudyReport['baseline']['clustering']> {
  const n = Math.min(p.clusterPoints, datasetSize(d.testNormal));
  // The same rows encodeDataset({ maxExamples, seed }) picks for the codes.
  const rows = sampleIndices(datasetSize(d.testNormal), n, seed);
  const sub: Dataset = { x: d.testNormal.x, y: d.testNormal.y };
  const x = hostData(sub.x) as Float32Array;
  const per = sub.x.size / datasetSize(sub);
  const data = new Float32Array(rows.length * per);
  rows.forEach((r, i) => data.set(x.subarray(r * per, (r + 1) * per), i * per));
  const all = labelsOf(sub);
  const labels = Int32Array.from(rows, (r) => all[r]);
  const points = { data, rows: rows.length };
  const k = d.normalClasses.length;
  const km = await kmeansBest(points, k, { restarts: p.kmeansRestarts, seed });
  return { k, points: rows.length, silhouette: await silhouetteScore(points, km.labels), ari: adjustedRandIndex(labels, km.labels), nmi: normalizedMutualInfo(labels, km.labels) };
}

function modelReport(arch: StudyArchitecture, status: StudyModelReport['status'], t: TrainingFile, m: MetricsFile, dir: string, out: string): StudyModelReport {
  const images: StudyModelReport['files']['images'] = {};
  for (const name of Object.keys(IMAGE_CAPTIONS) as (keyof ModelImages)[]) {
    if (fs.existsSync(path.join(dir, `${name}.png`))) images[name] = path.relative(out, path.join(dir, `${name}.png`));
  }
  return {
    name: arch.name,
    title: arch.title,
    description: arch.description,
    recipe: arch.recipe,
    status,
    trainedAt: t.trainedAt,
    analysedAt: m.analysedAt,
    training: t.training,
    metrics: m.metrics,
    files: { model: path.relative(out, path.join(dir, 'model')), images },
  };
}

/** A JSON file written by the study, or undefined when it is missing, damaged or of another format. `null`s read back as NaN. */
function readJson<T extends { format: number }>(file: string): T | undefined {
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8'), (_k, value: unknown) => (value === null ? NaN : value)) as T;
    return v && v.format === STUDY_FORMAT ? v : undefined;
  } catch {
    return undefined;
  }
}

/** How far the checkpoint in `dir` got, or undefined when there is none or it is unreadable. */
function progressOf(dir: string): { epoch: number; batch: number } | undefined {
  try {
    return checkpointProgress(dir);
  } catch {
    return undefined;
  }
}

/** `p` relative to the working directory when it is inside it, else absolute. */
function displayPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

function secs(t0: number): string {
  return `${((performance.now() - t0) / 1000).toFixed(1)} s`;
}

/** The `aelab study` command line equivalent to the options. */
function studyCommand(profileName: string, dataset: string, out: string | undefined, seed: number, models: string[], epochs: number | undefined): string {
  const parts = ['aelab study', `--profile ${profileName}`];
  if (epochs !== undefined) parts.push(`--epochs ${epochs}`);
  if (dataset !== 'mnist') parts.push(`--dataset ${dataset}`);
  if (out !== undefined) parts.push(`--out ${out}`);
  if (seed !== 1) parts.push(`--seed ${seed}`);
  if (models.length !== STUDY_MODELS.length) parts.push(`--models ${models.join(',')}`);
  return parts.join(' ');
}

