/**
 * Backend selection. aelab runs on the best TensorFlow.js backend that loads here:
 * `@tensorflow/tfjs-node-gpu`, then `@tensorflow/tfjs-node` (both optional: their install
 * downloads libtensorflow, which a plain `npm install` may not reach), then the embedded
 * `wasm` backend (XNNPACK, shipped inside its npm package: the default), then `cpu`.
 * `AELAB_BACKEND=node-gpu|node|wasm|cpu` forces one.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import * as path from 'node:path';
import { BackendError } from './errors';
import { registerWasmConv } from './kernels/wasm-conv';
import { registerWasmMatMul } from './kernels/wasm-matmul';

/** The backends aelab knows, best first. */
export const BACKENDS = ['node-gpu', 'node', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

const NODE_PACKAGES: Record<'node-gpu' | 'node', string> = {
  'node-gpu': '@tensorflow/tfjs-node-gpu',
  node: '@tensorflow/tfjs-node',
};

/** What `initBackend` chose and why. */
export interface BackendInfo {
  /** aelab's name of the active backend. */
  name: BackendName;
  /** TensorFlow.js's name of it (`tensorflow` for both node backends). */
  tfjsBackend: string;
  /** `auto`, or where a forced choice came from (`AELAB_BACKEND` or the `backend` option). */
  chosenBy: string;
  /** Better backends that were not used, with the reason for each. */
  skipped: { name: BackendName; reason: string }[];
  /** Version of `@tensorflow/tfjs-core`. */
  tfjsVersion: string;
  /**
   * On `wasm`: whether aelab's native kernels are in use (`on, 2 threads`) or why not (`off:
   * not built ...`), so that a stale or missing build is seen rather than felt as slowness.
   */
  native?: string;
  /**
   * On `node-gpu`: whether TensorFlow found a GPU. Without CUDA or a visible device,
   * tfjs-node-gpu runs everything on the CPU without saying so; the report line does.
   */
  gpu?: boolean;
}

export interface InitBackendOptions {
  /** Force this backend (takes precedence over `AELAB_BACKEND`). */
  backend?: BackendName;
  /** Do not print the one-line report. */
  quiet?: boolean;
}

let current: BackendInfo | undefined;
let pending: Promise<BackendInfo> | undefined;

// TensorFlow.js greets Node users on the cpu backend's first tensor with a banner that
// asks them to install tfjs-node. aelab already chose the best backend that loads, so the
// banner is noise: re-register `cpu` with the greeting switched off.
(function silenceCpuBanner() {
  const factory = tf.findBackendFactory('cpu');
  if (!factory) return;
  tf.removeBackend('cpu');
  tf.registerBackend(
    'cpu',
    () => {
      const backend = factory() as tf.KernelBackend & { firstUse?: boolean };
      backend.firstUse = false;
      return backend;
    },
    1,
  );
})();

/**
 * Selects and initialises the TensorFlow.js backend (once; later calls return the same
 * answer unless a different backend is forced). Prints one line saying which backend is
 * active and why better ones were skipped, unless `quiet`.
 * @throws BackendError when a forced backend is unknown or cannot be used.
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const forced = options.backend
    ? { name: parseName(options.backend, 'the backend option'), source: 'the backend option' }
    : envBackend();
  if (current && (forced === undefined || forced.name === current.name)) {
    // Cheap, and every training entry point comes through here: puts aelab's gradients back
    // if a second copy of tfjs (danfojs-node loaded by the user) registered its own over them.
    if (current.name === 'wasm') (require('./kernels/native') as typeof import('./kernels/native')).reassertNativeGradients();
    return current;
  }
  if (pending && forced === undefined) return pending;
  pending = select(forced).then(
    (info) => {
      current = info;
      if (!options.quiet) console.error(describeBackend(info));
      return info;
    },
    (err) => {
      pending = undefined;
      throw err;
    },
  );
  return pending;
}

/** The active backend, or undefined before `initBackend` has finished. */
export function backendInfo(): BackendInfo | undefined {
  return current;
}

/** One line: the active backend and why the better ones were skipped. */
export function describeBackend(info: BackendInfo): string {
  const skipped = info.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  const how = info.chosenBy === 'auto' ? '' : `, forced by ${info.chosenBy}`;
  const native = info.native ? `, native kernels ${info.native}` : '';
  const gpu = info.gpu === undefined ? '' : info.gpu ? ', GPU in use' : ', no GPU found: running on the CPU';
  return `aelab: backend ${info.name} (tfjs ${info.tfjsVersion}${how}${native}${gpu})${skipped ? `; skipped ${skipped}` : ''}`;
}

function envBackend(): { name: BackendName; source: string } | undefined {
  const raw = process.env.AELAB_BACKEND?.trim();
  if (!raw) return undefined;
  return { name: parseName(raw, 'AELAB_BACKEND'), source: 'AELAB_BACKEND' };
}

function parseName(raw: string, source: string): BackendName {
  const name = raw.toLowerCase() === 'tensorflow' ? 'node' : raw.toLowerCase();
  if (!(BACKENDS as readonly string[]).includes(name)) {
    throw new BackendError(`${source}=${JSON.stringify(raw)} is not a backend aelab knows; use one of ${BACKENDS.join(', ')}`);
  }
  return name as BackendName;
}

async function select(forced: { name: BackendName; source: string } | undefined): Promise<BackendInfo> {
  const candidates: readonly BackendName[] = forced ? [forced.name] : BACKENDS;
  const skipped: BackendInfo['skipped'] = [];
  for (const name of candidates) {
    const reason = await tryBackend(name);
    if (reason === null) {
      const info: BackendInfo = {
        name,
        tfjsBackend: tf.getBackend(),
        chosenBy: forced ? forced.source : 'auto',
        skipped,
        tfjsVersion: tf.version_core,
      };
      if (name === 'node-gpu') info.gpu = (tf.backend() as tf.KernelBackend & { isUsingGpuDevice?: boolean }).isUsingGpuDevice === true;
      if (name === 'wasm') {
        const status = (require('./kernels/native') as typeof import('./kernels/native')).nativeKernelsStatus();
        info.native = status.registered ? `on, ${status.threads} thread${status.threads === 1 ? '' : 's'}` : `off: ${status.reason || 'not registered'}`;
      }
      return info;
    }
    if (forced) throw new BackendError(`${forced.source} asks for backend ${name}, which cannot be used here: ${reason}`);
    skipped.push({ name, reason });
  }
  throw new BackendError(`no TensorFlow.js backend could be initialised: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

/** Initialises one backend; returns null on success, else why it cannot be used. */
async function tryBackend(name: BackendName): Promise<string | null> {
  if (name === 'node' || name === 'node-gpu') {
    const reason = loadNodePackage(NODE_PACKAGES[name]);
    if (reason) return reason;
    return (await activate('tensorflow')) ? null : `${NODE_PACKAGES[name]} loaded but its backend did not initialise`;
  }
  if (!(await activate(name))) return `the ${name} backend did not initialise`;
  if (name === 'wasm') {
    registerWasmMatMul();
    registerWasmConv();
    (require('./kernels/native') as typeof import('./kernels/native')).registerNativeKernels(); // last: falls back to the kernels above
  }
  return null;
}

/** Loads a tfjs-node package if it is really installed and working; returns why not otherwise. */
function loadNodePackage(pkg: string): string | null {
  let manifest: string;
  try {
    manifest = require.resolve(`${pkg}/package.json`);
  } catch {
    return 'not installed';
  }
  // danfojs-node's dependency on tfjs-node is aliased to plain @tensorflow/tfjs in our
  // package.json overrides; such a copy has the right folder name but is not the native backend.
  const meta = require(manifest) as { name?: string; version?: string };
  if (meta.name !== pkg) return `not installed (its folder holds ${meta.name}@${meta.version}, an alias)`;
  if (tf.findBackend('tensorflow') || tf.findBackendFactory('tensorflow')) return null;
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  const warn = console.warn;
  try {
    // tfjs-node sets the platform that @tensorflow/tfjs already set and warns about it.
    console.warn = (...args: unknown[]) => {
      if (!String(args[0]).includes('Platform node has already been set')) warn(...args);
    };
    require(path.dirname(manifest));
  } catch (err) {
    const message = (err as Error).message.split('\n')[0];
    return `installed but failed to load (${message})`;
  } finally {
    console.warn = warn;
  }
  if (!tf.findBackendFactory('tensorflow')) return `loaded but registered no 'tensorflow' backend (is it version ${tf.version_core}?)`;
  return null;
}

async function activate(tfjsName: string): Promise<boolean> {
  if (!tf.findBackendFactory(tfjsName)) return false;
  const warn = console.warn;
  try {
    // A failed init is reported by our own one-line summary; keep tfjs's warning out.
    console.warn = () => {};
    return await tf.setBackend(tfjsName);
  } catch {
    return false;
  } finally {
    console.warn = warn;
  }
}
