// `aelab study` (what `npm start` runs): the seven architectures trained and analysed
// through the built command line on real MNIST, the report opened in headless Chromium,
// and the study directory reused by a second run. Uses the hidden `--profile test` (a few
// hundred images, one epoch) unless AELAB_STUDY_PROFILE names another (CI runs the first two
// tests again with `quick`, the profile users start with, and keeps the screenshot and report).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { STUDY_MODELS } from '../src/lib/study/architectures';
import type { ModelMetrics } from '../src/lib/study/analyze';
import { recommend, reportCharts, type StudyModelReport, type StudyReport } from '../src/lib/study/report';

const root = path.resolve(__dirname, '..');
const bin = path.join(root, 'dist', 'cli', 'main.js');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PROFILE = process.env.AELAB_STUDY_PROFILE ?? 'test';
const IMAGES = ['reconstruction', 'failures', 'interpolation', 'noise', 'samples'];
const GLOBAL_CHARTS = ['psnr', 'efficiency', 'learning', 'per-class', 'roc', 'clustering', 'transfer', 'geometry', 'noise', 'smoothness', 'speed'];

/** Runs the built `aelab` command as a user would; returns its result and wall-clock seconds. */
function aelab(...args: string[]) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, AELAB_BACKEND: '' }, timeout: 900_000 });
  return { ...r, seconds: (performance.now() - t0) / 1000 };
}

const readReport = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8')) as StudyReport;
const mtime = (file: string) => fs.statSync(file).mtimeMs;

