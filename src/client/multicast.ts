/**
 * The client's UDP multicast transport (RFC 2326 §12.39 `multicast`, `destination`, `port`, `ttl`): what a
 * SETUP asks, what of the server's reply is taken (the group is hostile input: checked before any socket
 * is bound), and the group's sockets: joined at SETUP, left at the session's end.
 *
 * - Ports: the reply's `port` pair, bound with SO_REUSEADDR (several receivers on one host share a
 *   group) on the group's own address, so that only this group's datagrams arrive (Linux delivers a
 *   datagram to every socket bound to the wildcard address on its port, whichever group it was sent to,
 *   and a server gives each path its own group on the same ports). Where binding a multicast address is
 *   refused (not Linux), the wildcard address is taken instead.
 * - Interface: the control connection's local IPv4 address, for the membership (IP_ADD_MEMBERSHIP) and
 *   for what we send: the interface that reaches the server. On a loopback connection the group stays
 *   on `lo`.
 * - RTCP: receiver reports go to the group's RTCP port with the reply's ttl (RFC 3550 §6: RTCP is sent
 *   to every participant by the same distribution mechanism as the data, §6.2 sizes the interval by the
 *   group), not to a `server_port` a reply may name: RFC 2326 §12.39 gives `port` as "the RTP/RTCP port
 *   pair for a multicast session", and other members (monitors, mediamtx, gst-rtsp-server's) read there.
 *   Our own reports come back to us looped by the group: they are neither SRs nor a BYE of the sender's
 *   SSRC, so they change nothing.
 * - IPv6 groups (ff00::/8) are refused: the server side serves IPv4 groups only (src/server/multicast.ts).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { TransportSpec } from '../rtsp/transport.js';
import { normalizeAddress } from '../transport/udp.js';
import { RtspClientError } from './errors.js';

/** What the client may prefer in its SETUP (the server decides; ours ignores it). */
export interface MulticastPreference {
  /** An IPv4 multicast address (224.0.0.0/4). */
  destination?: string;
  /** Even RTP port of the first track set up; track n asks port + 2n. */
  port?: number;
}

/** A track's place in a group, from a checked SETUP reply. */
export interface MulticastPlace {
  group: string;
  rtpPort: number;
  rtcpPort: number;
  /** Hops for what we send to the group (RFC 2326 §12.39 `ttl`); 1 when the reply names none. */
  ttl: number;
}

/** A joined group: its sockets (RTP, RTCP), its address and the interface joined on. */
export interface MulticastMembership {
  rtp: dgram.Socket;
  rtcp: dgram.Socket;
  group: string;
  interfaceAddress: string | undefined;
}

/** Whether `address` is an IPv4 multicast address (224.0.0.0/4, RFC 5771). */
export function isIpv4Multicast(address: string): boolean {
  if (!net.isIPv4(address)) return false;
  const first = Number(address.split('.')[0]);
  return first >= 224 && first <= 239;
}

/** Checks the caller's preference (a programming error otherwise: `STATE`, as other misuse of the API). */
export function checkPreference(p: MulticastPreference | undefined): void {
  if (p?.destination !== undefined && !isIpv4Multicast(p.destination))
    throw new RtspClientError('STATE', `multicast destination ${p.destination} is not in 224.0.0.0/4`);
  if (
    p?.port !== undefined &&
    (!Number.isInteger(p.port) || p.port < 2 || p.port > 65534 || p.port % 2 !== 0)
  )
    throw new RtspClientError('STATE', `multicast port ${p.port} is not an even port below 65535`);
}

/** The Transport a multicast SETUP asks for (§12.39): `RTP/AVP;multicast`, with the preference if any. */
export function multicastRequest(p: MulticastPreference | undefined, trackOrdinal: number): TransportSpec {
  const spec: TransportSpec = {
    protocol: 'RTP',
    profile: 'AVP',
    lowerTransport: 'UDP',
    lowerTransportExplicit: false,
    delivery: 'multicast',
    extra: [],
  };
  if (p?.destination !== undefined) spec.destination = p.destination;
  if (p?.port !== undefined && p.port + 2 * trackOrdinal < 65535) {
    const rtp = p.port + 2 * trackOrdinal;
    spec.port = { rtp, rtcp: rtp + 1 };
  }
  return spec;
}

/** The error for a reply the client cannot take as multicast (code `BAD_TRANSPORT`). */
function refused(url: string, why: string): RtspClientError {
  return new RtspClientError('BAD_TRANSPORT', `SETUP ${url}: multicast asked, but ${why}`);
}

/**
 * The place a multicast SETUP reply gives, checked: multicast delivery over UDP, an IPv4 multicast
 * `destination`, a port pair of two distinct ports in 1..65535, not one another track of the session
 * already holds in the same group (`taken`: group:port keys). Anything else is refused (`BAD_TRANSPORT`).
 */
