// Enforces the architecture of DEVELOPERS.md: a layer imports only its own or lower layers,
// and L0-L2 are sans-I/O (no sockets, files, timers, wall clock or logger).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

function repoRoot(): string {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

const LAYERS: Record<string, number> = {
  base: 0,
  rtsp: 1,
  sdp: 1,
  rtp: 1,
  auth: 1,
  codec: 1,
  flv: 1,
  format: 2,
  container: 2,
  media: 3,
  transport: 3,
  server: 3,
  client: 3,
  sources: 3,
  sinks: 3,
  recorder: 3,
  paths: 3,
  hooks: 3,
  cluster: 3,
  rtmp: 3,
  fanout: 3,
  http: 4,
  config: 4,
  log: 4,
  cli: 4,
};
const TOP_LEVEL_FILE_LAYER = 4; // src/app.ts, src/index.ts

const IO_MODULES =
  /^(node:)?(net|dgram|fs|fs\/promises|tls|http|https|http2|child_process|worker_threads|timers|timers\/promises|cluster)$/;
const IO_CALLS = /\b(setTimeout|setInterval|setImmediate|Date\.now|performance\.now|process\.hrtime)\s*\(/;

const src = join(repoRoot(), 'src');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(full));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

function layerOf(file: string): { name: string; layer: number } {
  const rel = relative(src, file).split(sep);
  if (rel.length === 1) return { name: rel[0]!, layer: TOP_LEVEL_FILE_LAYER };
  const name = rel[0]!;
  const layer = LAYERS[name];
  if (layer === undefined) throw new Error(`src/${name}/ has no layer: add it to LAYERS and DEVELOPERS.md`);
  return { name, layer };
}

function importsOf(text: string): string[] {
  const specs: string[] = [];
  const re =
    /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const m of text.matchAll(re)) specs.push((m[1] ?? m[2] ?? m[3])!);
  return specs;
}

test('every src folder has a layer and imports only its own or lower layers', () => {
  const violations: string[] = [];
  for (const file of sourceFiles(src)) {
    const { layer } = layerOf(file);
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(src + sep)) continue;
      const t = layerOf(target);
      if (t.layer > layer)
        violations.push(`${relative(src, file)} imports ${spec} (L${layer} -> L${t.layer})`);
    }
  }
  assert.deepEqual(violations, []);
});

test('L0-L2 are sans-I/O: no sockets, files, timers, clocks or logger', () => {
  const violations: string[] = [];
  for (const file of sourceFiles(src)) {
    const { name, layer } = layerOf(file);
    if (layer > 2 || file.endsWith('.test.ts')) continue;
    const text = readFileSync(file, 'utf8');
    for (const spec of importsOf(text)) {
      if (IO_MODULES.test(spec) || spec === 'pino') violations.push(`${relative(src, file)} imports ${spec}`);
      // The Logger interface lives in L0 so that L3 engines can be handed one; L0-L2 code never logs.
      if (spec.startsWith('.') && resolve(dirname(file), spec) === join(src, 'base', 'logger.js'))
        violations.push(`${relative(src, file)} imports the logger`);
    }
    // base/clock.ts is where the system clock is defined, to be injected elsewhere.
    const call = IO_CALLS.exec(text);
    if (call && !(name === 'base' && file.endsWith(`${sep}clock.ts`)))
      violations.push(`${relative(src, file)} calls ${call[1]}`);
  }
  assert.deepEqual(violations, []);
});

// src/http/ reads and drives the engine through its view (src/server/view.ts), never through the
// classes that keep its state: those may change shape without the API, /metrics or HLS noticing.
const ENGINE_INTERNALS = [
  ...['server.js', 'session.js', 'connection.js'].map((f) => join(src, 'server', f)),
  join(src, 'paths', 'path-manager.js'),
];

test('src/http/ reaches the engine only through src/server/view.ts', () => {
  const violations: string[] = [];
  for (const file of sourceFiles(join(src, 'http'))) {
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.') && ENGINE_INTERNALS.includes(resolve(dirname(file), spec)))
        violations.push(`${relative(src, file)} imports ${spec}`);
    }
  }
  assert.deepEqual(violations, []);
});

/** The import cycles among `files` (type-only imports too): each as the files on it, in order. */
function importCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const done = new Set<string>();
  const onPath: string[] = [];
  const visit = (file: string): void => {
    const at = onPath.indexOf(file);
    if (at >= 0) {
      cycles.push(onPath.slice(at));
      return;
    }
    if (done.has(file)) return;
    onPath.push(file);
    for (const next of graph.get(file) ?? []) visit(next);
    onPath.pop();
    done.add(file);
  };
  for (const file of graph.keys()) visit(file);
  return cycles;
}

test('the import graph of src/ has no cycles', () => {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(src)) {
    if (file.endsWith('.test.ts')) continue;
    const targets = importsOf(readFileSync(file, 'utf8'))
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => resolve(dirname(file), spec).replace(/\.js$/, '.ts'));
    graph.set(file, targets);
  }
  const cycles = importCycles(graph).map((c) => c.map((f) => relative(src, f)).join(' -> '));
  assert.deepEqual(cycles, []);
});

test('the layering check itself detects a violation', () => {
  assert.deepEqual(importsOf("import { x } from '../server/server.js';\nimport 'node:net';"), [
    '../server/server.js',
    'node:net',
  ]);
  assert.ok(IO_CALLS.test('const t = setTimeout(() => 0, 5);'));
  assert.ok(IO_MODULES.test('node:dgram'));
  assert.ok(ENGINE_INTERNALS.includes(resolve(join(src, 'http'), '../server/session.js')));
  assert.deepEqual(importsOf("import type { RtspServer } from '../server/server.js';"), [
    '../server/server.js',
  ]);
  const cyclic = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a']],
    ['d', ['a']],
  ]);
  assert.deepEqual(importCycles(cyclic), [['a', 'b', 'c']]);
});
