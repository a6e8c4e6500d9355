/**
 * A connection's interleaved channels (RFC 2326 §10.12): channel → the handler of the session track
 * that set it up (RTP or RTCP from its client). A session registers its channels at SETUP and takes
 * them back at its end, so a `$` frame goes from the connection straight to its session's track
 * (media-in.ts), with no lookup through the server. Over TCP, TLS, an HTTP tunnel (the GET side's
 * table: the POST side only feeds it) and WebSocket alike.
 */

/** What a channel's frames go to: their payload, a view of the connection's read buffer (copy to keep). */
export type ChannelHandler = (payload: Buffer) => void;

/** The channel field is one octet. */
const CHANNEL_COUNT = 256;

interface ChannelEntry {
  /** The session that registered the channel: only it takes it back. */
  owner: object;
  handler: ChannelHandler;
}

export class InterleavedChannels {
  /**
   * Indexed by channel: one array read per frame, no hashing. Grown to the highest channel bound (most
   * clients use 0-3): a table of all 256 from the start cost 2 KB per connection, a tenth of a reader.
   */
  private readonly entries: (ChannelEntry | undefined)[] = [];
  /** Frames on a channel no session set up (or one already torn down): dropped. */
  unboundFrames = 0;

  /** Routes `channel` to `handler` for `owner`; false when another owner holds it (the SETUP checks first). */
  bind(channel: number, owner: object, handler: ChannelHandler): boolean {
    if (!Number.isInteger(channel) || channel < 0 || channel >= CHANNEL_COUNT) return false;
    const cur = this.entries[channel];
    if (cur !== undefined && cur.owner !== owner) return false;
    while (this.entries.length <= channel) this.entries.push(undefined);
    this.entries[channel] = { owner, handler };
    return true;
  }

  /** Takes back every channel `owner` registered. */
  unbind(owner: object): void {
    for (let ch = 0; ch < this.entries.length; ch++)
      if (this.entries[ch]?.owner === owner) this.entries[ch] = undefined;
  }

  /** The channels in use, for picking free ones at SETUP. */
  used(): Set<number> {
    const out = new Set<number>();
    for (let ch = 0; ch < this.entries.length; ch++) if (this.entries[ch] !== undefined) out.add(ch);
    return out;
  }

  /** Hands a frame to its channel's handler; false (counted, dropped) when the channel has none. */
  dispatch(channel: number, payload: Buffer): boolean {
    const entry = channel < this.entries.length ? this.entries[channel] : undefined;
    if (entry === undefined) {
      this.unboundFrames++;
      return false;
    }
    entry.handler(payload);
    return true;
  }
}
