/**
 * Chart builders: each returns a vega-lite top-level spec (plain JSON, so it can be
 * stored, edited or merged by hand), and `renderSvg` renders any spec headless to SVG
 * through vega (no browser, no canvas). vega and vega-lite are ESM with top-level await:
 * they are loaded here with a real dynamic `import()` (kept as is by `module: node16` in
 * the CommonJS output), never with `require`.
 */
import { ArgumentError } from '../errors';

/** A vega-lite top-level spec (`$schema`, `data`, `mark`/`layer`, `encoding`, `config`, ...). */
export type ChartSpec = Record<string, unknown>;

/** Options every chart builder takes. */
export interface ChartOptions {
  /** Title above the chart. */
  title?: string;
  /** Width of the plotting area in pixels (default 420, ROC 320). */
  width?: number;
  /** Height of the plotting area in pixels (default 260, ROC 320). */
  height?: number;
  /** Title of the x axis (default: the x field's name). */
  xTitle?: string;
  /** Title of the y axis (default: the y field's name). */
  yTitle?: string;
  /** Logarithmic x scale (values must be > 0). */
  logX?: boolean;
  /** Logarithmic y scale (values must be > 0). */
  logY?: boolean;
}

/** A table of records, one per mark (point, bar, line vertex). */
export type Rows = Record<string, unknown>[];

/** Default plotting-area size. */
const WIDTH = 420;
const HEIGHT = 260;
const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/**
 * Ten well separated colours (Tableau 10), in the order used for classes 0..9: the scheme
 * of every nominal colour encoding, so digit classes keep their colour from chart to chart.
 */
export const CLASS_COLORS: readonly string[] = [
  '#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f',
  '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac',
];

/** Shared look: readable fonts, light grid, the class colours for nominal scales. */
const CONFIG = {
  font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
  background: 'white',
  padding: 8,
  view: { stroke: '#ddd' },
  title: { fontSize: 15, fontWeight: 'bold', anchor: 'start', offset: 10 },
  axis: { labelFontSize: 11, titleFontSize: 13, titleFontWeight: 'normal', titlePadding: 8, gridColor: '#eee', domainColor: '#888', tickColor: '#888' },
  legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', symbolSize: 90 },
  range: { category: [...CLASS_COLORS] },
  line: { strokeWidth: 2 },
};

/** The common top level: schema, title, size, data and config. */
function base(rows: Rows, o: ChartOptions, defaults: { width?: number; height?: number } = {}): ChartSpec {
  const spec: ChartSpec = {
    $schema: SCHEMA,
    width: checkSize('width', o.width ?? defaults.width ?? WIDTH),
    height: checkSize('height', o.height ?? defaults.height ?? HEIGHT),
    data: { values: rows },
    config: CONFIG,
  };
  if (o.title) spec.title = o.title;
  return spec;
}

function checkSize(name: string, v: number): number {
  if (!Number.isFinite(v) || v < 10 || v > 10000) throw new ArgumentError(name, v, 'a size in pixels between 10 and 10000');
  return v;
}

function checkRows(rows: unknown, fields: (string | undefined)[]): Rows {
  if (!Array.isArray(rows)) throw new ArgumentError('rows', rows, 'an array of records');
  const first = rows[0] as Record<string, unknown> | undefined;
  if (first) {
    for (const f of fields) {
      if (f !== undefined && !(f in first)) {
        throw new ArgumentError('field', f, `a column of the rows (the first row has ${Object.keys(first).map((k) => JSON.stringify(k)).join(', ')})`);
      }
    }
  }
  return rows as Rows;
}

/** A quantitative scale, logarithmic on request. */
function scale(log: boolean | undefined, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return log ? { type: 'log', ...extra } : { zero: false, ...extra };
}

/**
 * A nominal colour channel in the class colours. Categories are sorted (classes 0..9 in
 * order) unless `inDataOrder`, which keeps the order of first appearance (models, series).
 */
function nominalColor(field: string, title?: string, inDataOrder = false): Record<string, unknown> {
  return { field, type: 'nominal', title: title ?? field, scale: { range: [...CLASS_COLORS] }, ...(inDataOrder ? { sort: null } : {}) };
}

/**
 * A line chart of `y` against a quantitative `x`. Several y fields are folded into series
 * (one coloured line each, legend titled "series"); `color` instead splits one y field by
 * a column. `points` marks every vertex.
 * @param rows one record per x value (and per colour group)
 */
