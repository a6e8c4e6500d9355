#!/usr/bin/env node
// Copies what tsc does not emit (test fixtures, web assets: every non-.ts file under src/ and test/)
// next to the compiled JavaScript in dist/, so code finds them relative to itself.
import { chmodSync, cpSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

const root = join(import.meta.dirname, '..');
function walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    if (e.isDirectory()) walk(full);
    else if (!e.name.endsWith('.ts')) {
      const out = join(root, 'dist', full.slice(root.length + 1));
      mkdirSync(dirname(out), { recursive: true });
      cpSync(full, out);
    }
  }
}
for (const d of ['src', 'test']) walk(join(root, d));
// The command line runs as a program too (./dist/src/cli/main.js); tsc writes it without the x bit.
chmodSync(join(root, 'dist', 'src', 'cli', 'main.js'), 0o755);
