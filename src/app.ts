/** Wires configuration, logging and the RTSP server together. */
import type { Config } from './config/config.js';
import { splitHostPort } from './config/config.js';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from './log/logger.js';
import { Mp4LoopSource } from './sources/mp4-loop.js';
import type { IncomingMessage } from 'node:http';
import type { Logger } from './base/logger.js';
import { Authorizer, type AuthConfig } from './server/auth.js';
import { normalizeAddress } from './transport/udp.js';
import { RtspServer, type RtspServerOptions } from './server/server.js';
import type { TlsMaterial } from './config/tls.js';
import { loadTlsFiles } from './config/tls.js';
import { ApiServer } from './http/api.js';

export interface App {
  server: RtspServer;
  /** The HTTP API, /metrics and the web page, when `api` is on. */
  api: ApiServer | undefined;
  close(): Promise<void>;
}

/** The package's root folder, from src/ (tsx) or dist/src/ (compiled) alike. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** The demo clip shipped in the package (made by scripts/make-demo.sh). */
export const DEMO_CLIP = join(packageRoot(), 'media', 'demo.mp4');

export interface AppOptions {
  /** TLS material made elsewhere (`--tls-self-signed`); else tlsCert/tlsKey of the config. */
  tls?: TlsMaterial;
}

/** Auth is on when the config names users, anonymous rights or a hook. */
function createAuthorizer(config: Config, logger: Logger): Authorizer | undefined {
  const a = config.auth;
  if (a.users.length === 0 && a.anonymous === undefined && a.hook === undefined) return undefined;
  const authConfig: AuthConfig = {
    users: a.users.map((u) => ({
      name: u.name,
      password: u.password,
      permissions: u.permissions.map((p) =>
        p.path !== undefined ? { action: p.action, path: p.path } : { action: p.action },
      ),
      ...(u.ips !== undefined ? { ips: u.ips } : {}),
    })),
    basic: a.basic,
    realm: a.realm,
  };
  if (a.anonymous !== undefined)
    authConfig.anonymous = {
      permissions: a.anonymous.permissions.map((p) =>
        p.path !== undefined ? { action: p.action, path: p.path } : { action: p.action },
      ),
      ...(a.anonymous.ips !== undefined ? { ips: a.anonymous.ips } : {}),
    };
  if (a.hook !== undefined)
    authConfig.externalHook = {
      url: a.hook.url,
      ...(a.hook.timeoutMs !== undefined ? { timeoutMs: a.hook.timeoutMs } : {}),
    };
  return new Authorizer(authConfig, { logger });
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export async function startApp(config: Config, options: AppOptions = {}): Promise<App> {
  const logger = createLogger(config.logLevel);
  const { host, port } = splitHostPort(config.rtspAddress);
  let tls: RtspServerOptions['tls'];
  const material =
    options.tls ??
    (config.tlsCert !== null && config.tlsKey !== null
      ? loadTlsFiles(config.tlsCert, config.tlsKey)
      : undefined);
  if (material !== undefined) tls = { ...material, port: splitHostPort(config.rtspsAddress).port };
  const authorizer = createAuthorizer(config, logger);
  const server = new RtspServer({
    host,
    port,
    udpRtpPort: config.rtpPort ?? false,
    sessionTimeoutS: config.sessionTimeout,
    sessionTimeoutGraceS: config.sessionTimeoutGrace,
    udpReadTimeoutS: config.udpReadTimeout,
    multicast:
      config.multicastRange === null
        ? false
        : { range: config.multicastRange, rtpPort: config.multicastRtpPort, ttl: config.multicastTtl },
    writeCoalesceMs: config.writeCoalesceMs,
    gopCacheMaxBytes: config.gopCacheMaxBytes,
    maxReaderBacklogBytes: config.maxReaderBacklogBytes,
    maxConnections: config.maxConnections,
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    maxSessions: config.maxSessions,
    maxReadersPerPath: config.maxReadersPerPath,
    requestTimeoutMs: config.requestTimeout * 1000,
    idleTimeoutMs: config.idleTimeout * 1000,
    logger,
    ...(tls !== undefined ? { tls } : {}),
    ...(authorizer !== undefined ? { authorizer } : {}),
    ...(config.mediaDir !== null ? { mediaDir: config.mediaDir } : {}),
  });
  await server.listen();
  const sources: Mp4LoopSource[] = [];
  const fileSources = Object.entries(config.paths).map(([name, p]) => ({
    name,
    file: p.source,
    loop: p.loop,
  }));
  if (config.demo) fileSources.push({ name: 'demo', file: DEMO_CLIP, loop: true });
  try {
    for (const { name, file, loop } of fileSources) {
      const source = await Mp4LoopSource.open({ file, loop, clock: server.clock, logger });
      const stream = server.addSourcePath(name, source.media);
      if (stream === false) throw new Error(`path ${name} is defined twice`);
      source.start(stream);
      sources.push(source);
      logger.info({ path: name, file }, 'file source started');
    }
  } catch (err) {
    await Promise.all(sources.map((s) => s.stop()));
    await server.close();
    throw err;
  }
  let api: ApiServer | undefined;
  if (config.api) {
    const address = splitHostPort(config.apiAddress);
    api = new ApiServer({
      server,
      host: address.host,
      port: address.port,
      logger,
      hls: { idleTimeoutMs: config.hlsIdleTimeout * 1000 },
      ...(authorizer !== undefined
        ? {
            authorize: async (req: IncomingMessage) =>
              (await authorizer.check(
                {
                  method: req.method ?? 'GET',
                  uri: req.url ?? '/',
                  headers: { get: (name: string) => headerValue(req, name) },
                },
                { ip: normalizeAddress(req.socket.remoteAddress ?? ''), action: 'api', path: '', query: '' },
              )) === undefined,
            authFailures: () => authorizer.authFailures,
          }
        : {}),
    });
    try {
      await api.listen();
    } catch (err) {
      await Promise.all(sources.map((s) => s.stop()));
      await server.close();
      throw err;
    }
  }
  return {
    server,
    api,
    close: async () => {
      await api?.close();
      await Promise.all(sources.map((s) => s.stop()));
      await server.close();
    },
  };
}
