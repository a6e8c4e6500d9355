/**
 * The multicast groups of live paths: one per path, made at its first multicast SETUP, closed with its
 * last member or when its publisher leaves. Apart from the server because a group outlives the
 * sessions that use it (they only hold it open) and the address range is shared by every path;
 * the server tells it when a member leaves, and it tells the server when a group's stream ended.
 */
import { clockTimeout, type Clock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import { randomSsrc } from '../rtp/packet.js';
import { MulticastAddresses, MulticastGroup, type MulticastOptions } from './multicast.js';
import type { ServerSession } from './session.js';
import { UDP_BYE_DELAY_MS, byePacket } from './server-rtcp.js';

export interface MulticastRegistryDeps {
  options: MulticastOptions;
  /** Times the BYE's delay before a group closes. */
  clock: Clock;
  logger: Logger;
  /** A member whose group's stream ended: it waits for its TEARDOWN like a unicast reader. */
  detachMember(sessionId: string, reason: string): void;
}

export class MulticastRegistry {
  /** UDP multicast groups by live path. */
  private readonly groups = new Map<string, MulticastGroup>();
  private readonly addresses: MulticastAddresses;

  constructor(private readonly deps: MulticastRegistryDeps) {
    // A bad range fails at start, not at the first SETUP.
    this.addresses = new MulticastAddresses(deps.options.range);
  }

  /** The group of a path, once a member set up through it. */
  get(path: string): MulticastGroup | undefined {
    return this.groups.get(path);
  }

  /** The path's multicast group, made at its first multicast SETUP: the next free address of the range. */
  async groupFor(path: string, trackCount: number): Promise<MulticastGroup | undefined> {
    const existing = this.groups.get(path);
    if (existing !== undefined) return existing;
    const opts = this.deps.options;
    const address = this.addresses.take(new Set([...this.groups.values()].map((g) => g.address)));
    if (address === undefined) return undefined;
    const group: MulticastGroup = new MulticastGroup(
      address,
      opts.rtpPort,
      opts.ttl,
      trackCount,
      Array.from({ length: trackCount }, () => randomSsrc()),
      (reason) => {
        this.ended(path, group, `publisher left (${reason})`);
      },
      this.deps.logger,
    );
    this.groups.set(path, group);
    await group.open();
    this.deps.logger.info(
      { path, group: address, port: opts.rtpPort, ttl: opts.ttl },
      'multicast group opened',
    );
    return group;
  }

  /** A member session ended: the group closes with its last member. */
  leave(session: ServerSession): void {
    const group = this.groups.get(session.path);
    if (group === undefined || !group.members.delete(session.id) || group.members.size > 0) return;
    session.stream?.removeReader(group);
    this.close(session.path, group);
  }

  /** Closes a group; with `byes`, sends them first (200 ms later, as to unicast UDP readers). */
  private close(path: string, group: MulticastGroup, byes?: readonly Buffer[]): void {
    if (this.groups.get(path) === group) this.groups.delete(path);
    if (byes === undefined) group.close();
    else
      clockTimeout(
        this.deps.clock,
        () => {
          group.closeAfter(byes);
        },
        UDP_BYE_DELAY_MS,
        { unref: true },
      );
    this.deps.logger.info({ path, group: group.address }, 'multicast group closed');
  }

  /** The publisher left: BYE to the group, and each member waits for its TEARDOWN like a unicast reader. */
  private ended(path: string, group: MulticastGroup, reason: string): void {
    for (const id of group.members) this.deps.detachMember(id, reason);
    this.close(
      path,
      group,
      group.tracks.map((track) => byePacket(group.ssrcs[track]!)),
    );
  }
}
