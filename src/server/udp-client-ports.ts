/**
 * Which client_port (RFC 2326 §12.39) a UDP SETUP may announce. The server reads a UDP session's
 * datagrams by their source address and port, and takes any of them as a sign of life, so:
 * - a port pair another session already announced from the same address is refused: that session's
 *   route would otherwise be taken over (a reader announcing a publisher's ports from the same host
 *   took its incoming media, and the publish ended). Sessions are told apart by source, so the
 *   first one keeps it; an own pair per track (`rtpPortRange`) has no such conflict;
 * - a server port on one of the server's own addresses is refused: the server would send to itself,
 *   its own datagrams keeping the session alive forever. udp.ts also drops such datagrams, in case
 *   an address is local in a way the check missed (an interface added later).
 */
import type { UdpPair } from '../transport/udp.js';
import { isLocalAddress } from '../transport/local-address.js';
import type { SessionRefusalReason } from './session-limits.js';

export interface ClientPorts {
  address: string;
  rtpPort: number;
  rtcpPort: number;
}

/**
 * The refusal for `ports` announced by `session`, or undefined. `serverPort` says whether a port is
 * one of the server's UDP ports; `shared` is the pair every session shares, when there is one.
 */
export function clientPortRefusal(
  ports: ClientPorts,
  session: object,
  serverPort: (port: number) => boolean,
  shared: UdpPair | undefined,
): SessionRefusalReason | undefined {
  const both = [ports.rtpPort, ports.rtcpPort];
  if (both.some(serverPort) && isLocalAddress(ports.address)) return 'clientPortIsServer';
  if (shared !== undefined)
    for (const port of both) {
      const owner = shared.routeOwner(ports.address, port);
      if (owner !== undefined && owner !== session) return 'clientPortInUse';
    }
  return undefined;
}
