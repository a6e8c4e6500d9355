#!/usr/bin/env node
// Runs every compiled test file (dist/**/*.test.js) with node's own test runner.
// Node 20 takes no globs on `node --test`, so the files are listed here.
// Usage: node scripts/run-tests.mjs [substring filter ...]
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

const root = join(import.meta.dirname, '..', 'dist');
const filters = process.argv.slice(2);

function walk(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(full));
    else if (entry.name.endsWith('.test.js')) out.push(full);
  }
  return out;
}

const files = walk(root)
  .filter((f) => filters.length === 0 || filters.some((s) => relative(root, f).includes(s)))
  .sort();
if (files.length === 0) {
  console.error('run-tests: no test files found under dist/ (run `npm run build` first)');
  process.exit(1);
}
// Two lanes side by side. The unit tests under dist/src (sans-I/O, no media tools; about a minute, a
// third of a core) run beside the integration tests under dist/test, which wait on real time (ffmpeg
// -re, timeouts) more than they use the cores: the suite takes about a minute less. The integration
// tests themselves stay one file at a time: several start servers with multicast groups and ports
// that a second file could share. The unit lane's report is printed after the integration lane's.
const isUnit = (f) => relative(root, f).startsWith(`src${sep}`);
const lanes = [files.filter((f) => !isUnit(f)), files.filter(isUnit)].filter((l) => l.length > 0);

function runLane(laneFiles, buffered) {
  const child = spawn(process.execPath, ['--test', '--test-timeout=120000', ...laneFiles], {
    stdio: buffered ? ['ignore', 'pipe', 'pipe'] : 'inherit',
  });
  const chunks = [];
  if (buffered) {
    child.stdout.on('data', (d) => chunks.push(d));
    child.stderr.on('data', (d) => chunks.push(d));
  }
  return new Promise((resolve) =>
    child.on('close', (code, signal) =>
      resolve({ code: code ?? (signal ? 1 : 0), output: Buffer.concat(chunks) }),
    ),
  );
}

const results = await Promise.all(lanes.map((l, i) => runLane(l, i > 0)));
for (const r of results.slice(1)) process.stdout.write(r.output);
process.exit(results.some((r) => r.code !== 0) ? 1 : 0);
