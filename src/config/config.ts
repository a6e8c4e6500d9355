/**
 * rtspkit.yml: an optional YAML file validated with a schema; every option has a default.
 * A mistake is reported with where it is and what was expected, and the server does not start.
 */
import { readFileSync } from 'node:fs';
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { applyConfigEnv, ConfigEnvError, type Env } from './env.js';
import { isParseError } from '../base/errors.js';
import { parseStoredPassword } from '../auth/password.js';
import { compilePathPattern } from '../auth/access.js';
import { parseAddressBlock } from '../server/auth.js';
import { DEFAULT_JOIN_BURST_BYTES_PER_SECOND } from '../media/stream-joins.js';
import { hookServerOptions, pathDefaultsSchema, pathsSchema, recordOverridesSchema } from './path-schema.js';

/** A schema check from a parser: its ParseError message becomes the issue (values are never quoted). */
function parsedBy(parse: (v: string) => unknown) {
  return (value: string, ctx: z.RefinementCtx): void => {
    try {
      parse(value);
    } catch (err) {
      if (!isParseError(err)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message });
    }
  };
}

function isAddressBlock(entry: string): boolean {
  try {
    parseAddressBlock(entry);
    return true;
  } catch (e) {
    if (!(e instanceof RangeError)) throw e; // what parseAddressBlock throws for a bad entry
    return false;
  }
}

const addressBlocks = z.array(
  z.string().refine(isAddressBlock, 'expected an IP address or a CIDR block like "10.0.0.0/8" or "::1"'),
);

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]*):\d{1,5}$/, 'expected "host:port" or ":port"');

const permissionSchema = z
  .object({
    action: z.enum(['read', 'publish', 'api', 'playback']),
    /** Path pattern: `cam1`, `cam*`, `site/**`, `~^cam[0-9]+$`; absent: every path. */
    path: z.string().min(1).superRefine(parsedBy(compilePathPattern)).optional(),
  })
  .strict();

const authSchema = z
  .object({
    /** Offer and accept Basic (the password crosses the network in clear unless over TLS). */
    basic: z.boolean().default(true),
    realm: z.string().min(1).default('rtspkit'),
    users: z
      .array(
        z
          .object({
            name: z.string().min(1),
            /** A stored form: scrypt:, sha256:, digest-md5:, digest-sha256:, digest:, or plain: (trials). */
            password: z.string().min(1).superRefine(parsedBy(parseStoredPassword)),
            permissions: z.array(permissionSchema).default([{ action: 'read' }, { action: 'publish' }]),
            /** Addresses or CIDR blocks the user may connect from. */
            ips: addressBlocks.optional(),
          })
          .strict(),
      )
      .superRefine((users, ctx) => {
        const seen = new Set<string>();
        users.forEach((u, i) => {
          if (seen.has(u.name))
            ctx.addIssue({
              code: 'custom',
              path: [i, 'name'],
              message: `user ${JSON.stringify(u.name)} is configured twice`,
            });
          seen.add(u.name);
        });
      })
      .default([]),
    /** Rights of requests without credentials. */
    anonymous: z
      .object({ permissions: z.array(permissionSchema), ips: addressBlocks.optional() })
      .strict()
      .optional(),
    /** An HTTP endpoint asked to allow (2xx) or deny; for Digest it answers the user's HA1. */
    hook: z
      .object({ url: z.url(), timeoutMs: z.number().int().min(100).max(30000).optional() })
      .strict()
      .optional(),
  })
  .strict();

export { DEFAULT_RECORD_PATH, type RecordSettings } from './path-schema.js';
export { isPullSource, PULL_DEFAULTS, PULL_URL_SCHEMES } from './path-schema.js';

