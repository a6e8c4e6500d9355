import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nullLogger } from '../base/logger.js';
import type { UdpPair } from '../transport/udp.js';
import { ServerSession } from './session.js';

/** A UDP pair whose send queue is whatever the test says; sends go nowhere. */
function fakePair(queueBytes: { value: number }): UdpPair {
  return {
    get sendQueueBytes() {
      return queueBytes.value;
    },
    sendRtp: () => undefined,
    sendRtcp: () => undefined,
  } as unknown as UdpPair;
}

test('a UDP reader reports its RTP socket send queue as backlog (shared pair and own pair)', () => {
  const shared = { value: 0 };
  const own = { value: 0 };
  const s = new ServerSession('s1', '/p', { kind: 'live-reader' }, 2, undefined, nullLogger, 0, 0);
  s.setups[0] = {
    kind: 'udp',
    clientAddress: '127.0.0.1',
    clientRtpPort: 5000,
    clientRtcpPort: 5001,
    pair: fakePair(shared),
    ownsPair: false,
  };
  s.setups[1] = {
    kind: 'udp',
    clientAddress: '127.0.0.1',
    clientRtpPort: 5002,
    clientRtcpPort: 5003,
    pair: fakePair(own),
    ownsPair: true,
  };
  // Before PLAY's reply the backlog is what is held for the reader.
  shared.value = 1_000_000;
  assert.equal(s.backlogBytes, 0);
  s.openOutput();
  assert.equal(s.backlogBytes, 1_000_000);
  own.value = 5_000_000;
  assert.equal(s.backlogBytes, 5_000_000, 'the larger of the tracks’ queues');
  shared.value = 0;
  own.value = 0;
  assert.equal(s.backlogBytes, 0);
});

test('a TCP reader reports its connection backlog', () => {
  const sink = {
    writableLength: 7,
    write: () => undefined,
    writeTransient: () => true,
    writeInterleaved: () => undefined,
  };
  const s = new ServerSession('s2', '/p', { kind: 'live-reader' }, 1, sink, nullLogger, 0, 0);
  s.setups[0] = { kind: 'tcp', rtpChannel: 0, rtcpChannel: 1 };
  s.openOutput();
  assert.equal(s.backlogBytes, 7);
});
