import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ParseError } from '../base/errors.js';
import { parseTransport, serializeTransport } from './transport.js';
import type { TransportSpec } from './transport.js';

function throwsCode(fn: () => unknown, code = 'RTSP_BAD_TRANSPORT'): void {
  assert.throws(fn, (e: unknown) => e instanceof ParseError && e.code === code);
}

test('ffmpeg publish over TCP', () => {
  assert.deepEqual(parseTransport('RTP/AVP/TCP;unicast;interleaved=0-1;mode=record'), [
    {
      protocol: 'RTP',
      profile: 'AVP',
      lowerTransport: 'TCP',
      lowerTransportExplicit: true,
      delivery: 'unicast',
      interleaved: { rtp: 0, rtcp: 1 },
      mode: 'RECORD',
      extra: [],
    },
  ]);
});

test('GStreamer UDP with quoted mode; the lower transport defaults to UDP and is marked implicit', () => {
  const [spec] = parseTransport('RTP/AVP;unicast;client_port=5000-5001;mode="PLAY"');
  assert.deepEqual(spec, {
    protocol: 'RTP',
    profile: 'AVP',
    lowerTransport: 'UDP',
    lowerTransportExplicit: false,
    delivery: 'unicast',
    clientPort: { rtp: 5000, rtcp: 5001 },
    mode: 'PLAY',
    extra: [],
  });
  // The reply echoes the form asked for.
  assert.equal(
    serializeTransport({ ...spec, serverPort: { rtp: 8000, rtcp: 8001 } }),
    'RTP/AVP;unicast;client_port=5000-5001;server_port=8000-8001;mode=PLAY',
  );
});

test('RFC 2326 §12.39 example: two alternatives, multicast with ttl', () => {
  const specs = parseTransport(
    'RTP/AVP;multicast;ttl=127;mode="PLAY",\r\n RTP/AVP;unicast;client_port=3456-3457;mode="PLAY"'.replace(
      '\r\n',
      '',
    ),
  );
  assert.equal(specs.length, 2);
  assert.equal(specs[0]!.delivery, 'multicast');
  assert.equal(specs[0]!.ttl, 127);
  assert.deepEqual(specs[1]!.clientPort, { rtp: 3456, rtcp: 3457 });
});

test('RFC 2326 §14.1/§10.4 replies with folded parameters', () => {
  const [spec] = parseTransport('RTP/AVP;unicast; client_port=4588-4589;server_port=6256-6257');
  assert.deepEqual(spec!.clientPort, { rtp: 4588, rtcp: 4589 });
  assert.deepEqual(spec!.serverPort, { rtp: 6256, rtcp: 6257 });
});

test('single ports and channels, explicit UDP, SAVP/AVPF/SAVPF profiles, lower case', () => {
  const [a] = parseTransport('RTP/AVP/UDP;unicast;client_port=5000');
  assert.deepEqual(a!.clientPort, { rtp: 5000 });
  assert.equal(a!.lowerTransport, 'UDP');
  assert.equal(a!.lowerTransportExplicit, true);
  assert.equal(serializeTransport(a!), 'RTP/AVP/UDP;unicast;client_port=5000');

  const [b] = parseTransport('rtp/avp/tcp;interleaved=4');
  assert.deepEqual(b!.interleaved, { rtp: 4 });
  assert.equal(b!.lowerTransport, 'TCP');

  assert.deepEqual(
    ['RTP/SAVP', 'RTP/AVPF', 'RTP/SAVPF/TCP'].map((t) => parseTransport(t)[0]!.profile),
    ['SAVP', 'AVPF', 'SAVPF'],
  );
});

test('QuickTime: TCP without interleaved', () => {
  const [spec] = parseTransport('RTP/AVP/TCP;unicast');
  assert.equal(spec!.interleaved, undefined);
  assert.equal(spec!.lowerTransport, 'TCP');
});

