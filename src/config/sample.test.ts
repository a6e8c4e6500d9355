// The commented sample config (rtspkit.sample.yml) documents every option with its default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isMap, isScalar, parseDocument } from 'yaml';
import { configSchema, defaultConfig, parseConfig } from './config.js';
import { configEnvOptions } from './env.js';

function repoRoot(): string {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

const samplePath = join(repoRoot(), 'rtspkit.sample.yml');
const sample = readFileSync(samplePath, 'utf8');

test('the sample config parses to exactly the defaults', () => {
  assert.deepEqual(parseConfig(sample, samplePath), defaultConfig());
});

test('every top-level option is a key of the sample, and nothing else is', () => {
  const doc = parseDocument(sample);
  assert.ok(isMap(doc.contents));
  const keys = doc.contents.items.map((pair) => (isScalar(pair.key) ? String(pair.key.value) : ''));
  assert.deepEqual([...keys].sort(), Object.keys(configSchema.shape).sort());
});

test('every option, nested ones too, is named in the sample with its environment variable', () => {
  for (const option of configEnvOptions(configSchema)) {
    const key = option.path.at(-1)!;
    assert.match(sample, new RegExp(`^\\s*#?\\s*(- )?${key}:`, 'm'), `option ${option.path.join('.')}`);
    assert.ok(sample.includes(option.variable), `variable ${option.variable}`);
  }
});
