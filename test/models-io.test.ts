import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../src/lib/data/mnist';
import { Dataset, disposeDataset } from '../src/lib/data/dataset';
import { DataFormatError } from '../src/lib/errors';
import { AE } from '../src/lib/models/ae';
import { loadModel } from '../src/lib/models/io';
import { fit } from '../src/lib/train/fit';

describe('model save and load', () => {
  let train: Dataset;
  let test: Dataset;
  let dir: string;
  before(async () => {
    ({ train, test } = await loadMnist({ trainSize: 256, testSize: 32 }));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aelab-io-'));
  });
  after(() => {
    disposeDataset(train);
    disposeDataset(test);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('round-trips a trained AE: same config, identical outputs', async () => {
    const ae = new AE({ latentDim: 8, seed: 4 });
    await fit(ae, train, { epochs: 1, batchSize: 32 });
    const saved = path.join(dir, 'ae');
    await ae.save(saved);
    assert.deepEqual(fs.readdirSync(saved).sort(), ['model.json', 'weights.bin']);
    const back = await loadModel(saved);
    assert.ok(back instanceof AE);
    assert.deepEqual(back.config, ae.config);
    const a = ae.forward(test.x), b = back.forward(test.x);
    assert.deepEqual(Array.from(b.recon.dataSync()), Array.from(a.recon.dataSync()));
    assert.deepEqual(Array.from(b.latent.dataSync()), Array.from(a.latent.dataSync()));
    // and the weights came from the file, not from re-running the seeded initialiser
    const fresh = new AE({ latentDim: 8, seed: 4 });
    assert.notDeepEqual(Array.from(fresh.forward(test.x).recon.dataSync()), Array.from(a.recon.dataSync()));
    tf.dispose([a.recon, a.latent, b.recon, b.latent, a.reconLogits!, b.reconLogits!]);
    [ae, back, fresh].forEach((m) => m.dispose());
  });

  it('replaces an earlier save completely and leaves no temporary directories', async () => {
    const target = path.join(dir, 'twice');
    const first = new AE({ latentDim: 4, seed: 1 });
    const second = new AE({ latentDim: 6, seed: 2 });
    await first.save(target);
    await second.save(target);
    const back = await loadModel(target);
    assert.deepEqual(back.latentShape, [6]);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('twice')), ['twice']);
    [first, second, back].forEach((m) => m.dispose());
  });

  it('reports a missing, truncated or mismatched save by file and problem', async () => {
    await assert.rejects(loadModel(path.join(dir, 'nothing')), /model\.json: does not exist/);
    const target = path.join(dir, 'broken');
    const ae = new AE({ latentDim: 4 });
    await ae.save(target);
    ae.dispose();
    const bin = path.join(target, 'weights.bin');
    const bytes = fs.readFileSync(bin);
    fs.writeFileSync(bin, bytes.subarray(0, bytes.length - 100));
    await assert.rejects(loadModel(target), (e: unknown) => e instanceof DataFormatError && /weights\.bin: holds \d+ bytes, but model\.json describes \d+ bytes/.test(e.message));
    fs.writeFileSync(bin, bytes);
    const jsonFile = path.join(target, 'model.json');
    const json = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
    json.config.latentDim = 5;
    fs.writeFileSync(jsonFile, JSON.stringify(json));
    await assert.rejects(loadModel(target), /model\.json: weight 2 \(.*\) has shape \[400,4\], but the model expects \[400,5\]/);
    fs.writeFileSync(jsonFile, '{ not json');
    await assert.rejects(loadModel(target), /model\.json: is not valid JSON/);
  });
});
