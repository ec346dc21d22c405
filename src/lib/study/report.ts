/**
 * The study report: its JSON form (`report.json`, every figure), the recommendations (the
 * best architecture per task, each by a stated metric), and the self-contained HTML page
 * (`index.html`: inline CSS, inline SVG charts rendered headless by vega, PNG pictures as
 * `data:` URIs; no script, nothing fetched).
 */
import { CLASS_COLORS, ChartSpec, barChart, lineChart, renderSvg, rocChart, scatterChart } from '../viz/charts';
import { latentScatterChart } from '../analysis/projection';
import { checkInteger } from '../errors';
import type { StudyArchitecture, TrainingRecipe } from './architectures';
import { IMAGE_CAPTIONS, ModelImages, ModelMetrics } from './analyze';
import type { StudyProfile } from './profiles';
import type { TrainingSummary } from './training';

/** Format marker of `report.json`. */
export const REPORT_FORMAT = 'aelab-study/1';

/** One architecture in the report. */
export interface StudyModelReport {
  name: StudyArchitecture['name'];
  title: string;
  description: string;
  recipe: TrainingRecipe;
  /** What this run did: `trained` (and analysed), `analysed` (model trained by an earlier run), `reused` (both from an earlier run). */
  status: 'trained' | 'analysed' | 'reused';
  trainedAt: string;
  analysedAt: string;
  training: TrainingSummary;
  metrics: ModelMetrics;
  /** Paths relative to the study directory: the saved model and the pictures. */
  files: { model: string; images: Partial<Record<keyof ModelImages, string>> };
}

/** The best architecture for one task. */
export interface Recommendation {
  /** e.g. `compression`. */
  task: string;
  /** Heading, e.g. `Compression`. */
  heading: string;
  /** The chosen architecture's name and title. */
  model: string;
  title: string;
  /** What is compared, in words, and which way is better. */
  metric: string;
  higherIsBetter: boolean;
  /** The chosen model's value, and as shown. */
  value: number;
  display: string;
  /** The second best, for context. */
  runnerUp?: { model: string; title: string; value: number; display: string };
}

/** Everything the study measured: `report.json`. */
export interface StudyReport {
  format: typeof REPORT_FORMAT;
  aelab: string;
  /** ISO time the report was written. */
  created: string;
  /** The command line that reproduces it. */
  command: string;
  dataset: string;
  classNames: string[];
  normalClasses: number[];
  anomalyClass: number;
  seed: number;
  profile: StudyProfile;
  /** Images in each part of the data. */
  data: { train: number; threshold: number; labelled: number; test: number; testNormal: number };
  /** k-means on the raw pixels of the same normal test images, for comparison with the codes. */
  baseline: { clustering: { k: number; points: number; silhouette: number; ari: number; nmi: number } };
  models: StudyModelReport[];
  recommendations: Recommendation[];
  /** Stages that failed: their figures are NaN. */
  failures: { model: string; stage: string; message: string }[];
  /** Wall-clock seconds of this run. */
  seconds: number;
}

// ---------------------------------------------------------------------------------------
// recommendations

interface Criterion {
  task: string;
  heading: string;
  metric: (r: StudyReport) => string;
  value: (m: ModelMetrics) => number;
  higherIsBetter: boolean;
  display: (m: ModelMetrics) => string;
  /** Whether a model takes part in this task (default: every model with a finite value). */
  eligible?: (m: ModelMetrics, all: ModelMetrics[]) => boolean;
}

/** The interpolation recommendation considers models whose PSNR is at most this many dB below the best. */
export const INTERPOLATION_PSNR_GATE = 3;

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

