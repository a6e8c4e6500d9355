/** Nodes of a cluster for tests: whole apps (startApp) on 127.0.0.1 sharing one test redis-server. */
import { startApp, type App } from '../../src/app.js';
import { parseConfig } from '../../src/config/config.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOOPBACK_APP_CONFIG_LINES } from './server.js';
import { run, waitFor, type Run } from './process.js';
import { freePort, startRedis, type TestRedis } from './redis.js';
import { repoRoot } from './tools.js';

export interface ClusterNodeSpec {
  id: string;
  redisUrl: string;
  policy?: 'redirect' | 'edge';
  /** Extra config lines (top level), e.g. `paths:`. */
  lines?: string[];
  /** Default 0: balance at once (tests of placement). */
  balanceMargin?: number;
  /** Extra lines of the cluster block (indented by the caller's two spaces). */
  clusterLines?: string[];
}

export async function startNode(spec: ClusterNodeSpec): Promise<App> {
  const text = [
    ...LOOPBACK_APP_CONFIG_LINES,
    ...(spec.lines ?? []),
    'cluster:',
    `  redisUrl: ${spec.redisUrl}`,
    `  nodeId: ${spec.id}`,
    `  readerPolicy: ${spec.policy ?? 'redirect'}`,
    '  leasePeriod: 3',
    '  heartbeat: 0.5',
    `  balanceMargin: ${spec.balanceMargin ?? 0}`,
    '  drainPeriod: 0',
    ...(spec.clusterLines ?? []),
  ].join('\n');
  return startApp(parseConfig(text, `${spec.id}.yml`));
}

/** Config lines giving a node the path `name` fed by a file (the owner of a test's path). */
export function fileSourceLines(name: string, file: string): string[] {
  return ['paths:', `  ${name}:`, `    source: ${file}`];
}

/**
 * A test's redis-server and its nodes, started one by one so that `close` ends those that started
 * when a later one fails.
 */
export class TestCluster {
  readonly nodes: App[] = [];

  private constructor(readonly redis: TestRedis) {}

  static async start(): Promise<TestCluster> {
    return new TestCluster(await startRedis());
  }

  /** The node at `index` (in the order added). */
  node(index: number): App {
    return this.nodes[index]!;
  }

  async add(spec: Omit<ClusterNodeSpec, 'redisUrl'>): Promise<App> {
    const app = await startNode({ ...spec, redisUrl: this.redis.url });
    this.nodes.push(app);
    return app;
  }

  /** Waits until every node of `among` (default: all) sees `owner` hold `path`'s lease. */
  async waitForOwner(path: string, owner: string, among: readonly App[] = this.nodes): Promise<void> {
    await waitFor(
      () => among.every((n) => n.cluster!.paths().some((p) => p.path === path && p.owner === owner)),
      10_000,
      `${among.length === this.nodes.length ? 'every node' : 'the nodes'} to see ${owner} own ${path}`,
    );
  }

  async close(): Promise<void> {
    for (const n of this.nodes) await n.close();
    await this.redis.stop();
  }
}

export function rtspUrl(app: App, path: string): string {
  return `rtsp://127.0.0.1:${app.server.port}/${path}`;
}

export async function apiJson(
  app: App,
  path: string,
  method = 'GET',
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`http://127.0.0.1:${app.api!.port}${path}`, { method });
  return { status: res.status, body: await res.json() };
}

/** A node as its own process (`rtspkit serve` from dist/), for kill -9. */
export interface NodeProcess {
  id: string;
  rtspPort: number;
  apiPort: number;
  proc: Run;
  url(path: string): string;
  api(path: string, method?: string): Promise<{ status: number; body: unknown }>;
}

export async function spawnNode(
  spec: ClusterNodeSpec & { dir: string; leasePeriodS?: number; logLevel?: string },
): Promise<NodeProcess> {
  const [rtspPort, apiPort] = [await freePort(), await freePort()];
  const file = join(spec.dir, `${spec.id}.yml`);
  writeFileSync(
    file,
    [
      `logLevel: ${spec.logLevel ?? 'info'}`,
      'logFormat: json',
      `rtspAddress: '127.0.0.1:${rtspPort}'`,
      'rtpPort: null',
      'multicastRange: null',
      // Several nodes at once: RTMP's default :1935 would be taken by the first.
      'rtmpAddress: null',
      'api: true',
      `apiAddress: '127.0.0.1:${apiPort}'`,
      ...(spec.lines ?? []),
      'cluster:',
      `  redisUrl: ${spec.redisUrl}`,
      `  nodeId: ${spec.id}`,
      `  readerPolicy: ${spec.policy ?? 'redirect'}`,
      `  leasePeriod: ${spec.leasePeriodS ?? 2}`,
      '  heartbeat: 0.5',
      `  balanceMargin: ${spec.balanceMargin ?? 1000}`,
      '  drainPeriod: 0',
      ...(spec.clusterLines ?? []),
      '',
    ].join('\n'),
  );
  const proc = run(
    process.execPath,
    [join(repoRoot(), 'dist', 'src', 'cli', 'main.js'), 'serve', '-c', file, '--no-watch'],
    {
      timeoutMs: 10 * 60_000,
    },
  );
  const node: NodeProcess = {
    id: spec.id,
    rtspPort,
    apiPort,
    proc,
    url: (path) => `rtsp://127.0.0.1:${rtspPort}/${path}`,
    api: async (path, method = 'GET') => {
      const res = await fetch(`http://127.0.0.1:${apiPort}${path}`, { method });
      return { status: res.status, body: await res.json() };
    },
  };
  const start = Date.now();
  for (;;) {
    if (proc.child.exitCode !== null)
      throw new Error(
        `node ${spec.id} exited: ${proc.output().stdout.slice(-800)}${proc.output().stderr.slice(-800)}`,
      );
    if (Date.now() - start > 20_000) throw new Error(`node ${spec.id} did not start`);
    try {
      if ((await node.api('/v1/cluster/nodes')).status === 200) return node;
    } catch (err) {
      if (!(err instanceof TypeError)) throw err; // fetch: connection refused
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
