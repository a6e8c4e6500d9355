#!/usr/bin/env node
// The `rtspkit` command of a clone: `npx rtspkit ...` (npm ci links it, scripts/link-bin.mjs) and
// `npm start`. Builds first when a source changed since the last build (or nothing is built), then runs
// the command line (dist/src/cli/main.js) in this process, so node flags given to this script apply.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = join(import.meta.dirname, '..');
const main = join(root, 'dist', 'src', 'cli', 'main.js');

/** The latest modification time of a file under `dir` (the web page's assets count too). */
function newestMtimeMs(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtimeMs(full) : statSync(full).mtimeMs);
  }
  return newest;
}

function isStale() {
  if (!existsSync(main)) return true;
  const builtMs = statSync(main).mtimeMs;
  const inputs = [join(root, 'tsconfig.json'), join(root, 'package.json')].map((f) => statSync(f).mtimeMs);
  return Math.max(newestMtimeMs(join(root, 'src')), ...inputs) > builtMs;
}

if (isStale()) {
  const why = existsSync(main) ? 'sources changed since the last build' : 'first run: nothing is built yet';
  process.stderr.write(`rtspkit: building (${why}; npm run build does the same)\n`);
  // Compiler output on stderr: stdout belongs to the command (probe --json, hash-password).
  const step = (args) =>
    spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', process.stderr, 'inherit'] }).status ===
    0;
  if (!step([join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'])) {
    process.stderr.write('rtspkit: the build failed (above); fix it or run npm ci\n');
    process.exit(1);
  }
  if (!step([join(root, 'scripts', 'copy-assets.mjs')])) process.exit(1);
}
await import(pathToFileURL(main).href);
