// A reader's start report (what a PLAY reply's RTP-Info is made of): once per track, then the callback
// is let go (the stream's record of a reader keeps only what it needs while it plays).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serializeRtpPacket } from '../rtp/packet.js';
import { packetReader } from './stream-reader.js';
import { Stream, type ReaderStart } from './stream.js';

function packet(seq: number, timestamp: number): Buffer {
  return serializeRtpPacket({
    marker: true,
    payloadType: 8,
    sequenceNumber: seq,
    timestamp,
    ssrc: 0x22222222,
    csrcs: [],
    payload: Buffer.from([seq & 0xff]),
  });
}

test("onStart reports each track's first packet once; readerStarts keeps them after the callback is let go", () => {
  // PCMA and PCMU: no keyframes, so the reader starts with the next packet of each track.
  const stream = new Stream([
    { encodingName: 'PCMA', clockRate: 8000 },
    { encodingName: 'PCMU', clockRate: 8000 },
  ]);
  const firstSeqs: number[][] = [[], []];
  const reader = packetReader({
    tracks: [0, 1],
    backlogBytes: () => 0,
    rtp: (track, p) => firstSeqs[track]!.push(p.readUInt16BE(2)),
    ended: () => undefined,
  });
  const reported: [number, ReaderStart][] = [];
  stream.addReader(reader, (track, start) => reported.push([track, start]));
  for (let i = 0; i < 4; i++) {
    stream.ingestRtp(0, packet(10 + i, 160 * i));
    if (i > 0) stream.ingestRtp(1, packet(500 + i, 160 * i));
    stream.flushNow();
  }
  assert.deepEqual(
    reported.map(([track]) => track),
    [0, 1],
  );
  for (const [track, start] of reported) {
    assert.equal(start.seq, firstSeqs[track]![0], "the reader's own sequence number of its first packet");
    assert.deepEqual(stream.readerStarts(reader)[track], start);
  }
  assert.deepEqual(
    reported.map(([, start]) => start.rtptime),
    [0, 160],
  );
});
