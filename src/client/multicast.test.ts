import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTransport, serializeTransport } from '../rtsp/transport.js';
import { RtspClientError } from './errors.js';
import {
  checkPreference,
  isIpv4Multicast,
  multicastPlaceOf,
  multicastRequest,
  placeKey,
} from './multicast.js';

const URL = 'rtsp://cam/s/trackID=0';
const place = (reply: string, taken: ReadonlySet<string> = new Set()) =>
  multicastPlaceOf(parseTransport(reply)[0], URL, taken);

test('multicastRequest: RTP/AVP;multicast, with the preferred group and port per track', () => {
  assert.equal(serializeTransport(multicastRequest(undefined, 0)), 'RTP/AVP;multicast');
  assert.equal(
    serializeTransport(multicastRequest({ destination: '239.1.2.3', port: 5000 }, 1)),
    'RTP/AVP;multicast;destination=239.1.2.3;port=5002-5003',
  );
  assert.throws(() => checkPreference({ destination: '10.0.0.1' }), /not in 224\.0\.0\.0\/4/);
  assert.throws(() => checkPreference({ port: 5001 }), /not an even port/);
  checkPreference({ destination: '224.0.0.251', port: 5004 });
});

test('isIpv4Multicast: 224.0.0.0/4 only', () => {
  for (const a of ['224.0.0.1', '239.255.255.255', '230.1.2.3']) assert.ok(isIpv4Multicast(a), a);
  for (const a of ['223.255.255.255', '240.0.0.1', '127.0.0.1', 'ff02::1', '239.1.2', 'x'])
    assert.ok(!isIpv4Multicast(a), a);
});

test('multicastPlaceOf: the reply group, port pair and ttl', () => {
  assert.deepEqual(place('RTP/AVP;multicast;destination=239.255.0.1;port=8002-8003;ttl=16;ssrc=0000ABCD'), {
    group: '239.255.0.1',
    rtpPort: 8002,
    rtcpPort: 8003,
    ttl: 16,
  });
  assert.deepEqual(place('RTP/AVP;multicast;destination=239.255.0.1;port=8002'), {
    group: '239.255.0.1',
    rtpPort: 8002,
    rtcpPort: 8003,
    ttl: 1,
  });
});

test('multicastPlaceOf: a reply that is not a usable group is refused with BAD_TRANSPORT', () => {
  const refused = [
    ['RTP/AVP;unicast;client_port=5000-5001;server_port=6000-6001', /answered unicast UDP/],
    ['RTP/AVP/TCP;interleaved=0-1', /answered unicast TCP/],
    ['RTP/AVP;multicast;port=8002-8003', /no destination/],
    ['RTP/AVP;multicast;destination;port=8002-8003', /no destination/],
    ['RTP/AVP;multicast;destination=192.168.1.10;port=8002-8003', /not an IPv4 multicast address/],
    ['RTP/AVP;multicast;destination=ff02::1;port=8002-8003', /not an IPv4 multicast address/],
    ['RTP/AVP;multicast;destination=239.0.0.1', /no port pair/],
    ['RTP/AVP;multicast;destination=239.0.0.1;port=0-1', /not a usable pair/],
    ['RTP/AVP;multicast;destination=239.0.0.1;port=65535', /not a usable pair/],
    ['RTP/AVP;multicast;destination=239.0.0.1;port=9000-9000', /not a usable pair/],
  ] as const;
  for (const [reply, why] of refused) {
    assert.throws(
      () => place(reply),
      (e: unknown) => e instanceof RtspClientError && e.code === 'BAD_TRANSPORT' && why.test(e.message),
      reply,
    );
  }
  assert.throws(() => multicastPlaceOf(undefined, URL, new Set()), /no readable Transport/);
  // Another track's place in the same group.
  const taken = new Set([placeKey('239.0.0.1', 8002), placeKey('239.0.0.1', 8003)]);
  assert.throws(
    () => place('RTP/AVP;multicast;destination=239.0.0.1;port=8003-8004', taken),
    /another track's/,
  );
  assert.equal(place('RTP/AVP;multicast;destination=239.0.0.2;port=8002-8003', taken).group, '239.0.0.2');
});
