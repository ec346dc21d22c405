import assert from 'node:assert/strict';
import {
  CLASS_COLORS,
  barChart,
  heatmapChart,
  histogramChart,
  learningCurves,
  lineChart,
  loadVega,
  renderSvg,
  rocChart,
  scatterChart,
} from '../src/lib/viz/charts';

/** Items (path/line/text elements) inside every `<g class="mark-TYPE role-mark NAME">` group whose name matches. */
function marks(svg: string, type: string, name = /./): number {
  let count = 0;
  const re = new RegExp(`<g class="mark-${type} role-mark ([^"]*)"[^>]*>(.*?)</g>`, 'gs');
  for (const m of svg.matchAll(re)) {
    if (!name.test(m[1])) continue;
    count += (m[2].match(/<(path|line|text)\b/g) ?? []).length;
  }
  return count;
}

/** Texts of the axis titles. */
function axisTitles(svg: string): string[] {
  return [...svg.matchAll(/<g class="mark-text role-axis-title"[^>]*>(.*?)<\/g>/gs)].flatMap((m) => [...m[1].matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((t) => t[1]));
}

/** Texts of the legend labels. */
function legendLabels(svg: string): string[] {
  return [...svg.matchAll(/<g class="mark-text role-legend-label"[^>]*>(.*?)<\/g>/gs)].flatMap((m) => [...m[1].matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((t) => t[1]));
}

describe('charts (vega-lite specs rendered headless to SVG)', () => {
  it('scatterChart: one circle per row, coloured by class with the class colours, axis titles', async () => {
    const rows = Array.from({ length: 30 }, (_, i) => ({ z1: Math.cos(i), z2: Math.sin(i) * 2, digit: String(i % 3) }));
    const svg = await renderSvg(scatterChart(rows, { x: 'z1', y: 'z2', color: 'digit', title: 'Latent space', xTitle: 'first latent' }));
    assert.match(svg, /^<svg/);
    assert.equal(marks(svg, 'symbol'), 30);
    assert.deepEqual(axisTitles(svg).sort(), ['first latent', 'z2']);
    assert.deepEqual(legendLabels(svg), ['0', '1', '2']);
    for (const c of CLASS_COLORS.slice(0, 3)) assert.ok(svg.includes(`fill="${c}"`), `colour ${c} used`);
    assert.match(svg, />Latent space</);
  });

  it('lineChart: several y fields fold into one line per series, with points on request', async () => {
    const rows = Array.from({ length: 8 }, (_, i) => ({ dim: 2 ** (i + 1), mse: 0.06 / (i + 1), bce: 0.1 / (i + 1) }));
    const svg = await renderSvg(lineChart(rows, { x: 'dim', y: ['mse', 'bce'], logX: true, points: true, yTitle: 'loss' }));
    assert.equal(marks(svg, 'line'), 2);
    assert.equal(marks(svg, 'symbol'), 16);
    assert.deepEqual(legendLabels(svg), ['mse', 'bce']); // series in the order given
    assert.deepEqual(axisTitles(svg).sort(), ['dim', 'loss']);
    // one y field, split by a colour column
    const long = rows.flatMap((r) => [{ dim: r.dim, v: r.mse, k: 'a' }, { dim: r.dim, v: r.bce, k: 'b' }, { dim: r.dim, v: r.bce * 2, k: 'c' }]);
    assert.equal(marks(await renderSvg(lineChart(long, { x: 'dim', y: 'v', color: 'k' })), 'line'), 3);
  });

  it('barChart: one bar per row, error bars from a std field, grouped and horizontal variants', async () => {
    const rows = [
      { model: 'AE', mse: 0.02, std: 0.002 },
      { model: 'VAE', mse: 0.03, std: 0.004 },
      { model: 'Conv', mse: 0.015, std: 0.001 },
    ];
    const svg = await renderSvg(barChart(rows, { x: 'model', y: 'mse', error: 'std', yTitle: 'test MSE' }));
    assert.equal(marks(svg, 'rect', /^layer_0/), 3);
    assert.equal(marks(svg, 'rule', /^layer_1/), 3); // the error bars' whiskers
    assert.deepEqual(axisTitles(svg).sort(), ['model', 'test MSE']);
    const grouped = rows.flatMap((r) => [{ ...r, loss: 'mse' }, { ...r, mse: r.mse * 1.2, loss: 'bce' }]);
    const g = await renderSvg(barChart(grouped, { x: 'model', y: 'mse', color: 'loss' }));
    assert.equal(marks(g, 'rect'), 6);
    assert.deepEqual(legendLabels(g), ['mse', 'bce']);
    const h = await renderSvg(barChart(rows, { x: 'model', y: 'mse', horizontal: true }));
    assert.equal(marks(h, 'rect'), 3);
    // horizontal: the categories label the y axis (their labels are right-aligned)
    assert.match(h, /text-anchor="end"[^>]*>AE</);
    // a log value axis over three decades gets its ticks and no "domain includes zero" warning
    const params = [{ m: 'conv', p: 225 }, { m: 'deep-conv', p: 83905 }, { m: 'deep', p: 1144880 }];
    const warn = console.warn;
    const warnings: string[] = [];
    console.warn = (...a: unknown[]) => void warnings.push(a.join(' '));
    try {
      const log = await renderSvg(barChart(params, { x: 'm', y: 'p', logY: true }));
      assert.equal(marks(log, 'rect'), 3);
      const labels = [...log.matchAll(/<g class="mark-text role-axis-label"[^>]*>(.*?)<\/g>/gs)].flatMap((m) => [...m[1].matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((t) => t[1]));
      assert.ok(labels.length >= 3 + 4, `axis labels: ${labels.join(' ')}`);
    } finally {
      console.warn = warn;
    }
    assert.deepEqual(warnings, []);
  });

  it('histogramChart: overlaid groups on shared bins; density integrates to 1 per group', async () => {
    const rows = Array.from({ length: 400 }, (_, i) => ({ err: i % 4 === 0 ? 3 + (i % 7) / 7 : 1 + (i % 13) / 13, kind: i % 4 === 0 ? 'anomaly' : 'normal' }));
    const spec = histogramChart(rows, { field: 'err', color: 'kind', bins: 20, density: true });
    const svg = await renderSvg(spec);
    const bars = marks(svg, 'rect');
    assert.ok(bars >= 4 && bars <= 40, `${bars} bars`);
    assert.deepEqual(legendLabels(svg), ['anomaly', 'normal']);
    assert.deepEqual(axisTitles(svg).sort(), ['density', 'err']);
    // the transformed data: per group, sum of density x bin width = 1
    const { vega, vl } = await loadVega();
    const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
    await view.runAsync();
    const names = (vl.compile(spec).spec.data ?? []).map((d) => d.name);
    const binned = view.data(names[names.length - 1]) as { kind: string; density: number; bin_start: number; bin_end: number }[];
    for (const kind of ['anomaly', 'normal']) {
      const area = binned.filter((b) => b.kind === kind).reduce((s, b) => s + b.density * (b.bin_end - b.bin_start), 0);
      assert.ok(Math.abs(area - 1) < 1e-9, `${kind}: area ${area}`);
    }
    view.finalize();
  });

  it('heatmapChart: one cell per (x, y) pair, values printed in small grids', async () => {
    const rows = [];
    for (let t = 0; t < 3; t++) for (let p = 0; p < 4; p++) rows.push({ pred: p, true: t, n: t === p ? 50 : p + t });
    const svg = await renderSvg(heatmapChart(rows, { x: 'pred', y: 'true', value: 'n', title: 'Confusion' }));
    assert.equal(marks(svg, 'rect'), 12);
    assert.equal(marks(svg, 'text'), 12);
    assert.deepEqual(axisTitles(svg).sort(), ['pred', 'true']);
    // twenty columns labelled with decimals would run into each other: the labels turn
    const wide = [];
    for (let c = 0; c < 20; c++) for (let r = 0; r < 2; r++) wide.push({ z1: Number((-2.85 + 0.3 * c).toFixed(2)), z2: r, n: c });
    const xAxis = (spec: Record<string, unknown>) => ((spec.layer as { encoding: { x: { axis: { labelAngle: number } } } }[])[0].encoding.x.axis.labelAngle);
    assert.equal(xAxis(heatmapChart(wide, { x: 'z1', y: 'z2', value: 'n' })), -45);
    assert.equal(xAxis(heatmapChart(rows, { x: 'pred', y: 'true', value: 'n' })), 0);
  });

  it('rocChart: a line per curve over the chance diagonal, AUC in the legend', async () => {
    const svg = await renderSvg(
      rocChart([
        { name: 'AE', fpr: [0, 0.05, 0.1, 0.3, 1], tpr: [0, 0.6, 0.8, 0.95, 1], auc: 0.93 },
        { name: 'PCA', fpr: [0, 0.1, 0.3, 0.6, 1], tpr: [0, 0.4, 0.7, 0.9, 1] },
      ]),
    );
    assert.equal(marks(svg, 'line', /^layer_0/), 1); // the diagonal
    assert.equal(marks(svg, 'line', /^layer_1/), 2);
    assert.deepEqual(legendLabels(svg), ['AE (AUC 0.930)', 'PCA']);
    assert.deepEqual(axisTitles(svg).sort(), ['false positive rate', 'true positive rate']);
    assert.throws(() => rocChart([{ name: 'bad', fpr: [0, 1], tpr: [0] }]), /fpr and tpr of equal length/);
  });

  it('learningCurves: train and validation lines, the learning rate on a second axis', async () => {
    const epochs = Array.from({ length: 12 }, (_, i) => ({ epoch: i + 1, trainLoss: 100 / (i + 1) + 60, valLoss: 100 / (i + 1) + 65, lr: 1e-3 * 0.5 ** Math.floor(i / 4) }));
    const svg = await renderSvg(learningCurves({ epochs }, { showLr: true }));
    assert.equal(marks(svg, 'line', /^layer_0/), 2);
    assert.equal(marks(svg, 'line', /^layer_1/), 1);
    assert.equal(marks(svg, 'symbol'), 24); // a point per epoch and series (12 epochs <= 30)
    assert.deepEqual(axisTitles(svg).sort(), ['epoch', 'learning rate', 'loss']);
    assert.deepEqual(legendLabels(svg), ['train', 'validation']);
    const trainOnly = await renderSvg(learningCurves({ epochs: epochs.map(({ epoch, trainLoss }) => ({ epoch, trainLoss })) }, { logY: true }));
    assert.equal(marks(trainOnly, 'line'), 1);
    assert.deepEqual(legendLabels(trainOnly), ['train']);
    assert.match(trainOnly, />Learning curves</);
  });

  it('names a missing field and rejects bad input', async () => {
    assert.throws(() => scatterChart([{ a: 1, b: 2 }], { x: 'a', y: 'c' }), /field must be a column of the rows \(the first row has "a", "b"\); got "c"/);
    assert.throws(() => histogramChart([{ a: 1 }], { field: 'a', bins: 0 }), /bins must be an integer >= 1/);
    assert.throws(() => lineChart([{ a: 1 }], { x: 'a', y: [] }), /y must be a field name or a non-empty list/);
    await assert.rejects(renderSvg(null as never), /spec must be a vega-lite spec object/);
  });
});