test('mode in any case, quoted or not; receive; a quoted list', () => {
  assert.equal(parseTransport('RTP/AVP;mode=record')[0]!.mode, 'RECORD');
  assert.equal(parseTransport('RTP/AVP;MODE="Receive"')[0]!.mode, 'RECEIVE');
  assert.equal(parseTransport('RTP/AVP;mode="PLAY,RECORD"')[0]!.mode, 'PLAY,RECORD');
  assert.equal(
    serializeTransport(parseTransport('RTP/AVP;mode="PLAY,RECORD"')),
    'RTP/AVP;mode="PLAY,RECORD"',
  );
});

test('destination, source, layers, port, ssrc (8 hex digits or fewer), append, unknown parameters', () => {
  const [spec] = parseTransport(
    'RTP/AVP;multicast;destination=224.2.0.1;source=10.0.0.1;port=3456-3457;layers=2;ttl=16;' +
      'ssrc=0A0B0C0D;append;x-dynamic-rate=1;x-flag',
  );
  assert.deepEqual(spec, {
    protocol: 'RTP',
    profile: 'AVP',
    lowerTransport: 'UDP',
    lowerTransportExplicit: false,
    delivery: 'multicast',
    destination: '224.2.0.1',
    source: '10.0.0.1',
    port: { rtp: 3456, rtcp: 3457 },
    layers: 2,
    ttl: 16,
    ssrc: 0x0a0b0c0d,
    append: true,
    extra: [
      ['x-dynamic-rate', '1'],
      ['x-flag', undefined],
    ],
  });
  assert.equal(parseTransport('RTP/AVP;ssrc=beef')[0]!.ssrc, 0xbeef);
  assert.equal(parseTransport('RTP/AVP;destination')[0]!.destination, '');
  assert.equal(
    serializeTransport(spec),
    'RTP/AVP;multicast;destination=224.2.0.1;source=10.0.0.1;append;ttl=16;layers=2;port=3456-3457;' +
      'ssrc=0A0B0C0D;x-dynamic-rate=1;x-flag',
  );
  assert.equal(serializeTransport({ ...spec, ssrc: 0x12, extra: [] }).match(/ssrc=(\w+)/)![1], '00000012');
});

test('the server reply shape: RTP/AVP/TCP with interleaved and ssrc', () => {
  const reply: TransportSpec = {
    protocol: 'RTP',
    profile: 'AVP',
    lowerTransport: 'TCP',
    lowerTransportExplicit: true,
    delivery: 'unicast',
    interleaved: { rtp: 2, rtcp: 3 },
    ssrc: 0xdeadbeef,
    extra: [],
  };
  assert.equal(serializeTransport(reply), 'RTP/AVP/TCP;unicast;interleaved=2-3;ssrc=DEADBEEF');
  // TCP is never the default: even if marked implicit it is written.
  assert.equal(
    serializeTransport({ ...reply, lowerTransportExplicit: false }),
    'RTP/AVP/TCP;unicast;interleaved=2-3;ssrc=DEADBEEF',
  );
});

test('RealPlayer style alternatives with other protocols parse', () => {
  const specs = parseTransport(
    'x-real-rdt/mcast;client_port=6970;mode=play,x-pn-tng/tcp;mode=play,rtp/avp/udp;unicast;client_port=6970-6971;mode=play',
  );
  assert.deepEqual(
    specs.map((s) => `${s.protocol}/${s.profile}`),
    ['X-REAL-RDT/MCAST', 'X-PN-TNG/TCP', 'RTP/AVP'],
  );
});