describe('aelab study: the final-project report', function () {
  this.timeout(900_000);
  let tmp: string;
  let out: string;
  let first: ReturnType<typeof aelab>;

  before(function () {
    if (!fs.existsSync(path.join(root, 'dist', 'cli', 'study.js'))) throw new Error('dist/cli/study.js is missing: run `npm run build` first (npm test does)');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aelab-study-'));
    out = path.join(tmp, 'study');
    first = aelab('study', '--profile', PROFILE, '--out', out);
  });

  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('trains and analyses the seven architectures and writes the study directory', () => {
    assert.equal(first.status, 0, first.stderr);
    assert.equal(first.stdout.trim(), path.join(out, 'index.html'), 'prints the path of the report');
    for (const [i, name] of STUDY_MODELS.entries()) {
      assert.match(first.stderr, new RegExp(`^\\[${i + 1}/7\\] ${name}: training 1 epoch`, 'm'), `progress line for ${name}`);
      assert.match(first.stderr, new RegExp(`^\\[${i + 1}/7\\] ${name}: anomaly detection: AUC`, 'm'), `stage line for ${name}`);
      const dir = path.join(out, 'models', name);
      for (const f of ['model/model.json', 'model/weights.bin', 'training.json', 'metrics.json', ...IMAGES.map((n) => `${n}.png`)]) {
        assert.ok(fs.existsSync(path.join(dir, f)), `${name}/${f} written`);
      }
    }
    assert.match(first.stderr, /pretraining block 4\/4/);
    const report = readReport(out);
    assert.equal(report.format, 'aelab-study/1');
    assert.equal(report.profile.name, PROFILE);
    assert.equal(report.anomalyClass, 9);
    assert.deepEqual(report.normalClasses, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(report.failures, []);
    assert.deepEqual(report.models.map((m) => m.name), [...STUDY_MODELS]);
    const inRange = (v: number, lo: number, hi: number, what: string) => assert.ok(Number.isFinite(v) && v >= lo && v <= hi, `${what} = ${v}, expected in [${lo}, ${hi}]`);
    for (const { name, metrics: m, training: t, status } of report.models) {
      assert.equal(status, 'trained');
      assert.ok(m.params > 1000 && t.seconds > 0 && t.msPerStep > 0, name);
      assert.equal(m.latentSize, 32, `${name} has a 32-value code`);
      inRange(m.reconstruction.psnr, 3, 40, `${name} PSNR`);
      inRange(m.compression.quantizedPsnr, 3, 40, `${name} 8-bit PSNR`);
      inRange(m.anomaly.auc, 0, 1, `${name} AUC`);
      inRange(m.clustering.silhouette, -1, 1, `${name} silhouette`);
      inRange(m.transfer.testAccuracy, 0, 1, `${name} transfer accuracy`);
      inRange(m.interpolation.maxOverMean, 1, 10, `${name} interpolation`);
      inRange(m.geometry.distanceCorrelation, -1, 1, `${name} distance correlation`);
      inRange(m.reconstruction.msPerBatch, 0.01, 60_000, `${name} ms per batch`);
      assert.deepEqual(m.perClass.map((c) => c.label), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], `${name}: per-class errors of every class, the anomaly included`);
      for (const level of [0.3, 0.5]) inRange(m.noise.find((r) => r.level === level)!.mse, 0, 1, `${name} MSE at noise ${level}`);
      assert.ok(m.anomaly.roc.fpr.length >= 2 && m.projection.points.length > 10, name);
    }
    // Each recommendation names the best model by its stated metric.
    const tasks = report.recommendations.map((r) => r.task);
    for (const t of ['compression', 'anomaly-detection', 'feature-extraction', 'interpolation']) assert.ok(tasks.includes(t), `recommendation for ${t}`);
    const best = (f: (m: ModelMetrics) => number) => report.models.reduce((a, b) => (f(b.metrics) > f(a.metrics) ? b : a)).name;
    const rec = (task: string) => report.recommendations.find((r) => r.task === task)!;
    assert.equal(rec('compression').model, best((m) => m.compression.quantizedPsnr));
    assert.equal(rec('anomaly-detection').model, best((m) => m.anomaly.auc));
    assert.equal(rec('feature-extraction').model, best((m) => m.transfer.testAccuracy));
    for (const r of report.recommendations) assert.ok(r.metric.length > 40 && r.display.length > 3, `${r.task} states its metric`);
  });

  it('reportCharts draws every projected point, or an even sample of at most maxPoints', () => {
    const report = readReport(out);
    const rowsOf = (spec: Record<string, unknown>) => (spec.data as { values: { x: number; y: number; label: number; index: number }[] }).values;
    const all = reportCharts(report).filter((c) => c.model);
    const few = reportCharts(report, { maxPoints: 7 }).filter((c) => c.model);
    assert.deepEqual(few.map((c) => c.id), all.map((c) => c.id));
    for (const [i, m] of report.models.entries()) {
      const points = m.metrics.projection.points;
      assert.equal(rowsOf(all[i].spec).length, points.length, m.name);
      assert.doesNotMatch(all[i].caption, /drawn/);
      const rows = rowsOf(few[i].spec);
      assert.equal(rows.length, 7, m.name);
      // Spread over the whole list (the first point, increasing, the last past 5/7 of it), each row the point it names.
      assert.equal(rows[0].index, 0);
      for (let k = 1; k < rows.length; k++) assert.ok(rows[k].index > rows[k - 1].index, `${m.name}: indices increase`);
      assert.ok(rows[6].index > (5 * points.length) / 7 && rows[6].index < points.length, `${m.name}: last index ${rows[6].index} of ${points.length}`);
      for (const r of rows) assert.deepEqual([r.x, r.y, r.label], points[r.index]);
      assert.match(few[i].caption, new RegExp(`of ${points.length.toLocaleString('en-US')} test images \\(7 of them drawn\\)`));
    }
    assert.throws(() => reportCharts(report, { maxPoints: 1 }), /maxPoints/);
  });

  it('the report is one self-contained page: every chart and picture renders in headless Chromium', async function () {
    assert.equal(first.status, 0, first.stderr);
    const html = fs.readFileSync(path.join(out, 'index.html'), 'utf8');
    assert.doesNotMatch(html, /<script|<link|<iframe/i, 'no script, stylesheet link or frame');
    assert.doesNotMatch(html, /(src|href)\s*=\s*["'](https?:|\/\/|file:)/i, 'nothing loaded from elsewhere');
    if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium is needed for the report's browser test and was not found at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH`);
    const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
      const problems: string[] = [];
      page.on('console', (m) => (m.type() === 'error' || m.type() === 'warning') && problems.push(`${m.type()}: ${m.text()}`));
      page.on('pageerror', (e) => problems.push(String(e)));
      page.on('requestfailed', (r) => problems.push(`failed request: ${r.url()}`));
      page.on('request', (r) => !/^(file|data):/.test(r.url()) && problems.push(`network request: ${r.url()}`));
      await page.goto(pathToFileURL(path.join(out, 'index.html')).href, { waitUntil: 'load' });
      // (page code is passed as strings: the tests compile without the DOM's types)
      const view = (await page.evaluate(`(() => {
        const box = (e) => { const r = e.getBoundingClientRect(); return { w: r.width, h: r.height }; };
        return {
          rows: Array.from(document.querySelectorAll('table.comparison tbody tr')).map((tr) => ({ model: tr.dataset.model, cells: tr.querySelectorAll('td').length })),
          headers: document.querySelectorAll('table.comparison thead th').length,
          charts: Array.from(document.querySelectorAll('figure.chart')).map((f) => {
            const svg = f.querySelector('svg');
            return { id: f.dataset.chart, svg: !!svg, ...(svg ? box(svg) : { w: 0, h: 0 }), marks: svg ? svg.querySelectorAll('path, rect, circle, line').length : 0, text: svg ? svg.querySelectorAll('text').length : 0 };
          }),
          pictures: Array.from(document.querySelectorAll('section.model figure.picture img')).map((img) => ({
            model: img.closest('section.model').dataset.model, name: img.closest('figure').dataset.picture,
            complete: img.complete, width: img.naturalWidth, height: img.naturalHeight, src: img.getAttribute('src').slice(0, 22),
          })),
          recs: Array.from(document.querySelectorAll('.rec')).map((r) => ({ task: r.dataset.task, winner: r.querySelector('.winner').textContent })),
          sections: Array.from(document.querySelectorAll('section.model')).map((s) => s.dataset.model),
          ids: Array.from(document.querySelectorAll('[id]')).map((e) => e.id),
        };
      })()`)) as {
        rows: { model: string; cells: number }[];
        headers: number;
        charts: { id: string; svg: boolean; w: number; h: number; marks: number; text: number }[];
        pictures: { model: string; name: string; complete: boolean; width: number; height: number; src: string }[];
        recs: { task: string; winner: string }[];
        sections: string[];
        ids: string[];
      };
      fs.mkdirSync(path.join(root, 'test-output'), { recursive: true });
      await page.screenshot({ path: path.join(root, 'test-output', `study-${PROFILE}.png`), fullPage: true });
      if (PROFILE !== 'test') fs.copyFileSync(path.join(out, 'index.html'), path.join(root, 'test-output', `study-${PROFILE}.html`));
      await page.close();
      assert.deepEqual(problems, []);
      // The comparison table: one row per architecture, a cell per column.
      assert.deepEqual(view.rows.map((r) => r.model), [...STUDY_MODELS]);
      for (const r of view.rows) assert.equal(r.cells, view.headers - 1);
      // Every chart: the global ones and one latent scatter plot per model, each a drawn SVG.
      assert.deepEqual(view.charts.map((c) => c.id), [...GLOBAL_CHARTS, ...STUDY_MODELS.map((m) => `latent-${m}`)]);
      for (const c of view.charts) {
        assert.ok(c.svg && c.w > 150 && c.h > 150, `chart ${c.id} rendered at ${c.w}x${c.h}`);
        assert.ok(c.marks > 10 && c.text > 5, `chart ${c.id} has marks (${c.marks}) and labels (${c.text})`);
      }
      // Every picture of every model, decoded by the browser.
      assert.equal(view.pictures.length, IMAGES.length * STUDY_MODELS.length);
      for (const m of STUDY_MODELS) assert.deepEqual(view.pictures.filter((p) => p.model === m).map((p) => p.name), IMAGES, `pictures of ${m}`);
      for (const p of view.pictures) {
        assert.ok(p.complete && p.width > 50 && p.height > 20, `${p.model}/${p.name} decoded (${p.width}x${p.height})`);
        assert.equal(p.src, 'data:image/png;base64,');
      }
      assert.deepEqual(view.sections, [...STUDY_MODELS]);
      for (const t of ['compression', 'anomaly-detection', 'feature-extraction', 'interpolation']) assert.ok(view.recs.some((r) => r.task === t && r.winner.length > 2), `recommendation card for ${t}`);
      assert.equal(new Set(view.ids).size, view.ids.length, 'element ids are unique across the inline SVGs');
    } finally {
      await browser.close();
    }
  });

  it('a second run reuses every model and says so; a lost metrics file is redone without retraining; --force retrains', () => {
    const metrics = (name: string) => path.join(out, 'models', name, 'metrics.json');
    const training = (name: string) => path.join(out, 'models', name, 'training.json');
    const before = Object.fromEntries(STUDY_MODELS.map((m) => [m, mtime(metrics(m))]));

    const second = aelab('study', '--profile', 'test', '--out', out);
    assert.equal(second.status, 0, second.stderr);
    for (const m of STUDY_MODELS) assert.match(second.stderr, new RegExp(`\\] ${m}: skipped, already trained and analysed`), `${m} reused`);
    assert.doesNotMatch(second.stderr, /: training |pretraining/);
    assert.match(second.stderr, /0 trained, 0 analysed, 7 reused/);
    for (const m of STUDY_MODELS) assert.equal(mtime(metrics(m)), before[m], `${m}/metrics.json untouched`);
    assert.ok(second.seconds < first.seconds / 2, `the second run took ${second.seconds.toFixed(1)} s, the first ${first.seconds.toFixed(1)} s`);
    assert.ok(readReport(out).models.every((m) => m.status === 'reused'));

    // An interrupted analysis: the model is loaded and analysed again, not retrained.
    fs.rmSync(metrics('vae'));
    const trainedVae = mtime(training('vae'));
    const third = aelab('study', '--profile', 'test', '--out', out);
    assert.equal(third.status, 0, third.stderr);
    assert.match(third.stderr, /\] vae: trained earlier .*loading it to analyse/);
    assert.match(third.stderr, /0 trained, 1 analysed, 6 reused/);
    assert.equal(mtime(training('vae')), trainedVae);
    assert.ok(fs.existsSync(metrics('vae')));

    // --force retrains (two cheap architectures, to keep the test short).
    const trainedShallow = mtime(training('shallow'));
    const forced = aelab('study', '--profile', 'test', '--out', out, '--force', '--models', 'shallow,sparse');
    assert.equal(forced.status, 0, forced.stderr);
    assert.match(forced.stderr, /\[1\/2\] shallow: training 1 epoch/);
    assert.match(forced.stderr, /\[2\/2\] sparse: training 1 epoch/);
    assert.match(forced.stderr, /2 trained, 0 analysed, 0 reused/);
    assert.ok(mtime(training('shallow')) > trainedShallow);
    assert.equal(mtime(metrics('deep')), before.deep, 'models left out of --models are not touched');
    const report = readReport(out);
    assert.deepEqual(report.models.map((m) => [m.name, m.status]), [['shallow', 'trained'], ['sparse', 'trained']]);
  });

  it('Ctrl-C in a model\'s training exits with 130; the next run resumes that model to the weights of an uninterrupted one', async () => {
    const args = (dir: string) => ['study', '--profile', 'test', '--models', 'shallow', '--epochs', '30', '--out', dir];
    const env = { ...process.env, AELAB_BACKEND: '' };
    const run = path.join(tmp, 'interrupted');
    const ref = path.join(tmp, 'uninterrupted');
    const exited = (p: ReturnType<typeof spawn>) => new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)));
    const refDone = exited(spawn(process.execPath, [bin, ...args(ref)], { cwd: root, env, stdio: 'ignore' }));
    const child = spawn(process.execPath, [bin, ...args(run)], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const done = exited(child);
    const checkpoint = path.join(run, 'models', 'shallow', 'checkpoints', 'last', 'training.json');
    while (!fs.existsSync(checkpoint)) await new Promise((r) => setTimeout(r, 25));
    child.kill('SIGINT');
    assert.equal(await done, 130, stderr.slice(-2000));
    assert.match(stderr, /aelab: training interrupted .*a resumable checkpoint is in/);
    assert.match(stderr, /continue with: aelab study --resume --profile test --out .* --models shallow --epochs 30/);
    assert.ok(!fs.existsSync(path.join(run, 'models', 'shallow', 'model')), 'no model saved from an interrupted training');

    const resumed = aelab('study', '--resume', ...args(run).slice(1));
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, /\[1\/1\] shallow: resuming the interrupted training after epoch \d+/);
    assert.match(resumed.stderr, /1 trained, 0 analysed, 0 reused/);
    assert.ok(!fs.existsSync(path.join(run, 'models', 'shallow', 'checkpoints')), 'checkpoints removed once trained');
    assert.equal(await refDone, 0);
    const weights = (dir: string) => fs.readFileSync(path.join(dir, 'models', 'shallow', 'model', 'weights.bin'));
    assert.ok(weights(run).equals(weights(ref)), 'same weights, bit for bit');
    assert.equal(readReport(run).models[0].training.history.length, 30);
  });

  it('rejects bad options with exit code 2, one error line and the usage line', () => {
    for (const [args, message] of [
      [['--profile', 'fast'], /--profile must be one of quick, standard, full/],
      [['--dataset', 'cifar'], /--dataset must be one of mnist, fashion-mnist/],
      [['--models', 'shallow,nope'], /--models must be a comma-separated list of .*unknown: nope/],
      [['--seed', '-1'], /--seed must be an integer >= 0/],
      [['--epochs', 'abc'], /--epochs must be an integer >= 1/],
      [['--bogus'], /unknown option '--bogus'/],
      [['--resume', '--force'], /--resume and --force contradict each other/],
      [['--resume'], /--resume: .*never holds no earlier study/],
    ] as [string[], RegExp][]) {
      const r = aelab('study', ...args, '--out', path.join(tmp, 'never'));
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('aelab: backend'));
      assert.equal(lines.length, 2, r.stderr);
      assert.match(lines[0], message);
      assert.match(lines[1], /^Usage: aelab study /);
      assert.ok(!fs.existsSync(path.join(tmp, 'never')), 'nothing written');
    }
    const help = aelab('study', '--help');
    assert.equal(help.status, 0);
    const profileLine = help.stdout.split('\n').find((l) => l.includes('--profile <name>')) ?? '';
    assert.match(profileLine, /quick .* standard .* full/);
    assert.doesNotMatch(profileLine, /\btest\b/, 'the test profile is not advertised');
  });
});

