// The optional sendmmsg add-on (packages/udp-batch) and UdpSendBatch over real sockets on loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { nullLogger } from '../base/logger.js';
import { UdpPair } from './udp.js';
import { UdpSendBatch, udpBatchCounters, udpSendPath } from './udp-batch.js';

function repoRoot(): string {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}
const addonDir = join(repoRoot(), 'packages', 'udp-batch');
const prebuilt = process.platform === 'linux' && process.arch === 'x64';

test('the linux-x64 prebuild was built from the committed C source (else: npm run build:native)', () => {
  const source = readFileSync(join(addonDir, 'src', 'udp-batch.c'));
  const record = JSON.parse(
    readFileSync(join(addonDir, 'prebuilds', 'linux-x64', 'udp-batch.node.json'), 'utf8'),
  ) as { sourceSha256: string; binarySha256: string };
  assert.equal(createHash('sha256').update(source).digest('hex'), record.sourceSha256, 'source changed');
  const binary = readFileSync(join(addonDir, 'prebuilds', 'linux-x64', 'udp-batch.node'));
  assert.equal(createHash('sha256').update(binary).digest('hex'), record.binarySha256, 'binary changed');
});

test('the add-on loads from its prebuild (linux-x64); off means dgram', { skip: !prebuilt }, () => {
  const path = udpSendPath('auto');
  assert.equal(path.path, 'sendmmsg', path.reason);
  assert.match(path.reason, /prebuilds\/linux-x64/);
  assert.deepEqual(udpSendPath('off'), { path: 'dgram', reason: 'udpBatchSend: off' });
});

interface Binding {
  sendBatch(...args: unknown[]): number;
}

test(
  'the binding checks every length against its arrays and sends nothing on a bad call',
  { skip: !prebuilt },
  () => {
    const { binding } = createRequire(import.meta.url)('@rtspkit/udp-batch') as { binding: Binding };
    const ok = {
      arena: Buffer.alloc(100),
      lengths: new Uint32Array([40, 60]),
      addresses: new Uint8Array(32),
      ports: new Uint16Array([9, 9]),
      errno: new Int32Array(1),
    };
    const call = (o: Partial<typeof ok>, count = 2, fd = 1_000_000, family = 4): number => {
      const a = { ...ok, ...o };
      return binding.sendBatch(fd, family, a.arena, a.lengths, a.addresses, a.ports, count, a.errno);
    };
    assert.throws(() => call({ lengths: new Uint32Array([40, 61]) }), RangeError); // past the arena
    assert.throws(() => call({}, 3), RangeError); // more than the arrays hold
    assert.throws(() => call({ addresses: new Uint8Array(31) }), RangeError);
    assert.throws(() => call({ lengths: new Uint32Array([0xffffffff, 1]) }), RangeError);
    assert.throws(() => call({}, 2, -1), TypeError);
    assert.throws(() => call({}, 2, 3, 5), TypeError);
    assert.throws(() => call({ ports: new Uint32Array([9, 9]) as unknown as typeof ok.ports }), TypeError);
    assert.throws(() => call({ errno: new Int32Array(0) }), TypeError);
    assert.throws(() => binding.sendBatch(), TypeError);
    // A descriptor that is no socket: nothing sent, the errno returned (EBADF).
    assert.equal(call({}), 0);
    assert.equal(ok.errno[0], 9);
  },
);

async function receiver(
  type: 'udp4' | 'udp6',
  host: string,
): Promise<{ socket: dgram.Socket; got: Buffer[] }> {
  const socket = dgram.createSocket(type);
  const got: Buffer[] = [];
  socket.on('message', (m) => got.push(m));
  await new Promise<void>((r) => socket.bind(0, host, r));
  return { socket, got };
}

async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > deadline) assert.fail(what);
    await new Promise((r) => setTimeout(r, 10));
  }
}