export function lineChart(rows: Rows, o: ChartOptions & { x: string; y: string | string[]; color?: string; points?: boolean }): ChartSpec {
  const ys = Array.isArray(o.y) ? o.y : [o.y];
  if (ys.length === 0) throw new ArgumentError('y', o.y, 'a field name or a non-empty list of field names');
  checkRows(rows, [o.x, ...ys, o.color]);
  const spec = base(rows, o);
  const folded = ys.length > 1;
  const yField = folded ? 'value' : ys[0];
  const colorField = folded ? 'series' : o.color;
  if (folded) spec.transform = [{ fold: ys, as: ['series', 'value'] }, { filter: 'isValid(datum.value) && isFinite(datum.value)' }];
  const encoding: Record<string, unknown> = {
    x: { field: o.x, type: 'quantitative', title: o.xTitle ?? o.x, scale: scale(o.logX) },
    y: { field: yField, type: 'quantitative', title: o.yTitle ?? (folded ? 'value' : yField), scale: scale(o.logY) },
  };
  if (folded) encoding.color = { field: 'series', type: 'nominal', title: 'series', scale: { domain: ys, range: [...CLASS_COLORS] } };
  else if (colorField) encoding.color = nominalColor(colorField);
  encoding.tooltip = [
    { field: o.x, type: 'quantitative' },
    ...(colorField ? [{ field: colorField, type: 'nominal' }] : []),
    { field: yField, type: 'quantitative', format: '.4~g' },
  ];
  spec.mark = { type: 'line', point: o.points ? { filled: true, size: 40 } : false, interpolate: 'linear' };
  spec.encoding = encoding;
  return spec;
}

/**
 * A scatter plot of two quantitative fields, coloured by a nominal column (class labels
 * get the ten class colours). `tooltip` lists fields shown on hover in interactive
 * renderers; `size` is the point area in square pixels (default 30, 12 above 2,000 points).
 */
export function scatterChart(rows: Rows, o: ChartOptions & { x: string; y: string; color?: string; tooltip?: string[]; size?: number }): ChartSpec {
  checkRows(rows, [o.x, o.y, o.color, ...(o.tooltip ?? [])]);
  const spec = base(rows, o);
  const size = o.size ?? (rows.length > 2000 ? 12 : 30);
  spec.mark = { type: 'circle', size, opacity: 0.75 };
  const encoding: Record<string, unknown> = {
    x: { field: o.x, type: 'quantitative', title: o.xTitle ?? o.x, scale: scale(o.logX, { nice: true }) },
    y: { field: o.y, type: 'quantitative', title: o.yTitle ?? o.y, scale: scale(o.logY, { nice: true }) },
  };
  if (o.color) encoding.color = nominalColor(o.color);
  if (o.tooltip?.length) encoding.tooltip = o.tooltip.map((f) => ({ field: f }));
  spec.encoding = encoding;
  return spec;
}

/**
 * A bar chart of a quantitative `y` for each category of `x` (or, `horizontal`, bars
 * along x for each category listed down the y axis). `error` names a field holding a
 * standard deviation (same units as y), drawn as ±1 error bars; `color` groups bars side
 * by side within each category.
 */
export function barChart(rows: Rows, o: ChartOptions & { x: string; y: string; error?: string; color?: string; horizontal?: boolean }): ChartSpec {
  checkRows(rows, [o.x, o.y, o.error, o.color]);
  const spec = base(rows, o);
  const cat = o.horizontal ? 'y' : 'x';
  const val = o.horizontal ? 'x' : 'y';
  const catTitle = o.horizontal ? (o.yTitle ?? o.x) : (o.xTitle ?? o.x);
  const valTitle = o.horizontal ? (o.xTitle ?? o.y) : (o.yTitle ?? o.y);
  const log = o.horizontal ? o.logX : o.logY;
  const shared: Record<string, unknown> = {
    [cat]: { field: o.x, type: 'nominal', title: catTitle, sort: null, axis: o.horizontal ? {} : { labelAngle: 0 } },
  };
  if (o.color) {
    shared[`${cat}Offset`] = { field: o.color, type: 'nominal', sort: null };
  }
  const barEnc: Record<string, unknown> = {
    ...shared,
    // Stacked bars start at 0, which a log scale cannot show (no ticks, a warning): unstacked, they start at the domain's low end.
    [val]: { field: o.y, type: 'quantitative', title: valTitle, scale: log ? { type: 'log' } : { zero: true }, ...(log ? { stack: null } : {}) },
    tooltip: [{ field: o.x }, ...(o.color ? [{ field: o.color }] : []), { field: o.y, format: '.4~g' }, ...(o.error ? [{ field: o.error, title: `${o.error} (±)`, format: '.4~g' }] : [])],
  };
  barEnc.color = o.color ? nominalColor(o.color, o.color, true) : { value: CLASS_COLORS[0] };
  const layers: Record<string, unknown>[] = [{ mark: { type: 'bar', cornerRadiusEnd: 1 }, encoding: barEnc }];
  if (o.error) {
    layers.push({
      mark: { type: 'errorbar', ticks: { size: 8 }, color: '#333', thickness: 1.3 },
      encoding: {
        ...shared,
        [val]: { field: o.y, type: 'quantitative', title: valTitle },
        [`${val}Error`]: { field: o.error },
      },
    });
  }
  spec.layer = layers;
  return spec;
}

