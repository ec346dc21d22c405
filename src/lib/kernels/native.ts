/**
 * aelab's native kernels for the `wasm` backend: an addon of our own (`native/`, built from
 * source at install time by node-gyp into `build/Release/aelab_native.node`) with AVX2/FMA
 * kernels that work in place on the wasm backend's heap and use every core through a small
 * persistent thread pool, the JS thread waiting synchronously.
 *
 * Why: tfjs-backend-wasm runs on one thread in Node (its threaded build cannot start there)
 * and its XNNPACK matrix product reaches about a third of one core's AVX2/FMA peak, so a
 * training step of a dense autoencoder was several times slower than PyTorch on the same CPU.
 * Registered for `wasm` (each measured hot in a profile of a training step of the seeds' AE):
 *   - `BatchMatMul`, `_FusedMatMul`: a packed, blocked sgemm (6x16 AVX2/FMA register tile,
 *     ~90 GFLOP/s a core) with every transpose combination, batch (same or broadcast), and
 *     the bias + linear/relu/relu6/leakyrelu/sigmoid/elu epilogue fused;
 *   - `Conv2D`, `FusedConv2D` (NHWC, no dilation) and `Conv2DBackpropFilter`: a direct
 *     convolution (the sgemm's register tile reading the input where it lies, no im2col
 *     copy; 2.5-3.5x faster at seed 004's shapes), on a zero-padded copy of the input when
 *     taps fall in the padding (a 'same' convolution), with its own kernels for one output
 *     channel (a decoder's last convolution, where the tile would fill one column of 16);
 *     `AELAB_NATIVE_CONV_DIRECT=0`: im2col + that sgemm, bias and activation fused (the stock
 *     kernel is XNNPACK on one thread), the filter gradient reading the im2col transposed.
 *     `Conv2DBackpropInput`: a direct
 *     transposed convolution for 8 input channels or more, else one sgemm (`dy . W^T`) and
 *     a parallel col2im (`AELAB_NATIVE_CONV_INPUT=0`: the wasm one). `AELAB_NATIVE_CONV_DIRECT=0`
 *     turns the direct convolutions off (benchmarks);
 *   - `Sigmoid`, `Softplus`: vectorised exp/log;
 *   - `Add`, `Sub`, `Multiply`, `RealDiv`, `SquaredDifference` (same shapes, a scalar, or a
 *     bias repeated along the leading axes), `Step`, `Relu`, `LeakyRelu`: in parallel,
 *     without the stock kernels' per-element broadcast index arithmetic (a transposed
 *     convolution's bias add, the ReLU gradient `dy * step(x)`);
 *   - `Sum`, `Mean` over consecutive axes (the stock ones transpose first: every bias
 *     gradient, a column sum, paid for a transpose);
 *   - `Slice`, `PadV2`: one strided copy (the stock ones loop in JS per innermost row, one
 *     pixel for the one-channel images that conv models pad and crop);
 *   - `Tile`: one strided copy whose repeats read with stride 0 (the stock one computes every
 *     output element's source index in a scalar loop; tfjs's batch-norm gradient tiles the
 *     per-channel scale to the whole activation, which made it most of a batch-norm conv
 *     model's step);
 *   - `MaxPoolGrad` (NHWC, float32): each window's gradient to its first maximum, 8 channels
 *     at a time, in parallel over batch items (aelab's JS kernel in wasm-conv.ts, a scalar
 *     loop, took about 5.5 of the 24 ms of a training step of the pooling conv AE, batch 64);
 *   - `FusedBatchNorm` (tf.batchNorm with given statistics, a batch-norm layer's inference):
 *     one pass with per-channel coefficients;
 *   - `Identity`, same-dtype `Cast`: no copy (see `shareKernel`);
 * and three fused operations for callers to opt into: `NativeAdam`, a per-variable Adam update
 * (tfjs's Adam runs about a dozen kernels per variable per step), `bceWithLogits`, the
 * BCE loss from logits and its gradient as one kernel each (about 20 tfjs kernels), and
 * `batchNormTrain`, a batch-norm layer's training step (statistics, output, gradient) in a few
 * native passes instead of about 30 tfjs kernels each way (the models' batch-norm layers use it).
 * Tensors stay wasm tensors: inputs are read where the backend keeps them
 * (`backend.dataIdMap.get(dataId).memoryOffset` into `backend.wasm.HEAPU8.buffer`) and outputs
 * are allocated by the backend (`backend.makeOutput`) before the addon fills them.
 *
 * The addon is optional. When it was not built (no compiler at install time), fails to load,
 * was built from other sources (ABI mismatch), runs on a CPU without AVX2/FMA, or
 * `AELAB_NATIVE=0` is set, nothing is registered and the plain wasm kernels run;
 * `nativeKernelsStatus()` says which and why. Inside a registered kernel, cases the addon
 * does not cover (non-float32 data, prelu activation, general broadcast batch shapes or bias
 * shapes, dilated or NCHW convolutions) go to the kernel that was registered before.
 * `AELAB_NATIVE_THREADS=n` sets the number of threads (default: `os.availableParallelism()`);
 * `AELAB_NATIVE_OFF=Add,Relu` leaves the named kernels to wasm (read when registering;
 * side-by-side benchmarks).
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

type KernelArgs = { inputs: Record<string, tf.TensorInfo | undefined>; backend: tf.KernelBackend; attrs: Record<string, unknown> };
type KernelFn = (args: KernelArgs) => tf.TensorInfo;

/** The addon's functions (native/aelab_native.cc); offsets are byte offsets into `heap`. */
interface Addon {
  sgemm(
    heap: ArrayBuffer, batch: number, m: number, n: number, k: number,
    aOff: number, strideA: number, lda: number, transA: number,
    bOff: number, strideB: number, ldb: number, transB: number,
    cOff: number, strideC: number, ldc: number,
    biasOff: number, biasLen: number, activation: number, alpha: number,
  ): void;
  unary(heap: ArrayBuffer, op: number, xOff: number, yOff: number, n: number): void;
  bceLogits(heap: ArrayBuffer, lOff: number, tOff: number, dyOff: number, outOff: number, n: number): void;
  copyBlock(
    heap: ArrayBuffer, srcOff: number, srcSize: number, srcStart: number, dstOff: number, dstSize: number, dstStart: number,
    dims: number[], srcStrides: number[], dstStrides: number[], fillCount: number, fillValue: number,
  ): void;
  reduceSum(heap: ArrayBuffer, xOff: number, yOff: number, outer: number, reduce: number, inner: number, scale: number): void;
  adam(
    heap: ArrayBuffer, pOff: number, mOff: number, vOff: number, gOff: number,
    pOutOff: number, mOutOff: number, vOutOff: number, n: number,
    b1: number, b2: number, omb1: number, omb2: number, oma1: number, oma2: number, eps: number, lr: number,
  ): void;
  col2im(
    heap: ArrayBuffer, colsOff: number, dxOff: number, batch: number, inH: number, inW: number, ic: number,
    outH: number, outW: number, fh: number, fw: number, sh: number, sw: number, top: number, left: number,
  ): void;
  conv(
    heap: ArrayBuffer, mode: number, aOff: number, bOff: number, outOff: number, batch: number, inH: number, inW: number, ic: number,
    outH: number, outW: number, oc: number, fh: number, fw: number, sh: number, sw: number, top: number, left: number,
    biasOff: number, biasLen: number, activation: number, alpha: number,
  ): void;
  binary(heap: ArrayBuffer, op: number, aOff: number, bOff: number, outOff: number, n: number, bLen: number): void;
  /** mode 0: step (x > 0 ? 1 : alpha), 1: relu, 2: leaky relu with slope alpha. */
  stepRelu(heap: ArrayBuffer, xOff: number, outOff: number, n: number, alpha: number, mode: number): void;
  pad(heap: ArrayBuffer, srcOff: number, dstOff: number, dims: number[], before: number[], after: number[], fillValue: number): void;
  maxPoolGrad(
    heap: ArrayBuffer, xOff: number, yOff: number, dyOff: number, dxOff: number, batch: number, inH: number, inW: number, c: number,
    outH: number, outW: number, fh: number, fw: number, sh: number, sw: number, top: number, left: number,
  ): void;
  batchNorm(
    heap: ArrayBuffer, mode: number, rows: number, C: number, eps: number, xOff: number, dyOff: number, meanOff: number, varOff: number,
    gammaOff: number, betaOff: number, outOff: number, dgammaOff: number, dbetaOff: number,
  ): void;
  setThreads(n: number): void;
  info(): { avx2: boolean; threads: number; abi: number };
}

/** The wasm backend's internals the kernels use (tfjs-backend-wasm's `BackendWasm`). */
interface WasmBackend extends tf.KernelBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number): tf.TensorInfo;
  refCount(dataId: object): number;
  incRef(dataId: object): void;
}

/** Protocol version between this file and the addon; a stale build with another one is not used. */
const ABI = 13;
const ROOT = path.resolve(__dirname, '..', '..', '..');
/** Where node-gyp puts the addon (relative to the package root). */
export const NATIVE_ADDON_PATH = path.join(ROOT, 'build', 'Release', 'aelab_native.node');

