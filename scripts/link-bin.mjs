#!/usr/bin/env node
// Run by npm ci / npm install in a clone (the `prepare` script): links node_modules/.bin/rtspkit to
// scripts/rtspkit.mjs, so the README's `npx rtspkit ...` lines work in a clone as they do where the
// package is installed (npm runs a package's own bin only when it is installed, not in its own folder).
import { chmodSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const bin = join(root, 'node_modules', '.bin');
try {
  mkdirSync(bin, { recursive: true });
  rmSync(join(bin, 'rtspkit'), { force: true });
  symlinkSync(join('..', '..', 'scripts', 'rtspkit.mjs'), join(bin, 'rtspkit'));
  chmodSync(join(root, 'scripts', 'rtspkit.mjs'), 0o755);
} catch (err) {
  // Not fatal (e.g. no symlinks on this file system): `node scripts/rtspkit.mjs ...` does the same.
  process.stderr.write(`rtspkit: npx rtspkit not linked (${err.message}); use node scripts/rtspkit.mjs\n`);
}
