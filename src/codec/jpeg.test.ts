import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { ParseError } from '../base/errors.js';
import { ZIGZAG, buildJpegHeaders, jpegQuantTablesForQ, parseJpeg } from './jpeg.js';

const FIXTURE = new URL('../format/fixtures/testsrc-320x184-420.jpg', import.meta.url);

test('parseJpeg reads SOF0, DQT and the scan of an ffmpeg JPEG', () => {
  const jpg = readFileSync(FIXTURE);
  const info = parseJpeg(jpg);
  assert.equal(info.sofMarker, 0xc0);
  assert.deepEqual([info.width, info.height, info.precision], [320, 184, 8]);
  assert.deepEqual(
    info.components.map((c) => [c.id, c.h, c.v, c.tq]),
    [
      [1, 2, 2, 0],
      [2, 1, 1, 0],
      [3, 1, 1, 0],
    ],
  );
  assert.equal(info.quantTables.get(0)!.table.length, 64);
  assert.ok(info.hasHuffmanTables && info.standardHuffmanTables);
  assert.equal(info.restartInterval, 0);
  const end = info.scanData.byteOffset - jpg.byteOffset + info.scanData.length;
  assert.deepEqual([...jpg.subarray(end)], [0xff, 0xd9]);
});

test('parseJpeg throws ParseError only (property)', () => {
  const jpg = readFileSync(FIXTURE);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 700 }), fc.uint8Array({ maxLength: 50 }), (cut, junk) => {
      try {
        parseJpeg(Buffer.concat([jpg.subarray(0, cut), junk]));
      } catch (e) {
        assert.ok(e instanceof ParseError, String(e));
      }
    }),
  );
});

test('Q-factor tables follow RFC 2435 Appendix A', () => {
  const [l50, c50] = jpegQuantTablesForQ(50);
  assert.deepEqual([...l50.subarray(0, 6)], [16, 11, 12, 14, 12, 10], 'Q=50 is Table K.1 in zigzag order');
  assert.equal(c50[0], 17);
  const [l99] = jpegQuantTablesForQ(99);
  assert.ok(l99.every((v) => v >= 1 && v <= 2));
  const [l1] = jpegQuantTablesForQ(1);
  assert.ok(l1.every((v) => v === 255 || v > 100));
  assert.equal(new Set(ZIGZAG).size, 64);
});

test('buildJpegHeaders output parses back', () => {
  const [l, c] = jpegQuantTablesForQ(75);
  const h = buildJpegHeaders({ type: 0, width: 64, height: 48, quantTables: [l, c], restartInterval: 4 });
  const info = parseJpeg(Buffer.concat([h, Buffer.from([0x12, 0x34, 0xff, 0xd9])]));
  assert.deepEqual([info.width, info.height, info.restartInterval], [64, 48, 4]);
  assert.deepEqual(
    info.components.map((x) => [x.h, x.v, x.tq]),
    [
      [2, 1, 0],
      [1, 1, 1],
      [1, 1, 1],
    ],
  );
  assert.ok(info.standardHuffmanTables);
  assert.deepEqual(info.quantTables.get(1)!.table, c);
  assert.deepEqual([...info.scanData], [0x12, 0x34]);
});
