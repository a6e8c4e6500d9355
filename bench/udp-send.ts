// The floor of UDP fan-out in Node: how much CPU a Node process spends handing datagrams to the kernel in
// the shape rtspkit's streams send them (per flush, for each reader, each packet: its own 12-byte header
// and the payload every reader shares), with only node:dgram and nothing of rtspkit's.
//
//   node dist/bench/udp-send.js [--readers 500] [--seconds 5] [--rounds 2] [--packets-per-s 120]
//                               [--payload-bytes 1000] [--modes gather,single,connected,handle]
//                               [--addon FILE --modes ...,mmsg] [--modes single,batch]
//
// A child process binds --readers sockets on 127.0.0.1 and reads them (as the bench readers do, so that
// the kernel's receive path is what it is in bench:fanout). This process then sends --packets-per-s
// datagrams per second to each of them, a flush every 1/30 s, in each mode for --seconds, the modes
// alternated --rounds times in the same run (the machine may be shared: compare modes within one run):
//
//   gather     socket.send([header, payload], port, address) on one unconnected socket (rtspkit before)
//   single     socket.send(packet, port, address): one buffer with the header patched in place
//   connected  one socket per reader, bound to the same port (reuseAddr) and connect()ed: send(packet)
//   handle     as single, through Node's private UDP handle (process.binding('udp_wrap')): what dgram's
//              JS layer costs per send; for measurement only (not a public API, may change in any release)
//   mmsg       one sendmmsg(2) per flush for every reader's datagrams, through the prototype add-on given with
//              --addon FILE (bench/native/udp-batch.c: the syscall alone, no JS per datagram)
//   batch      as single, through rtspkit's UdpSendBatch (src/transport/udp-batch.ts) and the optional add-on
//              @rtspkit/udp-batch: each datagram copied into the arena, one sendmmsg per flush (what
//              udpBatchSend: auto does)
//
// Prints, per mode: CPU % of one core (utime+stime over wall time) and µs of CPU per datagram (user-space
// and kernel), and the
// datagrams the readers counted (a loss means the kernel dropped them on full receive buffers).
import dgram from 'node:dgram';
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import { UdpSendBatch, udpSendPath } from '../src/transport/udp-batch.js';

type Mode = 'gather' | 'single' | 'connected' | 'handle' | 'mmsg' | 'batch';
const MODES: readonly Mode[] = ['gather', 'single', 'connected', 'handle', 'mmsg', 'batch'];
const HOST = '127.0.0.1';
const FLUSH_HZ = 30;

interface Options {
  readers: number;
  seconds: number;
  rounds: number;
  packetsPerS: number;
  payloadBytes: number;
  modes: Mode[];
  addon: string | undefined;
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    readers: 500,
    seconds: 5,
    rounds: 2,
    packetsPerS: 120,
    payloadBytes: 1000,
    modes: ['gather', 'single', 'connected', 'handle'],
    addon: undefined,
  };
  for (let i = 0; i < argv.length; i += 2) {
    const a = argv[i];
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`missing value after ${a}`);
    if (a === '--readers') o.readers = Number(v);
    else if (a === '--seconds') o.seconds = Number(v);
    else if (a === '--rounds') o.rounds = Number(v);
    else if (a === '--packets-per-s') o.packetsPerS = Number(v);
    else if (a === '--payload-bytes') o.payloadBytes = Number(v);
    else if (a === '--addon') o.addon = v;
    else if (a === '--modes') {
      const modes = v.split(',');
      if (modes.some((m) => !MODES.includes(m as Mode))) throw new Error(`--modes: ${MODES.join(', ')}`);
      o.modes = modes as Mode[];
    } else throw new Error(`unknown argument ${a}`);
  }
  if (o.modes.includes('mmsg') && o.addon === undefined) throw new Error('--modes mmsg needs --addon FILE');
  return o;
}

/** The add-on of the `mmsg` mode: datagram i is lengths[i] bytes of the arena, to 127.0.0.1:ports[i]. */
interface BatchAddon {
  sendBatch(
    fd: number,
    arena: Buffer,
    lengths: Uint32Array,
    ports: Uint32Array,
    ipv4: number,
    count: number,
  ): number;
}

