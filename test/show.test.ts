import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { scatterChart } from '../src/lib/viz/charts';
import { decodePng, encodePng, imageGrid } from '../src/lib/viz/image';
import { inNotebook, show } from '../src/lib/viz/show';
import { imageStrip, imageStripRaster, saveImageStrip } from '../src/lib/viz/strip';
import { GLYPH_HEIGHT, hasGlyph, measureText } from '../src/lib/viz/font';

/** Runs `fn` with console.log captured. */
async function captureLog<T>(fn: () => Promise<T>): Promise<{ value: T; lines: string[] }> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => void lines.push(args.join(' '));
  try {
    return { value: await fn(), lines };
  } finally {
    console.log = log;
  }
}

describe('show (in a script: a file, its path printed and returned)', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aelab-show-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is not in a notebook here', () => {
    assert.equal(inNotebook(), false);
  });

  it('writes a chart as SVG, numbering files chart-1, chart-2, ...', async () => {
    const spec = scatterChart([{ a: 1, b: 2 }, { a: 2, b: 3 }], { x: 'a', y: 'b' });
    const { value: file, lines } = await captureLog(() => show(spec, { dir }));
    assert.equal(file, path.join(dir, 'chart-1.svg'));
    assert.deepEqual(lines, [file]);
    assert.match(fs.readFileSync(file!, 'utf8'), /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.equal(await show(spec, { dir, quiet: true }), path.join(dir, 'chart-2.svg'));
  });

  it('writes an image tensor as a PNG grid ([n, 28, 28, 1], [n, 784] and one [28, 28] image)', async () => {
    const x = tf.tidy(() => tf.linspace(0, 1, 4 * 784).reshape([4, 28, 28, 1]));
    const file = await show(x, { dir, quiet: true });
    assert.equal(file, path.join(dir, 'image-1.png'));
    const img = decodePng(fs.readFileSync(file!));
    // default scale 2, padding 2: 4 * (56 + 2) + 2 wide, 56 + 4 high
    assert.deepEqual([img.width, img.height], [234, 60]);
    assert.deepEqual(fs.readFileSync(file!), Buffer.from(encodePng(imageGrid(x, { scale: 2 }))));
    const flat = x.reshape([4, 784]);
    const file2 = await show(flat, { dir, quiet: true, nrow: 2, scale: 1 });
    assert.deepEqual([decodePng(fs.readFileSync(file2!)).width, decodePng(fs.readFileSync(file2!)).height], [62, 62]);
    const one = x.slice([0, 0, 0, 0], [1, 28, 28, 1]).reshape([28, 28]);
    const file3 = await show(one, { file: path.join(dir, 'one'), quiet: true });
    assert.equal(file3, path.join(dir, 'one.png'));
    assert.equal(decodePng(fs.readFileSync(file3!)).width, 60);
    tf.dispose([x, flat, one]);
  });

  it('writes PNG bytes as they are, and RGBA rasters as PNG', async () => {
    const png = encodePng({ width: 2, height: 1, data: new Uint8Array([255, 0, 0, 255, 0, 0, 255, 255]) });
    const file = await show(png, { file: path.join(dir, 'sub', 'red.png'), quiet: true });
    assert.equal(file, path.join(dir, 'sub', 'red.png'));
    assert.deepEqual(fs.readFileSync(file!), Buffer.from(png));
    const raster = imageStripRaster([{ label: 'x', images: tf.zeros([1, 4, 4, 1]) }], { margin: 0 });
    const file2 = await show(raster, { dir, quiet: true });
    assert.equal(decodePng(fs.readFileSync(file2!)).width, raster.width);
    await assert.rejects(show(new Uint8Array([1, 2, 3]), { dir, quiet: true }), /x must be PNG bytes/);
  });

  it('writes HTML as a page (fragments wrapped) and SVG strings as SVG', async () => {
    const f1 = await show('<b>hello</b>', { dir, quiet: true });
    assert.equal(f1, path.join(dir, 'page-1.html'));
    const text = fs.readFileSync(f1!, 'utf8');
    assert.match(text, /^<!doctype html>/);
    assert.match(text, /<body>\n<b>hello<\/b>/);
    const doc = '<!doctype html><html><body>x</body></html>';
    const f2 = await show({ html: doc }, { dir, name: 'report', quiet: true });
    assert.equal(f2, path.join(dir, 'report-1.html'));
    assert.equal(fs.readFileSync(f2!, 'utf8'), doc);
    const f3 = await show('<svg xmlns="http://www.w3.org/2000/svg"></svg>', { dir, quiet: true });
    assert.equal(path.extname(f3!), '.svg');
  });

  it('refuses inline mode outside a notebook and unknown inputs', async () => {
    await assert.rejects(show('<p>x</p>', { mode: 'inline' }), /outside a tslab notebook/);
    await assert.rejects(show(42 as never, { dir }), /x must be a vega-lite spec, an image tensor/);
  });

  it('in a tslab kernel, displays through tslab instead of writing a file', async () => {
    // The kernel's tslab sets jupyter.lastWriteDisplayData while it executes a cell; give it
    // a recorder in place of the ZeroMQ socket and show goes through tslab's real display API.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const jupyter = require('tslab/dist/jupyter') as { lastWriteDisplayData: unknown };
    const sent: { data: Record<string, string> }[] = [];
    jupyter.lastWriteDisplayData = (msg: { data: Record<string, string> }) => sent.push(msg);
    try {
      assert.equal(inNotebook(), true);
      const spec = scatterChart([{ a: 1, b: 2 }], { x: 'a', y: 'b' });
      assert.equal(await show(spec, { dir }), undefined);
      assert.equal(await show(tf.zeros([2, 28, 28, 1]), { dir }), undefined);
      assert.equal(await show({ html: '<i>hi</i>' }, { dir }), undefined);
      assert.deepEqual(sent.map((m) => Object.keys(m.data)[0]), ['image/svg+xml', 'image/png', 'text/html']);
      assert.match(sent[0].data['image/svg+xml'], /^<svg/);
      assert.deepEqual([...Buffer.from(sent[1].data['image/png'], 'base64').subarray(1, 4)].map((b) => String.fromCharCode(b)).join(''), 'PNG');
      assert.equal(sent[2].data['text/html'], '<i>hi</i>');
      assert.deepEqual(fs.readdirSync(dir), []);
      // mode: 'file' still writes a file inside a notebook
      assert.equal(await show({ html: 'x' }, { dir, mode: 'file', quiet: true }), path.join(dir, 'page-1.html'));
    } finally {
      jupyter.lastWriteDisplayData = null;
    }
    assert.equal(inNotebook(), false);
  });
});

