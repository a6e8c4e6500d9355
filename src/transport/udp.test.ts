import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nullLogger } from '../base/logger.js';
import { UdpPair, bindUdpPair, normalizeAddress } from './udp.js';

test("a route is its owner's: another owner cannot take it; datagrams from the pair's own ports are dropped", async () => {
  const pair = await UdpPair.bind({ host: '127.0.0.1', rtpPort: 0, logger: nullLogger });
  try {
    const first = {};
    const got: string[] = [];
    assert.equal(
      pair.route('127.0.0.1', pair.rtpPort, () => got.push('first'), first),
      true,
    );
    assert.equal(
      pair.route('127.0.0.1', pair.rtpPort, () => got.push('second'), {}),
      false,
    );
    assert.equal(pair.routeOwner('::ffff:127.0.0.1', pair.rtpPort), first);
    // A session whose client_port named the server's RTCP port: the RTCP socket sends to the RTP one.
    pair.route('127.0.0.1', pair.rtcpPort, () => got.push('rtcp'), first);
    // The server sending to its own port (a client_port that named it): never a sign of life.
    for (let i = 0; i < 3; i++) pair.sendRtcp(Buffer.from([0x80, 200, 0, 1]), pair.rtpPort, '127.0.0.1');
    const deadline = Date.now() + 3000;
    while (pair.ownDatagramsDropped < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(pair.ownDatagramsDropped, 3);
    assert.deepEqual(got, []);
  } finally {
    pair.close();
  }
});

test('bindUdpPair: an even RTP port and the next for RTCP; a given odd port is refused', async () => {
  const { rtp, rtcp } = await bindUdpPair('127.0.0.1');
  try {
    assert.equal(rtp.address().port % 2, 0);
    assert.equal(rtcp.address().port, rtp.address().port + 1);
    await assert.rejects(bindUdpPair('127.0.0.1', rtp.address().port + 1), /must be even|EADDRINUSE/);
  } finally {
    rtp.close();
    rtcp.close();
  }
});

test('normalizeAddress strips ::ffff: from IPv4-mapped dotted addresses only', () => {
  assert.equal(normalizeAddress('::ffff:127.0.0.1'), '127.0.0.1');
  assert.equal(normalizeAddress('::ffff:1:2'), '::ffff:1:2');
  assert.equal(normalizeAddress('::1'), '::1');
});
