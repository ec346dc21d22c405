import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../src/lib/data/mnist';
import { Dataset, disposeDataset } from '../src/lib/data/dataset';
import { MLPAutoencoder } from '../src/lib/models/mlp';
import type { EpochRecord, History } from '../src/lib/train/fit';
import { renderSvg } from '../src/lib/viz/charts';
import {
  batchSizeConfigs,
  errorHistogramChart,
  explainedVarianceChart,
  geometryChart,
  latentScatterChart,
  layerActivationChart,
  ModelComparator,
  noiseLevelChart,
  occupancyChart,
  perClassErrorChart,
  smoothnessChart,
  sparseCodeChart,
  compareCurvesChart,
  convergenceReport,
  depthConfigs,
  isConverged,
  latentSizeConfigs,
  learningCurveChart,
  learningCurveTable,
  learningRateConfigs,
  optimizerConfigs,
  sweep,
  sweepChart,
  SweepProgress,
  sweepCurvesChart,
} from '../src/lib/analysis';

/** A history from loss lists (lr 1e-3, 1 s an epoch). */
function history(train: number[], val?: number[], lr?: number[]): Pick<History, 'epochs'> {
  return { epochs: train.map((t, i): EpochRecord => ({ epoch: i + 1, trainLoss: t, ...(val ? { valLoss: val[i] } : {}), lr: lr?.[i] ?? 1e-3, seconds: 1 })) };
}