const CRITERIA: Criterion[] = [
  {
    task: 'compression',
    heading: 'Compression',
    metric: () => 'highest PSNR of the normal test images decoded from the 8-bit quantised code (the stored file; every code has 32 values, 98x smaller than the float32 image)',
    value: (m) => m.compression.quantizedPsnr,
    higherIsBetter: true,
    display: (m) => `${m.compression.quantizedPsnr.toFixed(2)} dB at ${m.compression.quantizedRatio.toFixed(0)}x`,
  },
  {
    task: 'anomaly-detection',
    heading: 'Anomaly detection',
    metric: (r) => `highest ROC AUC separating the held-out class ${r.classNames[r.anomalyClass]} from classes ${classList(r)} by per-image reconstruction MSE`,
    value: (m) => m.anomaly.auc,
    higherIsBetter: true,
    display: (m) => `AUC ${m.anomaly.auc.toFixed(3)}`,
  },
  {
    task: 'feature-extraction',
    heading: 'Feature extraction',
    metric: (r) => `highest test accuracy (all ${r.classNames.length} classes) of seed 000's classifier head trained on the frozen encoder's code with ${r.data.labelled.toLocaleString('en-US')} labelled images`,
    value: (m) => m.transfer.testAccuracy,
    higherIsBetter: true,
    display: (m) => `${pct(m.transfer.testAccuracy)} accuracy`,
  },
  {
    task: 'interpolation',
    heading: 'Interpolation',
    metric: (r) =>
      `most even interpolation: lowest largest-step / mean-step ratio of the decoded 10-step paths between ${r.profile.interpolationPairs} pairs of test images of different classes (1 = every step changes the image equally), ` +
      `among the architectures whose reconstruction PSNR is within ${INTERPOLATION_PSNR_GATE} dB of the best (a decoder that hardly changes its output would otherwise score a perfectly even path)`,
    value: (m) => m.interpolation.maxOverMean,
    eligible: (m, all) => m.reconstruction.psnr >= Math.max(...all.map((x) => x.reconstruction.psnr).filter(Number.isFinite)) - INTERPOLATION_PSNR_GATE,
    higherIsBetter: false,
    display: (m) => `max/mean step ${m.interpolation.maxOverMean.toFixed(2)}`,
  },
  {
    task: 'denoising',
    heading: 'Noise robustness',
    metric: () => 'lowest MSE against the clean image when reconstructing inputs with Gaussian noise of standard deviation 0.5',
    value: (m) => noiseMse(m, 0.5),
    higherIsBetter: false,
    display: (m) => `MSE ${noiseMse(m, 0.5).toFixed(4)} at noise 0.5`,
  },
  {
    task: 'speed',
    heading: 'Speed',
    metric: () => 'fewest milliseconds per inference batch of 128 images (encode + decode, result read back)',
    value: (m) => m.reconstruction.msPerBatch,
    higherIsBetter: false,
    display: (m) => `${m.reconstruction.msPerBatch.toFixed(1)} ms per batch`,
  },
];

function classList(r: Pick<StudyReport, 'classNames' | 'normalClasses'>): string {
  const n = r.normalClasses;
  const digits = n.every((c) => r.classNames[c] === String(c));
  const consecutive = n.every((c, i) => i === 0 || c === n[i - 1] + 1);
  return digits && consecutive && n.length > 2 ? `${n[0]}-${n[n.length - 1]}` : n.map((c) => r.classNames[c]).join(', ');
}

/** MSE of the reconstruction of noisy inputs at `level` (NaN when not measured). */
export function noiseMse(m: ModelMetrics, level: number): number {
  return m.noise.find((r) => r.level === level)?.mse ?? NaN;
}

/**
 * The best architecture for compression, anomaly detection, feature extraction and
 * interpolation (the Final Project's four questions), plus noise robustness and speed,
 * each by the metric it states. Models whose figure is missing (a failed stage) are left
 * out of that task; a task no model has a figure for is left out.
 */
