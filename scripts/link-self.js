#!/usr/bin/env node
// Makes `require('aelab')` and `import ... from 'aelab'` resolve inside this checkout
// (notebooks/, examples, a tslab cell), exactly as they do for a user who installed the
// package: node_modules/aelab becomes a link to the project root. Node resolves the
// package by its own name only through `exports` self-reference, which tslab's TypeScript
// (moduleResolution node10) does not support; a link works for both.
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const link = path.join(root, 'node_modules', 'aelab');
try {
  const stat = fs.lstatSync(link);
  if (stat.isSymbolicLink() && path.resolve(path.dirname(link), fs.readlinkSync(link)) === root) process.exit(0);
  fs.rmSync(link, { recursive: true, force: true });
} catch {
  // no link yet
}
fs.mkdirSync(path.dirname(link), { recursive: true });
fs.symlinkSync(path.relative(path.dirname(link), root), link, 'dir');
