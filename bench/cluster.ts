// `npm run bench:cluster`: readers per node of a cluster at ~1 Mbit/s, with 1, 2 and 3 nodes on this machine.
//
//   npm run bench:cluster -- [--nodes 1,2,3] [--readers 30] [--seconds 10]
//
// For each node count: a redis-server and the nodes (rtspkit processes through the CLI; the first owns
// `cam`, the clip h264_base_aac.mp4 looped, ~1.06 Mbit/s; the others are edges) on 127.0.0.1. --readers
// light readers per node (test/support/light-reader.ts: one TCP connection each, the video track) all ask
// the first node, which spreads them by load (302). Over a window of --seconds: each node's readers and
// mean rate per reader, the origin's egress (its relays and its own readers), and Redis commands per second
// per node (rtspkit_cluster_redis_operations_total). Every child is ended by its PID.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { lightRead, type LightReader } from '../test/support/light-reader.js';
import { spawnNode, type NodeProcess } from '../test/support/cluster.js';
import { startRedis, type TestRedis } from '../test/support/redis.js';
import { mediaPath } from '../test/support/tools.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1,2,3' },
    readers: { type: 'string', default: '30' },
    seconds: { type: 'string', default: '10' },
  },
});
const nodeCounts = values.nodes.split(',').map(Number);
const readersPerNode = Number(values.readers);
const seconds = Number(values.seconds);

async function redisOps(node: NodeProcess): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${node.apiPort}/metrics`)).text();
  return Number(/^rtspkit_cluster_redis_operations_total (\d+)/m.exec(text)?.[1] ?? 0);
}

interface Row {
  nodes: number;
  readers: number[];
  kbitPerReader: number[];
  originEgressMbit: number;
  redisOpsPerNode: number[];
}

async function runOnce(n: number): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'rtspkit-bench-cluster-'));
  let redis: TestRedis | undefined;
  const nodes: NodeProcess[] = [];
  const readers: LightReader[] = [];
  try {
    redis = await startRedis();
    for (let i = 0; i < n; i++)
      nodes.push(
        await spawnNode({
          id: `b${i + 1}`,
          redisUrl: redis.url,
          dir,
          policy: i === 0 ? 'redirect' : 'edge',
          balanceMargin: 0,
          leasePeriodS: 6,
          lines: i === 0 ? ['paths:', '  cam:', `    source: ${mediaPath('h264_base_aac.mp4')}`] : [],
          logLevel: 'warn',
        }),
      );
    const origin = nodes[0]!;
    for (;;) {
      const paths = (await origin.api('/v1/cluster/paths')).body as {
        items: { path: string; owner: string }[];
      };
      if (paths.items.some((p) => p.path === 'cam' && p.owner === 'b1')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    // At most 10 setups at a time, as players arrive.
    for (let i = 0; i < readersPerNode * n; i += 10)
      readers.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(10, readersPerNode * n - i) }, () => lightRead(origin.url('cam'))),
        )),
      );
    await new Promise((r) => setTimeout(r, 3000));
    const bytes0 = readers.map((r) => r.bytes());
    const ops0 = await Promise.all(nodes.map(redisOps));
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const elapsedS = (performance.now() - t0) / 1000;
    const ops1 = await Promise.all(nodes.map(redisOps));
    const listed = (await origin.api('/v1/cluster/nodes')).body as {
      items: { id: string; egressBitsPerSecond: number }[];
    };
    const perNode = nodes.map((node) =>
      readers.map((r, i) => ({ r, i })).filter(({ r }) => r.port === node.rtspPort),
    );
    return {
      nodes: n,
      readers: perNode.map((rs) => rs.length),
      kbitPerReader: perNode.map((rs) =>
        rs.length === 0
          ? 0
          : Math.round(
              rs.reduce((sum, { r, i }) => sum + (r.bytes() - bytes0[i]!) * 8, 0) /
                rs.length /
                elapsedS /
                1000,
            ),
      ),
      originEgressMbit:
        Math.round((listed.items.find((x) => x.id === 'b1')?.egressBitsPerSecond ?? 0) / 1e4) / 100,
      redisOpsPerNode: nodes.map((_, i) => Math.round((ops1[i]! - ops0[i]!) / elapsedS)),
    };
  } finally {
    for (const r of readers) r.close();
    for (const node of nodes) {
      node.proc.kill('SIGKILL');
      await node.proc.done;
    }
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows: Row[] = [];
for (const n of nodeCounts) {
  const row = await runOnce(n);
  rows.push(row);
  console.log(JSON.stringify(row));
}
console.log(
  '\n| nodes | readers per node | kbit/s per reader (video) | origin egress Mbit/s | Redis ops/s per node |',
);
console.log('|---|---|---|---|---|');
for (const r of rows)
  console.log(
    `| ${r.nodes} | ${r.readers.join(' / ')} | ${r.kbitPerReader.join(' / ')} | ${r.originEgressMbit} | ${r.redisOpsPerNode.join(' / ')} |`,
  );