export function recommend(report: Pick<StudyReport, 'models' | 'classNames' | 'normalClasses' | 'anomalyClass' | 'data' | 'profile'>): Recommendation[] {
  const out: Recommendation[] = [];
  for (const c of CRITERIA) {
    const all = report.models.map((m) => m.metrics);
    const ranked = report.models
      .map((m) => ({ m, v: c.value(m.metrics) }))
      .filter((e) => Number.isFinite(e.v) && (c.eligible?.(e.m.metrics, all) ?? true))
      .sort((a, b) => (c.higherIsBetter ? b.v - a.v : a.v - b.v));
    if (ranked.length === 0) continue;
    const [best, second] = ranked;
    const rec: Recommendation = {
      task: c.task,
      heading: c.heading,
      model: best.m.name,
      title: best.m.title,
      metric: c.metric(report as StudyReport),
      higherIsBetter: c.higherIsBetter,
      value: best.v,
      display: c.display(best.m.metrics),
    };
    if (second) rec.runnerUp = { model: second.m.name, title: second.m.title, value: second.v, display: c.display(second.m.metrics) };
    out.push(rec);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// the comparison table

interface Column {
  label: string;
  /** Tooltip: what the column measures. */
  help: string;
  get: (m: StudyModelReport) => number;
  format: (v: number) => string;
  /** Which way is better (highlights the best cell), if any. */
  better?: 'high' | 'low';
}

const fixed = (d: number) => (v: number) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
const int = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a');

/** The columns of the comparison table, in order. */
export const TABLE_COLUMNS: Column[] = [
  { label: 'Parameters', help: 'trainable parameters, as PyTorch counts them', get: (m) => m.metrics.params, format: int },
  { label: 'Code', help: 'values in the latent code of one image', get: (m) => m.metrics.latentSize, format: int },
  { label: 'Train s', help: 'wall-clock seconds of training (pretraining included)', get: (m) => m.training.seconds, format: fixed(1), better: 'low' },
  { label: 'ms / batch', help: 'milliseconds per inference batch of 128 images', get: (m) => m.metrics.reconstruction.msPerBatch, format: fixed(1), better: 'low' },
  { label: 'MSE', help: 'per-pixel mean squared error of the normal test images', get: (m) => m.metrics.reconstruction.mse, format: fixed(4), better: 'low' },
  { label: 'PSNR dB', help: 'peak signal-to-noise ratio of the normal test images', get: (m) => m.metrics.reconstruction.psnr, format: fixed(2), better: 'high' },
  { label: 'PSNR 8-bit', help: 'PSNR when the code is quantised to 8 bits per value', get: (m) => m.metrics.compression.quantizedPsnr, format: fixed(2), better: 'high' },
  { label: 'Anomaly AUC', help: 'ROC AUC of the held-out class against the normal classes, scored by reconstruction MSE', get: (m) => m.metrics.anomaly.auc, format: fixed(3), better: 'high' },
  { label: 'Silhouette', help: 'silhouette of k-means clusters of the codes of normal test images', get: (m) => m.metrics.clustering.silhouette, format: fixed(3), better: 'high' },
  { label: 'NMI', help: 'normalised mutual information of those clusters with the true classes', get: (m) => m.metrics.clustering.nmi, format: fixed(3), better: 'high' },
  { label: 'Transfer acc.', help: 'test accuracy of a classifier head on the frozen encoder', get: (m) => m.metrics.transfer.testAccuracy, format: (v) => (Number.isFinite(v) ? pct(v) : 'n/a'), better: 'high' },
  { label: 'Interp. max/mean', help: 'largest over mean step of decoded interpolation paths (1 = even)', get: (m) => m.metrics.interpolation.maxOverMean, format: fixed(2), better: 'low' },
  { label: 'MSE @0.3', help: 'MSE against the clean image of reconstructions of inputs with noise 0.3', get: (m) => noiseMse(m.metrics, 0.3), format: fixed(4), better: 'low' },
  { label: 'MSE @0.5', help: 'MSE against the clean image of reconstructions of inputs with noise 0.5', get: (m) => noiseMse(m.metrics, 0.5), format: fixed(4), better: 'low' },
  { label: 'Dist. corr.', help: 'correlation of pixel-space and latent-space pairwise distances', get: (m) => m.metrics.geometry.distanceCorrelation, format: fixed(3), better: 'high' },
  { label: 'Neighb.', help: 'share of each image\'s 10 nearest neighbours kept in the latent space', get: (m) => m.metrics.geometry.neighbourhoodPreservation, format: fixed(3), better: 'high' },
  { label: 'Intr. dim', help: 'principal components holding 95% of the code variance', get: (m) => m.metrics.geometry.intrinsicDim, format: int },
  { label: 'Zero code', help: 'share of code values that are exactly 0 (sparsity)', get: (m) => m.metrics.code.zeroFraction, format: (v) => (Number.isFinite(v) ? pct(v) : 'n/a') },
];

// ---------------------------------------------------------------------------------------
// charts

/** A chart of the report: its id, the spec, and a caption. */
export interface ReportChart {
  id: string;
  spec: ChartSpec;
  caption: string;
  /** Model whose section shows it (the latent scatter plots); global charts have none. */
  model?: string;
}

/**
 * Gives every colour encoding on `field` the same value-to-colour mapping in every chart:
 * the architectures in report order take the class colours, extra entries (baselines) grey.
 */
function modelColors(spec: ChartSpec, field: string, domain: string[], models: number): ChartSpec {
  const range = domain.map((_, i) => (i < models ? CLASS_COLORS[i % CLASS_COLORS.length] : '#8c8c8c'));
  const visit = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    const enc = o.encoding as Record<string, Record<string, unknown>> | undefined;
    if (enc?.color && enc.color.field === field) enc.color.scale = { domain, range };
    if (Array.isArray(o.layer)) o.layer.forEach(visit);
  };
  visit(spec);
  return spec;
}

/** One bar per category, coloured by that category (no side-by-side offset), without a legend. */
function colourEachBar(spec: ChartSpec, field: string, domain: string[]): ChartSpec {
  const layers = (spec.layer as Record<string, Record<string, unknown>>[] | undefined) ?? [];
  for (const l of layers) {
    const enc = l.encoding as Record<string, unknown> | undefined;
    if (!enc) continue;
    delete enc.xOffset;
    delete enc.yOffset;
    if (enc.color) enc.color = { field, type: 'nominal', legend: null, scale: { domain, range: domain.map((_, i) => CLASS_COLORS[i % CLASS_COLORS.length]) } };
  }
  return spec;
}

/** Options of `reportCharts`. */
export interface ReportChartsOptions {
  /**
   * At most this many points in each latent scatter plot (default: every projected point).
   * An even stride through the projected codes, which are a random sample of the test set
   * already; for pictures that must stay small, e.g. SVG in a committed notebook (about
   * 200 bytes a point).
   */
  maxPoints?: number;
}

/** The charts of the report, global ones first, then one latent scatter per model. */
export function reportCharts(report: StudyReport, options: ReportChartsOptions = {}): ReportChart[] {
  const { maxPoints } = options;
  if (maxPoints !== undefined) checkInteger('maxPoints', maxPoints, 2);
  const models = report.models;
  const titles = models.map((m) => m.title);
  const byModel = (spec: ChartSpec) => modelColors(spec, 'model', titles, titles.length);
  const anomalyName = report.classNames[report.anomalyClass];
  const charts: ReportChart[] = [];
  const add = (id: string, caption: string, spec: () => ChartSpec) => {
    try {
      charts.push({ id, caption, spec: spec() });
    } catch {
      // no data for this chart (every model failed the stage it draws): left out
    }
  };

  add('psnr', 'Reconstruction quality of the normal test images: PSNR with the float32 code and with the code quantised to 8 bits per value (higher is better).', () =>
    slantedX(barChart(
      models.flatMap((m) => [
        { model: m.title, code: 'float32 code', psnr: m.metrics.compression.psnr },
        { model: m.title, code: '8-bit code', psnr: m.metrics.compression.quantizedPsnr },
      ]),
      { x: 'model', y: 'psnr', color: 'code', title: 'Reconstruction PSNR', xTitle: 'architecture', yTitle: 'PSNR (dB)', width: 440 },
    )),
  );
  add('efficiency', 'Reconstruction error against model size (seed 000 Exercise 2: which architecture is most parameter-efficient).', () =>
    byModel(
      scatterChart(
        models.map((m) => ({ model: m.title, params: m.metrics.params, mse: m.metrics.reconstruction.mse })),
        { x: 'params', y: 'mse', color: 'model', tooltip: ['model', 'params', 'mse'], logX: true, size: 140, title: 'Error against size', xTitle: 'trainable parameters (log)', yTitle: 'MSE per pixel' },
      ),
    ),
  );
  add('learning', 'Training loss per epoch (BCE per pixel, plus the sparsity penalty or the KL term where the model has one).', () =>
    integerX(
      byModel(
        lineChart(
          models.flatMap((m) => m.training.history.map((h) => ({ epoch: h.epoch, loss: h.trainLoss, model: m.title }))),
          { x: 'epoch', y: 'loss', color: 'model', points: true, title: 'Learning curves', xTitle: 'epoch', yTitle: 'training loss' },
        ),
      ),
    ),
  );
  add('per-class', `Mean per-image MSE for each class of the test set; ${anomalyName} (marked *) was never seen in training.`, () =>
    byModel(
      barChart(
        models.flatMap((m) => m.metrics.perClass.map((c) => ({ class: c.label === report.anomalyClass ? `${c.name}*` : c.name, model: m.title, mse: c.mean }))),
        { x: 'class', y: 'mse', color: 'model', title: 'Error per class', xTitle: 'class', yTitle: 'mean MSE per image', width: 760 },
      ),
    ),
  );
  add('roc', `ROC curves of anomaly detection: ${anomalyName} against classes ${classList(report)}, scored by reconstruction MSE.`, () =>
    rocChart(
      models.filter((m) => m.metrics.anomaly.roc.fpr.length > 1).map((m) => ({ name: m.title, fpr: m.metrics.anomaly.roc.fpr, tpr: m.metrics.anomaly.roc.tpr, auc: m.metrics.anomaly.auc })),
      { title: `Anomaly detection (${anomalyName} held out)`, width: 360, height: 360 },
    ),
  );
  add('clustering', `k-means (k = ${report.baseline.clustering.k}) on the codes of normal test images, and on their raw pixels for comparison: silhouette of the clusters, and their agreement with the true classes (ARI, NMI).`, () => {
    const rows = [
      ...models.map((m) => ({ model: m.title, c: m.metrics.clustering })),
      { model: 'raw pixels', c: report.baseline.clustering },
    ].flatMap(({ model, c }) => [
      { metric: 'silhouette', model, value: c.silhouette },
      { metric: 'ARI', model, value: c.ari },
      { metric: 'NMI', model, value: c.nmi },
    ]);
    return modelColors(barChart(rows, { x: 'metric', y: 'value', color: 'model', title: 'Clustering in latent space', xTitle: 'measure', yTitle: 'score', width: 440 }), 'model', [...titles, 'raw pixels'], titles.length);
  });
  add('transfer', `Test accuracy of seed 000's classifier head (Linear-ReLU-Dropout-Linear) trained for ${report.profile.transferEpochs} epoch(s) on the frozen encoder with ${report.data.labelled.toLocaleString('en-US')} labelled images of all classes.`, () =>
    colourEachBar(
      slantedX(barChart(
        models.map((m) => ({ model: m.title, accuracy: m.metrics.transfer.testAccuracy })),
        { x: 'model', y: 'accuracy', color: 'model', title: 'Transfer learning (frozen encoder)', xTitle: 'architecture', yTitle: 'test accuracy', width: 440 },
      )),
      'model',
      titles,
    ),
  );
  add('geometry', 'Latent geometry (seed 000): distance correlation and neighbourhood preservation between pixel space and code space (1 = kept perfectly), and the share of code dimensions needed for 95% of its variance.', () =>
    byModel(
      barChart(
        models.flatMap((m) => [
          { measure: 'distance corr.', model: m.title, value: m.metrics.geometry.distanceCorrelation },
          { measure: 'neighbourhoods kept', model: m.title, value: m.metrics.geometry.neighbourhoodPreservation },
          { measure: 'intrinsic dim / code', model: m.title, value: m.metrics.geometry.intrinsicDim / m.metrics.geometry.latentDim },
        ]),
        { x: 'measure', y: 'value', color: 'model', horizontal: true, title: 'Latent space geometry', xTitle: 'value', width: 440, height: 300 },
      ),
    ),
  );
  add('noise', 'Noise robustness: MSE against the clean image of the reconstructions of noisy inputs (Gaussian noise, clamped to [0, 1]); the grey line is the noisy input itself.', () => {
    const rows = models.flatMap((m) => [
      { level: 0, mse: m.metrics.reconstruction.mse, model: m.title },
      ...m.metrics.noise.map((r) => ({ level: r.level, mse: r.mse, model: m.title })),
    ]);
    const first = models.find((m) => m.metrics.noise.some((r) => Number.isFinite(r.noisyMse)));
    if (first) rows.push({ level: 0, mse: 0, model: 'noisy input' }, ...first.metrics.noise.map((r) => ({ level: r.level, mse: r.noisyMse, model: 'noisy input' })));
    const spec = lineChart(rows, { x: 'level', y: 'mse', color: 'model', points: true, title: 'Reconstruction of noisy inputs', xTitle: 'noise standard deviation', yTitle: 'MSE against the clean image' });
    return modelColors(spec, 'model', [...titles, 'noisy input'], titles.length);
  });
  add('smoothness', 'Interpolation: mean absolute pixel change between consecutive images of the decoded walk between two class means (an even walk is a flat line).', () =>
    integerX(byModel(
      lineChart(
        models.flatMap((m) => m.metrics.interpolation.classPath.stepDistances.map((v, i) => ({ step: i + 1, change: v, model: m.title }))),
        { x: 'step', y: 'change', color: 'model', points: true, title: 'Interpolation smoothness', xTitle: 'step', yTitle: 'mean |pixel change|' },
      ),
    )),
  );
  add('speed', 'Milliseconds per training step and per inference batch (both 128 images), on this machine\'s backend.', () =>
    slantedX(barChart(
      models.flatMap((m) => [
        { model: m.title, what: 'training step', ms: m.training.msPerStep },
        { model: m.title, what: 'inference batch', ms: m.metrics.reconstruction.msPerBatch },
      ]),
      { x: 'model', y: 'ms', color: 'what', title: 'Speed', xTitle: 'architecture', yTitle: 'milliseconds', width: 440 },
    )),
  );
  for (const m of models) {
    const p = m.metrics.projection;
    if (p.points.length < 2) continue;
    const n = p.points.length, shown = maxPoints === undefined ? n : Math.min(n, maxPoints);
    const rows = Array.from({ length: shown }, (_, i) => {
      const index = Math.floor((i * n) / shown);
      const [x, y, label] = p.points[index];
      return { x, y, label, index };
    });
    const count = (k: number) => k.toLocaleString('en-US');
    charts.push({
      id: `latent-${m.name}`,
      model: m.name,
      caption: `${p.method === 'tsne' ? 't-SNE' : p.method === 'pca' ? 'PCA' : 'The codes'} of ${count(n)} test images${shown < n ? ` (${count(shown)} of them drawn)` : ''}, coloured by class (${anomalyName} never seen in training).`,
      spec: latentScatterChart(
        { rows, method: p.method as 'pca' | 'tsne' | 'direct', latentDim: m.metrics.latentSize, explainedVarianceRatio: p.explainedVarianceRatio },
        { title: `${m.title}: latent space`, width: 380, height: 320 },
      ),
    });
  }
  return charts;
}

/** Slanted category labels on the x axis, so that architecture names never overlap. */
function slantedX(spec: ChartSpec): ChartSpec {
  for (const l of [spec, ...((spec.layer as ChartSpec[] | undefined) ?? [])]) {
    const x = (l.encoding as Record<string, Record<string, unknown>> | undefined)?.x;
    if (x && x.type === 'nominal') x.axis = { labelAngle: -30, labelAlign: 'right', labelLimit: 140 };
  }
  return spec;
}

/** Integer ticks on the x axis (epochs, steps). */
function integerX(spec: ChartSpec): ChartSpec {
  const x = (spec.encoding as Record<string, Record<string, unknown>> | undefined)?.x;
  if (x) x.axis = { format: 'd', tickMinStep: 1 };
  return spec;
}

/**
 * Renders a chart to SVG for inlining: element ids (vega's clip paths) get a prefix unique
 * to the chart, so several SVGs in one page never share an id.
 */
export async function inlineSvg(chart: ReportChart): Promise<string> {
  const svg = await renderSvg(chart.spec);
  const prefix = `${chart.id.replace(/[^A-Za-z0-9_-]/g, '_')}-`;
  return svg
    .replace(/\bid="([^"]+)"/g, (_, id: string) => `id="${prefix}${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_, id: string) => `url(#${prefix}${id})`)
    .replace(/href="#([^"]+)"/g, (_, id: string) => `href="#${prefix}${id}"`)
    .replace(/^<svg /, `<svg role="img" aria-label="${escapeHtml(chart.caption)}" `);
}