test('malformed values', () => {
  throwsCode(() => parseTransport(''));
  throwsCode(() => parseTransport('RTP'));
  throwsCode(() => parseTransport('RTP/AVP/SCTP'));
  throwsCode(() => parseTransport('RTP/AVP/TCP/X'));
  throwsCode(() => parseTransport('RTP/AVP;client_port=70000'));
  throwsCode(() => parseTransport('RTP/AVP;client_port=5000-'));
  throwsCode(() => parseTransport('RTP/AVP;client_port'));
  throwsCode(() => parseTransport('RTP/AVP/TCP;interleaved=256-257'));
  throwsCode(() => parseTransport('RTP/AVP;ttl=-1'));
  throwsCode(() => parseTransport('RTP/AVP;ssrc=123456789'));
  throwsCode(() => parseTransport('RTP/AVP;ssrc=xyz'));
  throwsCode(() => parseTransport('RTP/AVP;mode="PLAY'));
  throwsCode(() => parseTransport('RTP/AVP;mode=""'));
  throwsCode(() => parseTransport('RTP/AVP;bad name=1'));
});

test('serializeTransport refuses values it cannot write', () => {
  const base: TransportSpec = {
    protocol: 'RTP',
    profile: 'AVP',
    lowerTransport: 'UDP',
    lowerTransportExplicit: false,
    extra: [],
  };
  assert.throws(() => serializeTransport({ ...base, clientPort: { rtp: 70000 } }), RangeError);
  assert.throws(() => serializeTransport({ ...base, destination: 'a;b' }), RangeError);
  assert.throws(() => serializeTransport({ ...base, extra: [['x', 'a,b']] }), RangeError);
  assert.throws(() => serializeTransport({ ...base, mode: 'PL AY' }), RangeError);
});

const pairArb = (max: number) =>
  fc.record(
    { rtp: fc.integer({ min: 0, max }), rtcp: fc.integer({ min: 0, max }) },
    { requiredKeys: ['rtp'], noNullPrototype: true },
  );

const specArb: fc.Arbitrary<TransportSpec> = fc
  .record(
    {
      protocol: fc.constantFrom('RTP', 'X-REAL-RDT'),
      profile: fc.constantFrom('AVP', 'SAVP', 'AVPF', 'SAVPF'),
      lower: fc.constantFrom('UDP', 'TCP', undefined),
      delivery: fc.constantFrom('unicast' as const, 'multicast' as const),
      destination: fc.constantFrom('', '224.2.0.1', '::1'),
      source: fc.constantFrom('10.0.0.1', 'example.com'),
      ttl: fc.integer({ min: 0, max: 255 }),
      layers: fc.integer({ min: 0, max: 0xffff }),
      port: pairArb(0xffff),
      clientPort: pairArb(0xffff),
      serverPort: pairArb(0xffff),
      interleaved: pairArb(255),
      ssrc: fc.integer({ min: 0, max: 0xffffffff }),
      mode: fc.constantFrom('PLAY', 'RECORD', 'RECEIVE', 'PLAY,RECORD'),
      append: fc.constant(true),
      extra: fc.array(
        fc.tuple(
          fc.stringMatching(/^x-[a-z]{1,6}$/),
          fc.option(fc.stringMatching(/^[a-z0-9]{1,6}$/), { nil: undefined }),
        ),
        { maxLength: 2 },
      ),
    },
    { requiredKeys: ['protocol', 'profile', 'lower', 'extra'], noNullPrototype: true },
  )
  .map(({ lower, ...rest }) => ({
    ...rest,
    lowerTransport: lower ?? 'UDP',
    lowerTransportExplicit: lower !== undefined,
  }));

test('property: parseTransport(serializeTransport(specs)) gives the specs back', () => {
  fc.assert(
    fc.property(fc.array(specArb, { minLength: 1, maxLength: 3 }), (specs) => {
      assert.deepEqual(parseTransport(serializeTransport(specs)), specs);
    }),
  );
});

test('property: parseTransport throws only ParseError', () => {
  const chars = fc.constantFrom(
    ...'RTP/AVP/TCP;,=-"\\ 0123456789abcdefmodeclient_portinterleavedssrc'.split(''),
  );
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.string({ unit: chars, maxLength: 60 })), (s) => {
      try {
        parseTransport(s);
      } catch (e) {
        assert.ok(e instanceof ParseError, String(e));
      }
    }),
    { numRuns: 500 },
  );
});