for (const [type, host] of [
  ['udp4', '127.0.0.1'],
  ['udp6', '::1'],
] as const) {
  test(
    `UdpSendBatch delivers in order over ${type}, past one arena, and sends a refused datagram through dgram`,
    {
      skip: !prebuilt,
    },
    async () => {
      const sender = dgram.createSocket(type);
      const errors: Error[] = [];
      sender.on('error', (err) => errors.push(err));
      await new Promise<void>((r) => sender.bind(0, host, r));
      // Ten readers, so that what one turn sends fits in their default receive buffers (this process reads
      // them only once the turn is over).
      const readers = await Promise.all(Array.from({ length: 10 }, () => receiver(type, host)));
      try {
        const batch = UdpSendBatch.for(sender, 'auto');
        assert.ok(batch !== undefined);
        const ports = readers.map((r) => r.socket.address().port);
        const before = udpBatchCounters.sent;
        // 1100 datagrams of 500 bytes: more than one arena (512 KB) and one batch (1024 datagrams).
        const N = 1100;
        for (let i = 0; i < N; i++) {
          const packet = Buffer.alloc(500, i & 0xff);
          packet.writeUInt32BE(i, 0);
          assert.equal(batch.add(packet, ports[i % 10]!, host), true);
        }
        // A refused one in the middle of a batch (IPv4 broadcast without SO_BROADCAST: EACCES): dgram tries
        // it (an error without a send callback goes unreported, as before), the datagrams after it still go in the batch.
        assert.equal(batch.add(Buffer.from('port 0'), 0, host), false);
        batch.add(Buffer.from('x'), ports[0]!, host);
        if (type === 'udp4') batch.add(Buffer.from('refused'), ports[0]!, '255.255.255.255');
        batch.add(Buffer.from('after'), ports[1]!, host);
        const refused = udpBatchCounters.viaDgram.refused;
        await until(
          () => readers.every((r, i) => r.got.length === N / 10 + (i < 2 ? 1 : 0)),
          'every datagram read',
        );
        assert.equal(udpBatchCounters.viaDgram.refused, refused + (type === 'udp4' ? 1 : 0));
        assert.deepEqual(errors, []);
        assert.ok(udpBatchCounters.sent - before >= N + 2);
        readers.forEach((r, k) => {
          const order = r.got.slice(0, N / 10).map((m) => m.readUInt32BE(0));
          assert.deepEqual(
            order,
            Array.from({ length: N / 10 }, (_, i) => 10 * i + k),
          );
        });
        assert.equal(readers[0]!.got[N / 10]!.toString(), 'x');
        assert.equal(readers[1]!.got[N / 10]!.toString(), 'after');
        assert.equal(readers[3]!.got[7]!.length, 500);
        assert.equal(readers[3]!.got[7]![499], 73);
      } finally {
        sender.close();
        for (const r of readers) r.socket.close();
      }
    },
  );
}

test('a UdpPair with udpBatchSend off (or no add-on) sends through dgram; auto batches where it loads', async () => {
  const off = await UdpPair.bind({ host: '127.0.0.1', rtpPort: 0, logger: nullLogger, batchSend: 'off' });
  const auto = await UdpPair.bind({ host: '127.0.0.1', rtpPort: 0, logger: nullLogger });
  const r = await receiver('udp4', '127.0.0.1');
  try {
    assert.equal(off.batchesSends, false);
    assert.equal(auto.batchesSends, prebuilt);
    const port = r.socket.address().port;
    const packet = Buffer.from('rtp');
    assert.equal(off.sendRtpTransient(packet, port, '127.0.0.1'), true);
    assert.equal(auto.sendRtpTransient(packet, port, '127.0.0.1'), true);
    packet.write('xxx'); // the batch copied it: what it sends is what it was given
    await until(() => r.got.length === 2, 'both datagrams');
    assert.deepEqual(
      r.got.map((m) => m.toString()),
      ['rtp', 'rtp'],
    );
  } finally {
    off.close();
    auto.close();
    r.socket.close();
  }
});

test(
  'a socket closed under a pending batch: its datagrams are dropped and counted, nothing throws',
  {
    skip: !prebuilt,
  },
  async () => {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    const batch = UdpSendBatch.for(socket, 'auto');
    assert.ok(batch !== undefined);
    const before = udpBatchCounters.closedDropped;
    assert.equal(batch.add(Buffer.from('x'), 9, '127.0.0.1'), true);
    socket.close();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(udpBatchCounters.closedDropped, before + 1);
    batch.close();
    assert.equal(batch.add(Buffer.from('x'), 9, '127.0.0.1'), false);
  },
);
