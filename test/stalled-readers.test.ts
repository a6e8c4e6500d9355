// Readers that stop reading (issue 13, item 6), over real sockets on 127.0.0.1: what they hold is what is
// counted, they shed and are cut off, all of them together stay under the server's cap, and a publisher
// and a reader that keeps up get every packet meanwhile. Stalled readers are raw TCP connections that
// SETUP and PLAY interleaved and then pause their socket; on loopback the kernel first takes a few MB for
// each (Node cannot shrink SO_SNDBUF/SO_RCVBUF), so the scripted publisher sends past that first.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { RawClient, sessionId } from './support/raw-client.js';
import { FakePublisher, isContiguous } from './support/fake-publisher.js';
import { startTestServer } from './support/server.js';
import { waitFor } from './support/process.js';
import type { RtspServer, RtspServerOptions } from '../src/server/server.js';
import { Registry } from 'prom-client';
import { LoadMetrics } from '../src/http/load-metrics.js';
import { engineViewOf } from '../src/server/view.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * Memory held by ArrayBuffers (every Buffer's backing store) after a full GC, twice: V8 frees their
 * memory on a sweeper thread after the GC returns.
 */
async function arrayBufferBytes(): Promise<number> {
  for (let i = 0; i < 2; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return process.memoryUsage().arrayBuffers;
}

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));

/** Sends a frame and waits until the server has taken it in and flushed it: one flush per frame. */
async function sendFrame(sc: Scenario, path: string, keyframe: boolean, size: number): Promise<void> {
  sc.pub.sendFrame(keyframe, size);
  const counters = sc.server.paths.get(path)!.stream!.counters;
  const taken = (): boolean => counters.every((c, track) => c.packetsIn === sc.pub.packetsSent[track]);
  for (let i = 0; i < 10_000 && !taken(); i++) await tick();
  assert.ok(taken(), 'the server took the frame');
  await tick();
}

interface Scenario {
  server: RtspServer;
  url: (p: string) => string;
  pub: FakePublisher;
  good: { c: RawClient; seqs: number[][] };
  stalledIds: string[];
  clients: RawClient[];
}

/** A publisher with one keyframe sent, a reader that reads both tracks, and `stalled` that do not. */
async function scenario(path: string, stalled: number, options: RtspServerOptions): Promise<Scenario> {
  const { server, url } = await startTestServer(options);
  const pub = await FakePublisher.start(server.port, path);
  pub.sendFrame(true);
  const clients: RawClient[] = [pub.client];
  const play = async (): Promise<{ c: RawClient; id: string }> => {
    const c = await RawClient.connect(server.port);
    clients.push(c);
    const s = await c.request('SETUP', `${url(path)}/trackID=0`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
    });
    const id = sessionId(s);
    const s2 = await c.request('SETUP', `${url(path)}/trackID=1`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=2-3',
      Session: id,
    });
    assert.equal(s2.statusCode, 200);
    assert.equal((await c.request('PLAY', url(path), { Session: id })).statusCode, 200);
    return { c, id };
  };
  const g = await play();
  const seqs: number[][] = [[], [], [], []];
  g.c.onFrame = (f) => {
    if (f.channel % 2 === 0) seqs[f.channel]!.push(f.payload.readUInt16BE(2));
  };
  // Frames that arrived with the PLAY reply, before onFrame was set.
  for (const f of g.c.frames.splice(0))
    if (f.channel % 2 === 0) seqs[f.channel]!.push(f.payload.readUInt16BE(2));
  const stalledIds: string[] = [];
  for (let i = 0; i < stalled; i++) {
    const { c, id } = await play();
    c.socket.pause();
    stalledIds.push(id);
  }
  return { server, url, pub, good: { c: g.c, seqs }, stalledIds, clients };
}

/** The server's rtspkit_queued_bytes and rtspkit_refusals_total series as /metrics renders them. */
async function loadSeries(server: RtspServer): Promise<Map<string, number>> {
  const registry = new Registry();
  new LoadMetrics([registry]).refresh(engineViewOf(server).counters());
  const series = new Map<string, number>();
  for (const line of (await registry.metrics()).split('\n')) {
    const m = /^(rtspkit_\w+\{\w+="\w+"\}) (\S+)$/.exec(line);
    if (m !== null) series.set(m[1]!, Number(m[2]));
  }
  return series;
}

function stalledSessions(sc: Scenario) {
  return sc.stalledIds.flatMap((id) => {
    const s = sc.server.sessions.get(id);
    return s === undefined ? [] : [s];
  });
}

/** Sends 16 KB frames (a keyframe every 25) until every stalled reader has bytes queued in user space. */
async function fillKernelBuffers(sc: Scenario, path: string, maxFrames: number): Promise<void> {
  for (let i = 1; i <= maxFrames; i++) {
    await sendFrame(sc, path, i % 25 === 0, 16_000);
    if (stalledSessions(sc).every((s) => s.backlogBytes > 0)) return;
  }
  assert.fail(`the stalled readers' kernel buffers did not fill within ${maxFrames} frames`);
}

