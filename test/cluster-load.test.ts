// 300 light readers asking one node of three for a path (issue 19): placement by load spreads them
// over the owner and two edges (302 to the least loaded node, counting the readers sent since its
// last heartbeat), and every reader gets media.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { App } from '../src/app.js';
import { rtspUrl, startNode } from './support/cluster.js';
import { FakePublisher } from './support/fake-publisher.js';
import { lightRead, type LightReader } from './support/light-reader.js';
import { waitFor } from './support/process.js';
import { skipUnlessRedis, startRedis, type TestRedis } from './support/redis.js';

const skip = skipUnlessRedis();
const READERS = 300;
const BATCH = 20;

describe('300 readers spread by load', { skip }, () => {
  let redis: TestRedis;
  const nodes: App[] = [];
  const readers: LightReader[] = [];
  let pub: FakePublisher | undefined;
  let timer: NodeJS.Timeout | undefined;

  before(async () => {
    redis = await startRedis();
    nodes.push(await startNode({ id: 'l1', redisUrl: redis.url }));
    nodes.push(await startNode({ id: 'l2', redisUrl: redis.url, policy: 'edge' }));
    nodes.push(await startNode({ id: 'l3', redisUrl: redis.url, policy: 'edge' }));
  });
  after(async () => {
    clearInterval(timer);
    for (const r of readers) r.close();
    pub?.client.close();
    for (const n of nodes) await n.close();
    await redis.stop();
  });

  test('every reader plays; each node serves about a third', async () => {
    pub = await FakePublisher.start(nodes[0]!.server.port, 'load');
    let frame = 0;
    // 10 frames a second of 300 bytes: light, so the test measures placement, not this machine.
    timer = setInterval(() => pub!.sendFrame(frame++ % 10 === 0, 300), 100);
    await waitFor(
      () => nodes.every((n) => n.cluster!.paths().some((p) => p.path === 'load' && p.owner === 'l1')),
      10_000,
      'every node to see l1 own the path',
    );
    for (let i = 0; i < READERS; i += BATCH) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(BATCH, READERS - i) }, () => lightRead(rtspUrl(nodes[0]!, 'load'))),
      );
      readers.push(...batch);
    }
    const perNode = nodes.map((n) => readers.filter((r) => r.port === n.server.port).length);
    console.log(`# readers per node: ${perNode.join(', ')}`);
    // Each node's own count of reader sessions: the relays pulling from l1 are readers there too.
    for (const count of perNode)
      assert.ok(count >= 60 && count <= 140, `uneven spread: ${perNode.join(', ')}`);
    await waitFor(() => readers.every((r) => r.bytes() > 0), 20_000, 'every reader to get media');
  });
});
