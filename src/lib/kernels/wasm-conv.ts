/**
 * Convolution gradients for the `wasm` backend.
 *
 * tfjs-backend-wasm 4.22 has no `Conv2DBackpropFilter` kernel (tfjs issue 8474), so no model
 * with a Conv2D or Conv2DTranspose layer can train on it, and its `Conv2DBackpropInput` (the
 * forward pass of every transposed convolution and the input gradient of every convolution)
 * is a scalar loop, 2x to 15x slower than the forms below at the shapes of the course's
 * convolutional autoencoders. Here:
 *
 *   dW = patches(x)^T . dy     one XNNPACK matrix product, [kh*kw*ic, n] . [n, oc]
 *                              (n = batch * outH * outW; patches = im2col, built transposed)
 *   dx = s*s stride-1 XNNPACK convolutions of dy, one per phase of the stride (sub-pixel
 *        form: each output phase sees only its own filter taps), interleaved; or, when dx
 *        has few channels (XNNPACK wastes most of its tile on them), col2im(dy . W^T).
 *
 * The rearrangements are plain loops over the wasm heap (as the backend's own Concat and
 * Slice kernels are): measured against StridedSlice + Concat, GatherV2 and ScatterNd index
 * maps, and an identity-filter depthwise convolution, they were 2x to 30x faster.
 *
 * The stock `MaxPoolGrad` is also replaced: it starts each window's maximum at
 * `numeric_limits<float>::min()` (the smallest positive float, not the lowest), so a window
 * whose values are all <= 0 sends its gradient to element 0 of the whole tensor.
 */
import * as tf from '@tensorflow/tfjs';

type KernelArgs = { inputs: Record<string, tf.TensorInfo>; backend: tf.KernelBackend; attrs: Record<string, unknown> };
type KernelFn = (args: KernelArgs) => tf.TensorInfo;
type Info = tf.backend_util.Conv2DInfo;
type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

/** The two methods of tfjs-backend-wasm's backend that give in-place access to tensors on its heap. */
interface HeapBackend extends tf.KernelBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): tf.TypedArray;
}

interface ConvAttrs {
  strides: number | [number, number];
  pad: Pad;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** Kernels this module registers; the value is what was registered before (null: nothing). */
const replaced = new Map<string, tf.KernelConfig | null>();

/**
 * Registers `Conv2DBackpropFilter` for the wasm backend (which has none, so conv layers
 * cannot train there) and replaces its slow `Conv2DBackpropInput` and wrong `MaxPoolGrad`.
 * Idempotent; a no-op when the wasm backend is not loaded.
 */
export function registerWasmConv(): void {
  if (replaced.size > 0 || !tf.getKernel('Conv2D', 'wasm')) return;
  const ours: [string, KernelFn][] = [
    ['Conv2DBackpropFilter', conv2DBackpropFilter],
    ['Conv2DBackpropInput', conv2DBackpropInput],
    ['MaxPoolGrad', maxPoolGrad],
  ];
  for (const [name, kernelFunc] of ours) {
    const previous = tf.getKernel(name, 'wasm') ?? null;
    replaced.set(name, previous);
    if (previous) tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }
}

/** Puts back what `registerWasmConv` replaced (for side-by-side benchmarks and tests). */
export function unregisterWasmConv(): void {
  for (const [name, previous] of replaced) {
    tf.unregisterKernel(name, 'wasm');
    if (previous) tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: previous.kernelFunc });
  }
  replaced.clear();
}

/** Calls another wasm kernel directly (no engine bookkeeping: the caller disposes what it gets). */
function run(name: string, backend: tf.KernelBackend, inputs: Record<string, tf.TensorInfo>, attrs: Record<string, unknown> = {}): tf.TensorInfo {
  const kernel = tf.getKernel(name, 'wasm');
  if (!kernel) throw new Error(`aelab wasm convolution: the wasm backend has no ${name} kernel`);
  return (kernel.kernelFunc as unknown as KernelFn)({ inputs, backend, attrs });
}

const reshape = (backend: tf.KernelBackend, x: tf.TensorInfo, shape: number[]) => run('Reshape', backend, { x }, { shape });
const matMul = (backend: tf.KernelBackend, a: tf.TensorInfo, b: tf.TensorInfo) =>
  run('BatchMatMul', backend, { a, b }, { transposeA: false, transposeB: false });

function heap(backend: tf.KernelBackend, t: tf.TensorInfo): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`aelab wasm convolution: expected float32 tensors, got ${t.dtype}`);
  return (backend as HeapBackend).typedArrayFromHeap(t) as Float32Array;
}

function zeros(backend: tf.KernelBackend, shape: number[]): tf.TensorInfo {
  const out = (backend as HeapBackend).makeOutput(shape, 'float32');
  heap(backend, out).fill(0);
  return out;
}