/**
 * Histograms of one quantitative field, one per colour group, overlaid (translucent bars
 * on shared bins, not stacked). `bins` is the maximum bin count (default 30); `density`
 * scales each group to unit area (count / (group size × bin width)), so groups of
 * different sizes compare.
 */
export function histogramChart(rows: Rows, o: ChartOptions & { field: string; color?: string; bins?: number; density?: boolean }): ChartSpec {
  checkRows(rows, [o.field, o.color]);
  const bins = o.bins ?? 30;
  if (!Number.isInteger(bins) || bins < 1) throw new ArgumentError('bins', bins, 'an integer >= 1');
  const spec = base(rows, o);
  const groups = o.color ? [o.color] : [];
  const yField = o.density ? 'density' : 'count';
  spec.transform = [
    { filter: `isValid(datum[${JSON.stringify(o.field)}]) && isFinite(datum[${JSON.stringify(o.field)}])` },
    { bin: { maxbins: bins }, field: o.field, as: ['bin_start', 'bin_end'] },
    { aggregate: [{ op: 'count', as: 'count' }], groupby: ['bin_start', 'bin_end', ...groups] },
    { joinaggregate: [{ op: 'sum', field: 'count', as: 'group_total' }], groupby: groups },
    { calculate: 'datum.count / (datum.group_total * (datum.bin_end - datum.bin_start))', as: 'density' },
  ];
  spec.mark = { type: 'bar', opacity: o.color ? 0.55 : 0.9, binSpacing: 0 };
  const encoding: Record<string, unknown> = {
    x: { field: 'bin_start', type: 'quantitative', bin: { binned: true }, title: o.xTitle ?? o.field, scale: o.logX ? { type: 'log' } : {} },
    x2: { field: 'bin_end' },
    y: { field: yField, type: 'quantitative', stack: null, title: o.yTitle ?? yField, scale: o.logY ? { type: 'symlog' } : {} },
    tooltip: [...groups.map((g) => ({ field: g })), { field: 'bin_start', title: 'from', format: '.4~g' }, { field: 'bin_end', title: 'to', format: '.4~g' }, { field: yField, format: '.4~g' }],
  };
  encoding.color = o.color ? nominalColor(o.color, o.color, true) : { value: CLASS_COLORS[0] };
  spec.encoding = encoding;
  return spec;
}

/**
 * A heatmap: one cell per (x, y) pair of categories, coloured by the quantitative `value`
 * (viridis). Small grids (up to 20×20, e.g. a confusion matrix) print each value in
 * its cell. Categories keep the order of first appearance in `rows`.
 */
