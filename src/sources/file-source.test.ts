import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileByteSource } from './file-source.js';

test('fileByteSource reads ranges, short at the end, and closes once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rtspkit-file-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'bytes.bin');
  const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff));
  writeFileSync(path, bytes);

  const src = await fileByteSource(path);
  assert.equal(src.size, 1000);
  assert.equal(src.path, path);
  assert.deepEqual(await src.read(0, 10), bytes.subarray(0, 10));
  assert.deepEqual(await src.read(123, 456), bytes.subarray(123, 579));
  const a = await src.read(990, 10);
  const b = await src.read(990, 10);
  a.fill(0);
  assert.deepEqual(b, bytes.subarray(990), 'each read returns its own bytes');
  assert.deepEqual(await src.read(995, 20), bytes.subarray(995), 'short read at the end of the file');
  assert.equal((await src.read(1000, 5)).length, 0);
  assert.equal((await src.read(0, 0)).length, 0);

  await src.close();
  await src.close();
  await assert.rejects(src.read(0, 1), /read after close/);
});

test('fileByteSource rejects a missing file and a directory', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rtspkit-file-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await assert.rejects(fileByteSource(join(dir, 'missing.mp4')), { code: 'ENOENT' });
  await assert.rejects(fileByteSource(dir));
});
