/**
 * The cluster as the API shows it (README "Cluster"): `GET /v1/cluster/nodes` (every live node: its
 * address, policy, load, owned and relayed paths), `GET /v1/cluster/paths` (each path's owner and
 * relays), `POST /v1/cluster/drain` (this node stops taking sessions and moves its readers), and the
 * `rtspkit_cluster_*` series of /metrics. Nothing here names the Redis URL (it may hold a password).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ClusterCounters, PathPlacementSnapshot } from '../cluster/node.js';
import type { NodeRecord } from '../cluster/redis-store.js';
import { HttpError } from './http-error.js';

/** What the API needs of the cluster node (app.ts hands it over). */
export interface ClusterApi {
  readonly id: string;
  readonly draining: boolean;
  readonly redisReachable: boolean;
  readonly counters: ClusterCounters;
  /** Redis commands this node has sent. */
  storeOperations(): number;
  nodes(): NodeRecord[];
  paths(): PathPlacementSnapshot[];
  drain(): Promise<number>;
}

export interface ClusterReply {
  status: number;
  body: unknown;
}

/** The reply to `/v1/cluster/<rest>`; throws HttpError 404/405. */
export async function clusterReply(cluster: ClusterApi, method: string, rest: string): Promise<ClusterReply> {
  const only = (m: string): void => {
    if (method !== m) throw new HttpError(405, `${method} not allowed here`, { Allow: m });
  };
  switch (rest) {
    case 'nodes':
      only('GET');
      return {
        status: 200,
        body: { self: cluster.id, redisReachable: cluster.redisReachable, items: cluster.nodes() },
      };
    case 'paths':
      only('GET');
      return { status: 200, body: { items: cluster.paths() } };
    case 'drain': {
      only('POST');
      const readersRedirected = await cluster.drain();
      return { status: 202, body: { node: cluster.id, draining: true, readersRedirected } };
    }
    default:
      throw new HttpError(404, 'not found');
  }
}

const COUNTERS: [keyof ClusterCounters, string, string][] = [
  ['redirects', 'rtspkit_cluster_redirects_total', 'DESCRIBEs answered 302 to another node.'],
  ['claimsGranted', 'rtspkit_cluster_claims_granted_total', 'Path leases claimed by publishers here.'],
  [
    'claimsRefused',
    'rtspkit_cluster_claims_refused_total',
    'ANNOUNCEs refused: another node holds the path.',
  ],
  [
    'claimsUnavailable',
    'rtspkit_cluster_claims_unavailable_total',
    'ANNOUNCEs refused 503: Redis unreachable.',
  ],
  [
    'leasesLost',
    'rtspkit_cluster_leases_lost_total',
    'Paths dropped here because another node took the lease.',
  ],
  ['heartbeatFailures', 'rtspkit_cluster_heartbeat_failures_total', 'Heartbeats that could not reach Redis.'],
  [
    'readersRedirectedByDrain',
    'rtspkit_cluster_drain_redirects_total',
    'Readers sent RTSP REDIRECT by a drain of this node.',
  ],
];

/** Registers the cluster's series; they are read from the node at each scrape. */
export function registerClusterMetrics(registry: Registry, cluster: ClusterApi): void {
  const registers = [registry];
  for (const [key, name, help] of COUNTERS)
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(cluster.counters[key]);
      },
    });
  new Counter({
    name: 'rtspkit_cluster_redis_operations_total',
    help: 'Redis commands this node has sent.',
    registers,
    collect() {
      this.reset();
      this.inc(cluster.storeOperations());
    },
  });
  const self = (): NodeRecord | undefined => cluster.nodes().find((n) => n.id === cluster.id);
  const gauges: [string, string, (n: NodeRecord | undefined) => number][] = [
    [
      'rtspkit_cluster_redis_up',
      'Whether this node reaches Redis (1) or not (0).',
      () => Number(cluster.redisReachable),
    ],
    ['rtspkit_cluster_draining', 'Whether this node is draining.', () => Number(cluster.draining)],
    ['rtspkit_cluster_nodes', 'Live nodes in the cluster, as last read.', () => cluster.nodes().length],
    ['rtspkit_cluster_paths_owned', 'Paths whose lease this node holds.', (n) => n?.owned.length ?? 0],
    [
      'rtspkit_cluster_paths_relayed',
      'Paths this node pulls from their owner.',
      (n) => n?.relayed.length ?? 0,
    ],
    [
      'rtspkit_cluster_egress_bits_per_second',
      'Egress bit rate in the last heartbeat.',
      (n) => n?.egressBitsPerSecond ?? 0,
    ],
    ['rtspkit_cluster_cpu', 'Process CPU in the last heartbeat (share of one core).', (n) => n?.cpu ?? 0],
  ];
  for (const [name, help, read] of gauges)
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read(self()));
      },
    });
}