// ---------------------------------------------------------------------------------------
// HTML

/** What `renderHtml` produced. */
export interface RenderedReport {
  html: string;
  /** Inline SVG charts and PNG pictures in the page. */
  charts: number;
  pictures: number;
}

/**
 * The report as one self-contained HTML page.
 * @param image PNG bytes of a model's picture, or undefined when it is missing
 */
export async function renderHtml(report: StudyReport, image: (model: string, name: keyof ModelImages) => Uint8Array | undefined): Promise<RenderedReport> {
  const charts = reportCharts(report);
  const svgs = new Map<string, string>();
  for (const c of charts) svgs.set(c.id, await inlineSvg(c));
  let pictures = 0;
  const figure = (c: ReportChart) => `<figure class="chart" data-chart="${c.id}">${svgs.get(c.id)}<figcaption>${escapeHtml(c.caption)}</figcaption></figure>`;
  const anomalyName = report.classNames[report.anomalyClass];
  const p = report.profile;
  const fmtInt = (n: number) => n.toLocaleString('en-US');

  const recs = report.recommendations
    .map(
      (r) => `<div class="rec" data-task="${r.task}"><h3>${escapeHtml(r.heading)}</h3><p class="winner">${escapeHtml(r.title)}</p>` +
        `<p class="value">${escapeHtml(r.display)}</p><p class="metric">Chosen by: ${escapeHtml(r.metric)}.</p>` +
        (r.runnerUp ? `<p class="runner">Runner-up: ${escapeHtml(r.runnerUp.title)} (${escapeHtml(r.runnerUp.display)}).</p>` : '') +
        '</div>',
    )
    .join('\n');

  const best = TABLE_COLUMNS.map((c) => {
    if (!c.better) return NaN;
    const vals = report.models.map((m) => c.get(m)).filter(Number.isFinite);
    return vals.length ? (c.better === 'high' ? Math.max(...vals) : Math.min(...vals)) : NaN;
  });
  const table =
    `<table class="comparison"><thead><tr><th>Architecture</th>${TABLE_COLUMNS.map((c) => `<th title="${escapeHtml(c.help)}">${escapeHtml(c.label)}</th>`).join('')}</tr></thead><tbody>\n` +
    report.models
      .map(
        (m) =>
          `<tr data-model="${m.name}"><th scope="row"><a href="#model-${m.name}">${escapeHtml(m.title)}</a></th>` +
          TABLE_COLUMNS.map((c, i) => {
            const v = c.get(m);
            return `<td${v === best[i] ? ' class="best"' : ''}>${escapeHtml(c.format(v))}</td>`;
          }).join('') +
          '</tr>',
      )
      .join('\n') +
    '\n</tbody></table>';

  const sections = report.models
    .map((m) => {
      const pics = (Object.keys(IMAGE_CAPTIONS) as (keyof ModelImages)[])
        .map((name) => {
          const png = image(m.name, name);
          if (!png) return '';
          pictures++;
          return `<figure class="picture" data-picture="${name}"><img src="data:image/png;base64,${Buffer.from(png).toString('base64')}" alt="${escapeHtml(`${m.title}: ${IMAGE_CAPTIONS[name]}`)}"><figcaption>${escapeHtml(IMAGE_CAPTIONS[name])}</figcaption></figure>`;
        })
        .join('\n');
      const scatter = charts.filter((c) => c.model === m.name).map(figure).join('\n');
      const t = m.training;
      const mm = m.metrics;
      const facts = [
        `${fmtInt(mm.params)} parameters; code of ${mm.latentSize} values (${mm.compressionRatio.toFixed(1)}x smaller than the image)`,
        `trained ${t.epochs} epoch${t.epochs === 1 ? '' : 's'} on ${fmtInt(t.examples)} images in ${t.seconds.toFixed(1)} s (${t.msPerStep.toFixed(1)} ms per step)` +
          (t.pretrain ? `, after greedy pretraining of ${t.pretrain.length} blocks (${t.pretrain[0].epochs} epoch${t.pretrain[0].epochs === 1 ? '' : 's'} each)` : '') +
          `; final training loss ${t.history.at(-1)?.trainLoss.toFixed(4) ?? 'n/a'}`,
        `anomaly detection: mean MSE ${mm.anomaly.meanErrorNormal.toFixed(4)} on normal test images and ${mm.anomaly.meanErrorAnomaly.toFixed(4)} on ${escapeHtml(anomalyName)}; a threshold at the 95th percentile of the training errors flags ${pct(mm.anomaly.tpr)} of ${escapeHtml(anomalyName)} and ${pct(mm.anomaly.fpr)} of the normal images`,
        `k-means: silhouette ${mm.clustering.silhouette.toFixed(3)}, ARI ${mm.clustering.ari.toFixed(3)}, NMI ${mm.clustering.nmi.toFixed(3)}; ${pct(mm.code.zeroFraction)} of code values are zero`,
        `geometry: distance correlation ${mm.geometry.distanceCorrelation.toFixed(3)}, neighbourhood preservation ${mm.geometry.neighbourhoodPreservation.toFixed(3)} (chance ${mm.geometry.neighbourhoodChance.toFixed(3)}), intrinsic dimension ${mm.geometry.intrinsicDim} of ${mm.geometry.latentDim}`,
        `status: ${m.status === 'trained' ? 'trained and analysed by this run' : m.status === 'analysed' ? `trained ${m.trainedAt}, analysed by this run` : `trained ${m.trainedAt} and analysed ${m.analysedAt} by an earlier run (reused)`}; saved in <code>${escapeHtml(m.files.model)}</code>`,
      ];
      const errs = Object.entries(mm.errors);
      const errorList = errs.length ? `<p class="error">Failed stages: ${errs.map(([s, e]) => `${escapeHtml(s)} (${escapeHtml(e)})`).join('; ')}</p>` : '';
      return `<section class="model" id="model-${m.name}" data-model="${m.name}"><h3>${escapeHtml(m.title)} <span class="name">${m.name}</span></h3>
<p>${escapeHtml(m.description)}</p>${errorList}
<ul class="facts">${facts.map((f) => `<li>${f}</li>`).join('')}</ul>
<div class="pictures">${pics}\n${scatter}</div></section>`;
    })
    .join('\n');

  const global = charts.filter((c) => !c.model).map(figure).join('\n');
  const failures = report.failures.length
    ? `<p class="error">${report.failures.length} analysis stage(s) failed; their figures show as n/a: ${report.failures.map((f) => `${escapeHtml(f.model)} / ${escapeHtml(f.stage)}: ${escapeHtml(f.message)}`).join('; ')}</p>`
    : '';
  const html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>Autoencoder study: ${escapeHtml(report.dataset)}, ${escapeHtml(p.name)} profile</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>Autoencoder study on ${escapeHtml(datasetTitle(report.dataset))}</h1>
<p class="meta">aelab ${escapeHtml(report.aelab)} · ${escapeHtml(report.created)} · profile <b>${escapeHtml(p.name)}</b> (${escapeHtml(p.description)}) · seed ${report.seed} · ${report.seconds.toFixed(0)} s · <code>${escapeHtml(report.command)}</code></p>
</header>
<main>
<section id="setup"><h2>Setup</h2>
<p>${report.models.length === 7 ? 'Seven' : report.models.length} architecture${report.models.length === 1 ? '' : 's'} (seed 000's Final Project and Exercise 2) learn the same data: <b>${fmtInt(report.data.train)}</b> training images of classes ${escapeHtml(classList(report))} only.
Class <b>${escapeHtml(anomalyName)}</b> is held out of training: it is the anomaly of the anomaly-detection test.
Every code has 32 values (24.5x smaller than the 784-pixel image). Every model minimises the per-pixel binary cross-entropy with Adam (learning rate 0.001, batch ${p.batchSize}); the recipes below add what each architecture needs.
Evaluation uses ${fmtInt(report.data.test)} test images of all classes (${fmtInt(report.data.testNormal)} of the normal classes): reconstruction, compression, geometry, clustering, interpolation and noise on the normal ones, per-class errors, anomaly detection and transfer learning on all of them.</p>
${profileNote(p) ? `<p class="note">${escapeHtml(profileNote(p)!)}</p>` : ''}
${failures}
</section>
<section id="recommendations"><h2>Recommendations</h2><div class="recs">
${recs}
</div></section>
<section id="comparison"><h2>Comparison</h2>
<p>One row per architecture; the best value of each column is highlighted. Hover a column title for what it measures.</p>
<div class="scroll">${table}</div>
</section>
<section id="charts"><h2>Charts</h2><div class="charts">
${global}
</div></section>
<section id="models"><h2>Architectures</h2>
${sections}
</section>
<section id="method"><h2>How the figures are measured</h2>
<dl>
<dt>MSE, PSNR</dt><dd>Per-pixel mean squared error of the reconstructions of the normal test images, in inference mode; PSNR = 10 log10(1 / MSE) for pixels in [0, 1].</dd>
<dt>Compression</dt><dd>The code is the compressed image: 32 float32 values (24.5x), or quantised to 8 bits per value with a per-unit min/max (98x); PSNR of the images decoded from it.</dd>
<dt>Anomaly AUC</dt><dd>Per-image reconstruction MSE as the anomaly score; area under the ROC curve of ${escapeHtml(anomalyName)} (positive) against the normal classes. The threshold of seed 000's AnomalyDetector is the 95th percentile of the errors of ${fmtInt(report.data.threshold)} normal training images.</dd>
<dt>Clustering</dt><dd>k-means (k = ${report.baseline.clustering.k}, best of ${p.kmeansRestarts} k-means++ starts) on the codes of ${fmtInt(report.baseline.clustering.points)} normal test images; silhouette of its clusters (sklearn's definition) and ARI / NMI against the true classes. The same on raw pixels: silhouette ${report.baseline.clustering.silhouette.toFixed(3)}, ARI ${report.baseline.clustering.ari.toFixed(3)}, NMI ${report.baseline.clustering.nmi.toFixed(3)}.</dd>
<dt>Transfer accuracy</dt><dd>Seed 000's head (Linear(32, 128), ReLU, Dropout(0.3), Linear(128, ${report.classNames.length})) trained with Adam for ${p.transferEpochs} epoch(s) on the frozen encoder's code of ${fmtInt(report.data.labelled)} labelled training images of all classes; accuracy on all test images.</dd>
<dt>Interpolation</dt><dd>For ${p.interpolationPairs} pairs of normal test images of different classes, the codes are joined by a straight line, 10 points are decoded, and the mean absolute pixel change of each step is measured; the score is the largest step over the mean step (1 = even), averaged over the pairs.</dd>
<dt>Noise robustness</dt><dd>Gaussian noise of standard deviation 0.1 to 0.7 added to normal test images (clamped to [0, 1]); MSE of the reconstruction against the clean image.</dd>
<dt>Geometry</dt><dd>Seed 000's analyze_latent_geometry on ${fmtInt(p.geometrySamples)} normal test images: Pearson correlation of pairwise distances (${fmtInt(p.geometryPairs)} images), share of the 10 nearest neighbours kept, principal components for 95% of the code variance.</dd>
<dt>Speed</dt><dd>Milliseconds per inference batch of 128 (after warm-up, result read back) and per training step, on the backend of this run.</dd>
</dl>
<p>Every figure is also in <code>report.json</code> beside this page; each model is saved under <code>models/&lt;name&gt;/</code> with its metrics, so running the same command again reuses them (<code>--force</code> retrains).</p>
</section>
</main>
</body>
</html>
`;
  return { html, charts: charts.length, pictures };
}

/** A warning shown under the setup for profiles too short to draw conclusions from. */
function profileNote(p: StudyProfile): string | undefined {
  const images = p.trainSize === null ? 'every training image' : `${p.trainSize.toLocaleString('en-US')} images`;
  if (p.name === 'quick') {
    return `Quick profile: each model sees ${images} ${p.epochs === 1 ? 'once' : `${p.epochs} times`}, far from converged (several barely beat the average image), so these rankings are a first look, not a result. ` +
      'Run the default standard profile (npm start) or --profile full for conclusions.';
  }
  if (p.name === 'test') return `Test profile: ${images}, ${p.epochs} epoch(s). The figures only show that every stage runs.`;
  return undefined;
}

function datasetTitle(name: string): string {
  return name === 'mnist' ? 'MNIST' : name === 'fashion-mnist' ? 'Fashion-MNIST' : name;
}

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const CSS = `
:root { --ink: #222; --faint: #666; --line: #ddd; --accent: #4e79a7; --best: #e3f0d8; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 "DejaVu Sans", Helvetica, Arial, sans-serif; color: var(--ink); background: #fafafa; }
header, main { max-width: 1560px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 24px; }
h1 { margin: 0 0 4px; font-size: 26px; }
h2 { margin: 32px 0 12px; font-size: 21px; border-bottom: 2px solid var(--line); padding-bottom: 4px; }
h3 { margin: 0 0 6px; font-size: 17px; }
.meta { color: var(--faint); font-size: 13px; margin: 0; }
code { font-size: 12px; background: #eee; padding: 1px 4px; border-radius: 3px; }
.recs { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 14px; }
.rec { background: white; border: 1px solid var(--line); border-left: 5px solid var(--accent); border-radius: 4px; padding: 12px 14px; }
.rec .winner { font-size: 20px; font-weight: bold; margin: 0; }
.rec .value { margin: 0 0 6px; }
.rec .metric, .rec .runner { margin: 0; color: var(--faint); font-size: 13px; }
.scroll { overflow-x: auto; }
table.comparison { border-collapse: collapse; background: white; font-size: 12px; }
table.comparison th, table.comparison td { border: 1px solid var(--line); padding: 5px 8px; text-align: right; }
table.comparison thead th { background: #f0f0f0; cursor: help; vertical-align: bottom; min-width: 52px; }
table.comparison td, table.comparison tbody th { white-space: nowrap; }
table.comparison tbody th { text-align: left; }
table.comparison td.best { background: var(--best); font-weight: bold; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0; background: white; border: 1px solid var(--line); border-radius: 4px; padding: 8px; }
figure svg, figure img { display: block; max-width: 100%; height: auto; }
figure img { image-rendering: pixelated; }
figcaption { font-size: 12px; color: var(--faint); margin-top: 4px; contain: inline-size; }
section.model { background: white; border: 1px solid var(--line); border-radius: 4px; padding: 14px 16px; margin-bottom: 18px; }
section.model .name { font-weight: normal; color: var(--faint); font-size: 13px; font-family: monospace; }
ul.facts { margin: 6px 0 10px; padding-left: 20px; font-size: 13px; }
.pictures { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.pictures figure { border-color: #eee; }
.error { color: #b00020; }
.note { background: #fff6d6; border: 1px solid #f0d98c; border-radius: 4px; padding: 8px 12px; }
dt { font-weight: bold; margin-top: 6px; }
dd { margin-left: 18px; }
`;
