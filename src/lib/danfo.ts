/**
 * The one place aelab loads danfojs-node. It takes one to two seconds to load, so it is
 * loaded on first use (a CSV, a DataFrame), never when aelab is imported.
 */
// Type-only: erased from the output, so importing this module never loads danfojs.
import type * as Danfo from 'danfojs-node';
import { reassertNativeGradients } from './kernels/native';

let danfo: typeof Danfo | undefined;

/**
 * danfojs-node, loaded once. Loading it also loads a second copy of tfjs, which registers
 * every stock gradient again in tfjs's global registry; aelab's faster gradients are put back
 * right after.
 */
export function loadDanfo(): typeof Danfo {
  if (!danfo) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    danfo = require('danfojs-node') as typeof Danfo;
    reassertNativeGradients();
  }
  return danfo;
}
