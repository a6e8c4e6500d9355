import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { ParseError } from '../base/errors.js';
import {
  adtsToAudioSpecificConfig,
  buildAdtsHeader,
  buildAudioSpecificConfig,
  parseAdtsHeader,
  parseAudioSpecificConfig,
  splitAdts,
} from './aac.js';

test('AudioSpecificConfig: AAC-LC 48 kHz stereo is 1190', () => {
  const asc = buildAudioSpecificConfig({ objectType: 2, sampleRate: 48000, channelConfiguration: 2 });
  assert.equal(asc.toString('hex'), '1190');
  assert.deepEqual(parseAudioSpecificConfig(asc), {
    objectType: 2,
    sampleRate: 48000,
    channelConfiguration: 2,
    channels: 2,
    frameLength: 1024,
  });
  // 44.1 kHz mono, 960-sample frames.
  const c = parseAudioSpecificConfig(Buffer.from('120c', 'hex'));
  assert.deepEqual([c.sampleRate, c.channels, c.frameLength], [44100, 1, 960]);
});

test('AudioSpecificConfig: escape object type, explicit rate, explicit SBR', () => {
  const escaped = buildAudioSpecificConfig({ objectType: 42, sampleRate: 37800, channelConfiguration: 1 });
  const p = parseAudioSpecificConfig(escaped);
  assert.deepEqual([p.objectType, p.sampleRate, p.channelConfiguration], [42, 37800, 1]);
  // HE-AAC with explicit SBR signalling: type 5, 24 kHz core, 48 kHz extension, then LC.
  const he = parseAudioSpecificConfig(Buffer.from('2b118800', 'hex'));
  assert.deepEqual([he.sbr, he.objectType, he.sampleRate, he.extensionSampleRate], [true, 2, 24000, 48000]);
  assert.throws(() => parseAudioSpecificConfig(Buffer.from('11', 'hex')), ParseError);
  assert.throws(() => parseAudioSpecificConfig(Buffer.from('16', 'hex')), ParseError, 'reserved index 13');
});

test('AudioSpecificConfig round-trips (property)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 95 }).filter((t) => t !== 5 && t !== 29 && t !== 31),
      fc.oneof(
        fc.constantFrom(96000, 48000, 44100, 22050, 8000, 7350),
        fc.integer({ min: 1, max: 0xffffff }),
      ),
      fc.integer({ min: 0, max: 15 }),
      (objectType, sampleRate, channelConfiguration) => {
        const p = parseAudioSpecificConfig(
          buildAudioSpecificConfig({ objectType, sampleRate, channelConfiguration }),
        );
        assert.deepEqual(
          [p.objectType, p.sampleRate, p.channelConfiguration],
          [objectType, sampleRate, channelConfiguration],
        );
      },
    ),
  );
});

test('ADTS: the shared .aac file is AAC-LC 48 kHz stereo, 1024-sample frames', () => {
  const { frames, rest } = splitAdts(readFileSync('/work/shared/media/aac.aac'));
  assert.equal(rest.length, 0);
  assert.ok(frames.length > 400 && frames.length < 500, `${frames.length} frames for 10 s`);
  for (const f of frames) {
    assert.equal(f.header.sampleRate, 48000);
    assert.equal(f.header.channelConfiguration, 2);
    assert.equal(f.header.objectType, 2);
    assert.equal(f.header.rawDataBlocks, 1);
  }
  assert.equal(adtsToAudioSpecificConfig(frames[0]!.header).toString('hex'), '1190');
});

test('ADTS header build/parse round-trip and resync over garbage', () => {
  const payload = Buffer.alloc(300, 7);
  const h = buildAdtsHeader({ objectType: 2, sampleRate: 44100, channelConfiguration: 1 }, payload.length);
  const parsed = parseAdtsHeader(h);
  assert.deepEqual(
    [parsed.frameLength, parsed.sampleRate, parsed.channelConfiguration, parsed.headerLength],
    [307, 44100, 1, 7],
  );
  const stream = Buffer.concat([Buffer.from([1, 2, 0xff]), h, payload, h, payload.subarray(0, 10)]);
  const { frames, rest } = splitAdts(stream);
  assert.equal(frames.length, 1);
  assert.deepEqual(frames[0]!.payload, payload);
  assert.equal(rest.length, 17);
  assert.throws(() => parseAdtsHeader(Buffer.alloc(7)), ParseError);
  assert.throws(
    () => buildAdtsHeader({ objectType: 2, sampleRate: 44100, channelConfiguration: 2 }, 9000),
    RangeError,
  );
});
