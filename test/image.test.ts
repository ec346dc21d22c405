import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../src/lib/data/mnist';
import { disposeDataset } from '../src/lib/data/dataset';
import { decodePng, imageGrid, saveImage } from '../src/lib/viz/image';

describe('image grids', () => {
  it('lays out MNIST digits like torchvision save_image (nrow, padding 2)', async () => {
    const { test } = await loadMnist({ trainSize: 1, testSize: 16 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aelab-img-'));
    const file = saveImage(test.x, path.join(dir, 'sub', 'grid.png'), { nrow: 8 });
    const img = decodePng(fs.readFileSync(file));
    // 8 columns x 2 rows of 28 px with 2 px padding: 8*30+2 by 2*30+2
    assert.equal(img.width, 242);
    assert.equal(img.height, 62);
    const pixels = test.x.dataSync();
    // pixel (r, c) of image k sits at (2 + 30*row + r, 2 + 30*col + c)
    for (const [k, r, c] of [[0, 14, 14], [9, 10, 20], [15, 27, 0]]) {
      const v = Math.round(pixels[k * 784 + r * 28 + c] * 255);
      const x = 2 + 30 * (k % 8) + c, y = 2 + 30 * Math.floor(k / 8) + r;
      const i: number = 4 * (y * img.width + x);
      assert.deepEqual([img.data[i], img.data[i + 1], img.data[i + 2], img.data[i + 3]], [v, v, v, 255]);
    }
    assert.equal(img.data[0], 0); // padding is black
    disposeDataset(test);
    fs.rmSync(dir, { recursive: true });
  });

  it('accepts flat [n, 784] rows and clamps values outside [0, 1]', () => {
    const flat = tf.tensor2d([Array(784).fill(2), Array(784).fill(-1)]);
    const img = imageGrid(flat, { padding: 0 });
    assert.equal(img.width, 56);
    assert.equal(img.data[0], 255);
    assert.equal(img.data[4 * 28], 0);
    assert.throws(() => imageGrid(tf.zeros([2, 10])), /images must be \[n, h, w, 1\|3\]/);
    flat.dispose();
  });
});
