#!/usr/bin/env node
// Builds the add-on from src/udp-batch.c with gcc and Node's headers (N-API only, so one binary serves
// every Node version with N-API 8):
//   node scripts/build.mjs --prebuild   -> prebuilds/<platform>-<arch>/udp-batch.node (committed) and
//                                          udp-batch.node.json (the source's sha256, compiler, headers)
//   node scripts/build.mjs              -> build/udp-batch.node (a local build, not committed)
// Headers: $NODE_HEADERS, else <node prefix>/include/node, else /usr/include/node.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const root = join(import.meta.dirname, '..');
const prebuild = process.argv.includes('--prebuild');
const source = join(root, 'src', 'udp-batch.c');
const headers = [
  process.env.NODE_HEADERS,
  join(dirname(process.execPath), '..', 'include', 'node'),
  '/usr/include/node',
].find((d) => d !== undefined && existsSync(join(d, 'node_api.h')));
if (headers === undefined) {
  console.error('udp-batch: node_api.h not found (set NODE_HEADERS to the directory that holds it)');
  process.exit(1);
}
const outDir = prebuild
  ? join(root, 'prebuilds', `${process.platform}-${process.arch}`)
  : join(root, 'build');
const out = join(outDir, 'udp-batch.node');
mkdirSync(outDir, { recursive: true });
const cc = process.env.CC ?? 'gcc';
execFileSync(
  cc,
  [
    '-O2',
    '-shared',
    '-fPIC',
    '-fvisibility=hidden',
    '-Wall',
    '-Wextra',
    '-Werror',
    '-fstack-protector-strong',
    '-D_FORTIFY_SOURCE=2',
    '-Wl,-z,relro,-z,now',
    '-s',
    `-I${headers}`,
    source,
    '-o',
    out,
  ],
  { stdio: 'inherit' },
);
const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');
if (prebuild) {
  const compiler = execFileSync(cc, ['--version'], { encoding: 'utf8' }).split('\n')[0];
  const record = {
    sourceSha256: sha256(source),
    binarySha256: sha256(out),
    compiler,
    headers: readFileSync(join(headers, 'node_version.h'), 'utf8')
      .match(/#define NODE_(?:MAJOR|MINOR|PATCH)_VERSION (\d+)/g)
      ?.map((l) => l.split(' ').pop())
      .join('.'),
    napiVersion: 8,
  };
  writeFileSync(`${out}.json`, `${JSON.stringify(record, null, 2)}\n`);
}
console.log(`udp-batch: built ${out}`);