export function multicastPlaceOf(
  reply: TransportSpec | undefined,
  url: string,
  taken: ReadonlySet<string>,
): MulticastPlace {
  if (reply === undefined) throw refused(url, 'the reply has no readable Transport');
  if (reply.delivery !== 'multicast' || reply.lowerTransport !== 'UDP')
    throw refused(url, `the server answered ${reply.delivery ?? 'unicast'} ${reply.lowerTransport}`);
  const group = reply.destination;
  if (group === undefined || group === '') throw refused(url, 'the reply names no destination group');
  if (!isIpv4Multicast(group))
    throw refused(url, `destination ${JSON.stringify(group.slice(0, 64))} is not an IPv4 multicast address`);
  const rtpPort = reply.port?.rtp;
  if (rtpPort === undefined) throw refused(url, 'the reply names no port pair');
  const rtcpPort = reply.port?.rtcp ?? rtpPort + 1;
  if (rtpPort < 1 || rtcpPort < 1 || rtcpPort > 0xffff || rtcpPort === rtpPort)
    throw refused(url, `port ${rtpPort}-${rtcpPort} is not a usable pair`);
  for (const port of [rtpPort, rtcpPort])
    if (taken.has(placeKey(group, port))) throw refused(url, `${group}:${port} is another track's`);
  return { group, rtpPort, rtcpPort, ttl: reply.ttl ?? 1 };
}

/** A group:port key (for `taken`). */
export function placeKey(group: string, port: number): string {
  return `${group}:${port}`;
}

/** The interface to join on: the control connection's local IPv4 address, else the kernel's choice. */
export function membershipInterface(localAddress: string | undefined): string | undefined {
  const a = localAddress === undefined ? undefined : normalizeAddress(localAddress);
  return a !== undefined && net.isIPv4(a) ? a : undefined;
}

async function bindShared(group: string, port: number): Promise<dgram.Socket> {
  const attempt = (address: string): Promise<dgram.Socket> =>
    new Promise((resolve, reject) => {
      const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
      const onError = (err: Error): void => {
        s.close();
        reject(err);
      };
      s.once('error', onError);
      s.bind(port, address, () => {
        s.off('error', onError);
        resolve(s);
      });
    });
  try {
    return await attempt(group);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EADDRNOTAVAIL' && code !== 'EINVAL') throw e;
    return attempt('0.0.0.0');
  }
}

/**
 * Binds the place's two ports and joins its group on `interfaceAddress` (errors: the errno code, e.g.
 * `EADDRINUSE` when a socket without SO_REUSEADDR holds a port, `ENODEV` with no multicast route).
 */
export async function joinGroup(
  place: MulticastPlace,
  interfaceAddress: string | undefined,
): Promise<MulticastMembership> {
  const sockets: dgram.Socket[] = [];
  try {
    for (const port of [place.rtpPort, place.rtcpPort]) {
      const s = await bindShared(place.group, port);
      sockets.push(s);
      s.addMembership(place.group, interfaceAddress);
      if (interfaceAddress !== undefined) s.setMulticastInterface(interfaceAddress);
      s.setMulticastTTL(Math.min(255, Math.max(0, place.ttl)));
    }
  } catch (e) {
    for (const s of sockets) s.close();
    const code = (e as NodeJS.ErrnoException).code ?? 'ESOCKET';
    throw new RtspClientError(
      code,
      `could not join multicast group ${place.group} on ports ${place.rtpPort}-${place.rtcpPort}: ${(e as Error).message}`,
      { cause: e },
    );
  }
  return { rtp: sockets[0]!, rtcp: sockets[1]!, group: place.group, interfaceAddress };
}

/** Leaves the group (IP_DROP_MEMBERSHIP) before the sockets are closed; an already closed socket has left. */
export function leaveGroup(m: MulticastMembership): void {
  for (const s of [m.rtp, m.rtcp]) {
    try {
      s.dropMembership(m.group, m.interfaceAddress);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ERR_SOCKET_DGRAM_NOT_RUNNING' && code !== 'EADDRNOTAVAIL') throw e;
    }
  }
}

/** A multicast SETUP reply taken: checked (multicastPlaceOf), then its group joined (joinGroup). */
export async function joinFromReply(
  reply: TransportSpec | undefined,
  url: string,
  taken: ReadonlySet<string>,
  localAddress: string | undefined,
): Promise<{ membership: MulticastMembership; place: MulticastPlace }> {
  const place = multicastPlaceOf(reply, url, taken);
  return { membership: await joinGroup(place, membershipInterface(localAddress)), place };
}