/** A cluster of servers sharing paths through Redis (src/cluster); absent: one server, no Redis. */
const clusterSchema = z
  .object({
    /** The Redis every node shares (`redis://[:password@]host:port[/db]`, `rediss://` for TLS). */
    redisUrl: z.string().regex(/^rediss?:\/\/\S+$/, 'expected a URL like "redis://127.0.0.1:6379"'),
    /** This node's name in the cluster; default `<host name>:<RTSP port>`. */
    nodeId: z
      .string()
      .regex(/^[\w.:-]{1,64}$/, 'expected up to 64 letters, digits, ".", ":", "_" or "-"')
      .optional(),
    /** How readers and other nodes reach this node; default `rtsp://<host name>:<RTSP port>`. */
    advertiseUrl: z
      .string()
      .regex(/^rtsps?:\/\/[^/@\s]+\/?$/, 'expected "rtsp://host:port" without a path or user')
      .optional(),
    /** A reader of a path held elsewhere: `redirect` (302 to the node chosen by load) or `edge` (pull it here). */
    readerPolicy: z.enum(['redirect', 'edge']).default('redirect'),
    /** Seconds a path's lease lasts without renewal: how long a dead owner's paths stay claimed. */
    leasePeriod: z.number().min(1).max(600).default(10),
    /** Seconds between heartbeats (node record, lease renewals); at most a third of leasePeriod. */
    heartbeat: z.number().min(0.1).max(60).default(2),
    /** A node with a path sends a new reader to another node when that one has this many readers fewer. */
    balanceMargin: z.number().int().min(0).default(20),
    /** Seconds SIGTERM waits, after redirecting the readers, before the node stops (0: stop at once). */
    drainPeriod: z.number().min(0).max(3600).default(10),
    /** Retry-After (seconds) of the 503 a draining node answers to new sessions. */
    drainRetryAfter: z.number().int().min(1).max(3600).default(5),
    /** Prefix of every Redis key (several clusters in one Redis). */
    keyPrefix: z
      .string()
      .regex(/^[\w.-]{1,32}$/)
      .default('rtspkit'),
    /** A publisher may take a path another node's publisher holds (the other is fenced out). */
    overridePublisher: z.boolean().default(false),
  })
  .strict()
  .refine((c) => c.heartbeat * 3 <= c.leasePeriod, 'heartbeat must be at most a third of leasePeriod');

export type ClusterConfig = z.infer<typeof clusterSchema>;