/** Runs f with a list that collects intermediates, and frees them afterwards. */
function withTemps<T>(backend: tf.KernelBackend, f: (keep: (t: tf.TensorInfo) => tf.TensorInfo) => T): T {
  const temps: tf.TensorInfo[] = [];
  try {
    return f((t) => (temps.push(t), t));
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

function convInfo(xShape: number[], filterShape: number[], attrs: ConvAttrs, kernel: string): Info {
  if (attrs.dataFormat === 'NCHW') {
    throw new Error(`aelab wasm ${kernel}: dataFormat 'NCHW' is not supported on the wasm backend (its Conv2D is NHWC only); use 'NHWC'`);
  }
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}

/**
 * The transposed im2col matrix of x: [kh*kw*ic, batch*outH*outW], row (i, j, c) holding the
 * input value under filter tap (i, j), channel c, for every output pixel, zero where the tap
 * falls in the padding. Rows in filter order, so patches^T . dy is the filter gradient laid
 * out as the filter, with no transposes (wasm's transposed matrix product is slow).
 */
function patchesT(info: Info, x: tf.TensorInfo, backend: tf.KernelBackend): tf.TensorInfo {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: KH, filterWidth: KW } = info;
  const { top, left } = info.padInfo;
  const N = B * OH * OW;
  const out = (backend as HeapBackend).makeOutput([KH * KW * C, N], 'float32');
  // Views taken after the allocation: growing the wasm heap detaches older ones.
  const dst = heap(backend, out);
  const src = heap(backend, x);
  for (let i = 0; i < KH; i++) {
    for (let j = 0; j < KW; j++) {
      const shift = j - left;
      // Output columns [x0, x1) read inside the image; the others read padding.
      const x0 = Math.min(OW, Math.max(0, Math.ceil(-shift / sw)));
      const x1 = Math.max(x0, Math.min(OW, Math.floor((W - 1 - shift) / sw) + 1));
      let n = (i * KW + j) * C * N;
      if (C === 1) {
        for (let b = 0; b < B; b++) {
          for (let y = 0; y < OH; y++, n += OW) {
            const row = y * sh + i - top;
            if (row < 0 || row >= H) {
              dst.fill(0, n, n + OW);
              continue;
            }
            dst.fill(0, n, n + x0);
            for (let xo = x0, p = (b * H + row) * W + shift + x0 * sw; xo < x1; xo++, p += sw) dst[n + xo] = src[p];
            dst.fill(0, n + x1, n + OW);
          }
        }
      } else {
        // Channels are contiguous in x: read them together, write one element to each of
        // the C rows (reading a channel at a time strides through x C times).
        for (let b = 0; b < B; b++) {
          for (let y = 0; y < OH; y++) {
            const row = y * sh + i - top;
            const inside = row >= 0 && row < H;
            const base = ((b * H + row) * W + shift) * C;
            for (let xo = 0; xo < OW; xo++, n++) {
              if (inside && xo >= x0 && xo < x1) {
                for (let c = 0, p = base + xo * sw * C, q = n; c < C; c++, q += N) dst[q] = src[p + c];
              } else {
                for (let c = 0, q = n; c < C; c++, q += N) dst[q] = 0;
              }
            }
          }
        }
      }
    }
  }
  return out;
}

/**
 * The adjoint of im2col: cols [batch*outH*outW, kh*kw*ic] summed back into an image
 * [batch, inH, inW, ic], each entry added to the input pixel its filter tap covers (entries
 * over the padding are dropped).
 */
function col2im(info: Info, cols: tf.TensorInfo, backend: tf.KernelBackend): tf.TensorInfo {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: KH, filterWidth: KW } = info;
  const { top, left } = info.padInfo;
  const K = KH * KW * C;
  const out = zeros(backend, [B, H, W, C]);
  const dst = heap(backend, out);
  const src = heap(backend, cols);
  // One filter tap at a time, so that the padding is clipped per row rather than per entry.
  for (let i = 0; i < KH; i++) {
    for (let j = 0; j < KW; j++) {
      const shift = j - left;
      const x0 = Math.min(OW, Math.max(0, Math.ceil(-shift / sw)));
      const x1 = Math.max(x0, Math.min(OW, Math.floor((W - 1 - shift) / sw) + 1));
      const tap = (i * KW + j) * C;
      for (let b = 0; b < B; b++) {
        for (let y = 0; y < OH; y++) {
          const row = y * sh + i - top;
          if (row < 0 || row >= H) continue;
          let o = ((b * OH + y) * OW + x0) * K + tap;
          let p = ((b * H + row) * W + shift + x0 * sw) * C;
          if (C === 1) {
            for (let xo = x0; xo < x1; xo++, o += K, p += sw) dst[p] += src[o];
          } else {
            for (let xo = x0; xo < x1; xo++, o += K - C, p += (sw - 1) * C) {
              for (let c = 0; c < C; c++) dst[p++] += src[o++];
            }
          }
        }
      }
    }
  }
  return out;
}

