import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SegmentWriter } from './segment-writer.js';

test('segment writer: parts in order, whole; past the queue cap a part is refused, never blocking', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rtspkit-writer-'));
  try {
    const errors: Error[] = [];
    const w = new SegmentWriter(join(dir, 'a', 'b.mp4'), {
      maxQueueBytes: 100 * 1024,
      onError: (e) => errors.push(e),
    });
    const part = (n: number): Buffer => Buffer.alloc(40 * 1024, n);
    // Queued at once, before any reaches the disk: the third would pass 100 KiB.
    const accepted = [1, 2, 3].map((n) => w.write(part(n)));
    assert.deepEqual(accepted, [true, true, false]);
    await w.close();
    assert.deepEqual(errors, []);
    assert.equal(w.bytesWritten, 80 * 1024);
    assert.deepEqual(await readFile(join(dir, 'a', 'b.mp4')), Buffer.concat([part(1), part(2)]));
    assert.equal(w.write(part(4)), false, 'closed');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('segment writer: an existing file is never overwritten; the error comes once, later writes refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rtspkit-writer-'));
  try {
    const file = join(dir, 'taken.mp4');
    await writeFile(file, 'earlier run');
    const errors: Error[] = [];
    const w = new SegmentWriter(file, { maxQueueBytes: 1024, onError: (e) => errors.push(e) });
    w.write(Buffer.from('x'));
    await w.close();
    assert.deepEqual(
      errors.map((e) => (e as NodeJS.ErrnoException).code),
      ['EEXIST'],
    );
    assert.equal(w.write(Buffer.from('y')), false);
    assert.equal(await readFile(file, 'utf8'), 'earlier run');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