/** Whether aelab's native kernels are in use, and why not when they are not. */
export interface NativeKernelsStatus {
  /** The addon loaded and its kernels are registered for `wasm` (or will be, by `registerNativeKernels`). */
  available: boolean;
  /** Registered right now. */
  registered: boolean;
  /** Why not available (empty when available). */
  reason: string;
  /** Threads the kernels use, the calling thread included. */
  threads: number;
  /** Names of the tfjs kernels replaced for `wasm` (besides aelab's own `AelabBceWithLogits`). */
  kernels: string[];
  /** The addon file looked for. */
  path: string;
}

let addon: Addon | null | undefined;
let loadReason = '';
/** Threads in use, and the default (AELAB_NATIVE_THREADS or the machine's). */
let threads = 0;
let defaultThreads = 0;

/** Loads the addon once; null (with `loadReason`) when it cannot be used here. */
function loadAddon(): Addon | null {
  if (addon !== undefined) return addon;
  addon = null;
  const env = process.env.AELAB_NATIVE?.trim().toLowerCase();
  if (env === '0' || env === 'false' || env === 'off') {
    loadReason = 'disabled by AELAB_NATIVE=0';
    return null;
  }
  if (process.arch !== 'x64') {
    loadReason = `the native kernels are x86-64 only (this is ${process.arch})`;
    return null;
  }
  if (!fs.existsSync(NATIVE_ADDON_PATH)) {
    loadReason = 'not built (build/Release/aelab_native.node is missing; `node native/build.js` builds it, with g++ and make)';
    return null;
  }
  let loaded: Addon;
  let info: ReturnType<Addon['info']>;
  try {
    loaded = require(NATIVE_ADDON_PATH) as Addon;
    info = loaded.info();
  } catch (err) {
    loadReason = `failed to load (${(err as Error).message.split('\n')[0]})`;
    return null;
  }
  if (info.abi !== ABI) {
    loadReason = `built from other sources (ABI ${info.abi}, expected ${ABI}); rebuild with \`node native/build.js\``;
    return null;
  }
  if (!info.avx2) {
    loadReason = 'this CPU lacks AVX2/FMA';
    return null;
  }
  const wanted = Number(process.env.AELAB_NATIVE_THREADS ?? '');
  defaultThreads = threads = Number.isInteger(wanted) && wanted > 0 ? Math.min(wanted, 64) : Math.max(1, os.availableParallelism());
  loaded.setThreads(threads);
  addon = loaded;
  return addon;
}

/** Calls to each native kernel, and to the kernel it falls back to for cases it does not cover. */
const calls = new Map<string, { native: number; fallback: number }>();

function count(name: string, native: boolean): void {
  let c = calls.get(name);
  if (!c) calls.set(name, (c = { native: 0, fallback: 0 }));
  if (native) c.native++;
  else c.fallback++;
}

/**
 * How often each registered kernel ran natively and how often it fell back to the previous
 * wasm kernel since the process started, plus `Adam`: `NativeAdam` steps done natively and
 * by tfjs's ops, and `Conv2D:direct` (likewise `FusedConv2D`, `Conv2DBackpropFilter`,
 * `Conv2DBackpropInput`): native calls that ran as a direct convolution (`native`) or as
 * im2col + sgemm (`fallback`). Tests use it to assert which path ran.
 */
export function nativeKernelCalls(): Record<string, { native: number; fallback: number }> {
  return Object.fromEntries([...calls].map(([k, v]) => [k, { ...v }]));
}

// ---- kernels -------------------------------------------------------------------------------

const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2, leakyrelu: 3, sigmoid: 4, elu: 5 };
const UNARY: Record<string, number> = { Sigmoid: 0, Softplus: 1 };

function offsetOf(backend: WasmBackend, t: tf.TensorInfo): number {
  const data = backend.dataIdMap.get(t.dataId);
  if (!data || typeof data.memoryOffset !== 'number') throw new Error('aelab native kernels: tensor is not on the wasm heap');
  return data.memoryOffset;
}

const prod = (xs: number[]) => xs.reduce((a, b) => a * b, 1);

/** Shapes of one matrix product, or null when the addon does not cover it. */
function planMatMul(a: tf.TensorInfo, b: tf.TensorInfo, transA: boolean, transB: boolean) {
  const ra = a.shape.length, rb = b.shape.length;
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || ra < 2 || rb < 2) return null;
  const m = transA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = transB ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = transB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== kb) return null; // the previous kernel throws tfjs's own message
  const outerA = a.shape.slice(0, -2), outerB = b.shape.slice(0, -2);
  const batchA = prod(outerA), batchB = prod(outerB);
  let outer: number[];
  try {
    outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  } catch {
    return null;
  }
  const batch = prod(outer);
  // One operand repeated, or both with the same batch: anything else needs index maps.
  if (!(batchA === batch || batchA === 1) || !(batchB === batch || batchB === 1)) return null;
  return { batch, m, n, k, batchA, batchB, outShape: [...outer, m, n] };
}

function matMul(
  backend: WasmBackend, a: tf.TensorInfo, b: tf.TensorInfo, transA: boolean, transB: boolean,
  plan: NonNullable<ReturnType<typeof planMatMul>>, bias: tf.TensorInfo | undefined, activation: number, alpha: number,
): tf.TensorInfo {
  const { batch, m, n, k, batchA, batchB } = plan;
  const out = backend.makeOutput(plan.outShape, 'float32');
  if (batch * m * n === 0) return out;
  const lib = addon as Addon;
  lib.sgemm(
    backend.wasm.HEAPU8.buffer as ArrayBuffer, batch, m, n, k,
    offsetOf(backend, a), batchA === 1 ? 0 : m * k, transA ? m : k, transA ? 1 : 0,
    offsetOf(backend, b), batchB === 1 ? 0 : k * n, transB ? k : n, transB ? 1 : 0,
    offsetOf(backend, out), m * n, n,
    bias ? offsetOf(backend, bias) : -1, bias ? prod(bias.shape) : 0, activation, alpha,
  );
  return out;
}

function batchMatMulKernel(previous: KernelFn): KernelFn {
  return (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    const plan = planMatMul(a, b, !!transposeA, !!transposeB);
    if (!plan) {
      count('BatchMatMul', false);
      return previous(args);
    }
    count('BatchMatMul', true);
    return matMul(args.backend as WasmBackend, a, b, !!transposeA, !!transposeB, plan, undefined, 0, 0);
  };
}

function fusedMatMulKernel(previous: KernelFn): KernelFn {
  return (args) => {
    const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const { transposeA, transposeB, activation, leakyreluAlpha } = args.attrs as {
      transposeA: boolean; transposeB: boolean; activation?: string; leakyreluAlpha?: number;
    };
    const act = ACTIVATIONS[activation ?? 'linear'];
    const plan = planMatMul(a!, b!, !!transposeA, !!transposeB);
    const biasOk = !bias || (bias.dtype === 'float32' && (prod(bias.shape) === 1 || (plan !== null && bias.shape.at(-1) === plan.n && prod(bias.shape) === plan.n)));
    if (!plan || act === undefined || preluActivationWeights || !biasOk) {
      count('_FusedMatMul', false);
      return previous(args);
    }
    count('_FusedMatMul', true);
    return matMul(args.backend as WasmBackend, a!, b!, !!transposeA, !!transposeB, plan, bias, act, leakyreluAlpha ?? 0.2);
  };
}

/**
 * A float32 element-wise kernel `x -> out` of the same shape: `run` fills `out` from `x` (n > 0
 * values, byte offsets into `heap`); other dtypes go to the previous kernel.
 */
function elementwiseKernel(
  name: string,
  previous: KernelFn,
  run: (lib: Addon, heap: ArrayBuffer, xOff: number, outOff: number, n: number, args: KernelArgs) => void,
): KernelFn {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype !== 'float32') {
      count(name, false);
      return previous(args);
    }
    count(name, true);
    const backend = args.backend as WasmBackend;
    const out = backend.makeOutput(x.shape, 'float32');
    const n = prod(x.shape);
    if (n > 0) run(addon as Addon, backend.wasm.HEAPU8.buffer as ArrayBuffer, offsetOf(backend, x), offsetOf(backend, out), n, args);
    return out;
  };
}

function unaryKernel(name: string, previous: KernelFn): KernelFn {
  const op = UNARY[name];
  return elementwiseKernel(name, previous, (lib, heap, xOff, outOff, n) => lib.unary(heap, op, xOff, outOff, n));
}

/** `Sum` or `Mean` (the sum times 1 / count) over consecutive axes of a float32 tensor. */
function reduceKernel(name: 'Sum' | 'Mean', previous: KernelFn): KernelFn {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
    const rank = x.shape.length;
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    // A sum over consecutive axes is a sum over the middle axis of [outer, reduce, inner].
    const contiguous = axes.every((a, i) => i === 0 || a === axes[i - 1] + 1);
    if (x.dtype !== 'float32' || !contiguous || (axes.length === 0 && rank > 0)) {
      count(name, false);
      return previous(args);
    }
    count(name, true);
    const backend = args.backend as WasmBackend;
    const first = axes.length ? axes[0] : 0, last = axes.length ? axes[axes.length - 1] : -1;
    const outer = prod(x.shape.slice(0, first)), reduce = prod(x.shape.slice(first, last + 1)), inner = prod(x.shape.slice(last + 1));
    const outShape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
    const out = backend.makeOutput(outShape, 'float32');
    const scale = name === 'Mean' ? 1 / reduce : 1;
    if (outer * inner > 0) (addon as Addon).reduceSum(backend.wasm.HEAPU8.buffer as ArrayBuffer, offsetOf(backend, x), offsetOf(backend, out), outer, reduce, inner, scale);
    return out;
  };
}