export const configSchema = z
  .object({
    logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
    /** Log lines: text on a terminal and JSON otherwise (auto), or always text, or always JSON. */
    logFormat: z.enum(['auto', 'text', 'json']).default('auto'),
    /** RTSP listen address, e.g. ":8554" or "127.0.0.1:8554". */
    rtspAddress: hostPort.default(':8554'),
    /** An extra address for RTSP over HTTP tunnels (e.g. ":8080"); null: tunnels on the RTSP port only. */
    rtspHttpAddress: hostPort.nullable().default(null),
    /** RTSPS (RTSP over TLS) listen address; used when a certificate is configured. */
    rtspsAddress: hostPort.default(':8322'),
    /** PEM certificate and key files for RTSPS. */
    tlsCert: z.string().min(1).nullable().default(null),
    tlsKey: z.string().min(1).nullable().default(null),
    /** UDP port for RTP (RTCP on the next port); null disables RTP over UDP. */
    rtpPort: z
      .number()
      .int()
      .min(0)
      .max(65534)
      .refine((p) => p % 2 === 0, 'must be even (RTCP uses the next, odd port), e.g. 8000')
      .nullable()
      .default(8000),
    /**
     * UDP unicast server ports from a range, "first-last": an even/odd pair per track of each UDP
     * session instead of the one shared rtpPort pair (for firewalls that open a range). null: shared pair.
     */
    rtpPortRange: z
      .string()
      .regex(/^\d{4,5}-\d{4,5}$/, 'expected "first-last", e.g. "20000-20999"')
      .nullable()
      .default(null),
    /**
     * UDP readers' RTP: `auto` sends a flush's datagrams in one sendmmsg(2) per socket through the optional
     * add-on @rtspkit/udp-batch where it loads (Linux), else one dgram send per datagram; `off`: dgram always.
     */
    udpBatchSend: z.enum(['auto', 'off']).default('auto'),
    /** UDP multicast: groups from this IPv4 range (inside 224.0.0.0/4); null turns multicast off. */
    multicastRange: z
      .string()
      .regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'a.b.c.d/prefix')
      .nullable()
      .default('239.255.0.0/16'),
    /** Even UDP port of the first track's RTP to a group; track i uses +2i (RTCP the next port). */
    multicastRtpPort: z.number().int().min(1024).max(65500).multipleOf(2).default(8002),
    /** IP TTL of multicast packets. */
    multicastTtl: z.number().int().min(1).max(255).default(16),
    /** Seconds advertised in `Session: id;timeout=N`. */
    sessionTimeout: z.number().int().min(1).max(3600).default(60),
    /** Extra seconds tolerated beyond sessionTimeout. */
    sessionTimeoutGrace: z.number().int().min(0).max(600).default(5),
    /** Seconds without packets after which a UDP publisher is ended. */
    udpReadTimeout: z.number().int().min(1).max(3600).default(10),
    /**
     * Worker processes that serve live TCP readers' media after PLAY (0: this process serves every
     * reader). The process started keeps sessions, paths, limits and requests (src/fanout/). Restart only.
     */
    fanoutWorkers: z.number().int().min(0).max(64).default(0),
    /** Coalescing window for writes to readers, ms (0 = once per event-loop turn). */
    writeCoalesceMs: z.number().int().min(0).max(200).default(0),
    /** Upper bound of the per-path GOP cache, bytes. */
    gopCacheMaxBytes: z
      .number()
      .int()
      .min(0)
      .default(8 * 1024 * 1024),
    /**
     * GOP bursts (instant starts) a path sends to sessions joining it, bytes per second (a token bucket holding
     * one second's worth). A session that PLAYs once it is spent is answered at once and starts at the next
     * keyframe: a join storm costs the server little more than its replies. 0: sessions always start at the
     * next keyframe.
     */
    joinBurstBytesPerSecond: z
      .number()
      .int()
      .min(0)
      .max(1024 * 1024 * 1024)
      .default(DEFAULT_JOIN_BURST_BYTES_PER_SECOND),
    /** A reader whose socket backlog exceeds this many bytes skips to the next keyframe. */
    maxReaderBacklogBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .default(4 * 1024 * 1024),
    /**
     * Every TCP reader's backlog together, bytes: past it a reader asking for more than its share
     * skips to the next keyframe, never one that keeps up.
     */
    maxTotalReaderBacklogBytes: z
      .number()
      .int()
      .min(1024 * 1024)
      .default(256 * 1024 * 1024),
    /** Seconds a skipping TCP reader has to halve its backlog before its connection is closed. */
    readerStallTimeout: z.number().min(1).max(3600).default(20),
    /** Limits (0: none for the per-address and per-path ones). */
    maxConnections: z.number().int().min(1).default(4096),
    /**
     * Connections the kernel queues for accept on the RTSP ports (listen(2) backlog); Linux clamps it to
     * net.core.somaxconn. Sized for a join storm: readers connecting at once past it wait for SYN retries.
     */
    listenBacklog: z.number().int().min(1).max(65535).default(2048),
    maxConnectionsPerIp: z.number().int().min(0).default(0),
    /** Fraction of maxConnections (and of apiMaxConnections) one address may hold; 0: no share (NAT). */
    maxConnectionsPerIpShare: z.number().min(0).max(1).default(0.5),
    /** Reply bytes queued to a connection that does not read them, beyond which its requests are not read. */
    maxReplyBacklogBytes: z
      .number()
      .int()
      .min(4096)
      .max(64 * 1024 * 1024)
      .default(1024 * 1024),
    /** Requests read on one connection whose replies are not written yet, beyond which no more are read. */
    maxPendingRequests: z.number().int().min(1).max(1024).default(32),
    /** Seconds the server waits for a client's answer to its REDIRECT or ANNOUNCE (server/server-requests.ts). */
    serverRequestTimeout: z.number().min(0.1).max(600).default(5),
    /** Requests the server sent on one connection and still waiting for an answer; more are refused. */
    maxServerRequestsPending: z.number().int().min(1).max(64).default(4),
    /** Seconds an HTTP tunnel's GET side may wait for its POST side (without a session). */
    tunnelPairingTimeout: z.number().min(1).max(600).default(10),
    /** Seconds a TLS (RTSPS) handshake may take from the TCP accept. */
    tlsHandshakeTimeout: z.number().min(1).max(600).default(10),
    maxSessions: z.number().int().min(1).default(4096),
    maxReadersPerPath: z.number().int().min(0).default(0),
    /** Share of maxSessions one IP address may hold, 0..1 (0: no per-address cap, e.g. behind NAT). */
    maxSessionsPerIpShare: z.number().min(0).max(1).default(0.5),
    /** Seconds a session may go without PLAY or RECORD after it was made (half-made sessions). */
    sessionStartTimeout: z.number().int().min(1).max(3600).default(20),
    /** Bytes of an ANNOUNCE's SDP (413 beyond). */
    maxAnnouncedSdpBytes: z
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(64 * 1024),
    /** PLAY ranges a session on a file may queue behind the current one (RFC 2326 §10.5). */
    maxQueuedPlayRanges: z.number().int().min(0).max(1000).default(8),
    maxReplaySpeed: z.number().min(1).max(1000).default(64),
    /** Bytes of recording indexes shared by playbacks (segments, joined windows); LRU, evictions counted. */
    playbackIndexCacheBytes: z
      .number()
      .int()
      .min(0)
      .max(16 * 1024 * 1024 * 1024)
      .default(64 * 1024 * 1024),
    /** Bytes of a request's header section and of its body (the RTSP framer's limits), per connection. */
    maxRequestHeaderBytes: z
      .number()
      .int()
      .min(1024)
      .max(1024 * 1024)
      .default(64 * 1024),
    maxRequestBodyBytes: z
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(1024 * 1024),
    /** Seconds a started request may take to arrive whole (slowloris). */
    requestTimeout: z.number().min(1).max(600).default(10),
    /** Seconds a connection without sessions may stay silent. */
    idleTimeout: z.number().min(1).max(3600).default(60),
    /** RTMP listen address (README "RTMP"); null: no RTMP. Tests and embedders pass port 0 or null. */
    rtmpAddress: hostPort.nullable().default(':1935'),
    /** RTMPS listen address, with tlsCert/tlsKey (the RTSPS certificate); null: no RTMPS. */
    rtmpsAddress: hostPort.nullable().default(null),
    /** RTMP connections at once (RTMP and RTMPS together); beyond it a connection is closed at accept. */
    rtmpMaxConnections: z.number().int().min(1).default(1000),
    /** Chunk streams one RTMP connection may open. */
    rtmpMaxChunkStreams: z.number().int().min(2).max(65599).default(64),
    /** Bytes of one RTMP message (a video frame); the wire allows 16 MiB. */
    rtmpMaxMessageBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .max(0xffffff)
      .default(8 * 1024 * 1024),
    /** Bytes of partial RTMP messages one connection may hold for reassembly. */
    rtmpMaxReassemblyBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .default(16 * 1024 * 1024),
    /** Seconds from the TCP accept to RTMP's `connect`. */
    rtmpHandshakeTimeout: z.number().min(1).max(600).default(10),
    /** Seconds an RTMP connection (not a player) may stay silent. */
    rtmpIdleTimeout: z.number().min(1).max(3600).default(30),
    /**
     * Ask every RTMP `connect` without credentials for Adobe's challenge (`rtmp://user:pass@host/...`
     * in ffmpeg, OBS's "Use authentication"); users with a clear password only (README "RTMP").
     */
    rtmpAdobeAuth: z.boolean().default(false),
    /** Adobe challenges given and not yet answered, at once; beyond it a connect is refused. */
    rtmpMaxAdobeChallenges: z.number().int().min(1).max(1_000_000).default(1024),
    /**
     * Paths by name or `~regex` (captures as $G1.. in `source` and commands): a source the server feeds
     * itself (an MP4 file) and any option of pathDefaults. An exact name wins, then the first regex.
     */
    paths: pathsSchema.default({}),
    /** Defaults of every path option (recording, hooks, maxReaders, overridePublisher, fallback). */
    pathDefaults: pathDefaultsSchema.default(pathDefaultsSchema.parse({})),
    /**
     * Recording options of paths by name or pattern (`cam1`, `cam*`, `site/**`, `~^cam[0-9]+$`), over
     * pathDefaults and under a `paths` entry's own: the first entry that matches a path wins (an exact
     * name before any pattern). Kept for the configs written before `paths` took every option.
     */
    recordPaths: z
      .record(z.string().min(1).superRefine(parsedBy(compilePathPattern)), recordOverridesSchema)
      .default({}),
    ...hookServerOptions,
    /** Authentication; without users, anonymous rights or a hook, everyone may read and publish. */
    auth: authSchema.default({ basic: true, realm: 'rtspkit', users: [] }),
    /** A folder whose MP4 files are served on demand at rtsp://host/<relative path>. */
    mediaDir: z.string().min(1).nullable().default(null),
    /** Serve the built-in demo clip at /demo (what `npm start` does). */
    demo: z.boolean().default(false),
    /** The HTTP API, /metrics and the web page (src/http). Open to whoever can reach it until auth covers it. */
    api: z.boolean().default(false),
    /** Where the HTTP API listens; the default is loopback only (":9997" would be every interface). */
    apiAddress: hostPort.default('127.0.0.1:9997'),
    /** HTTP API / HLS connections in all (and, by maxConnectionsPerIpShare, from one address). */
    apiMaxConnections: z.number().int().min(1).max(65536).default(256),
    /** Seconds an HTTP API connection may stay open between requests (keep-alive). */
    apiIdleTimeout: z.number().min(1).max(600).default(5),
    /** Seconds an HTTP API request may take to arrive (its headers, and the whole request). */
    apiRequestTimeout: z.number().min(1).max(600).default(10),
    /** Bytes of an HTTP API request's header section (431 beyond). */
    apiMaxHeaderBytes: z
      .number()
      .int()
      .min(1024)
      .max(1024 * 1024)
      .default(16 * 1024),
    /** Seconds without an HTTP request after which a path's HLS muxer stops (a player asks every second or two). */
    hlsIdleTimeout: z.number().min(1).max(3600).default(20),
    /** Seconds of recording one HTTP export (`/v1/recordings/NAME/get`) may span (400 beyond). */
    recordExportMaxDuration: z.number().min(1).max(86400).default(3600),
    /** On-demand pulls starting or running at once; a reader beyond it gets 404 (counted). */
    pullMaxOnDemand: z.number().int().min(1).max(10000).default(100),
    /** Seconds between a pull's reconnect attempts: doubled from 1 after each failure, up to this. */
    pullReconnectMaxDelay: z.number().min(1).max(3600).default(30),
    /** Several servers sharing paths through Redis (README "Cluster"); null: this server alone. */
    cluster: clusterSchema.nullable().default(null),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function defaultConfig(): Config {
  return configSchema.parse({});
}

/**
 * Parses and validates YAML text, with the `RTSPKIT_CONFIG_*` variables of `env` over the file's
 * values (see env.ts); `source` names the file in messages.
 */
export function parseConfig(text: string, source = 'rtspkit.yml', env: Env = {}): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    throw new ConfigError(`${source}${pos ? `:${pos.line}:${pos.col}` : ''}: ${e.message.split('\n')[0]}`);
  }
  let overrides;
  try {
    overrides = applyConfigEnv(doc.toJS() ?? {}, env, configSchema);
  } catch (err) {
    if (err instanceof ConfigEnvError) throw new ConfigError(`environment: ${err.message}`);
    throw err;
  }
  const result = configSchema.safeParse(overrides.raw);
  if (result.success) return result.data;
  // An unknown key first: a misspelt option also leaves the option it meant at its default, and a key
  // from another server's config (runOnReady) is the mistake to report, not what else its entry lacks.
  const unknown = result.error.issues.find((i) => i.code === 'unrecognized_keys');
  if (unknown !== undefined) throw unknownKeyError(doc, lineCounter, source, unknown.path, unknown.keys[0]!);
  const issue = result.error.issues[0]!;
  const key = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  const fromEnv = overrides.applied
    .filter((o) => o.path.every((k, i) => issue.path[i] === k))
    .sort((a, b) => b.path.length - a.path.length)[0];
  if (fromEnv !== undefined)
    throw new ConfigError(`environment: ${fromEnv.variable}: ${key}${issue.message}`);
  const node = doc.getIn(issue.path as (string | number)[], true) as { range?: [number, number] } | undefined;
  let where = source;
  const offset = node?.range?.[0];
  if (offset !== undefined) {
    const { line, col } = lineCounter.linePos(offset);
    where += `:${line}:${col}`;
  }
  throw new ConfigError(`${where}: ${key}${issue.message}`);
}

