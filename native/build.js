#!/usr/bin/env node
// Builds aelab's optional native kernels (binding.gyp -> build/Release/aelab_native.node)
// with node-gyp. Run by `npm install` / `npm ci` (the package's install script) and by hand
// (`node native/build.js`). It never fails: without a compiler, make, Python or Node's
// headers it prints one line saying why, exits 0, and aelab runs the plain wasm kernels
// (see src/lib/kernels/native.ts).
//
// Offline: npm passes its own node-gyp and `nodedir` to install scripts; run by hand, this
// script finds npm's bundled node-gyp next to node and uses Node's installed headers
// (<prefix>/include/node) when they are there, so nothing is downloaded.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const say = (msg) => console.log(`aelab: ${msg}`);

function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] }));
  } catch {}
  return candidates.find((p) => p && fs.existsSync(p));
}

function main() {
  const off = (process.env.AELAB_NATIVE || '').trim().toLowerCase();
  if (['0', 'false', 'off'].includes(off)) return say('native kernels not built (AELAB_NATIVE=0); using the wasm kernels');
  if (process.arch !== 'x64') return say(`native kernels not built (x86-64 only, this is ${process.arch}); using the wasm kernels`);
  const gyp = findNodeGyp();
  if (!gyp) return say('native kernels not built (node-gyp not found); using the wasm kernels');
  const args = [gyp, 'rebuild', '--jobs', 'max'];
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (!process.env.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: { ...process.env, npm_config_loglevel: 'error' } });
  const built = path.join(root, 'build', 'Release', 'aelab_native.node');
  if (r.status === 0 && fs.existsSync(built)) {
    return say(`native kernels built in ${((Date.now() - t0) / 1000).toFixed(0)} s (${path.relative(root, built)})`);
  }
  const output = `${r.stdout || ''}\n${r.stderr || ''}`.split('\n').filter((l) => /error|not found|No such|command not found/i.test(l));
  const why = r.error ? r.error.message : output.slice(0, 3).map((l) => l.trim()).join(' | ') || `node-gyp exited with ${r.status}`;
  if (process.env.AELAB_NATIVE_VERBOSE) process.stderr.write(`${r.stdout}\n${r.stderr}\n`);
  say(`native kernels not built (${why.slice(0, 400)}); using the wasm kernels. AELAB_NATIVE_VERBOSE=1 node native/build.js shows the whole log`);
}

try {
  main();
} catch (err) {
  say(`native kernels not built (${err && err.message}); using the wasm kernels`);
}
process.exitCode = 0;