describe('labelled image strips', () => {
  it('lays out labelled rows: label column, images at scale, title and column labels', () => {
    const a = tf.ones([3, 28, 28, 1]);
    const b = tf.zeros([2, 784]);
    const img = imageStripRaster(
      [
        { label: 'original', images: a },
        { label: 't=0.5', images: b },
      ],
      { title: 'Interpolation', columnLabels: ['7', '2', '1'], margin: 8, gap: 2, scale: 2, fontScale: 2 },
    );
    const labelCol = measureText('original', 2) + 8;
    const rowW = 3 * (56 + 2) + 2;
    assert.equal(img.width, 8 + labelCol + rowW + 8);
    // margin, title line (20 + 8), column labels (20 + 2), two rows of 56 + 4
    assert.equal(img.height, 8 + 28 + 22 + 2 * 60 + 8);
    const px = (x: number, y: number) => img.data[4 * (y * img.width + x)];
    const x0 = 8 + labelCol + 2;
    const y0 = 8 + 28 + 22 + 2;
    assert.equal(px(x0 + 10, y0 + 10), 255); // inside the first white image
    assert.equal(px(x0 + 10, y0 + 60 + 10), 0); // inside the first black image of row 2
    assert.equal(px(x0 + 2 * 58 + 10, y0 + 60 + 10), 255); // row 2 has no third image: background
    // the label is drawn in dark ink left of the images
    let ink = 0;
    for (let y = y0; y < y0 + 56; y++) for (let x = 8; x < 8 + labelCol; x++) if (px(x, y) < 100) ink++;
    assert.ok(ink > 50, `label pixels: ${ink}`);
    tf.dispose([a, b]);
  });

  it('captions each image under it, and widens the picture for a long title instead of cutting it', () => {
    const x = tf.zeros([2, 28, 28, 1]);
    const plain = imageStripRaster([{ label: 'a', images: x }], { margin: 8, gap: 2, scale: 2, fontScale: 2 });
    const captioned = imageStripRaster([{ label: 'a', images: x, captions: ['0.0123', '0.5'] }], { margin: 8, gap: 2, scale: 2, fontScale: 2 });
    // captions take one line of the font one size down (scale 1), plus 2 px
    assert.equal(captioned.height, plain.height + GLYPH_HEIGHT * 1 + 2);
    const px = (img: typeof plain, x0: number, y0: number) => img.data[4 * (y0 * img.width + x0)];
    let ink = 0;
    const labelCol = measureText('a', 2) + 8;
    for (let y = plain.height - 8; y < captioned.height - 8; y++) for (let xx = 8 + labelCol; xx < captioned.width - 8; xx++) if (px(captioned, xx, y) < 200) ink++;
    assert.ok(ink > 20, `caption pixels under the images: ${ink}`);
    const title = 'a title much longer than two small images side by side';
    const titled = imageStripRaster([{ label: 'a', images: x }], { title, margin: 8, gap: 2, scale: 2, fontScale: 2 });
    assert.equal(titled.width, 8 + measureText(title, 2) + 8);
    assert.throws(() => imageStrip([{ label: 'a', images: x, captions: ['1', '2', '3'] }]), /rows\[0\].captions must be at most one caption per image \(2\)/);
    x.dispose();
  });

  it('the label font draws every printable ASCII character (no hollow boxes in labels such as "20 @ 8 bit")', () => {
    const missing = Array.from({ length: 0x7e - 0x20 + 1 }, (_, i) => String.fromCharCode(0x20 + i)).filter((c) => !hasGlyph(c));
    assert.deepEqual(missing, []);
  });

  it('saves a PNG and names bad rows', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aelab-strip-'));
    const x = tf.ones([2, 28, 28, 1]);
    const file = saveImageStrip([{ label: 'best', images: x }], path.join(dir, 'strip.png'));
    const png = decodePng(fs.readFileSync(file));
    assert.deepEqual(decodePng(imageStrip([{ label: 'best', images: x }])), png);
    assert.throws(() => imageStrip([]), /rows must be a non-empty list/);
    assert.throws(() => imageStrip([{ label: 'x', images: [1, 2] as never }]), /rows\[0\] must be \{ label: string, images: tf.Tensor \}/);
    x.dispose();
    fs.rmSync(dir, { recursive: true });
  });
});
