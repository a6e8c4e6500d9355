import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { ParseError } from '../base/errors.js';
import { parseJpeg } from '../codec/jpeg.js';
import type { AccessUnit, RtpPacketIn, RtpPayloadOut } from './access-unit.js';
import { MjpegDepacketizer, MjpegPacketizer } from './mjpeg.js';

// ffmpeg -i mjpeg.mkv -frames:v 1 -vf scale=320:184 -c:v mjpeg -huffman default -pix_fmt yuvj420p -q:v 8
// A throwaway check confirmed the depacketized JPEG decodes (ffmpeg) to the same pixels as this file.
const JPEG_420 = readFileSync(new URL('./fixtures/testsrc-320x184-420.jpg', import.meta.url));
// Same with -pix_fmt yuvj422p: ffmpeg codes 4:2:2 as luma 2x2 / chroma 1x2, which RTP/JPEG cannot carry.
const JPEG_422_FFMPEG = readFileSync(new URL('./fixtures/testsrc-160x96-422.jpg', import.meta.url));

function toPackets(out: readonly RtpPayloadOut[], seq0 = 0): RtpPacketIn[] {
  return out.map((o, i) => ({
    payload: o.payload,
    marker: o.marker,
    sequenceNumber: (seq0 + i) & 0xffff,
    timestamp: o.pts % 2 ** 32,
  }));
}

const pushTo =
  (d: MjpegDepacketizer) =>
  (x: RtpPacketIn): AccessUnit[] =>
    d.push(x);

const au = (payload: Buffer, pts = 0): AccessUnit => ({ pts, clockRate: 90000, keyframe: true, payload });

/** The JPEG with a DRI segment inserted after SOI (restart markers themselves are not needed for the structure). */
function withDri(jpg: Buffer, interval: number): Buffer {
  return Buffer.concat([
    jpg.subarray(0, 2),
    Buffer.from([0xff, 0xdd, 0, 4, interval >> 8, interval & 0xff]),
    jpg.subarray(2),
  ]);
}

test('round-trip rebuilds a JPEG with the same frame, tables and scan data', () => {
  const p = new MjpegPacketizer();
  const pk = p.packetize(au(JPEG_420, 3600));
  assert.ok(pk.length > 1);
  pk.forEach((o, i) => {
    assert.ok(o.payload.length <= 1400);
    assert.equal(o.marker, i === pk.length - 1);
  });
  // Main header of the first packet: type 1 (4:2:0), Q 255, 320/8, 184/8, then the table header.
  assert.deepEqual([...pk[0]!.payload.subarray(0, 12)], [0, 0, 0, 0, 1, 255, 40, 23, 0, 0, 0, 128]);
  const d = new MjpegDepacketizer();
  const got = toPackets(pk).flatMap((x) => d.push(x));
  assert.equal(got.length, 1);
  const out = got[0]!.payload!;
  assert.deepEqual([...out.subarray(0, 2)], [0xff, 0xd8]);
  assert.deepEqual([...out.subarray(-2)], [0xff, 0xd9]);
  const a = parseJpeg(JPEG_420);
  const b = parseJpeg(out);
  assert.deepEqual([b.width, b.height, b.sofMarker], [a.width, a.height, 0xc0]);
  assert.deepEqual(b.scanData, a.scanData);
  assert.deepEqual(b.quantTables.get(0)!.table, a.quantTables.get(0)!.table);
  assert.deepEqual(
    b.quantTables.get(1)!.table,
    a.quantTables.get(0)!.table,
    'shared table sent as chroma table',
  );
  assert.ok(b.standardHuffmanTables);
  assert.equal(got[0]!.pts, 3600);
});

test('restart intervals use types 64/65 and survive the round trip', () => {
  const jpg = withDri(JPEG_420, 20);
  const pk = new MjpegPacketizer({ maxPayloadBytes: 600 }).packetize(au(jpg));
  for (const o of pk) {
    assert.equal(o.payload[4], 65);
    assert.deepEqual([...o.payload.subarray(8, 12)], [0, 20, 0xff, 0xff]);
  }
  const got = toPackets(pk).flatMap(pushTo(new MjpegDepacketizer()));
  const info = parseJpeg(got[0]!.payload!);
  assert.equal(info.restartInterval, 20);
  assert.deepEqual(info.scanData, parseJpeg(jpg).scanData);
});