describe('study recommendations', () => {
  /** Metrics with every figure set to `v`, then `over` applied. */
  function metrics(v: number, over: (m: ModelMetrics) => void): ModelMetrics {
    const m = {
      params: 1000, latentSize: 32, compressionRatio: 24.5, seconds: {}, errors: {},
      reconstruction: { examples: 10, mse: 0.01, psnr: 20, msPerBatch: v, batchSize: 128 },
      compression: { ratio: 24.5, psnr: 20, bits: 8, quantizedRatio: 98, quantizedPsnr: v, quantizedMse: 0.01 },
      perClass: [],
      anomaly: { anomalyClass: 9, auc: v / 100, threshold: 0, tpr: 0, fpr: 0, meanErrorNormal: 0, meanErrorAnomaly: 0, roc: { fpr: [0, 1], tpr: [0, 1] } },
      geometry: { distanceCorrelation: 0, neighbourhoodPreservation: 0, neighbourhoodChance: 0, neighbourhoodLift: 0, intrinsicDim: 1, latentDim: 32, samples: 10 },
      clustering: { k: 9, points: 10, silhouette: 0, ari: 0, nmi: 0 },
      code: { zeroFraction: 0, meanAbs: 0 },
      transfer: { labelled: 10, epochs: 1, testAccuracy: v / 100, trainAccuracy: 0, accuracyByEpoch: [] },
      interpolation: { pairs: 1, maxOverMean: v, straightness: 1, meanStep: 0.1, classPath: { from: 0, to: 8, stepDistances: [], maxOverMean: 1 } },
      noise: [{ level: 0.5, noisyMse: 0.1, mse: v, psnr: 10 }],
      projection: { method: 'pca', points: [] },
    } as ModelMetrics;
    over(m);
    return m;
  }
  const model = (name: string, m: ModelMetrics) => ({ name, title: name.toUpperCase(), metrics: m }) as unknown as StudyModelReport;
  const base = { classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], normalClasses: [0, 1, 2, 3, 4, 5, 6, 7, 8], anomalyClass: 9, data: { train: 1, threshold: 1, labelled: 100, test: 1, testNormal: 1 }, profile: { interpolationPairs: 4 } } as unknown as StudyReport;

  it('picks the best architecture of each task by its stated metric, with the runner-up', () => {
    const recs = recommend({ ...base, models: [model('a', metrics(10, () => {})), model('b', metrics(30, () => {})), model('c', metrics(20, () => {}))] });
    const by = Object.fromEntries(recs.map((r) => [r.task, r]));
    assert.equal(by.compression.model, 'b'); // highest 8-bit PSNR
    assert.equal(by.compression.runnerUp?.model, 'c');
    assert.equal(by['anomaly-detection'].model, 'b'); // highest AUC
    assert.equal(by['feature-extraction'].model, 'b'); // highest accuracy
    assert.equal(by.interpolation.model, 'a'); // lowest max/mean step
    assert.equal(by.denoising.model, 'a'); // lowest MSE at noise 0.5
    assert.equal(by.speed.model, 'a'); // fewest ms per batch
    assert.match(by.compression.metric, /PSNR .*8-bit/);
    assert.match(by['anomaly-detection'].metric, /AUC .*class 9 .*0-8/);
  });

  it('leaves out missing figures, and interpolation winners whose reconstructions are poor', () => {
    const recs = recommend({
      ...base,
      models: [
        model('flat', metrics(5, (m) => ((m.interpolation.maxOverMean = 1.0), (m.reconstruction.psnr = 10)))), // even only because it hardly decodes anything
        model('good', metrics(5, (m) => ((m.interpolation.maxOverMean = 1.3), (m.reconstruction.psnr = 18), (m.anomaly.auc = NaN)))),
        model('ok', metrics(5, (m) => ((m.interpolation.maxOverMean = 1.5), (m.reconstruction.psnr = 16), (m.anomaly.auc = 0.6)))),
      ],
    });
    const by = Object.fromEntries(recs.map((r) => [r.task, r]));
    assert.equal(by.interpolation.model, 'good');
    assert.equal(by['anomaly-detection'].model, 'ok');
    assert.equal(by['anomaly-detection'].runnerUp?.model, 'flat');
    const none = recommend({ ...base, models: [model('x', metrics(5, (m) => (m.anomaly.auc = NaN)))] });
    assert.ok(!none.some((r) => r.task === 'anomaly-detection'));
  });
});
