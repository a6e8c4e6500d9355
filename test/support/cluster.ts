/** Nodes of a cluster for tests: whole apps (startApp) on 127.0.0.1 sharing one test redis-server. */
import { startApp, type App } from '../../src/app.js';
import { parseConfig } from '../../src/config/config.js';
import { LOOPBACK_APP_CONFIG_LINES } from './server.js';

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