/** The child: binds `count` sockets, reads them, answers "count" with the datagrams read so far. */
function receiver(count: number): void {
  let datagrams = 0;
  const ports: number[] = [];
  let bound = 0;
  for (let i = 0; i < count; i++) {
    const s = dgram.createSocket('udp4');
    s.on('message', () => datagrams++);
    s.bind(0, HOST, () => {
      ports[i] = s.address().port;
      if (++bound === count) process.send?.({ ports });
    });
  }
  process.on('message', (m) => {
    if (m === 'count') process.send?.({ datagrams });
    else if (m === 'exit') process.exit(0);
  });
}

function immediateLookup(
  address: string,
  _family: unknown,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  callback(null, address, isIP(address));
}

function ask<T>(child: ChildProcess, message: string): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as T));
    child.send(message);
  });
}

/** Node's private UDP handle of a dgram socket and its send request class (see the `handle` mode). */
interface PrivateUdp {
  handle: {
    send(
      req: object,
      list: Buffer[],
      count: number,
      port: number,
      address: string,
      callback: boolean,
    ): number;
    readonly fd: number;
  };
  SendWrap: new () => { list?: Buffer[] };
}

function privateUdp(s: dgram.Socket): PrivateUdp {
  const sym = Object.getOwnPropertySymbols(s).find((x) => x.description === 'state symbol');
  const state = (s as unknown as Record<symbol, { handle: PrivateUdp['handle'] }>)[sym!]!;
  const binding = (
    process as unknown as { binding(name: string): { SendWrap: PrivateUdp['SendWrap'] } }
  ).binding('udp_wrap');
  return { handle: state.handle, SendWrap: binding.SendWrap };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function bindShared(): Promise<dgram.Socket> {
  const s = dgram.createSocket({ type: 'udp4', reuseAddr: true, lookup: immediateLookup });
  await new Promise<void>((r) => s.bind(0, HOST, r));
  return s;
}

async function connectedSockets(port: number, readerPorts: readonly number[]): Promise<dgram.Socket[]> {
  const out: dgram.Socket[] = [];
  for (const p of readerPorts) {
    const s = dgram.createSocket({ type: 'udp4', reuseAddr: true, lookup: immediateLookup });
    await new Promise<void>((r) => s.bind(port, HOST, r));
    await new Promise<void>((r) => s.connect(p, HOST, r));
    out.push(s);
  }
  return out;
}

async function runMode(
  mode: Mode,
  o: Options,
  shared: dgram.Socket,
  connected: readonly dgram.Socket[],
  ports: readonly number[],
): Promise<{ cpuPct: number; usPerDatagram: number; userUsPerDatagram: number; sent: number }> {
  const perFlush = Math.max(1, Math.round(o.packetsPerS / FLUSH_HZ));
  const header = Buffer.alloc(12);
  header[0] = 0x80;
  header[1] = 96;
  const payload = Buffer.alloc(o.payloadBytes, 7);
  let packet = Buffer.concat([header, payload]);
  let seq = 0;
  let sent = 0;
  let queued = 0;
  const raw = mode === 'handle' || mode === 'mmsg' ? privateUdp(shared) : undefined;
  const addon = mode === 'mmsg' ? (createRequire(import.meta.url)(o.addon!) as BatchAddon) : undefined;
  const batch = mode === 'batch' ? UdpSendBatch.for(shared, 'auto') : undefined;
  if (mode === 'batch' && batch === undefined)
    throw new Error(`--modes batch: ${udpSendPath('auto').reason}`);
  const count = ports.length * perFlush;
  const arena = Buffer.alloc(count * packet.length);
  const lengths = new Uint32Array(count).fill(packet.length);
  const batchPorts = new Uint32Array(count);
  const flush = (): void => {
    if (addon !== undefined) {
      let at = 0;
      for (let r = 0; r < ports.length; r++) {
        for (let k = 0; k < perFlush; k++) {
          const i = r * perFlush + k;
          packet.copy(arena, at);
          arena.writeUInt16BE((seq + k) & 0xffff, at + 2);
          arena.writeUInt32BE(r, at + 8);
          batchPorts[i] = ports[r]!;
          at += packet.length;
        }
      }
      const done = addon.sendBatch(raw!.handle.fd, arena, lengths, batchPorts, 0x7f000001, count);
      queued += count - done;
      sent += count;
      seq += perFlush;
      return;
    }
    for (let r = 0; r < ports.length; r++) {
      for (let k = 0; k < perFlush; k++) {
        const s = (seq + k) & 0xffff;
        if (mode === 'gather') {
          header.writeUInt16BE(s, 2);
          header.writeUInt32BE(r, 8);
          shared.send([header, payload], ports[r], HOST);
          if (shared.getSendQueueCount() !== 0) queued++;
        } else if (raw !== undefined) {
          packet.writeUInt16BE(s, 2);
          packet.writeUInt32BE(r, 8);
          const req = new raw.SendWrap();
          const list = [packet];
          req.list = list;
          // >= 1: sent at once (the bytes + 1); 0: queued in libuv, which keeps `req` and the list.
          const done = raw.handle.send(req, list, 1, ports[r]!, HOST, false);
          if (done < 1) {
            queued++;
            packet = Buffer.from(packet);
          }
        } else if (batch !== undefined) {
          packet.writeUInt16BE(s, 2);
          packet.writeUInt32BE(r, 8);
          batch.add(packet, ports[r]!, HOST);
        } else {
          packet.writeUInt16BE(s, 2);
          packet.writeUInt32BE(r, 8);
          const sock = mode === 'single' ? shared : connected[r]!;
          if (mode === 'single') sock.send(packet, ports[r], HOST);
          else sock.send(packet);
          if (sock.getSendQueueCount() !== 0) {
            queued++;
            packet = Buffer.from(packet);
          }
        }
        sent++;
      }
    }
    batch?.flush(); // the end of a Stream flush (the microtask would do it too)
    seq += perFlush;
  };
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let next = t0;
  while (performance.now() - t0 < o.seconds * 1000) {
    flush();
    next += 1000 / FLUSH_HZ;
    await sleep(Math.max(0, next - performance.now()));
  }
  const c = process.cpuUsage(c0);
  const wallMs = performance.now() - t0;
  const cpuUs = c.user + c.system;
  if (queued > 0)
    console.log(
      `  ${mode}: ${queued} datagrams ${mode === 'mmsg' ? 'not sent (kernel buffer full)' : "waited in the socket's queue"}`,
    );
  return {
    cpuPct: (cpuUs / 1000 / wallMs) * 100,
    usPerDatagram: cpuUs / sent,
    userUsPerDatagram: c.user / sent,
    sent,
  };
}

async function main(): Promise<void> {
  if (process.argv[2] === '--receiver') {
    receiver(Number(process.argv[3]));
    return;
  }
  const o = parseOptions(process.argv.slice(2));
  const child = fork(fileURLToPath(import.meta.url), ['--receiver', String(o.readers)]);
  try {
    const { ports } = await new Promise<{ ports: number[] }>((r) =>
      child.once('message', (m) => r(m as never)),
    );
    const shared = await bindShared();
    const connected = o.modes.includes('connected')
      ? await connectedSockets(shared.address().port, ports)
      : [];
    console.log(
      `udp-send: ${o.readers} readers, ${o.packetsPerS} packets/s each of ${o.payloadBytes + 12} bytes, ` +
        `${o.seconds} s per mode, ${o.rounds} rounds; Node ${process.version}`,
    );
    console.log(
      '| round | mode | datagrams/s | CPU % | µs CPU per datagram (user + system) | read by the readers |',
    );
    console.log('|--:|---|--:|--:|--:|--:|');
    for (let round = 1; round <= o.rounds; round++) {
      for (const mode of o.modes) {
        const before = (await ask<{ datagrams: number }>(child, 'count')).datagrams;
        const r = await runMode(mode, o, shared, connected, ports);
        await sleep(300);
        const read = (await ask<{ datagrams: number }>(child, 'count')).datagrams - before;
        console.log(
          `| ${round} | ${mode} | ${Math.round(r.sent / o.seconds)} | ${r.cpuPct.toFixed(1)} | ` +
            `${r.usPerDatagram.toFixed(2)} (${r.userUsPerDatagram.toFixed(2)} + ${(r.usPerDatagram - r.userUsPerDatagram).toFixed(2)}) | ${((read / r.sent) * 100).toFixed(2)} % |`,
        );
      }
    }
    shared.close();
    for (const s of connected) s.close();
  } finally {
    child.send('exit');
  }
}

await main();