/** The addon's binary ops (`binary`'s op) for the tfjs kernels they replace; true: commutative. */
const BINARY: Record<string, [number, boolean]> = { Add: [0, true], Sub: [1, false], Multiply: [2, true], RealDiv: [3, false], SquaredDifference: [4, true] };

/**
 * An element-wise binary kernel (`Add`, `Sub`, `Multiply`, `RealDiv`, `SquaredDifference`) on
 * float32 when one operand has the output's shape and the other repeats along its leading
 * axes (the same shape, a scalar, or a bias `[1, 1, 1, c]` / `[c]`), in parallel chunks. The
 * stock kernels run on one thread, and broadcast by index arithmetic per element (a
 * transposed convolution's bias add cost as much as the convolution). Same float32
 * operation per element, so the same values.
 */
function binaryKernel(name: string, previous: KernelFn): KernelFn {
  const [op, commutative] = BINARY[name];
  return (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    let out: number[] | null = null;
    if (a.dtype === 'float32' && b.dtype === 'float32') {
      try {
        out = tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
      } catch {
        out = null;
      }
    }
    // `small` repeats every prod(small) values of an operand shaped like the output.
    const repeats = (big: tf.TensorInfo, small: tf.TensorInfo) => {
      if (!out || !tf.util.arraysEqual(big.shape, out)) return false;
      const first = small.shape.findIndex((d) => d !== 1);
      const core = first < 0 ? [] : small.shape.slice(first);
      return core.length <= out.length && tf.util.arraysEqual(out.slice(out.length - core.length), core);
    };
    const swap = !repeats(a, b) && commutative && repeats(b, a);
    if (!out || (!swap && !repeats(a, b))) {
      count(name, false);
      return previous(args);
    }
    count(name, true);
    const backend = args.backend as WasmBackend;
    const [x, y] = swap ? [b, a] : [a, b];
    const result = backend.makeOutput(out, 'float32');
    const n = prod(out);
    if (n > 0) {
      (addon as Addon).binary(backend.wasm.HEAPU8.buffer as ArrayBuffer, op, offsetOf(backend, x), offsetOf(backend, y), offsetOf(backend, result), n, Math.max(1, prod(y.shape)));
    }
    return result;
  };
}

const STEP_RELU_MODE = { Step: 0, Relu: 1, LeakyRelu: 2 } as const;

/**
 * `Step` (x > 0 ? 1 : alpha, the ReLU gradient's mask), `Relu` and `LeakyRelu`
 * (x < 0 ? alpha * x : x) on float32, in parallel chunks.
 */
function stepReluKernel(name: keyof typeof STEP_RELU_MODE, previous: KernelFn): KernelFn {
  return elementwiseKernel(name, previous, (lib, heap, xOff, outOff, n, args) => {
    // tfjs's defaults: step's alpha 0, leakyRelu's 0.2.
    const alpha = name === 'Relu' ? 0 : ((args.attrs as { alpha?: number } | undefined)?.alpha ?? (name === 'Step' ? 0 : 0.2));
    lib.stepRelu(heap, xOff, outOff, n, alpha, STEP_RELU_MODE[name]);
  });
}

/** Strides in elements of a row-major shape. */
const stridesOf = (shape: number[]) => {
  const s = new Array<number>(shape.length);
  for (let k = shape.length - 1, acc = 1; k >= 0; k--) {
    s[k] = acc;
    acc *= shape[k];
  }
  return s;
};

/** A block's axes with those of size 1 dropped and those contiguous on both sides merged. */
function mergeAxes(dims: number[], ss: number[], ds: number[]): [number[], number[], number[]] {
  const d: number[] = [], s: number[] = [], t: number[] = [];
  for (let k = 0; k < dims.length; k++) {
    if (dims[k] === 1) continue;
    const last = d.length - 1;
    if (last >= 0 && s[last] === dims[k] * ss[k] && t[last] === dims[k] * ds[k]) {
      d[last] *= dims[k];
      s[last] = ss[k];
      t[last] = ds[k];
    } else {
      d.push(dims[k]);
      s.push(ss[k]);
      t.push(ds[k]);
    }
  }
  return [d, s, t];
}

/** The number of axes `copyBlock` hands the addon (at most 8). */
const mergedRank = (dims: number[], ss: number[], ds: number[]) => mergeAxes(dims, ss, ds)[0].length;

/**
 * Copies a block of 4-byte values (`dims` from element `srcStart` of `src` with strides `ss`
 * to element `dstStart` of `dst` with strides `ds`; with `fill`, every element of `dst` is
 * set to it first), merging dimensions that are contiguous on both sides so the
 * addon copies long runs.
 */
function copyBlock(backend: WasmBackend, src: tf.TensorInfo, srcStart: number, dst: tf.TensorInfo, dstStart: number, dims: number[], ss: number[], ds: number[], fill?: number) {
  const [d, s, t] = mergeAxes(dims, ss, ds);
  const dstSize = prod(dst.shape);
  (addon as Addon).copyBlock(
    backend.wasm.HEAPU8.buffer as ArrayBuffer, offsetOf(backend, src), prod(src.shape), srcStart, offsetOf(backend, dst), dstSize, dstStart,
    d, s, t, fill === undefined ? 0 : dstSize, fill ?? 0,
  );
}

// ---- zero-copy slices ----------------------------------------------------------------------
//
// A slice that is one contiguous range of its input (rows of a batch, the usual case) is a
// view: a tensor whose data starts inside its root's memory, as a PyTorch slice is. Encoding
// a test set batch by batch then reads each batch where it lies instead of copying it first
// (a copy out of memory costs about as much as the batch's second matrix product). The
// backend's disposeData learns that a view's memory is its root's: disposing the view
// releases its hold on the root, which is freed when its last view and itself are gone.
// `tf.memory().numBytes` counts a view's bytes as if they were its own.

/** The root (a dataId whose memory the backend allocated) of each live view, by the view's dataId. */
const viewRoots = new WeakMap<object, object>();
/** Live views of each root. */
const liveViews = new WeakMap<object, number>();
const viewAware = new WeakSet<object>();

/** Whether the data of `dataId` is held by this tensor alone: no other tensor shares it, and it is not a view's or a view. */
function ownsData(backend: WasmBackend, dataId: object): boolean {
  return backend.refCount(dataId) === 1 && !viewRoots.has(dataId);
}

/** A tensor of `shape` that reads x's elements from `start` on where they lie. */
function viewOf(backend: WasmBackend, x: tf.TensorInfo, start: number, shape: number[]): tf.TensorInfo {
  makeViewAware(backend);
  const root = viewRoots.get(x.dataId) ?? x.dataId;
  const out = backend.makeOutput(shape, x.dtype, offsetOf(backend, x) + start * 4);
  backend.incRef(root);
  viewRoots.set(out.dataId, root);
  liveViews.set(root, (liveViews.get(root) ?? 0) + 1);
  return out;
}

function makeViewAware(backend: WasmBackend) {
  if (viewAware.has(backend)) return;
  viewAware.add(backend);
  const b = backend as unknown as {
    disposeData(id: object, force?: boolean): boolean;
    dataIdMap: Map<object, { id: number; refCount: number }>;
    wasm: { tfjs: { disposeData(id: number): void } };
  };
  const own = b.disposeData.bind(b);
  b.disposeData = (dataId: object, force = false) => {
    const root = viewRoots.get(dataId);
    // A root is never freed under its views, even when forced (moving data between backends).
    if (root === undefined) return own(dataId, force && !liveViews.get(dataId));
    const data = b.dataIdMap.get(dataId);
    if (!data) return true;
    data.refCount--;
    if (!force && data.refCount > 0) return false;
    b.wasm.tfjs.disposeData(data.id);
    b.dataIdMap.delete(dataId);
    viewRoots.delete(dataId);
    const left = (liveViews.get(root) ?? 1) - 1;
    if (left > 0) liveViews.set(root, left);
    else liveViews.delete(root);
    own(root);
    return true;
  };
}

/**
 * `Slice` of float32/int32 tensors: a view when the block is one contiguous range of the
 * input, else one strided copy. The stock kernel copies the whole input out of the heap and
 * then each innermost row with its own `subarray`, which for the one-channel images a
 * cropping layer slices is one JS call per pixel.
 */
function sliceKernel(previous: KernelFn): KernelFn {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const { begin, size } = args.attrs as { begin: number | number[]; size: number | number[] };
    if (x.dtype !== 'float32' && x.dtype !== 'int32') {
      count('Slice', false);
      return previous(args);
    }
    const [b, sz] = tf.slice_util.parseSliceParams(x, begin, size);
    // tfjs's own message for a block past the input, as the cpu backend gives (the stock
    // wasm kernel checks nothing: its output's rows past the input are uninitialised heap).
    tf.slice_util.assertParamsValid(x, b, sz);
    count('Slice', true);
    const backend = args.backend as WasmBackend;
    const xs = stridesOf(x.shape);
    const start = b.reduce((acc, v, k) => acc + v * xs[k], 0);
    // One contiguous range when the block's axes merge into one read at stride 1.
    const [, runStrides] = mergeAxes(sz, xs, stridesOf(sz));
    if (prod(sz) > 0 && runStrides.length <= 1 && (runStrides[0] ?? 1) === 1) return viewOf(backend, x, start, sz);
    const out = backend.makeOutput(sz, x.dtype);
    if (prod(sz) === 0) return out;
    copyBlock(backend, x, start, out, 0, sz, xs, stridesOf(sz));
    return out;
  };
}

