/**
 * The running tslab kernel's own tslab, found once for everything that draws into a notebook
 * (`viz.show`, the notebook progress display, the latent explorer).
 */
import * as path from 'node:path';

/** The parts of tslab's `Display` that aelab draws with. */
export interface TslabDisplay {
  html(s: string): void;
  text(s: string): void;
  svg(s: string): void;
  png(b: Uint8Array): void;
}

/** tslab's public module: the cell's display and displays that redraw in place. */
export interface TslabPublic {
  display: TslabDisplay;
  newDisplay(): TslabDisplay;
}

/**
 * tslab's public module when this process is a tslab kernel that has executed a cell, else
 * `undefined`. Found through the module cache, so it is the kernel's own tslab instance even
 * when another copy is installed elsewhere (a global kernel, a nested node_modules): that
 * instance's `jupyter` module holds the writer of the cell being executed.
 */
export function tslabPublic(): TslabPublic | undefined {
  const cache = typeof require === 'function' ? require.cache : undefined;
  if (!cache) return undefined;
  for (const [file, mod] of Object.entries(cache)) {
    if (!mod || !/[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(file)) continue;
    const jupyter = mod.exports as { lastWriteDisplayData?: unknown };
    if (typeof jupyter?.lastWriteDisplayData !== 'function') continue;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const pub = require(path.join(path.dirname(file), 'public.js')) as Partial<TslabPublic>;
      if (pub.display && typeof pub.newDisplay === 'function') return pub as TslabPublic;
    } catch {
      // not a usable tslab: the caller falls back to files or plain lines
    }
  }
  return undefined;
}

/** True inside a tslab (Jupyter) kernel executing a cell: pictures and progress draw inline there. */
export function inNotebook(): boolean {
  return tslabPublic() !== undefined;
}
