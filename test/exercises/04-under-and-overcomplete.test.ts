// Seed 001, Part 4 (FlexibleAutoencoder) and seed 004, Question 4 (undercomplete and
// overcomplete autoencoders), checked on a small real subset: 4,000 MNIST training digits
// and 200 test digits downscaled to 14 x 14 (196 inputs), so that an overcomplete network
// (196 -> 256 -> 256, every layer wider than the input) trains far enough in seconds
// (Adam 3e-3, batches of 64, 5 epochs, BCE). Bounds are set from measured values with
// margins (the measured values are in the comments); notebooks/04-under-and-overcomplete.ipynb
// measures the same things on full-size digits with a 784 -> 1024 -> 1024 network.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../../src/lib/data/mnist';
import { Dataset, disposeDataset } from '../../src/lib/data/dataset';
import { Autoencoder, FlexibleAutoencoder, SparseAutoencoder } from '../../src/lib/models';
import { FitOptions, evaluate, fit } from '../../src/lib/train';
import { compareNoiseLevels, layerActivations } from '../../src/lib/analysis';

const FIT: FitOptions = { epochs: 5, batchSize: 64, lr: 3e-3, loss: 'bce' };

/** The images of `ds` downscaled to 14 x 14 and flattened: `[n, 196]`. */
function downscale(ds: Dataset): Dataset {
  return { x: tf.tidy(() => tf.image.resizeBilinear(ds.x as tf.Tensor4D, [14, 14]).reshape([-1, 196])) };
}

describe('exercise 04: undercomplete and overcomplete autoencoders (seed 001 Part 4, seed 004 Q4)', function () {
  this.timeout(300_000);
  let train: Dataset;
  let test: Dataset;
  const trained = new Map<string, Autoencoder>();

  /**
   * Share of a small input perturbation (std 0.1) that reaches the output,
   * ||f(x + d) - f(x)||^2 / ||d||^2: 1 for the identity, small for a model that keeps only
   * what digits share.
   */
  const passThrough = (model: Autoencoder) =>
    tf.tidy(() => {
      const x = test.x;
      const d = tf.randomNormal(x.shape, 0, 0.1, 'float32', 5);
      return model.forward(x.add(d)).recon.sub(model.forward(x).recon).square().sum().div(d.square().sum()).dataSync()[0];
    });
  const noisy = async (model: Autoencoder) => (await compareNoiseLevels(model, test, [0.3])).rows[0];

  before(async () => {
    const mnist = await loadMnist({ trainSize: 4000, testSize: 200, seed: 1 });
    train = downscale(mnist.train);
    test = downscale(mnist.test);
    disposeDataset(mnist.train);
    disposeDataset(mnist.test);
    const specs: [string, () => Autoencoder, FitOptions][] = [
      ['under', () => new FlexibleAutoencoder({ inputDim: 196, hiddenDim: 128, latentDim: 16 }), {}],
      ['over', () => new FlexibleAutoencoder({ inputDim: 196, hiddenDim: 256, latentDim: 256 }), {}],
      ['denoising', () => new FlexibleAutoencoder({ inputDim: 196, hiddenDim: 256, latentDim: 256 }), { noise: { std: 0.3 } }],
      ['sparse', () => new SparseAutoencoder({ inputDim: 196, hidden: [256], latentDim: 256, sparsity: 'l1', sparsityWeight: 0.1 }), {}],
    ];
    for (const [name, make, options] of specs) {
      const model = make();
      await fit(model, train, { ...FIT, ...options });
      trained.set(name, model);
    }
  });

  after(() => {
    trained.forEach((m) => m.dispose());
    disposeDataset(train);
    disposeDataset(test);
  });

  it('FlexibleAutoencoder reports its compression ratio and completeness from the code size', () => {
    const cases: [number, number, number, boolean][] = [
      // latentDim, hiddenDim, compression ratio, undercomplete
      [32, 256, 24.5, true],
      [784, 256, 1, false],
      [1024, 1024, 0.765625, false],
    ];
    for (const [latentDim, hiddenDim, ratio, under] of cases) {
      const m = new FlexibleAutoencoder({ latentDim, hiddenDim });
      assert.equal(m.compressionRatio, ratio);
      assert.equal(m.isUndercomplete, under);
      m.dispose();
    }
  });

  it('the overcomplete network reconstructs digits better and passes more of a perturbation through', async () => {
    const under = trained.get('under')!;
    const over = trained.get('over')!;
    const [mseUnder, mseOver] = [(await evaluate(under, test, { loss: 'mse' })).mse, (await evaluate(over, test, { loss: 'mse' })).mse];
    // measured: MSE under 0.0329, over 0.0170; passed through: under 0.097, over 0.193
    assert.ok(mseOver < 0.75 * mseUnder, `over MSE ${mseOver} vs under MSE ${mseUnder}`);
    const [pUnder, pOver] = [passThrough(under), passThrough(over)];
    assert.ok(pOver > 1.4 * pUnder, `passed through: over ${pOver}, under ${pUnder}`);
    assert.ok(pOver < 0.5, `over ${pOver}: copying more, but far from the identity (1)`);
  });

  it('denoising training stops the overcomplete network from passing noise through', async () => {
    const over = trained.get('over')!;
    const denoising = trained.get('denoising')!;
    // measured: passed through 0.050 (under 0.097, over 0.193); noisy digits (std 0.3,
    // MSE 0.0467 against the clean ones) come out at 0.0339, the plain one's at 0.0460
    assert.ok(passThrough(denoising) < 0.7 * passThrough(trained.get('under')!), `denoising ${passThrough(denoising)}`);
    const [d, o] = [await noisy(denoising), await noisy(over)];
    assert.ok(d.denoisedMse < 0.85 * d.noisyMse, `denoising output ${d.denoisedMse} vs noisy input ${d.noisyMse}`);
    assert.ok(d.denoisedMse < 0.85 * o.denoisedMse, `denoising output ${d.denoisedMse} vs plain overcomplete ${o.denoisedMse}`);
  });

  it('an L1 penalty makes the overcomplete code sparse', () => {
    const active = (name: string) => {
      const rows = layerActivations(trained.get(name)!, test.x).rows;
      return rows[rows.length - 1].activeFraction;
    };
    // measured: 11.6% of code activations positive with the penalty, 56.3% without
    assert.ok(active('sparse') < 0.25, `sparse ${active('sparse')}`);
    assert.ok(active('sparse') < 0.4 * active('over'), `sparse ${active('sparse')} vs plain ${active('over')}`);
  });
});