/**
 * `Tile` of float32/int32 tensors as one strided copy: output axis k is (repeat r, index i)
 * with the source read at stride 0 along r, so each repeat copies the same input. Falls back
 * when the merged block has more than 8 axes (rank 5 or more with no axis of size 1).
 */
function tileKernel(previous: KernelFn): KernelFn {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const { reps } = args.attrs as { reps: number[] };
    const dims: number[] = [], ss: number[] = [], ds: number[] = [];
    const outShape = x.shape.map((d, k) => d * reps[k]);
    const xs = stridesOf(x.shape), os = stridesOf(outShape);
    for (let k = 0; k < x.shape.length; k++) {
      dims.push(reps[k], x.shape[k]);
      ss.push(0, xs[k]);
      ds.push(x.shape[k] * os[k], os[k]);
    }
    if ((x.dtype !== 'float32' && x.dtype !== 'int32') || mergedRank(dims, ss, ds) > 8) {
      count('Tile', false);
      return previous(args);
    }
    count('Tile', true);
    const backend = args.backend as WasmBackend;
    const out = backend.makeOutput(outShape, x.dtype);
    if (prod(outShape) === 0) return out;
    copyBlock(backend, x, 0, out, 0, dims, ss, ds);
    return out;
  };
}

/**
 * `PadV2` of a float32 tensor: the input's rows copied into the interior and the padding
 * filled, each output value written once, in parallel over the first axis. Trailing axes
 * without padding are merged into the one before (longer rows).
 */
function padKernel(previous: KernelFn): KernelFn {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const { paddings, constantValue } = args.attrs as { paddings: [number, number][]; constantValue: number };
    if (x.dtype !== 'float32' || prod(x.shape) === 0) {
      count('PadV2', false);
      return previous(args);
    }
    count('PadV2', true);
    const backend = args.backend as WasmBackend;
    const outShape = x.shape.map((d, k) => paddings[k][0] + d + paddings[k][1]);
    const out = backend.makeOutput(outShape, 'float32');
    const dims = x.shape.slice(), before = paddings.map((p) => p[0]), after = paddings.map((p) => p[1]);
    while (dims.length > 1 && before[dims.length - 1] === 0 && after[dims.length - 1] === 0) {
      const inner = dims.pop()!;
      before.pop();
      after.pop();
      const k = dims.length - 1;
      dims[k] *= inner;
      before[k] *= inner;
      after[k] *= inner;
    }
    (addon as Addon).pad(backend.wasm.HEAPU8.buffer as ArrayBuffer, offsetOf(backend, x), offsetOf(backend, out), dims, before, after, constantValue ?? 0);
    return out;
  };
}

/**
 * `Conv2D` and `FusedConv2D` (NHWC, float32, no dilation) as im2col + the native sgemm with
 * the bias and activation fused: the patches of `x` (`im2col`, `[b*oh*ow, fh*fw*ic]`) times
 * the filter, `[fh*fw*ic, oc]` as it lies, is the output `[b, oh, ow, oc]`. The stock kernel is
 * XNNPACK on one thread; it is also what `Conv2DBackpropInput` (wasm-conv.ts) calls per
 * phase of the stride, so the input gradient of a strided convolution runs here too.
 */
function convKernel(name: 'Conv2D' | 'FusedConv2D', previous: KernelFn): KernelFn {
  return (args) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const attrs = args.attrs as {
      strides: number | [number, number]; pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding; dataFormat?: 'NHWC' | 'NCHW';
      dilations?: number | [number, number]; dimRoundingMode?: 'floor' | 'round' | 'ceil'; activation?: string; leakyreluAlpha?: number;
    };
    const act = ACTIVATIONS[attrs.activation ?? 'linear'];
    const info = x!.shape.length === 4 && filter!.shape.length === 4 && (attrs.dataFormat ?? 'NHWC') === 'NHWC'
      ? tf.backend_util.computeConv2DInfo(
          x!.shape as [number, number, number, number], filter!.shape as [number, number, number, number],
          attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast',
        )
      : null;
    const biasOk = !bias || (bias.dtype === 'float32' && info !== null && (prod(bias.shape) === 1 || (prod(bias.shape) === info.outChannels && bias.shape.at(-1) === info.outChannels)));
    if (!info || x!.dtype !== 'float32' || filter!.dtype !== 'float32' || act === undefined || preluActivationWeights || !biasOk
      || info.dilationHeight !== 1 || info.dilationWidth !== 1) {
      count(name, false);
      return previous(args);
    }
    count(name, true);
    const backend = args.backend as WasmBackend;
    const { batchSize: b, inChannels: ic, outHeight: oh, outWidth: ow, outChannels: oc, filterHeight: fh, filterWidth: fw } = info;
    const out = backend.makeOutput([b, oh, ow, oc], 'float32');
    const M = b * oh * ow, K = fh * fw * ic;
    if (M * oc === 0) return out;
    const direct = directConv(info);
    count(`${name}:direct`, direct);
    if (direct) {
      const padded = padForDirect(backend, x!, info);
      try {
        (addon as Addon).conv(
          backend.wasm.HEAPU8.buffer as ArrayBuffer, CONV_FORWARD, offsetOf(backend, padded.x), offsetOf(backend, filter!), offsetOf(backend, out),
          b, padded.inH, padded.inW, ic, oh, ow, oc, fh, fw, info.strideHeight, info.strideWidth, 0, 0,
          bias ? offsetOf(backend, bias) : -1, bias ? prod(bias.shape) : 0, act, attrs.leakyreluAlpha ?? 0.2,
        );
      } finally {
        if (padded.owned) backend.disposeData(padded.x.dataId);
      }
      return out;
    }
    const cols = im2col(backend, x!, info);
    try {
      (addon as Addon).sgemm(
        backend.wasm.HEAPU8.buffer as ArrayBuffer, 1, M, oc, K,
        offsetOf(backend, cols), 0, K, 0,
        offsetOf(backend, filter!), 0, oc, 0,
        offsetOf(backend, out), M * oc, oc,
        bias ? offsetOf(backend, bias) : -1, bias ? prod(bias.shape) : 0, act, attrs.leakyreluAlpha ?? 0.2,
      );
    } finally {
      if (cols !== x) backend.disposeData(cols.dataId);
    }
    return out;
  };
}

/** The addon's direct convolutions (`conv`'s mode): forward, filter gradient, input gradient. */
const CONV_FORWARD = 0, CONV_FILTER = 1, CONV_INPUT = 2;

/** Whether `AELAB_NATIVE_CONV_DIRECT=0` turns the direct convolutions off (im2col + sgemm instead; benchmarks, tests). */
function directEnabled(): boolean {
  const env = process.env.AELAB_NATIVE_CONV_DIRECT?.trim().toLowerCase();
  return !(env === '0' || env === 'false' || env === 'off');
}

/**
 * Whether a convolution (forward or filter gradient) can run as the addon's direct kernel:
 * filters of at most 64 rows, no dilation. The direct kernel needs every tap of every output
 * pixel inside its input; a padded convolution gets a zero-padded copy first (`padForDirect`).
 */
function directConv(info: tf.backend_util.Conv2DInfo): boolean {
  return directEnabled() && info.filterHeight <= 64 && info.dilationHeight === 1 && info.dilationWidth === 1
    && info.padInfo.top >= 0 && info.padInfo.left >= 0;
}

/**
 * `x` as the direct kernels need it: itself when every tap of every output pixel lies inside
 * it, else a zero-padded copy (`owned`, for the caller to free) with `top`/`left` rows and
 * columns before and as many after as the last taps reach. The padded copy is about the size
 * of `x`, where im2col's patch matrix is fh*fw times it; the direct kernels on it ran a 3x3
 * 'same' convolution about twice as fast as im2col + sgemm.
 */
function padForDirect(backend: WasmBackend, x: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): { x: tf.TensorInfo; inH: number; inW: number; owned: boolean } {
  const { batchSize: b, inHeight: inH, inWidth: inW, inChannels: ic } = info;
  const { top, left } = info.padInfo;
  const needH = (info.outHeight - 1) * info.strideHeight + info.filterHeight, needW = (info.outWidth - 1) * info.strideWidth + info.filterWidth;
  const bottom = Math.max(0, needH - top - inH), right = Math.max(0, needW - left - inW);
  if (top === 0 && left === 0 && bottom === 0 && right === 0) return { x, inH, inW, owned: false };
  const h = top + inH + bottom, w = left + inW + right;
  const out = backend.makeOutput([b, h, w, ic], 'float32');
  // The channel axis is never padded: merge it into the width (longer rows).
  (addon as Addon).pad(backend.wasm.HEAPU8.buffer as ArrayBuffer, offsetOf(backend, x), offsetOf(backend, out), [b, inH, inW * ic], [0, top, left * ic], [0, bottom, right * ic], 0);
  return { x: out, inH: h, inW: w, owned: true };
}

