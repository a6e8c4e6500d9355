import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watchConfigFile } from './watch.js';

/** Resolves once `calls()` passes `count`, or rejects after `timeoutMs`. */
async function until(calls: () => number, count: number, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (calls() < count) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const quietMs = 400;

test(
  'a save by rename, a write in place and a deletion are changes; the same content is not',
  { timeout: 10_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtspkit-watch-'));
    const file = join(dir, 'rtspkit.yml');
    writeFileSync(file, 'logLevel: info\n');
    let calls = 0;
    const watcher = watchConfigFile(file, () => calls++, { debounceMs: 50 });
    try {
      writeFileSync(`${file}.tmp`, 'logLevel: debug\n');
      renameSync(`${file}.tmp`, file);
      await until(() => calls, 1, 5000, 'the rename');
      writeFileSync(file, 'logLevel: warn\n');
      await until(() => calls, 2, 5000, 'the write in place');
      writeFileSync(file, 'logLevel: warn\n');
      writeFileSync(join(dir, 'other.yml'), 'x');
      await new Promise((r) => setTimeout(r, quietMs));
      assert.equal(calls, 2, 'the same content, or another file, is no change');
      unlinkSync(file);
      await until(() => calls, 3, 5000, 'the deletion');
    } finally {
      watcher.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('a burst of events is one change', { timeout: 10_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtspkit-watch-'));
  const file = join(dir, 'rtspkit.yml');
  writeFileSync(file, '');
  let calls = 0;
  const watcher = watchConfigFile(file, () => calls++, { debounceMs: 100 });
  try {
    for (let i = 0; i < 5; i++) writeFileSync(file, `sessionTimeout: ${10 + i}\n`);
    await until(() => calls, 1, 5000, 'the change');
    await new Promise((r) => setTimeout(r, quietMs));
    assert.equal(calls, 1);
  } finally {
    watcher.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'a Kubernetes-style update (the ..data symlink renamed to a new folder) is a change',
  { timeout: 10_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtspkit-watch-'));
    const file = join(dir, 'rtspkit.yml');
    mkdirSync(join(dir, 'v1'));
    writeFileSync(join(dir, 'v1', 'rtspkit.yml'), 'logLevel: info\n');
    symlinkSync('v1', join(dir, '..data'));
    symlinkSync(join('..data', 'rtspkit.yml'), file);
    let calls = 0;
    const watcher = watchConfigFile(file, () => calls++, { debounceMs: 50 });
    try {
      mkdirSync(join(dir, 'v2'));
      writeFileSync(join(dir, 'v2', 'rtspkit.yml'), 'logLevel: debug\n');
      symlinkSync('v2', join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
      await until(() => calls, 1, 5000, 'the symlink swap');
    } finally {
      watcher.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