/** One axis of a phase of the strided input gradient (see inputGradByPhases). */
interface PhaseAxis {
  /** Filter taps of this phase: p, p + s, ... (< k). */
  taps: number;
  /** First index m of the phase's dx positions m * s + p - pad; count of them. */
  first: number;
  count: number;
  /** Padding of dy for the phase's stride-1 convolution (before; after, at least enough). */
  before: number;
  after: number;
}

function phaseAxis(p: number, s: number, k: number, pad: number, inSize: number, outSize: number): PhaseAxis {
  const taps = Math.ceil((k - p) / s);
  const first = Math.ceil((pad - p) / s);
  const count = Math.floor((inSize - 1 + pad - p) / s) - first + 1;
  const before = taps - 1 - first;
  return { taps, first, count, before, after: Math.max(0, count + taps - 1 - outSize - before) };
}

/**
 * dx as one stride-1 convolution of dy per phase of the stride. The dx rows r with
 * (r + top) mod s = p receive dy[m - t] * w[p + s t] (m = (r + top - p) / s): a convolution
 * with the taps p, p + s, ... of the filter, flipped, channels swapped. So no product meets
 * one of the zeros a strided transposed convolution inserts, and XNNPACK does all the
 * arithmetic; the phases are then interleaved into dx. Stride 1 is the single phase, and its
 * convolution is dx itself. Returns null when a phase would need negative padding (padding
 * wider than the filter).
 */
function inputGradByPhases(info: Info, dy: tf.TensorInfo, filter: tf.TensorInfo, backend: tf.KernelBackend): tf.TensorInfo | null {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: OC } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: KH, filterWidth: KW } = info;
  const { top, left } = info.padInfo;
  const plans: { py: number; px: number; rows: PhaseAxis; cols: PhaseAxis }[] = [];
  let complete = true;
  for (let py = 0; py < sh; py++) {
    for (let px = 0; px < sw; px++) {
      const rows = phaseAxis(py, sh, KH, top, H, OH);
      const cols = phaseAxis(px, sw, KW, left, W, OW);
      if (rows.count <= 0 || cols.count <= 0) continue;
      if (rows.taps <= 0 || cols.taps <= 0) {
        complete = false; // a phase no tap reaches stays zero
        continue;
      }
      if (rows.before < 0 || cols.before < 0) return null;
      plans.push({ py, px, rows, cols });
    }
  }
  const w = heap(backend, filter).slice(); // [KH, KW, C, OC], small
  return withTemps(backend, (keep) => {
    const phases = plans.map(({ py, px, rows, cols }) => {
      const g = new Float32Array(rows.taps * cols.taps * OC * C);
      for (let u = 0; u < rows.taps; u++) {
        for (let v = 0; v < cols.taps; v++) {
          const tap = (py + sh * (rows.taps - 1 - u)) * KW + px + sw * (cols.taps - 1 - v);
          for (let o = 0; o < OC; o++) {
            for (let c = 0; c < C; c++) g[((u * cols.taps + v) * OC + o) * C + c] = w[(tap * C + c) * OC + o];
          }
        }
      }
      const gt = keep((backend as HeapBackend).makeOutput([rows.taps, cols.taps, OC, C], 'float32'));
      heap(backend, gt).set(g);
      const pad = [[0, 0], [rows.before, rows.after], [cols.before, cols.after], [0, 0]];
      const out = run('Conv2D', backend, { x: dy, filter: gt }, { strides: 1, pad, dilations: 1, dataFormat: 'NHWC' });
      return { py, px, rows, cols, out };
    });
    if (phases.length === 1 && complete && phases[0].out.shape.join() === [B, H, W, C].join()) return phases[0].out;
    for (const phase of phases) keep(phase.out);
    const dx = (backend as HeapBackend).makeOutput([B, H, W, C], 'float32');
    const dst = heap(backend, dx);
    if (!complete) dst.fill(0);
    for (const { py, px, rows, cols, out } of phases) {
      const src = heap(backend, out);
      const [, outH, outW] = out.shape;
      for (let b = 0; b < B; b++) {
        for (let m = 0; m < rows.count; m++) {
          const r = (rows.first + m) * sh + py - top;
          let p = ((b * H + r) * W + cols.first * sw + px - left) * C;
          let q = (b * outH + m) * outW * C;
          if (C === 1) {
            for (let n = 0; n < cols.count; n++, p += sw) dst[p] = src[q++];
          } else {
            for (let n = 0; n < cols.count; n++, p += (sw - 1) * C) {
              for (let c = 0; c < C; c++) dst[p++] = src[q++];
            }
          }
        }
      }
    }
    return dx;
  });
}

