/** Listening TCP (and TLS) servers: the promise of `listen`, and the port a server got (port 0: the kernel's). */
import type net from 'node:net';

/**
 * Resolves once `server` listens on `host`:`port`, rejects with its error (EADDRINUSE, EACCES). `backlog`
 * is listen(2)'s: connections the kernel completes and queues until they are accepted (Node's default 511;
 * Linux clamps it to net.core.somaxconn).
 */
export function listenOn(server: net.Server, port: number, host: string, backlog?: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, ...(backlog !== undefined ? { backlog } : {}) }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** The port `server` listens on; undefined when it does not (yet, or any more). */
export function boundPort(server: net.Server | undefined): number | undefined {
  const a = server?.address();
  return typeof a === 'object' && a !== null ? a.port : undefined;
}
