/**
 * Whether an address is this host's own: loopback (127.0.0.0/8, ::1), unspecified (0.0.0.0, ::) or
 * one of the interfaces' addresses. Used to tell datagrams the server sent to itself from a
 * client's (RFC 2326 §12.39: a client_port equal to a server port on a local address loops).
 */
import { networkInterfaces } from 'node:os';

/** `::ffff:127.0.0.1` → `127.0.0.1` (as udp.ts normalizeAddress; kept here so neither imports the other). */
function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export function isLoopbackOrUnspecified(address: string): boolean {
  const a = normalizeAddress(address);
  return a.startsWith('127.') || a === '::1' || a === '0.0.0.0' || a === '::';
}

/**
 * Loopback, unspecified or an interface's address. The interface list is read at each call (it
 * changes with DHCP, VPNs): callers ask only for datagrams already suspect (a server port as
 * source), never per packet.
 */
export function isLocalAddress(address: string): boolean {
  const a = normalizeAddress(address);
  if (isLoopbackOrUnspecified(a)) return true;
  for (const list of Object.values(networkInterfaces()))
    for (const i of list ?? []) if (normalizeAddress(i.address) === a) return true;
  return false;
}
