// Node and Redis failures (issue 19), with nodes as processes: kill -9 of an edge (its readers play
// again through another node), kill -9 of the owner (its lease expires, the publisher gets the path at
// another node, an edge pulls it from there), a Redis restart (nodes register again, one owner).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RtspClient } from '../src/client/client.js';
import { spawnNode, type NodeProcess } from './support/cluster.js';
import { FakePublisher } from './support/fake-publisher.js';
import { waitFor } from './support/process.js';
import { skipUnlessRedis, startRedis, type TestRedis } from './support/redis.js';

const skip = skipUnlessRedis();
const LEASE_PERIOD_S = 2;

interface PathsBody {
  items: { path: string; owner: string | null; relays: string[] }[];
}
interface NodesBody {
  items: { id: string }[];
}

/** A publisher that sends a frame every 40 ms until its connection ends. */
function feed(pub: FakePublisher): () => void {
  let n = 0;
  const timer = setInterval(() => {
    if (pub.client.closed) clearInterval(timer);
    else pub.sendFrame(n++ % 25 === 0);
  }, 40);
  return () => clearInterval(timer);
}

/** Plays `url` with our client; resolves with a counter of access units once 5 have come. */
async function play(url: string): Promise<{ units: () => number; client: RtspClient }> {
  const client = new RtspClient(url);
  client.on('error', () => undefined);
  let units = 0;
  client.on('accessUnit', () => units++);
  await client.describe();
  await client.setup({ transport: 'tcp' });
  await client.play();
  await waitFor(() => units >= 5, 15_000, `access units from ${url}`);
  return { units: () => units, client };
}

async function until(cond: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function ownerOf(node: NodeProcess, path: string): Promise<string | null | undefined> {
  const body = (await node.api('/v1/cluster/paths')).body as PathsBody;
  return body.items.find((p) => p.path === path)?.owner;
}

describe('node and Redis failures', { skip }, () => {
  let redis: TestRedis;
  let dir: string;
  const procs: NodeProcess[] = [];
  const stops: (() => void)[] = [];

  before(async () => {
    redis = await startRedis();
    dir = mkdtempSync(join(tmpdir(), 'rtspkit-cluster-'));
  });
  after(async () => {
    for (const s of stops) s();
    for (const p of procs) {
      p.proc.kill('SIGKILL');
      await p.proc.done;
    }
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('kill -9 of an edge, of the owner, then a Redis restart', async () => {
    const start = async (id: string, policy: 'redirect' | 'edge'): Promise<NodeProcess> => {
      const n = await spawnNode({ id, redisUrl: redis.url, policy, dir, leasePeriodS: LEASE_PERIOD_S });
      procs.push(n);
      return n;
    };
    const a = await start('a', 'redirect');
    const b = await start('b', 'edge');
    const c = await start('c', 'edge');
    const pub = await FakePublisher.start(a.rtspPort, 'live');
    stops.push(feed(pub));
    await until(async () => (await ownerOf(b, 'live')) === 'a', 'b to see a own live');

    // An edge dies: its reader, started again at another node, plays again.
    const atB = await play(b.url('live'));
    b.proc.kill('SIGKILL');
    await b.proc.done;
    const atC = await play(c.url('live'));
    atB.client.close();

    // The owner dies: the publisher is refused elsewhere (403) until a's lease expires, then takes the path.
    a.proc.kill('SIGKILL');
    const killedAt = performance.now();
    await a.proc.done;
    let republished: FakePublisher | undefined;
    let refusals = 0;
    while (republished === undefined) {
      try {
        republished = await FakePublisher.start(c.rtspPort, 'live');
      } catch (err) {
        assert.match((err as Error).message, /ANNOUNCE 403/);
        refusals++;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const failoverMs = performance.now() - killedAt;
    stops.push(feed(republished));
    assert.ok(refusals > 0, 'refused while the dead owner still held the lease');
    assert.ok(failoverMs < (LEASE_PERIOD_S + 3) * 1000, `publisher waited ${failoverMs} ms`);
    atC.client.close();
    // An edge started after pulls the path from its new owner.
    const b2 = await start('b2', 'edge');
    const atB2 = await play(b2.url('live'));
    assert.equal(await ownerOf(b2, 'live'), 'c');

    // Redis restarts empty: the nodes register again and c claims its path back; still one owner.
    await redis.restart();
    const deadline = Date.now() + 15_000;
    for (;;) {
      const nodes = ((await c.api('/v1/cluster/nodes')).body as NodesBody).items.map((n) => n.id);
      if (nodes.join() === 'b2,c' && (await ownerOf(b2, 'live')) === 'c') break;
      assert.ok(Date.now() < deadline, `after the Redis restart: nodes ${nodes.join()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const before = atB2.units();
    await waitFor(() => atB2.units() > before + 10, 10_000, 'the relayed reader to keep playing');
    atB2.client.close();
    console.log(
      `# failover: publisher on c ${Math.round(failoverMs)} ms after kill -9 of a (lease ${LEASE_PERIOD_S} s)`,
    );
  });
});