/** The good reader has every packet the publisher sent, on both tracks, in order. */
async function goodReaderGotEverything(sc: Scenario): Promise<void> {
  const { seqs } = sc.good;
  await waitFor(
    () => seqs[0]!.length === sc.pub.packetsSent[0] && seqs[2]!.length === sc.pub.packetsSent[1],
    10_000,
    'every packet at the good reader',
  );
  assert.ok(isContiguous(seqs[0]!) && isContiguous(seqs[2]!), 'no gap at the good reader');
}

describe('stalled TCP readers', () => {
  const scenarios: Scenario[] = [];
  after(async () => {
    for (const sc of scenarios) {
      for (const c of sc.clients) c.close();
      await sc.server.close();
    }
  });

  test('hold only what is counted, shed, and are cut off; the good reader gets every packet', async () => {
    const maxReaderBacklogBytes = 512 * 1024;
    const sc = await scenario('stall', 3, { maxReaderBacklogBytes, readerStallTimeoutMs: 1000 });
    scenarios.push(sc);
    await fillKernelBuffers(sc, 'stall', 1500);
    for (const s of stalledSessions(sc)) assert.ok(s.backlogBytes < maxReaderBacklogBytes);

    // Small frames, one flush each, while the stalled readers are under their bound: each is a write
    // queued behind the last. Each such write once kept a whole 64 KiB scratch buffer alive.
    const before = await arrayBufferBytes();
    for (let i = 0; i < 3000; i++) {
      await sendFrame(sc, 'stall', false, 2000);
      if (stalledSessions(sc).every((s) => s.backlogBytes > maxReaderBacklogBytes)) break;
    }
    const heldBytes = (await arrayBufferBytes()) - before;
    const stalled = stalledSessions(sc);
    const countedBytes = stalled.reduce((n, s) => n + s.backlogBytes, 0);
    // What is held is what is counted (their bound each, plus at most one partly written scratch of
    // 256 KiB), not 64 KiB per queued write.
    assert.ok(
      heldBytes < countedBytes + sc.stalledIds.length * 256 * 1024 + 2 * 1024 * 1024,
      `stalled readers hold ${heldBytes} bytes of buffers, ${countedBytes} counted`,
    );

    const stream = sc.server.paths.get('stall')!.stream!;
    await sendFrame(sc, 'stall', false, 2000);
    assert.ok(stream.droppedPackets >= 3 * sc.pub.packetsSent.length, 'drops counted');
    // Past the bound they shed; their backlog does not halve, so they are cut off.
    for (let i = 0; i < 500 && stalledSessions(sc).length > 0; i++) {
      await sendFrame(sc, 'stall', i % 25 === 0, 200);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(stalledSessions(sc).length, 0, 'every stalled reader cut off');
    assert.equal(stream.readersCutOff, 3);
    assert.equal(sc.server.readerBacklog.readersCutOff, 3);
    assert.equal(sc.server.readerBacklog.readers, 1, 'only the good reader is counted now');
    assert.equal((await loadSeries(sc.server)).get('rtspkit_refusals_total{reason="readerStalled"}'), 3);
    const afterCutOffBytes = (await arrayBufferBytes()) - before;
    assert.ok(afterCutOffBytes < 2 * 1024 * 1024, `${afterCutOffBytes} bytes still held after the cut-off`);

    sc.pub.sendFrame(true);
    await goodReaderGotEverything(sc);
    assert.ok(!sc.good.c.closed);
  });

  test('all readers together stay under maxTotalReaderBacklogBytes; the ones asking for more shed', async () => {
    const maxTotalReaderBacklogBytes = 512 * 1024;
    const sc = await scenario('cap', 3, { maxTotalReaderBacklogBytes, readerStallTimeoutMs: 60_000 });
    scenarios.push(sc);
    await fillKernelBuffers(sc, 'cap', 1500);
    // 2 MB more for each, well under its own bound (4 MiB) but 12 times the cap for the three.
    for (let i = 1; i <= 125; i++) await sendFrame(sc, 'cap', i % 25 === 0, 16_000);
    await goodReaderGotEverything(sc);
    const stalled = stalledSessions(sc);
    assert.equal(stalled.length, 3, 'not cut off (the stall bound is 60 s)');
    const totalBytes = stalled.reduce((n, s) => n + s.backlogBytes, 0);
    // Past the cap only readers under their share (cap / readers) may grow, by one flush at most.
    assert.ok(
      totalBytes <= maxTotalReaderBacklogBytes + 4 * 20_000,
      `stalled readers hold ${totalBytes} bytes, the cap is ${maxTotalReaderBacklogBytes}`,
    );
    assert.ok(sc.server.readerBacklog.capDroppedPackets > 0, 'drops at the cap counted');
    // What an operator sees (load-metrics.ts): the queued bytes and the refusals at the cap.
    const series = await loadSeries(sc.server);
    assert.ok(
      series.get('rtspkit_queued_bytes{to="tcp_readers"}')! >= totalBytes / 2,
      JSON.stringify([...series]),
    );
    assert.equal(series.get('rtspkit_queued_bytes{to="udp_readers"}'), 0);
    assert.equal(
      series.get('rtspkit_refusals_total{reason="readerBacklogCap"}'),
      sc.server.readerBacklog.capDroppedPackets,
    );
    assert.equal(series.get('rtspkit_refusals_total{reason="maxConnections"}'), 0);
    assert.ok(sc.server.paths.get('cap')!.stream!.droppedPackets > 0);
  });
});
