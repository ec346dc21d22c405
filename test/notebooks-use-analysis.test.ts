// Every analysis the library exports is shown at work in at least one notebook: a reader who
// meets a function in the API finds it used, with real output, in notebooks/.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as analysis from '../src/lib/analysis';

const dir = path.join(__dirname, '..', 'notebooks');

/** The code of every numbered notebook, cell by cell, with the notebook's file name. */
function notebookCode(): { file: string; code: string }[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d\d-.*\.ipynb$/.test(f))
    .flatMap((file) => {
      const nb = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as { cells: { cell_type: string; source: string[] | string }[] };
      return nb.cells.filter((c) => c.cell_type === 'code').map((c) => ({ file, code: Array.isArray(c.source) ? c.source.join('') : c.source }));
    });
}

describe('the notebooks use the analysis toolkit', () => {
  it('calls every exported analysis function or class as analysis.<name> in some notebook', () => {
    const cells = notebookCode();
    assert.ok(cells.length > 100, `expected the notebooks' code cells, found ${cells.length}`);
    const exported = Object.keys(analysis).filter((k) => typeof (analysis as Record<string, unknown>)[k] === 'function');
    assert.ok(exported.length > 50, `expected the analysis functions, found ${exported.length}`);
    const unused = exported.filter((name) => !cells.some((c) => new RegExp(`\\banalysis\\.${name}\\b`).test(c.code)));
    assert.deepEqual(unused, [], `exported from src/lib/analysis but used in no notebook: ${unused.join(', ')}`);
  });
});