export function heatmapChart(rows: Rows, o: ChartOptions & { x: string; y: string; value: string }): ChartSpec {
  checkRows(rows, [o.x, o.y, o.value]);
  const xs = new Set(rows.map((r) => r[o.x]));
  const ys = new Set(rows.map((r) => r[o.y]));
  const cell = Math.max(12, Math.min(40, Math.floor(420 / Math.max(xs.size, ys.size, 1))));
  const spec = base(rows, o, { width: cell * Math.max(xs.size, 1), height: cell * Math.max(ys.size, 1) });
  const enc = {
    // Many or long column labels are turned so they do not run into each other.
    x: { field: o.x, type: 'ordinal', title: o.xTitle ?? o.x, sort: null, axis: { labelAngle: xs.size * Math.max(...[...xs].map((v) => String(v).length), 1) * 6.5 > cell * xs.size ? -45 : 0 } },
    y: { field: o.y, type: 'ordinal', title: o.yTitle ?? o.y, sort: null },
  };
  const layers: Record<string, unknown>[] = [
    {
      mark: { type: 'rect' },
      encoding: {
        ...enc,
        color: { field: o.value, type: 'quantitative', title: o.value, scale: { scheme: 'viridis', ...(o.logY ? { type: 'log' } : {}) } },
        tooltip: [{ field: o.x }, { field: o.y }, { field: o.value, format: '.4~g' }],
      },
    },
  ];
  if (xs.size <= 20 && ys.size <= 20) {
    const values = rows.map((r) => Number(r[o.value])).filter(Number.isFinite);
    const mid = values.length ? (Math.min(...values) + Math.max(...values)) / 2 : 0;
    layers.push({
      mark: { type: 'text', fontSize: Math.max(8, Math.min(12, cell / 3)) },
      encoding: {
        ...enc,
        text: { field: o.value, type: 'quantitative', format: '.3~g' },
        color: { condition: { test: `datum[${JSON.stringify(o.value)}] < ${mid}`, value: 'white' }, value: 'black' },
      },
    });
  }
  spec.layer = layers;
  return spec;
}

/**
 * ROC curves (true-positive rate against false-positive rate, both in [0, 1]), one line
 * per curve, named with its AUC when given, over the dashed chance diagonal.
 * @param curves `fpr` and `tpr` of equal length, in threshold order
 */
export function rocChart(curves: { name: string; fpr: number[]; tpr: number[]; auc?: number }[], o: ChartOptions = {}): ChartSpec {
  if (!Array.isArray(curves) || curves.length === 0) throw new ArgumentError('curves', curves, 'a non-empty list of { name, fpr, tpr }');
  const rows: Rows = [];
  for (const c of curves) {
    if (!c || c.fpr.length !== c.tpr.length) throw new ArgumentError(`curve ${JSON.stringify(c?.name)}`, c, 'fpr and tpr of equal length');
    const label = c.auc === undefined ? c.name : `${c.name} (AUC ${c.auc.toFixed(3)})`;
    c.fpr.forEach((f, i) => rows.push({ curve: label, fpr: f, tpr: c.tpr[i], order: i }));
  }
  const spec = base([], o, { width: 320, height: 320 });
  delete spec.data;
  const axis = (field: string, title: string) => ({ field, type: 'quantitative', title, scale: { domain: [0, 1] } });
  spec.layer = [
    {
      data: { values: [{ fpr: 0, tpr: 0 }, { fpr: 1, tpr: 1 }] },
      mark: { type: 'line', strokeDash: [5, 4], color: '#999', strokeWidth: 1.2 },
      encoding: { x: axis('fpr', o.xTitle ?? 'false positive rate'), y: axis('tpr', o.yTitle ?? 'true positive rate') },
    },
    {
      data: { values: rows },
      mark: { type: 'line', strokeWidth: 2.2 },
      encoding: {
        x: axis('fpr', o.xTitle ?? 'false positive rate'),
        y: axis('tpr', o.yTitle ?? 'true positive rate'),
        color: { ...nominalColor('curve', 'curve'), sort: null, legend: { orient: 'bottom-right', labelLimit: 300 } },
        order: { field: 'order', type: 'quantitative' },
      },
    },
  ];
  return spec;
}

/**
 * Learning curves: training loss and, when recorded, validation loss per epoch (one
 * coloured line each). `showLr` adds the learning rate as a dashed grey line on a second,
 * logarithmic y axis on the right. `logY` puts the losses on a log scale.
 * @param history what `train.fit` returns (`epochs[i].epoch` counts from 1)
 */