describe('analysis: learning curves, convergence and sweeps (seed 002; seed 001 Ex. 1, 5)', () => {
  it('says training is done when the monitored loss plateaus, and not while it still falls', () => {
    const falling = history([10, 8, 6, 5, 4, 3.5, 3, 2.6, 2.3, 2]);
    assert.equal(isConverged(falling), false);
    const r = convergenceReport(falling);
    assert.equal(r.monitor, 'trainLoss');
    assert.equal(r.bestEpoch, 10);
    assert.ok(Math.abs(r.relativeImprovement - (4 - 2) / 4) < 1e-12); // best of epochs 1-5 against best of 6-10
    assert.match(r.reason, /keep training/);

    const plateau = history([10, 5, 3, 2.5, 2.2, 2.1, 2.1, 2.1, 2.1, 2.1, 2.1]);
    assert.equal(isConverged(plateau, { window: 5, tol: 1e-3 }), true);
    assert.equal(isConverged(plateau, { window: 3 }), true);
    assert.equal(isConverged(plateau, { window: 7 }), false); // 2.5 -> 2.1 within the window
    assert.equal(isConverged(history([3, 2, 1])), false); // too few epochs to judge
    assert.match(convergenceReport(history([3, 2, 1])).reason, /at least 6/);
    assert.equal(isConverged(history([3, 2, NaN, 1, 1, 1, 1])), false);

    // Validation loss is watched when recorded: the training loss still falls, validation rose.
    const overfit = history([5, 4, 3, 2.5, 2, 1.6, 1.3, 1.1, 0.9, 0.8], [5, 4.2, 3.6, 3.4, 3.5, 3.6, 3.8, 4, 4.1, 4.3]);
    const o = convergenceReport(overfit, { window: 5 });
    assert.equal(o.monitor, 'valLoss');
    assert.equal(o.converged, true);
    assert.equal(o.overfitting, true);
    assert.equal(o.bestEpoch, 4);
    assert.equal(o.epochsSinceBest, 6);
    assert.match(o.reason, /overfitting, keep epoch 4/);
    assert.equal(isConverged(overfit, { monitor: 'trainLoss' }), false);
    assert.throws(() => convergenceReport(falling, { monitor: 'valLoss' }), /trainLoss/);
  });

  it('tabulates and charts learning curves (with the learning rate when it changed)', async function () {
    this.timeout(30000);
    const h = history([5, 4, 3.5, 3.3], [5.2, 4.4, 4, 3.9], [1e-3, 1e-3, 5e-4, 5e-4]);
    const t = learningCurveTable(h);
    assert.deepEqual(t.rows[2], { epoch: 3, trainLoss: 3.5, valLoss: 4, lr: 5e-4, seconds: 1 });
    const spec = learningCurveChart(h);
    assert.equal((spec.layer as unknown[]).length, 2); // losses and the learning rate
    assert.ok(learningCurveChart(history([3, 2, 1])).mark); // one layer when the rate is constant
    const cmp = compareCurvesChart([
      { name: 'adam', history: h },
      { name: 'sgd', history: history([6, 5.5, 5.2, 5]) },
    ]);
    assert.equal((cmp.data as { values: unknown[] }).values.length, 8);
    const svg = await renderSvg(spec);
    assert.match(svg, /^<svg/);
    assert.match(await renderSvg(cmp), /sgd/);
  });

  it('builds the seeds’ sweep configurations', () => {
    const latent = latentSizeConfigs();
    assert.deepEqual(latent.map((c) => c.params!.latentDim), [2, 16, 32, 128]);
    const m = latent[1].make();
    assert.deepEqual(m.latentShape, [16]);
    m.dispose();
    const depth = depthConfigs();
    const linear = (i: number, o: number) => i * o + o;
    const chain = (sizes: number[]) => sizes.slice(1).reduce((s, o, k) => s + linear(sizes[k], o), 0);
    const mirror = (sizes: number[]) => chain(sizes) + chain([...sizes].reverse());
    const counts = depth.map((c) => {
      const model = c.make();
      const n = model.paramCount();
      model.dispose();
      return n;
    });
    assert.deepEqual(counts, [mirror([784, 128, 32]), mirror([784, 512, 256, 32]), mirror([784, 512, 384, 256, 128, 32])]);
    assert.deepEqual(depth.map((c) => c.params!.hiddenLayers), [1, 2, 4]);
    const make = () => new MLPAutoencoder({ hidden: [8], latentDim: 2 });
    assert.deepEqual(optimizerConfigs(make).map((c) => c.fit!.optimizer), ['sgd', 'momentum', 'rmsprop', 'adam', 'rprop']);
    assert.deepEqual(learningRateConfigs(make, [1e-3, 1e-2]).map((c) => c.fit!.lr), [1e-3, 1e-2]);
    assert.deepEqual(batchSizeConfigs(make, [16, 600]).map((c) => c.params!.batchSize), [16, 600]);
  });

  it('renders every analysis chart to SVG through vega-lite', async function () {
    this.timeout(30000);
    const geometry = { distanceCorrelation: 0.6, neighbourhoodPreservation: 0.3, neighbourhoodChance: 0.11, neighbourhoodLift: 0.2, intrinsicDim: 2, latentDim: 2, explainedVarianceRatio: [0.7, 0.3], samples: 2000, pairSamples: 500, k: 10, queries: 100, seconds: 0.1 };
    const classRows = Array.from({ length: 10 }, (_, label) => ({ label, name: String(label), count: 50, mean: 0.05 + label / 100, std: 0.01 }));
    const x = tf.randomUniform([20, 28, 28, 1], 0, 1, 'float32', 1);
    const small = new MLPAutoencoder({ hidden: [8], latentDim: 2 });
    const cmp = new ModelComparator().add('mlp', small);
    await cmp.evaluate({ x }, { batchSize: 10 });
    const specs = {
      scatter: latentScatterChart({ rows: [{ x: 1, y: 2, label: '3', index: 0 }, { x: 0, y: 1, label: '7', index: 1 }], method: 'pca', latentDim: 20, explainedVarianceRatio: [0.4, 0.2] }),
      geometry: geometryChart([{ name: 'ae', geometry }, { name: 'vae', geometry }]),
      variance: explainedVarianceChart(geometry),
      perClass: perClassErrorChart({ rows: classRows, loss: 'mse' }),
      histogram: errorHistogramChart({ errors: Float32Array.from([0.01, 0.02, 0.05, 0.03]), loss: 'mse' }, { labels: [0, 1, 0, 1] }),
      noise: noiseLevelChart({ rows: [0.1, 0.5].map((level) => ({ level, noisyMse: level / 4, denoisedMse: 0.02, noisyPsnr: 10, denoisedPsnr: 17, gain: level * 10 })) }, { psnr: true }),
      occupancy: occupancyChart({ n: 2, range: [[-3, 3], [-3, 3]], counts: Int32Array.from([1, 0, 5, 2]), coverage: 0.75, inside: 1 }),
      smoothness: smoothnessChart([{ name: 'ae', smoothness: { stepDistances: [0.1, 0.2], meanStep: 0.15, maxStep: 0.2, maxOverMean: 4 / 3, pathLength: 0.3, endpointDistance: 0.25, straightness: 0.83 } }]),
      layers: layerActivationChart({ rows: [{ layer: 1, units: 512, mean: 0.2, std: 0.3, activeFraction: 0.4, deadUnits: 3 }] }),
      sparse: sparseCodeChart({ rows: [0, 0.5, 1].map((fraction) => ({ fraction, zeroed: fraction * 20, kept: 20 - fraction * 20, mse: 0.02 + fraction / 10, psnr: 10 })), latentSize: 20 }),
      comparison: cmp.chart('msPerBatch'),
      efficiency: cmp.efficiencyChart(),
    };
    for (const [name, spec] of Object.entries(specs)) assert.match(await renderSvg(spec), /^<svg/, name);
    assert.match(cmp.summary(), /mlp\s+0\.\d{6}\s+13,378/);
    small.dispose();
    x.dispose();
  });

  describe('on MNIST', () => {
    let train: Dataset;
    let test: Dataset;
    before(async () => {
      ({ train, test } = await loadMnist({ trainSize: 600, testSize: 200 }));
    });
    after(() => {
      disposeDataset(train);
      disposeDataset(test);
    });

    it('trains two tiny configurations and tabulates test loss, MSE, PSNR, parameters and seconds', async function () {
      this.timeout(60000);
      const start = tf.memory().numTensors;
      const events: SweepProgress[] = [];
      const tiny = (latentDim: number) => () => new MLPAutoencoder({ hidden: [32], latentDim });
      const result = await sweep(
        [
          { name: 'latent 2', make: tiny(2), params: { latentDim: 2 } },
          { name: 'latent 8', make: tiny(8), params: { latentDim: 8 }, fit: { lr: 3e-3 } },
        ],
        train,
        test,
        { fit: { epochs: 2, batchSize: 100, loss: 'mse', seed: 2 }, onProgress: (p) => events.push(p) },
      );
      assert.equal(tf.memory().numTensors, start);
      assert.deepEqual(result.rows.map((r) => r.name), ['latent 2', 'latent 8']);
      const linear = (i: number, o: number) => i * o + o;
      assert.equal(result.rows[0].params, linear(784, 32) + linear(32, 2) + linear(2, 32) + linear(32, 784));
      for (const r of result.rows) {
        assert.equal(r.status, 'ok');
        assert.equal(r.epochs, 2);
        assert.ok(r.mse > 0 && r.mse < 0.3 && Math.abs(r.testLoss - r.mse) < 1e-6, `${r.testLoss} ${r.mse}`); // test loss is the fit loss (MSE, mean)
        assert.ok(Math.abs(r.psnr - 10 * Math.log10(1 / r.mse)) < 1e-9);
        assert.ok(r.seconds > 0);
      }
      assert.equal(result.rows[1].latentDim, 8);
      assert.equal(result.histories[1].history.epochs.length, 2);
      assert.deepEqual(
        events.map((e) => `${e.index}:${e.phase}${e.epoch ?? ''}`),
        ['0:start', '0:epoch1', '0:epoch2', '0:done', '1:start', '1:epoch1', '1:epoch2', '1:done'],
      );
      assert.equal(events[3].row, result.rows[0]);
      const line = sweepChart(result, { x: 'latentDim', metric: 'psnr' });
      assert.equal((line.encoding as Record<string, { field: string }>).x.field, 'latentDim');
      assert.ok(sweepChart(result).layer);
      assert.match(await renderSvg(sweepCurvesChart(result)), /latent 8/);
    });

    it('records a configuration that diverges and goes on', async function () {
      this.timeout(30000);
      const result = await sweep(
        [
          { name: 'exploding', make: () => new MLPAutoencoder({ hidden: [16], latentDim: 2, outputActivation: 'none' }), fit: { optimizer: 'sgd', lr: 1e6 } },
          { name: 'fine', make: () => new MLPAutoencoder({ hidden: [16], latentDim: 2 }) },
        ],
        train,
        test,
        { fit: { epochs: 1, batchSize: 100, loss: 'mse' } },
      );
      assert.deepEqual(result.rows.map((r) => r.status), ['diverged', 'ok']);
      assert.ok(Number.isNaN(result.rows[0].mse));
      assert.ok(Number.isFinite(result.rows[1].mse));
    });
  });
});