/**
 * The patches of `x` (NHWC) as a `[b*oh*ow, fh*fw*ic]` matrix: one strided copy per filter
 * tap, zeros where a tap falls in the padding. `x` itself for a 1x1 convolution of stride 1
 * without padding; otherwise new memory the caller frees.
 */
function im2col(backend: WasmBackend, x: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): tf.TensorInfo {
  const { batchSize: b, inHeight: inH, inWidth: inW, inChannels: ic, outHeight: oh, outWidth: ow } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  if (fh === 1 && fw === 1 && sh === 1 && sw === 1 && top === 0 && left === 0 && oh === inH && ow === inW) return x;
  const M = b * oh * ow, K = fh * fw * ic;
  const cols = backend.makeOutput([M, K], 'float32');
  // Output rows r whose tap i reads an input row: 0 <= r*sh - top + i < inH.
  const range = (tap: number, pad: number, stride: number, inSize: number, outSize: number) =>
    [Math.max(0, Math.ceil((pad - tap) / stride)), Math.min(outSize - 1, Math.floor((inSize - 1 + pad - tap) / stride))];
  const taps: { i: number; j: number; r: number[]; c: number[] }[] = [];
  let partial = false;
  for (let i = 0; i < fh; i++) {
    for (let j = 0; j < fw; j++) {
      const r = range(i, top, sh, inH, oh), c = range(j, left, sw, inW, ow);
      if (r[0] !== 0 || r[1] !== oh - 1 || c[0] !== 0 || c[1] !== ow - 1) partial = true;
      if (r[0] <= r[1] && c[0] <= c[1]) taps.push({ i, j, r, c });
    }
  }
  // Zeros first where some tap falls in the padding (with the first copy, or alone).
  let fill: number | undefined = partial ? 0 : undefined;
  if (partial && taps.length === 0) new Float32Array(backend.wasm.HEAPU8.buffer, offsetOf(backend, cols), M * K).fill(0);
  for (const { i, j, r, c } of taps) {
    const srcStart = (r[0] * sh - top + i) * inW * ic + (c[0] * sw - left + j) * ic;
    const dstStart = (r[0] * ow + c[0]) * K + (i * fw + j) * ic;
    copyBlock(backend, x, srcStart, cols, dstStart, [b, r[1] - r[0] + 1, c[1] - c[0] + 1, ic], [inH * inW * ic, sh * inW * ic, sw * ic, 1], [oh * ow * K, ow * K, K, 1], fill);
    fill = undefined;
  }
  return cols;
}

/**
 * `Conv2DBackpropFilter` (NHWC, float32): `dW = patches(x)^T . dy`, the im2col above and one
 * native sgemm reading it transposed, `[fh*fw*ic, n] . [n, oc]` (n = b*oh*ow), which is
 * the filter's `[fh, fw, ic, oc]` as it lies. Replaces aelab's wasm kernel (wasm-conv.ts),
 * whose patch copies are JS loops.
 */
function conv2DBackpropFilterKernel(previous: KernelFn): KernelFn {
  return (args) => {
    const { x, dy } = args.inputs as Record<string, tf.TensorInfo>;
    const attrs = args.attrs as {
      strides: number | [number, number]; pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding; dataFormat?: 'NHWC' | 'NCHW';
      dimRoundingMode?: 'floor' | 'round' | 'ceil'; filterShape: [number, number, number, number];
    };
    const info = x.shape.length === 4 && attrs.filterShape?.length === 4 && (attrs.dataFormat ?? 'NHWC') === 'NHWC'
      ? tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast')
      : null;
    if (!info || x.dtype !== 'float32' || dy.dtype !== 'float32' || !tf.util.arraysEqual(dy.shape, info.outShape)) {
      count('Conv2DBackpropFilter', false);
      return previous(args);
    }
    count('Conv2DBackpropFilter', true);
    const backend = args.backend as WasmBackend;
    const M = info.batchSize * info.outHeight * info.outWidth, K = info.filterHeight * info.filterWidth * info.inChannels, oc = info.outChannels;
    const out = backend.makeOutput(attrs.filterShape, 'float32');
    if (K * oc === 0) return out;
    if (M === 0) {
      new Float32Array(backend.wasm.HEAPU8.buffer, offsetOf(backend, out), K * oc).fill(0);
      return out;
    }
    const direct = directConv(info);
    count('Conv2DBackpropFilter:direct', direct);
    if (direct) {
      const padded = padForDirect(backend, x, info);
      try {
        (addon as Addon).conv(
          backend.wasm.HEAPU8.buffer as ArrayBuffer, CONV_FILTER, offsetOf(backend, padded.x), offsetOf(backend, dy), offsetOf(backend, out),
          info.batchSize, padded.inH, padded.inW, info.inChannels, info.outHeight, info.outWidth, oc,
          info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, 0, 0, -1, 0, 0, 0,
        );
      } finally {
        if (padded.owned) backend.disposeData(padded.x.dataId);
      }
      return out;
    }
    const cols = im2col(backend, x, info);
    try {
      (addon as Addon).sgemm(
        backend.wasm.HEAPU8.buffer as ArrayBuffer, 1, K, oc, M,
        offsetOf(backend, cols), 0, K, 1,
        offsetOf(backend, dy), 0, oc, 0,
        offsetOf(backend, out), K * oc, oc,
        -1, 0, 0, 0,
      );
    } finally {
      if (cols !== x) backend.disposeData(cols.dataId);
    }
    return out;
  };
}

/** Whether `AELAB_NATIVE_CONV_INPUT=0` turns the native `Conv2DBackpropInput` off (benchmarks). */
function convInputEnabled(): boolean {
  const env = process.env.AELAB_NATIVE_CONV_INPUT?.trim().toLowerCase();
  return !(env === '0' || env === 'false' || env === 'off');
}

/**
 * `Conv2DBackpropInput` (NHWC, float32, no dilation): one native sgemm and a col2im.
 * `cols = dy . W^T`, `[b*oh*ow, oc] . [oc, fh*fw*ic]` (the filter `[fh, fw, ic, oc]` as it
 * lies, read transposed), then each of its `ic`-wide column blocks is added into dx at the
 * input position of its tap (taps in the padding skipped), in parallel over dx rows so no
 * two threads write the same row. Replaces aelab's wasm kernel (wasm-conv.ts: one stride-1
 * convolution per phase of the stride, or a col2im in JS), which is also the fallback for
 * dilated or NCHW convolutions.
 */