export function learningCurves(
  history: { epochs: { epoch: number; trainLoss: number; valLoss?: number; lr?: number }[] },
  o: ChartOptions & { showLr?: boolean } = {},
): ChartSpec {
  if (!history || !Array.isArray(history.epochs)) throw new ArgumentError('history', history, 'a training history with an epochs array');
  const rows: Rows = [];
  for (const e of history.epochs) {
    rows.push({ epoch: e.epoch, series: 'train', loss: e.trainLoss, lr: e.lr });
    if (e.valLoss !== undefined && e.valLoss !== null) rows.push({ epoch: e.epoch, series: 'validation', loss: e.valLoss, lr: e.lr });
  }
  const points = history.epochs.length <= 30;
  const hasVal = rows.some((r) => r.series === 'validation');
  const spec = base(rows, { title: o.title ?? 'Learning curves', ...o });
  const x = { field: 'epoch', type: 'quantitative', title: o.xTitle ?? 'epoch', axis: { tickMinStep: 1, format: 'd' }, scale: { zero: false, nice: false } };
  const lossLayer = {
    mark: { type: 'line', point: points ? { filled: true, size: 40 } : false },
    encoding: {
      x,
      y: { field: 'loss', type: 'quantitative', title: o.yTitle ?? 'loss', scale: scale(o.logY) },
      color: { field: 'series', type: 'nominal', title: null, scale: { domain: hasVal ? ['train', 'validation'] : ['train'], range: [CLASS_COLORS[0], CLASS_COLORS[1]] } },
      tooltip: [{ field: 'epoch' }, { field: 'series' }, { field: 'loss', format: '.5~g' }],
    },
  };
  const hasLr = history.epochs.some((e) => typeof e.lr === 'number' && e.lr > 0);
  if (o.showLr && hasLr) {
    spec.layer = [
      lossLayer,
      {
        transform: [{ filter: "datum.series === 'train' && isValid(datum.lr) && datum.lr > 0" }],
        mark: { type: 'line', strokeDash: [4, 3], color: '#888', strokeWidth: 1.5 },
        encoding: {
          x,
          y: { field: 'lr', type: 'quantitative', title: 'learning rate', scale: { type: 'log' }, axis: { orient: 'right', format: '.1~e', titleColor: '#666', labelColor: '#666', grid: false, values: lrTicks(history.epochs.map((e) => e.lr)) } },
          tooltip: [{ field: 'epoch' }, { field: 'lr', title: 'learning rate', format: '.2e' }],
        },
      },
    ];
    spec.resolve = { scale: { y: 'independent' } };
  } else {
    Object.assign(spec, lossLayer);
  }
  return spec;
}

/** At most six tick values for a log learning-rate axis: the distinct rates, or 1-2-5 steps. */
function lrTicks(lrs: (number | undefined)[]): number[] {
  const vals = [...new Set(lrs.filter((v): v is number => typeof v === 'number' && v > 0))].sort((a, b) => a - b);
  if (vals.length <= 6) return vals;
  const lo = vals[0];
  const hi = vals[vals.length - 1];
  for (const steps of [[1, 2, 5], [1, 3], [1]]) {
    const ticks: number[] = [];
    for (let p = Math.floor(Math.log10(lo)); p <= Math.ceil(Math.log10(hi)); p++) {
      for (const m of steps) {
        const v = Number((m * 10 ** p).toPrecision(3));
        if (v >= lo * 0.999 && v <= hi * 1.001) ticks.push(v);
      }
    }
    if (ticks.length <= 6 && ticks.length >= 2) return ticks;
  }
  return [lo, hi];
}

/** The part of a vega `View` that aelab uses. */
export interface VegaView {
  /** Runs the dataflow (data transforms, layout). */
  runAsync(): Promise<VegaView>;
  /** Rendered SVG document as a string. */
  toSVG(scaleFactor?: number): Promise<string>;
  /** The rows of a named dataset after the dataflow has run. */
  data(name: string): unknown[];
  /** Frees the view's timers and listeners. */
  finalize(): void;
}

/**
 * The parts of vega and vega-lite that aelab uses, typed here because their own types are
 * ESM-only and a CommonJS declaration file cannot name them.
 */
export interface VegaModules {
  vega: {
    View: new (runtime: unknown, options?: { renderer?: 'none' | 'svg' | 'canvas'; logLevel?: number }) => VegaView;
    parse(spec: unknown): unknown;
    Warn: number;
  };
  vl: { compile(spec: unknown): { spec: { data?: { name: string }[] } & Record<string, unknown> } };
}
let modules: Promise<VegaModules> | undefined;

/** vega and vega-lite, loaded once through a real dynamic import (they are ESM only). */
export function loadVega(): Promise<VegaModules> {
  modules ??= Promise.all([import('vega'), import('vega-lite')]).then(([vega, vl]) => ({
    vega: vega as unknown as VegaModules['vega'],
    vl: vl as unknown as VegaModules['vl'],
  }));
  return modules;
}

/**
 * Renders a vega-lite spec (from the builders above or written by hand) to a standalone
 * SVG document string, headless: vega's `renderer: 'none'` view, no browser or canvas.
 */
export async function renderSvg(spec: ChartSpec): Promise<string> {
  if (!spec || typeof spec !== 'object') throw new ArgumentError('spec', spec, 'a vega-lite spec object');
  const { vega, vl } = await loadVega();
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Warn });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
