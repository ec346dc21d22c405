// Grading tests for notebook 06 (seed 000 Part 2, seed 004's convolutional denoiser):
// the claims the notebook makes, checked on small real MNIST subsets.
import assert from 'node:assert/strict';
import { loadMnist } from '../../src/lib/data/mnist';
import { Dataset, disposeDataset } from '../../src/lib/data/dataset';
import { noisyCopy } from '../../src/lib/data/batches';
import { StridedConvAutoencoder } from '../../src/lib/models/conv';
import { fit } from '../../src/lib/train/fit';
import { compareNoiseLevels, NoiseLevelRow } from '../../src/lib/analysis';

const log = (...a: unknown[]) => {
  if (process.env.AELAB_TEST_VERBOSE) console.log(...a);
};

describe('exercises 06: denoising (seed 000 Part 2, seed 004)', () => {
  let train: Dataset;
  let test: Dataset;
  const levels = [0, 0.5];
  const results: Record<string, NoiseLevelRow[]> = {};
  before(async function () {
    this.timeout(120000);
    ({ train, test } = await loadMnist({ trainSize: 1000, testSize: 500, seed: 1 }));
    const noisy = noisyCopy(train, { std: 0.5 }, 7);
    // Seed 004's strided convolutional autoencoder, three ways (BCE and lr 3e-3, batch 16: on
    // 1,000 images it learns within two epochs, where MSE at 1e-3 has not left the blank output yet).
    for (const [name, set, noise] of [
      ['plain', train, undefined],
      ['denoiser', train, { std: 0.5 }],
      ['noisy target', noisy, undefined],
    ] as const) {
      const model = new StridedConvAutoencoder({ seed: 1 });
      await fit(model, set, { epochs: 2, batchSize: 16, lr: 3e-3, loss: 'bce', seed: 1, noise });
      results[name] = (await compareNoiseLevels(model, test, levels)).rows;
      model.dispose();
    }
    disposeDataset(noisy);
    log(Object.fromEntries(Object.entries(results).map(([k, rows]) => [k, rows.map((r) => `${r.level}: ${r.denoisedMse.toFixed(4)} (input ${r.noisyMse.toFixed(4)})`)])));
  });
  after(() => {
    disposeDataset(train);
    disposeDataset(test);
  });
  const at = (name: string, level: number) => results[name].find((r) => r.level === level)!.denoisedMse;

  it('the denoiser beats the plain autoencoder of the same architecture at test noise 0.5', () => {
    // Measured: denoiser 0.023, plain 0.071 (it passes most of the noise through), noisy input 0.116.
    assert.ok(at('denoiser', 0.5) < 0.6 * at('plain', 0.5), `denoiser ${at('denoiser', 0.5)} vs plain ${at('plain', 0.5)}`);
    assert.ok(at('denoiser', 0.5) < 0.5 * results.denoiser[1].noisyMse, 'the denoiser removes most of the noise');
  });

  it('a loss against the noisy input (instead of the clean image) gives a model that does not denoise', () => {
    // Measured: noisy target 0.074 at noise 0.5, against 0.023 with the clean target.
    assert.ok(at('noisy target', 0.5) > 1.6 * at('denoiser', 0.5), `noisy target ${at('noisy target', 0.5)} vs clean target ${at('denoiser', 0.5)}`);
  });

  it('denoising has a price on clean inputs: the overcomplete plain model reconstructs clean images better', () => {
    // Measured: plain 0.005, denoiser 0.018 at noise 0.
    assert.ok(at('plain', 0) < 0.5 * at('denoiser', 0), `plain ${at('plain', 0)} vs denoiser ${at('denoiser', 0)}`);
  });

  it('the clamp to [0, 1] removes more than half of the noise energy at sigma 0.5 (most pixels are black)', async () => {
    const model = new StridedConvAutoencoder({ seed: 1 });
    const clamped = (await compareNoiseLevels(model, test, [0.5])).rows[0].noisyMse;
    const raw = (await compareNoiseLevels(model, test, [0.5], { clamp: null })).rows[0].noisyMse;
    model.dispose();
    // Measured: 0.116 clamped, 0.251 unclamped (the variance 0.25 of the noise itself).
    assert.ok(Math.abs(raw - 0.25) < 0.01, `unclamped ${raw}`);
    assert.ok(clamped < 0.5 * raw, `clamped ${clamped} vs unclamped ${raw}`);
  });
});