function conv2DBackpropInputKernel(previous: KernelFn): KernelFn {
  return (args) => {
    const { dy, filter } = args.inputs as Record<string, tf.TensorInfo>;
    const attrs = args.attrs as {
      strides: number | [number, number]; pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding; dataFormat?: 'NHWC' | 'NCHW';
      dilations?: number | [number, number]; dimRoundingMode?: 'floor' | 'round' | 'ceil'; inputShape: [number, number, number, number];
    };
    const info = convInputEnabled() && attrs.inputShape?.length === 4 && filter.shape.length === 4 && dy.shape.length === 4
      && (attrs.dataFormat ?? 'NHWC') === 'NHWC'
      ? tf.backend_util.computeConv2DInfo(attrs.inputShape, filter.shape as [number, number, number, number], attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast')
      : null;
    if (!info || dy.dtype !== 'float32' || filter.dtype !== 'float32' || !tf.util.arraysEqual(dy.shape, info.outShape)
      || info.dilationHeight !== 1 || info.dilationWidth !== 1 || info.padInfo.top < 0 || info.padInfo.left < 0) {
      count('Conv2DBackpropInput', false);
      return previous(args);
    }
    count('Conv2DBackpropInput', true);
    const backend = args.backend as WasmBackend;
    const { batchSize: b, inHeight: inH, inWidth: inW, inChannels: ic, outHeight: oh, outWidth: ow, outChannels: oc } = info;
    const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
    const { top, left } = info.padInfo;
    const out = backend.makeOutput(attrs.inputShape, 'float32');
    const M = b * oh * ow, K = fh * fw * ic, size = b * inH * inW * ic;
    if (size === 0) return out;
    const heap = () => backend.wasm.HEAPU8.buffer as ArrayBuffer;
    if (M * K === 0 || oc === 0) {
      new Float32Array(heap(), offsetOf(backend, out), size).fill(0);
      return out;
    }
    // Direct for 8 channels or more, for one (lanes over pixels instead of channels), and for
    // one output channel (each dx pixel sums its taps along the channels); 2 to 7 would fill
    // few of the tile's 16 columns: the product + col2im below.
    const directInput = directEnabled() && fh * fw <= 64 && (ic >= 8 || ic === 1 || oc === 1);
    count('Conv2DBackpropInput:direct', directInput);
    if (directInput) {
      (addon as Addon).conv(
        heap(), CONV_INPUT, offsetOf(backend, dy), offsetOf(backend, filter), offsetOf(backend, out),
        b, inH, inW, ic, oh, ow, oc, fh, fw, sh, sw, top, left, -1, 0, 0, 0,
      );
      return out;
    }
    // A 1x1 convolution of stride 1 without padding: dx = dy . W^T directly.
    const direct = fh === 1 && fw === 1 && sh === 1 && sw === 1 && top === 0 && left === 0 && oh === inH && ow === inW;
    const cols = direct ? out : backend.makeOutput([M, K], 'float32');
    try {
      (addon as Addon).sgemm(
        heap(), 1, M, K, oc,
        offsetOf(backend, dy), 0, oc, 0,
        offsetOf(backend, filter), 0, oc, 1,
        offsetOf(backend, cols), M * K, K,
        -1, 0, 0, 0,
      );
      // makeOutput may have grown the heap: take the buffer again for every call.
      if (!direct) (addon as Addon).col2im(heap(), offsetOf(backend, cols), offsetOf(backend, out), b, inH, inW, ic, oh, ow, fh, fw, sh, sw, top, left);
    } finally {
      if (cols !== out) backend.disposeData(cols.dataId);
    }
    return out;
  };
}

/**
 * `MaxPoolGrad` (NHWC, float32, no dilation): dx is zero but for each output's dy added at the
 * first tap of its window (rows, then columns, clipped to the input) whose value equals the
 * pooled output, the rule of the cpu backend and of aelab's JS kernel (wasm-conv.ts, which
 * this replaces and falls back to), with the same sums in the same order: the same values.
 * Native code searches 8 channels at a time, in parallel over batch items.
 */
function maxPoolGradKernel(previous: KernelFn): KernelFn {
  return (args) => {
    const { dy, input, output } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const attrs = args.attrs as {
      filterSize: number | [number, number]; strides: number | [number, number]; pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
      dimRoundingMode?: 'floor' | 'round' | 'ceil'; dilations?: number | [number, number];
    };
    const dilations = attrs.dilations ?? 1;
    let info: tf.backend_util.Conv2DInfo | null = null;
    if (dy && input && output && input.shape.length === 4 && (Array.isArray(dilations) ? dilations.every((d) => d === 1) : dilations === 1)) {
      try {
        info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
      } catch {
        info = null; // the previous kernel throws tfjs's message
      }
    }
    if (!info || dy!.dtype !== 'float32' || input!.dtype !== 'float32' || output!.dtype !== 'float32'
      || !tf.util.arraysEqual(dy!.shape, info.outShape) || !tf.util.arraysEqual(output!.shape, info.outShape)
      || info.padInfo.top < 0 || info.padInfo.left < 0) {
      count('MaxPoolGrad', false);
      return previous(args);
    }
    count('MaxPoolGrad', true);
    const backend = args.backend as WasmBackend;
    const out = backend.makeOutput(input!.shape, 'float32');
    if (prod(input!.shape) === 0) return out;
    (addon as Addon).maxPoolGrad(
      backend.wasm.HEAPU8.buffer as ArrayBuffer, offsetOf(backend, input!), offsetOf(backend, output!), offsetOf(backend, dy!), offsetOf(backend, out),
      info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth,
      info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left,
    );
    return out;
  };
}

/**
 * `Identity` (and a `Cast` to the same dtype) without a copy, as the cpu and webgl backends
 * do: the output shares the input's data. The wasm backend copies, and tfjs clones every
 * tensor it saves for the backward pass, so a training step of the seeds' AE copied about
 * 25 activations and weights. Tensors are immutable and `Variable.assign` swaps data rather
 * than writing into it, so sharing is safe; `NativeAdam` writes in place only into its own
 * moments, and checks that nothing shares their data first.
 */
function shareKernel(name: string, previous: KernelFn): KernelFn {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const dtype = (args.attrs as { dtype?: string } | undefined)?.dtype ?? x.dtype;
    if (x.dtype === 'string' || dtype !== x.dtype) {
      count(name, false);
      return previous(args);
    }
    count(name, true);
    (args.backend as WasmBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
  };
}

const KERNELS: Record<string, (previous: KernelFn) => KernelFn> = {
  BatchMatMul: batchMatMulKernel,
  _FusedMatMul: fusedMatMulKernel,
  Sigmoid: (p) => unaryKernel('Sigmoid', p),
  Softplus: (p) => unaryKernel('Softplus', p),
  Sum: (p) => reduceKernel('Sum', p),
  Mean: (p) => reduceKernel('Mean', p),
  Conv2D: (p) => convKernel('Conv2D', p),
  FusedConv2D: (p) => convKernel('FusedConv2D', p),
  Conv2DBackpropFilter: conv2DBackpropFilterKernel,
  Conv2DBackpropInput: conv2DBackpropInputKernel,
  Slice: sliceKernel,
  PadV2: padKernel,
  Tile: tileKernel,
  MaxPoolGrad: maxPoolGradKernel,
  FusedBatchNorm: fusedBatchNormKernel,
  Add: (p) => binaryKernel('Add', p),
  Sub: (p) => binaryKernel('Sub', p),
  Multiply: (p) => binaryKernel('Multiply', p),
  RealDiv: (p) => binaryKernel('RealDiv', p),
  SquaredDifference: (p) => binaryKernel('SquaredDifference', p),
  Step: (p) => stepReluKernel('Step', p),
  Relu: (p) => stepReluKernel('Relu', p),
  LeakyRelu: (p) => stepReluKernel('LeakyRelu', p),
  Identity: (p) => shareKernel('Identity', p),
  Cast: (p) => shareKernel('Cast', p),
};

// ---- batch normalisation ------------------------------------------------------------------

/** The channel count when `t` holds C values along x's last axis ([C] or [1, ..., 1, C]); else -1. */
function channelVector(t: tf.TensorInfo | undefined, C: number): number {
  if (!t) return 0;
  if (t.dtype !== 'float32' || prod(t.shape) !== C || (t.shape.length > 0 && t.shape.at(-1) !== C)) return -1;
  return C;
}

/**
 * `FusedBatchNorm` (tf.batchNorm: inference with given statistics) of float32 x whose
 * mean, variance, offset and scale hold one value per channel of its last axis: one native
 * pass, `(x - mean) * scale / sqrt(variance + eps) + offset`. The stock kernel broadcasts
 * each operand per element in a scalar loop.
 */
function fusedBatchNormKernel(previous: KernelFn): KernelFn {
  return (args) => {
    const { x, mean, variance, offset, scale } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const eps = (args.attrs as { varianceEpsilon?: number }).varianceEpsilon ?? 0.001;
    const C = x!.shape.length > 0 ? x!.shape.at(-1)! : 0;
    const rows = C > 0 ? prod(x!.shape) / C : 0;
    if (x!.dtype !== 'float32' || rows === 0 || [mean, variance].some((t) => channelVector(t, C) !== C) || [offset, scale].some((t) => channelVector(t, C) < 0)) {
      count('FusedBatchNorm', false);
      return previous(args);
    }
    count('FusedBatchNorm', true);
    const backend = args.backend as WasmBackend;
    const out = backend.makeOutput(x!.shape, 'float32');
    batchNormCall(backend, 1, x!, eps, { mean, variance, scale, offset, out });
    return out;
  };
}

/**
 * The addon's batch norm over x's rows (channels last): mode 0 training (writes mean and
 * variance), 1 inference (reads them), 2 gradient (reads them, writes out = dx, dscale, doffset).
 */
function batchNormCall(
  backend: WasmBackend, mode: 0 | 1 | 2, x: tf.TensorInfo, eps: number,
  t: { dy?: tf.TensorInfo; mean?: tf.TensorInfo; variance?: tf.TensorInfo; scale?: tf.TensorInfo; offset?: tf.TensorInfo; out: tf.TensorInfo; dscale?: tf.TensorInfo; doffset?: tf.TensorInfo },
): void {
  const off = (u: tf.TensorInfo | undefined) => (u ? offsetOf(backend, u) : -1);
  const C = x.shape.at(-1)!;
  (addon as Addon).batchNorm(
    backend.wasm.HEAPU8.buffer as ArrayBuffer, mode, prod(x.shape) / C, C, eps, off(x), off(t.dy), off(t.mean), off(t.variance),
    off(t.scale), off(t.offset), off(t.out), off(t.dscale), off(t.doffset),
  );
}

const BN_TRAIN = 'AelabBatchNormTrain';
const BN_GRAD = 'AelabBatchNormTrainGrad';

/** [y, mean, variance] of batch normalisation in training (inputs x, scale?, offset?; attr epsilon). */
function batchNormTrainKernel(args: Parameters<KernelFn>[0]): tf.TensorInfo[] {
  const { x, scale, offset } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const { epsilon } = args.attrs as unknown as { epsilon: number };
  const backend = args.backend as WasmBackend;
  const C = x!.shape.at(-1)!;
  const y = backend.makeOutput(x!.shape, 'float32'), mean = backend.makeOutput([C], 'float32'), variance = backend.makeOutput([C], 'float32');
  batchNormCall(backend, 0, x!, epsilon, { mean, variance, scale, offset, out: y });
  return [y, mean, variance];
}

/** [dx, dscale, doffset] of batchNormTrainKernel's y, through the batch statistics. */
function batchNormTrainGradKernel(args: Parameters<KernelFn>[0]): tf.TensorInfo[] {
  const { x, dy, mean, variance, scale } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const { epsilon } = args.attrs as unknown as { epsilon: number };
  const backend = args.backend as WasmBackend;
  const C = x!.shape.at(-1)!;
  const dx = backend.makeOutput(x!.shape, 'float32'), dscale = backend.makeOutput([C], 'float32'), doffset = backend.makeOutput([C], 'float32');
  batchNormCall(backend, 2, x!, epsilon, { dy, mean, variance, scale, out: dx, dscale, doffset });
  return [dx, dscale, doffset];
}

let batchNormGradientRegistered = false;

function registerBatchNorm(): void {
  tf.registerKernel({ kernelName: BN_TRAIN, backendName: 'wasm', kernelFunc: batchNormTrainKernel as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: BN_GRAD, backendName: 'wasm', kernelFunc: batchNormTrainGradKernel as unknown as tf.KernelFunc });
  if (batchNormGradientRegistered) return;
  batchNormGradientRegistered = true;
  tf.registerGradient({
    kernelName: BN_TRAIN,
    inputsToSave: ['x', 'scale'],
    outputsToSave: [false, true, true],
    gradFunc: (dys, saved, attrs) => {
      const [dy, dmean, dvariance] = (Array.isArray(dys) ? dys : [dys]) as tf.Tensor[];
      const [x, scale, mean, variance] = saved.length === 4 ? saved : [saved[0], undefined, saved[1], saved[2]];
      const inputs: tf.NamedTensorMap = { x, dy, mean, variance };
      if (scale) inputs.scale = scale;
      const [dxY, dscale, doffset] = tf.engine().runKernel(BN_GRAD, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      // The statistics usually feed only the moving averages (zero gradients, C values to
      // look at); if a loss used them, add their terms: d mean / dx = 1/n, d var / dx = 2 (x - mean) / n.
      let dx = dxY;
      const used = (d: tf.Tensor | undefined) => d !== undefined && d.dataSync().some((v) => v !== 0);
      if (used(dmean) || used(dvariance)) {
        const n = x.size / mean.size;
        dx = tf.tidy(() => dxY.add(dmean.div(n)).add(x.sub(mean).mul(dvariance.mul(2 / n))));
        dxY.dispose();
      }
      return { x: () => dx, scale: () => dscale, offset: () => doffset };
    },
  });
}

/**
 * Batch normalisation of a training batch over every axis but the last (channels): the
 * batch's mean and biased variance per channel, and `y = (x - mean) / sqrt(variance +
 * epsilon) * scale + offset`, differentiable in x, scale and offset through the statistics,
 * as `tf.moments` + `tf.batchNorm` are (what tfjs-layers' BatchNormalization computes in
 * training). With the native kernels it is two native passes for the statistics and one for
 * y, and two for the gradient, instead of about 30 tfjs kernels over the whole activation;
 * otherwise those tfjs ops. The statistics (for the moving averages) are differentiable too.
 * @param x `[..., C]` float32
 * @param scale `[C]` or undefined (1)
 * @param offset `[C]` or undefined (0)
 * @param epsilon added to the variance
 * @returns y (x's shape), mean and variance (`[C]` each)
 */
export function batchNormTrain(x: tf.Tensor, scale: tf.Tensor | undefined, offset: tf.Tensor | undefined, epsilon: number): { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } {
  const C = x.rank > 0 ? x.shape[x.rank - 1] : 0;
  const native = replaced.size > 0 && tf.getBackend() === 'wasm' && x.dtype === 'float32' && C > 0 && x.size > 0
    && [scale, offset].every((t) => !t || (t.dtype === 'float32' && t.rank === 1 && t.shape[0] === C));
  count('BatchNormTrain', native);
  if (native) {
    const inputs: tf.NamedTensorMap = { x };
    if (scale) inputs.scale = scale;
    if (offset) inputs.offset = offset;
    const [y, mean, variance] = tf.engine().runKernel(BN_TRAIN, inputs, { epsilon }) as tf.Tensor[];
    return { y, mean, variance };
  }
  return tf.tidy(() => {
    const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
    const { mean, variance } = tf.moments(x, axes);
    const y = tf.batchNorm(x, mean, variance, offset, scale, epsilon);
    return { y, mean, variance };
  });
}

// ---- binary cross-entropy from logits (a kernel of aelab's own) ----------------------------

const BCE = 'AelabBceWithLogits';
const BCE_GRAD = 'AelabBceWithLogitsGrad';

function bceKernel(gradient: boolean): KernelFn {
  return (args) => {
    const { logits, target, dy } = args.inputs as Record<string, tf.TensorInfo>;
    const backend = args.backend as WasmBackend;
    const out = backend.makeOutput(logits.shape, 'float32');
    const n = prod(logits.shape);
    if (n > 0) {
      (addon as Addon).bceLogits(
        backend.wasm.HEAPU8.buffer as ArrayBuffer, offsetOf(backend, logits), offsetOf(backend, target),
        gradient ? offsetOf(backend, dy) : -1, offsetOf(backend, out), n,
      );
    }
    return out;
  };
}

let bceGradientRegistered = false;

/**
 * Element-wise binary cross-entropy of `target` against `sigmoid(logits)`, computed from the
 * logits: `max(l, 0) - l*t + softplus(-|l|)`, the formula of `elementwiseLoss('bce')` in
 * train/losses.ts (and PyTorch's BCEWithLogits). With the native kernels registered it is
 * one native kernel forward and one backward (`dy * (sigmoid(l) - t)`) instead of about 20
 * tfjs kernels over the whole batch, which cost as much as a hidden layer at the seeds' sizes;
 * otherwise, or for inputs it does not take (not float32, different shapes), it is that
 * formula in tfjs ops. The gradients agree except at l = 0 exactly, where the tfjs formula's
 * relu and abs take one-sided derivatives (0.5 - t here, -t there).
 * @param logits `[...]` float32
 * @param target the same shape, float32 (in [0, 1])
 */
export function bceWithLogits(logits: tf.Tensor, target: tf.Tensor): tf.Tensor {
  const native = replaced.size > 0 && tf.getBackend() === 'wasm' && logits.dtype === 'float32' && target.dtype === 'float32' && tf.util.arraysEqual(logits.shape, target.shape);
  count('BceWithLogits', native);
  if (native) return tf.engine().runKernel(BCE, { logits, target }) as tf.Tensor;
  return tf.tidy(() => tf.relu(logits).sub(logits.mul(target)).add(tf.softplus(tf.neg(tf.abs(logits)))));
}

function registerBce(): void {
  tf.registerKernel({ kernelName: BCE, backendName: 'wasm', kernelFunc: bceKernel(false) as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: BCE_GRAD, backendName: 'wasm', kernelFunc: bceKernel(true) as unknown as tf.KernelFunc });
  if (bceGradientRegistered) return;
  bceGradientRegistered = true;
  tf.registerGradient({
    kernelName: BCE,
    inputsToSave: ['logits', 'target'],
    gradFunc: (dy, saved) => {
      const [logits, target] = saved;
      return {
        logits: () => tf.engine().runKernel(BCE_GRAD, { logits, target, dy: dy as tf.Tensor }) as tf.Tensor,
        target: () => tf.mul(dy as tf.Tensor, tf.neg(logits)),
      };
    },
  });
}

/**
 * LeakyRelu's gradient as `dy * step(x, alpha)`: two native kernels. tfjs's own is
 * `where(x > 0, dy, dy * alpha)`, whose broadcast `Greater` and `Select` run as slow scalar
 * wasm loops (about 2 ms of a 784-400-20 AE step with LeakyReLU hidden layers, a fifth more
 * per epoch than ReLU). The values are the same bit for bit (dy * 1 and dy * alpha), except
 * that a NaN input gives a NaN gradient here instead of dy * alpha.
 */
const LEAKY_RELU_GRADIENT: tf.GradConfig = {
  kernelName: 'LeakyRelu',
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const { alpha } = attrs as unknown as { alpha: number };
    return { x: () => tf.mul(dy as tf.Tensor, tf.step(x, alpha)) };
  },
};

/**
 * The gradient of a sum (`mean`: divided by the count) over `axis`: dy broadcast back to x's
 * shape, one native `Tile`. tfjs's own multiplies dy by a tensor of ones it fills in JS and
 * uploads each step (a summed loss over a [128, 784] batch: about 0.3 ms of a 13 ms AE
 * step). The same values bit for bit: dy * 1 is dy, and (dy / n) * 1 is dy * 1 / n.
 */
function reduceGradient(kernelName: 'Sum' | 'Mean'): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      const axes = tf.util.parseAxisParam((attrs as unknown as { axis: number | number[] }).axis, x.shape);
      const expanded = x.shape.slice();
      for (const a of axes) expanded[a] = 1;
      const count = axes.reduce((n, a) => n * x.shape[a], 1);
      return {
        x: () => tf.tidy(() => {
          const d = tf.reshape(dy as tf.Tensor, expanded);
          return tf.broadcastTo(kernelName === 'Mean' ? tf.div(d, count) : d, x.shape);
        }),
      };
    },
  };
}

