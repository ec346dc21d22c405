/**
 * Faster matrix products for the `wasm` backend. Its `BatchMatMul` and `_FusedMatMul`
 * leave XNNPACK for a scalar loop whenever an operand is transposed, which is every dense
 * layer's backward pass (dW = x^T dy, dx = dy W^T); an explicit transpose followed by the
 * plain product is several times faster. These wrappers do exactly that and otherwise call
 * the stock kernels, so results are the stock kernels' results.
 */
import * as tf from '@tensorflow/tfjs';

type KernelArgs = { inputs: Record<string, tf.TensorInfo>; backend: tf.KernelBackend; attrs: Record<string, unknown> };
type KernelFn = (args: KernelArgs) => tf.TensorInfo;

const PATCHED = ['BatchMatMul', '_FusedMatMul'] as const;
const stock = new Map<string, tf.KernelConfig>();

/** Replaces the wasm matrix-product kernels by the transposing wrappers (idempotent). */
export function registerWasmMatMul(): void {
  if (stock.size > 0) return;
  const transpose = tf.getKernel('Transpose', 'wasm');
  if (!transpose) return;
  const transposeFn = transpose.kernelFunc as unknown as KernelFn;
  for (const name of PATCHED) {
    const config = tf.getKernel(name, 'wasm');
    if (!config) continue;
    stock.set(name, config);
    const original = config.kernelFunc as unknown as KernelFn;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({
      kernelName: name,
      backendName: 'wasm',
      kernelFunc: ((args: KernelArgs) => {
        const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
        if (!transposeA && !transposeB) return original(args);
        const made: tf.TensorInfo[] = [];
        const swapLast = (t: tf.TensorInfo) => {
          const perm = t.shape.map((_, i) => i);
          const r = perm.length;
          [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
          const out = transposeFn({ inputs: { x: t }, backend: args.backend, attrs: { perm } });
          made.push(out);
          return out;
        };
        const inputs = { ...args.inputs };
        if (transposeA) inputs.a = swapLast(inputs.a);
        if (transposeB) inputs.b = swapLast(inputs.b);
        try {
          return original({ ...args, inputs, attrs: { ...args.attrs, transposeA: false, transposeB: false } });
        } finally {
          for (const t of made) args.backend.disposeData(t.dataId);
        }
      }) as unknown as tf.KernelFunc,
    });
  }
}

/** Puts the stock wasm kernels back (for side-by-side benchmarks). */
export function unregisterWasmMatMul(): void {
  for (const [name, config] of stock) {
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: config.kernelFunc });
  }
  stock.clear();
}
