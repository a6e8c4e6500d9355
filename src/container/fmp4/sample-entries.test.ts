import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError } from '../../base/errors.js';
import { avc1Entry, initSegment, mp4aEntry, opusEntry } from './boxes.js';
import { readInitSampleEntries } from './sample-entries.js';

test('the sample entries of an init segment, by track, byte for byte', () => {
  const avc = avc1Entry(640, 360, Buffer.from('0142c01effe1000a6742c01eda0280bfe5c001000468ce3c80', 'hex'));
  const aac = mp4aEntry(2, 48000, Buffer.from('1190', 'hex'));
  const opus = opusEntry(2);
  const init = initSegment([
    { trackId: 1, handler: 'vide', timescale: 90000, sampleEntry: avc, width: 640, height: 360 },
    { trackId: 7, handler: 'soun', timescale: 48000, sampleEntry: aac },
    { trackId: 3, handler: 'soun', timescale: 48000, sampleEntry: opus },
  ]);
  const entries = readInitSampleEntries(init);
  assert.deepEqual([...entries.keys()], [1, 7, 3]);
  assert.deepEqual(entries.get(1), avc);
  assert.deepEqual(entries.get(7), aac);
  assert.deepEqual(entries.get(3), opus);
  // Copies, not views into the init segment.
  init.fill(0);
  assert.equal(entries.get(1)!.toString('latin1', 4, 8), 'avc1');
});

test('an init segment without moov, or cut inside it, is a ParseError', () => {
  const init = initSegment([
    {
      trackId: 1,
      handler: 'soun',
      timescale: 48000,
      sampleEntry: mp4aEntry(2, 48000, Buffer.from('1190', 'hex')),
    },
  ]);
  assert.throws(() => readInitSampleEntries(init.subarray(0, 24)), ParseError);
  assert.throws(() => readInitSampleEntries(init.subarray(0, init.length - 10)), ParseError);
});
