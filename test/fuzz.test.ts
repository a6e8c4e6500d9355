// A short run of `npm run fuzz` (the long one is a separate script), and a check that the fuzzer covers
// every exported parser of the folders that read untrusted input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fuzzParsers } from './fuzz/parsers.js';
import { fuzzMedia } from './fuzz/media.js';
import { fuzzServer } from './fuzz/socket.js';

const FOLDERS = ['rtsp', 'sdp', 'rtp', 'auth', 'format', 'codec', 'flv'];
/** Exported readers of these folders that are not fed untrusted input, with the reason. */
const NOT_FUZZED: Record<string, string> = {
  'format/common.checkMaxPayload': 'checks a packetizer option given by our own code',
};

test('every parser survives generated and mutated input; every exported parser and depacketizer is fuzzed', async () => {
  const results = fuzzParsers(300);
  const covered = new Set(results.flatMap((r) => r.covers));
  const src = join(import.meta.dirname, '..', 'src');
  const missing: string[] = [];
  for (const folder of FOLDERS) {
    for (const file of readdirSync(join(src, folder))) {
      if (!file.endsWith('.js') || file.includes('.test.') || file === 'index.js') continue;
      const mod = (await import(join(src, folder, file))) as Record<string, unknown>;
      for (const [name, value] of Object.entries(mod)) {
        if (typeof value !== 'function') continue;
        const reader = /^(parse|decode|read|check)[A-Z]/.test(name);
        const depacketizer = /Depacketizer$/.test(name) && name !== 'createDepacketizer';
        const key = `${folder}/${file.replace(/\.js$/, '')}.${name}`;
        if ((reader || depacketizer) && !covered.has(value) && NOT_FUZZED[key] === undefined)
          missing.push(key);
      }
    }
  }
  assert.deepEqual(missing, [], 'exported parsers the fuzzer does not reach');
});

test('the server survives socket fuzzing, still answers, and its heap stays bounded', async () => {
  const r = await fuzzServer(3, 4);
  assert.ok(r.messagesSent > 100, `${r.messagesSent} messages sent`);
  assert.ok(r.stillAnswers, 'OPTIONS and DESCRIBE answered after fuzzing');
  assert.ok(
    r.heapAfterBytes - r.heapBeforeBytes < 16 * 1024 * 1024,
    `heap ${r.heapBeforeBytes} -> ${r.heapAfterBytes}`,
  );
});

test('mutated RTP (timestamps, sequence numbers, SSRCs, payloads) with an HLS reader and an fMP4 sink: the server survives', async () => {
  const r = await fuzzMedia(2, 20_000);
  assert.ok(r.packetsSent > 1000, `${r.packetsSent} packets sent`);
  assert.ok(r.sinkUnitsMuxed > 0, 'the fMP4 sink muxed access units');
  assert.deepEqual(r.sinkExceptions, [], 'the fMP4 muxer throws nothing but ParseError');
  assert.ok(r.stillAnswers, 'OPTIONS, DESCRIBE and HLS answered after fuzzing');
  assert.ok(
    r.heapAfterBytes - r.heapBeforeBytes < 16 * 1024 * 1024,
    `heap ${r.heapBeforeBytes} -> ${r.heapAfterBytes}`,
  );
});