/** aelab's gradients (kernel name -> config) and, while they are registered, tfjs's own. */
const GRADIENTS: tf.GradConfig[] = [LEAKY_RELU_GRADIENT, reduceGradient('Sum'), reduceGradient('Mean')];
const tfjsGradients = new Map<string, tf.GradConfig>();

/**
 * Puts aelab's gradients back in tfjs's gradient registry if something replaced them, and
 * returns whether it had to. The registry is global: loading a second copy of tfjs (danfojs-node
 * loads one) registers every stock gradient again. aelab's own danfojs loader and
 * `initBackend` (so every `fit`) call this, so the faster gradients survive a DataFrame; a
 * training loop of your own that runs after you load danfojs yourself gets tfjs's gradients
 * (the same values, slower) until the next `initBackend`. No-op while the native kernels are
 * not registered.
 */
export function reassertNativeGradients(): boolean {
  if (replaced.size === 0) return false;
  let changed = false;
  for (const g of GRADIENTS) {
    const current = tf.getGradient(g.kernelName);
    if (current === g) continue;
    if (current) tfjsGradients.set(g.kernelName, current);
    tf.registerGradient(g);
    changed = true;
  }
  return changed;
}

/** What `registerNativeKernels` replaced, to put back. */
const replaced = new Map<string, tf.KernelConfig>();