/** `paths.cam1.runOnReady: unknown key (a path takes source, loop)` at the key's own line and column. */
function unknownKeyError(
  doc: ReturnType<typeof parseDocument>,
  lineCounter: LineCounter,
  source: string,
  path: PropertyKey[],
  key: string,
): ConfigError {
  const map: unknown = path.length > 0 ? doc.getIn(path as (string | number)[], true) : doc.contents;
  const pair = isMap(map) ? map.items.find((p) => isScalar(p.key) && String(p.key.value) === key) : undefined;
  const offset = isScalar(pair?.key) ? pair.key.range?.[0] : undefined;
  let where = source;
  if (offset !== undefined) {
    const { line, col } = lineCounter.linePos(offset);
    where += `:${line}:${col}`;
  }
  const known = knownKeysAt(configSchema, path);
  const nearest = nearestKey(key, known);
  const hint =
    nearest !== undefined
      ? ` (did you mean ${nearest}?)`
      : known.length > 0 && known.length <= 8
        ? ` (expected one of ${known.join(', ')})`
        : ' (rtspkit.sample.yml lists every option)';
  return new ConfigError(`${where}: ${[...path, key].join('.')}: unknown key${hint}`);
}

interface SchemaDef {
  innerType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  valueType?: z.ZodType;
  element?: z.ZodType;
}