/** dW = patches(x)^T . dy, reshaped to the filter's [kh, kw, ic, oc]. */
function conv2DBackpropFilter({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { x, dy } = inputs;
  const { filterShape } = attrs as unknown as ConvAttrs & { filterShape: number[] };
  const info = convInfo(x.shape, filterShape, attrs as unknown as ConvAttrs, 'Conv2DBackpropFilter');
  const expected = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
  if (dy.shape.join() !== expected.join()) {
    throw new Error(`aelab wasm Conv2DBackpropFilter: dy has shape [${dy.shape}], the convolution of [${x.shape}] gives [${expected}]`);
  }
  const n = info.batchSize * info.outHeight * info.outWidth;
  if (n === 0) return zeros(backend, filterShape);
  return withTemps(backend, (keep) => {
    const pt = keep(patchesT(info, x, backend));
    const dw = keep(matMul(backend, pt, keep(reshape(backend, dy, [n, info.outChannels]))));
    return reshape(backend, dw, filterShape);
  });
}

/**
 * dx of a convolution (and the forward pass of a transposed one): by phases (see
 * inputGradByPhases) at stride 1 or when dx has 8 channels or more; otherwise, and when the
 * padding is wider than the filter, col2im(dy . W^T). Measured at batch 128: 16 -> 32 channels
 * 7x7 -> 14x14, phases 5.5 ms, col2im 8.5 ms; 16 -> 1 channel 14x14 -> 28x28, 4.8 and 2.8 ms.
 */
function conv2DBackpropInput(args: KernelArgs): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs;
  const { inputShape } = attrs as unknown as ConvAttrs & { inputShape: number[] };
  if ((attrs as unknown as ConvAttrs).dataFormat === 'NCHW') {
    // The stock kernel handles NCHW (nothing else on wasm does): leave that case to it.
    const stock = replaced.get('Conv2DBackpropInput');
    if (stock) return (stock.kernelFunc as unknown as KernelFn)(args);
  }
  const info = convInfo(inputShape, filter.shape, attrs as unknown as ConvAttrs, 'Conv2DBackpropInput');
  const { filterHeight: KH, filterWidth: KW, inChannels: IC, outChannels: OC } = info;
  const n = info.batchSize * info.outHeight * info.outWidth;
  if (n === 0) return zeros(backend, inputShape);
  if ((info.strideHeight === 1 && info.strideWidth === 1) || IC >= 8) {
    const dx = inputGradByPhases(info, dy, filter, backend);
    if (dx) return dx;
  }
  return withTemps(backend, (keep) => {
    const w2 = keep(reshape(backend, filter, [KH * KW * IC, OC]));
    const wT = keep(run('Transpose', backend, { x: w2 }, { perm: [1, 0] }));
    const cols = keep(matMul(backend, keep(reshape(backend, dy, [n, OC])), wT));
    return col2im(info, cols, backend);
  });
}

/**
 * dx of max pooling: each window's gradient goes to its first maximum (taps in row-major
 * order), as on the cpu backend. The forward output gives each window's maximum, so finding
 * it is one equality test per tap (tracking a running maximum instead costs a third more:
 * its comparisons are as unpredictable as the data). With the native kernels built,
 * native.ts registers theirs on top of this one, which stays their fallback.
 */
function maxPoolGrad({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { dy, input, output } = inputs;
  const { filterSize, strides, pad, dimRoundingMode } = attrs as {
    filterSize: number | [number, number];
    strides: number | [number, number];
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: FH, filterWidth: FW } = info;
  const { top, left } = info.padInfo;
  const out = zeros(backend, input.shape);
  const dx = heap(backend, out);
  const x = heap(backend, input);
  const y = heap(backend, output);
  const g = heap(backend, dy);
  let o = 0;
  for (let b = 0; b < B; b++) {
    for (let oy = 0; oy < OH; oy++) {
      const y0 = oy * sh - top;
      const i0 = Math.max(0, -y0);
      const i1 = Math.min(FH, H - y0);
      for (let ox = 0; ox < OW; ox++, o += C) {
        const x0 = ox * sw - left;
        const j0 = Math.max(0, -x0);
        const j1 = Math.min(FW, W - x0);
        for (let c = 0; c < C; c++) {
          const max = y[o + c];
          search: for (let i = i0; i < i1; i++) {
            for (let j = j0, p = ((b * H + y0 + i) * W + x0 + j0) * C + c; j < j1; j++, p += C) {
              if (x[p] === max) {
                dx[p] += g[o + c];
                break search;
              }
            }
          }
        }
      }
    }
  }
  return out;
}