/**
 * Registers the native kernels for the `wasm` backend on top of what is registered now
 * (call it after aelab's other wasm kernels: cases the addon does not cover go to those).
 * Idempotent. When the addon cannot be used, registers nothing and says why.
 */
export function registerNativeKernels(): NativeKernelsStatus {
  if (replaced.size === 0 && loadAddon()) {
    const off = new Set((process.env.AELAB_NATIVE_OFF ?? '').split(',').map((k) => k.trim()));
    for (const [name, make] of Object.entries(KERNELS)) {
      if (off.has(name)) continue;
      const previous = tf.getKernel(name, 'wasm');
      if (!previous) continue;
      replaced.set(name, previous);
      tf.unregisterKernel(name, 'wasm');
      tf.registerKernel({
        kernelName: name,
        backendName: 'wasm',
        kernelFunc: make(previous.kernelFunc as unknown as KernelFn) as unknown as tf.KernelFunc,
        // The previous kernel's setup (cwrap of its wasm function) must still run if the
        // backend is initialised again, since the native kernel may fall back to it.
        ...(previous.setupFunc ? { setupFunc: previous.setupFunc } : {}),
        ...(previous.disposeFunc ? { disposeFunc: previous.disposeFunc } : {}),
      });
    }
    if (replaced.size > 0) {
      registerBce();
      registerBatchNorm();
      reassertNativeGradients();
    }
  }
  return nativeKernelsStatus();
}

/** Puts back the kernels `registerNativeKernels` replaced (side-by-side benchmarks, tests). */
export function unregisterNativeKernels(): void {
  if (replaced.size > 0) {
    tf.unregisterKernel(BCE, 'wasm');
    tf.unregisterKernel(BCE_GRAD, 'wasm');
    tf.unregisterKernel(BN_TRAIN, 'wasm');
    tf.unregisterKernel(BN_GRAD, 'wasm');
    for (const g of GRADIENTS) {
      const own = tfjsGradients.get(g.kernelName);
      if (own && tf.getGradient(g.kernelName) === g) tf.registerGradient(own);
    }
    tfjsGradients.clear();
  }
  for (const [name, config] of replaced) {
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(config);
  }
  replaced.clear();
}

/** Whether the native kernels can be used here, whether they are registered, and why not. */
export function nativeKernelsStatus(): NativeKernelsStatus {
  const lib = loadAddon();
  return {
    available: lib !== null,
    registered: replaced.size > 0,
    reason: lib ? '' : loadReason,
    threads: lib ? threads : 0,
    kernels: [...replaced.keys()],
    path: NATIVE_ADDON_PATH,
  };
}

/**
 * Sets how many threads the native kernels use, the calling one included (1: the JS thread
 * alone; 0: the default, `AELAB_NATIVE_THREADS` or the machine's). For benchmarks. No-op
 * without the addon.
 */
export function setNativeThreads(n: number): void {
  const lib = loadAddon();
  if (!lib || !Number.isInteger(n) || n < 0) return;
  threads = n === 0 ? defaultThreads : Math.min(n, 64);
  lib.setThreads(threads);
}

/** True when the native kernels are registered and `wasm` is the active backend. */
function nativeActive(): boolean {
  return replaced.size > 0 && tf.getBackend() === 'wasm';
}

// ---- Adam -----------------------------------------------------------------------------------

interface AdamState {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/**
 * `tf.train.adam` with each variable's update done by one native kernel instead of about a
 * dozen tfjs kernels (which cost more than the layer's forward pass at the seeds' sizes).
 * Same update rule, rounding included: the native update does tfjs's float32 operations in
 * tfjs's order, so it gives tfjs's Adam's values bit for bit on `wasm`. Same state, names
 * and serialisation (`Adam`); `getWeights`/`setWeights` as tfjs's. On any other backend,
 * or when the native kernels are not registered, it is exactly tfjs's `AdamOptimizer`.
 *
 * Weights get new memory every step (`assign`, as tfjs's Adam): the wasm backend keys caches
 * on a tensor's id (packed convolution filters), so a weight must never change in place.
 * Moments and accumulated betas, which only this optimizer reads, are updated in place on
 * the wasm heap when nothing else holds their data.
 */
export class NativeAdam extends tf.AdamOptimizer {
  /** accBeta1, accBeta2 as float32 values, mirrored on the host while the native path runs. */
  private acc: [number, number] | undefined;

  constructor(learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon?: number) {
    super(learningRate, beta1, beta2, epsilon);
  }

  static override get className(): string {
    return 'Adam';
  }

  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer['applyGradients']>[0]): void {
    if (!nativeActive()) {
      this.acc = undefined;
      count('Adam', false);
      super.applyGradients(variableGradients);
      return;
    }
    count('Adam', true);
    const s = this as unknown as AdamState;
    const backend = tf.backend() as WasmBackend;
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    if (!this.acc) this.acc = [s.accBeta1.dataSync()[0], s.accBeta2.dataSync()[0]];
    const [acc1, acc2] = this.acc;
    const f = Math.fround;
    // tfjs's scalars: sub(1, accBeta) in float32; `1 - beta` in float64, then float32.
    const oma1 = f(1 - acc1), oma2 = f(1 - acc2);
    const b1 = f(s.beta1), b2 = f(s.beta2), omb1 = f(1 - s.beta1), omb2 = f(1 - s.beta2);
    names.forEach((name, i) => {
      const value = tf.engine().registeredVariables[name];
      if (s.accumulatedFirstMoment[i] == null) {
        s.accumulatedFirstMoment[i] = { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      }
      if (s.accumulatedSecondMoment[i] == null) {
        s.accumulatedSecondMoment[i] = { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      }
      const gradient = Array.isArray(variableGradients) ? variableGradients[i].tensor : variableGradients[name];
      if (gradient == null) return;
      const m = s.accumulatedFirstMoment[i].variable;
      const v = s.accumulatedSecondMoment[i].variable;
      if (value.dtype !== 'float32' || gradient.dtype !== 'float32' || gradient.size !== value.size) {
        this.updateWithOps(value, gradient, m, v, oma1, oma2);
        return;
      }
      // The weight always goes to new memory and is `assign`ed, as tfjs's Adam does: the
      // backend caches work derived from a tensor's data under its id (XNNPACK's packed
      // convolution filters and biases, freed only when the tensor is disposed), so a weight
      // written in place keeps convolving with its old values. The moments are read by this
      // optimizer alone and are updated in place unless other tensors share their data.
      const targets = [value, m, v].map((t, k) => (k > 0 && ownsData(backend, t.dataId) ? null : backend.makeOutput(t.shape, 'float32')));
      const outOff = (t: tf.Tensor, k: number) => offsetOf(backend, targets[k] ?? t);
      if (value.size > 0) {
        (addon as Addon).adam(
          backend.wasm.HEAPU8.buffer as ArrayBuffer,
          offsetOf(backend, value), offsetOf(backend, m), offsetOf(backend, v), offsetOf(backend, gradient),
          outOff(value, 0), outOff(m, 1), outOff(v, 2), value.size,
          b1, b2, omb1, omb2, oma1, oma2, s.epsilon, s.learningRate,
        );
      }
      [value, m, v].forEach((variable, k) => {
        const info = targets[k];
        if (!info) return;
        const t = tf.engine().makeTensorFromTensorInfo(info, backend);
        variable.assign(t);
        t.dispose();
      });
    });
    this.acc = [f(acc1 * b1), f(acc2 * b2)];
    this.writeScalar(s.accBeta1, this.acc[0]);
    this.writeScalar(s.accBeta2, this.acc[1]);
    this.incrementIterations();
  }

  override async setWeights(weightValues: { name: string; tensor: tf.Tensor }[]): Promise<void> {
    this.acc = undefined;
    await super.setWeights(weightValues);
  }

  /** tfjs's update with ops, for a variable the native kernel does not take. */
  private updateWithOps(value: tf.Variable, gradient: tf.Tensor, m: tf.Variable, v: tf.Variable, oma1: number, oma2: number): void {
    const s = this as unknown as AdamState;
    tf.tidy(() => {
      const newM = tf.add(tf.mul(m, s.beta1), tf.mul(gradient, 1 - s.beta1));
      const newV = tf.add(tf.mul(v, s.beta2), tf.mul(tf.square(gradient), 1 - s.beta2));
      const mHat = tf.div(newM, oma1);
      const vHat = tf.div(newV, oma2);
      m.assign(newM);
      v.assign(newV);
      value.assign(tf.add(tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), s.epsilon)), -s.learningRate), value));
    });
  }

  /** Sets a float32 scalar variable, in place when nothing else shares its data. */
  private writeScalar(variable: tf.Variable, x: number): void {
    const backend = tf.backend() as WasmBackend;
    if (ownsData(backend, variable.dataId)) {
      new Float32Array(backend.wasm.HEAPU8.buffer, offsetOf(backend, variable), 1)[0] = x;
    } else {
      tf.tidy(() => variable.assign(tf.scalar(x)));
    }
  }
}