/** The keys an object of the schema takes at `path` (map keys and list indexes pass through). */
function knownKeysAt(schema: z.ZodType, path: PropertyKey[]): string[] {
  let at: z.ZodType | undefined = schema;
  const defOf = (s: z.ZodType): SchemaDef => (s as unknown as { def: SchemaDef }).def;
  const unwrap = (s: z.ZodType): z.ZodType => {
    while (defOf(s).innerType !== undefined) s = defOf(s).innerType!;
    return s;
  };
  for (const step of path) {
    if (at === undefined) return [];
    const def = defOf(unwrap(at));
    at = def.shape?.[String(step)] ?? def.valueType ?? def.element;
  }
  return at === undefined ? [] : Object.keys(defOf(unwrap(at)).shape ?? {});
}

/** The known key closest to a misspelt one (Levenshtein, case-insensitive), if close enough to be meant. */
function nearestKey(key: string, known: readonly string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const next = [i];
      for (let j = 1; j <= b.length; j++)
        next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      row = next;
    }
    return row[b.length]!;
  };
  let best: { key: string; d: number } | undefined;
  for (const k of known) {
    const d = distance(key.toLowerCase(), k.toLowerCase());
    if (best === undefined || d < best.d) best = { key: k, d };
  }
  return best !== undefined && best.d <= Math.max(2, Math.floor(key.length / 4)) ? best.key : undefined;
}

export function loadConfigFile(path: string, env: Env = {}): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config ${path}: ${(err as Error).message}`);
  }
  return parseConfig(text, path, env);
}

export function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '');
  return { host: host === '' ? '0.0.0.0' : host, port: Number(address.slice(i + 1)) };
}