test('packet sizes respect the MTU and fragments reassemble (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 300, max: 2000 }), (max) => {
      const pk = new MjpegPacketizer({ maxPayloadBytes: max }).packetize(au(JPEG_420));
      for (const o of pk) assert.ok(o.payload.length <= max);
      const got = toPackets(pk).flatMap(pushTo(new MjpegDepacketizer()));
      assert.deepEqual(parseJpeg(got[0]!.payload!).scanData, parseJpeg(JPEG_420).scanData);
    }),
  );
});

test('JPEGs RTP/JPEG cannot describe are refused', () => {
  const p = new MjpegPacketizer();
  assert.throws(
    () => p.packetize(au(JPEG_422_FFMPEG)),
    (e: unknown) => e instanceof ParseError && e.code === 'JPEG_UNSUPPORTED',
  );
  // Non-standard Huffman table: change one count byte of the first DHT.
  const bad = Buffer.from(JPEG_420);
  const dht = bad.indexOf(Buffer.from([0xff, 0xc4]));
  bad[dht + 5 + 16] = bad[dht + 5 + 16]! ^ 1; // first symbol value of the first table
  assert.throws(() => p.packetize(au(bad)), /Huffman/);
  assert.doesNotThrow(() => new MjpegPacketizer({ allowNonStandardHuffman: true }).packetize(au(bad)));
  assert.throws(() => p.packetize(au(Buffer.from('not a jpeg'))), ParseError);
});

test('loss, Q-factor tables, table cache and timestamp-change boundaries', () => {
  const pk = toPackets(new MjpegPacketizer({ maxPayloadBytes: 500 }).packetize(au(JPEG_420)));
  const d = new MjpegDepacketizer();
  assert.deepEqual(
    pk.filter((_, i) => i !== 2).flatMap((x) => d.push(x)),
    [],
  );
  assert.equal(d.stats.droppedAccessUnits, 1);
  // Q = 50 (standard tables, no table header); no marker: the frame ends on the next timestamp.
  const q50 = Buffer.concat([Buffer.from([0, 0, 0, 0, 1, 50, 2, 2]), Buffer.from([0x12, 0x34])]);
  const d2 = new MjpegDepacketizer();
  assert.deepEqual(d2.push({ payload: q50, marker: false, sequenceNumber: 1, timestamp: 0 }), []);
  const got = d2.push({ payload: q50, marker: true, sequenceNumber: 2, timestamp: 3000 });
  assert.deepEqual(
    got.map((a) => a.pts),
    [0, 3000],
  );
  assert.equal(parseJpeg(got[0]!.payload!).quantTables.get(0)!.table[0], 16);
  // Q = 255 with table length 0 reuses the tables last sent with Q = 255.
  const first = pk[0]!.payload;
  const noTables = Buffer.concat([first.subarray(0, 8), Buffer.from([0, 0, 0, 0]), Buffer.from([0x55])]);
  const d3 = new MjpegDepacketizer();
  assert.deepEqual(
    d3.push({ payload: noTables, marker: true, sequenceNumber: 1, timestamp: 0 }),
    [],
    'no cached tables yet',
  );
  pk.forEach((x) => d3.push({ ...x, sequenceNumber: x.sequenceNumber + 2, timestamp: 3000 }));
  assert.equal(d3.push({ payload: noTables, marker: true, sequenceNumber: 100, timestamp: 6000 }).length, 1);
  // One in-band table (length 64), as ffmpeg sends when its JPEG has one DQT table: chroma uses it too.
  const oneTable = Buffer.concat([
    first.subarray(0, 8),
    Buffer.from([0, 0, 0, 64]),
    Buffer.alloc(64, 7),
    Buffer.from([0x55]),
  ]);
  const d4 = new MjpegDepacketizer();
  const [frame] = d4.push({ payload: oneTable, marker: true, sequenceNumber: 1, timestamp: 0 });
  assert.ok(frame !== undefined, 'a frame with one quantization table is kept');
  const tables = parseJpeg(frame.payload!).quantTables;
  assert.deepEqual(tables.get(0)!.table, Buffer.alloc(64, 7));
  assert.deepEqual(tables.get(1)!.table, Buffer.alloc(64, 7));
});

test('random packets never throw (property)', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          payload: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
          marker: fc.boolean(),
          sequenceNumber: fc.nat(20),
          timestamp: fc.nat(3),
        }),
      ),
      (pkts) => {
        const d = new MjpegDepacketizer({ maxAccessUnitBytes: 1000 });
        for (const x of pkts)
          for (const a of d.push(x)) assert.deepEqual([...a.payload!.subarray(0, 2)], [0xff, 0xd8]);
        d.flush();
      },
    ),
  );
});
