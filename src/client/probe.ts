/**
 * What `rtspkit probe` learns beyond the SDP: MPEG audio tracks (MP3, MP2, RFC 2250) announce a 90 kHz
 * RTP clock and no sample rate, which only their frames tell; they are played briefly to read one.
 */
import { clockTimeout, systemClock, type Clock, type ClockTimer } from '../base/clock.js';
import type { RtspClient } from './client.js';
import { RtspClientError } from './errors.js';
import { mpegAudioFormat, type TrackSummary } from './tracks.js';

/** How long to wait for the first packet of every MPEG audio track. */
export const MPEG_AUDIO_WAIT_MS = 3000;

/**
 * PLAYs the MPEG audio tracks of a described session over TCP and puts the sample rate and channels
 * of their first frame header into `summaries`, then TEARDOWN. Best effort: a track that sends nothing
 * within `waitMs`, or a refusal (RtspClientError), leaves its summary without them.
 */
export async function readMpegAudioFormats(
  client: RtspClient,
  summaries: TrackSummary[],
  options: { waitMs?: number; clock?: Clock } = {},
): Promise<void> {
  const mpa = client.tracks.filter((t) => t.encodingName.toUpperCase() === 'MPA');
  if (mpa.length === 0) return;
  const pending = new Set(mpa.map((t) => t.index));
  let resolveAll: () => void = () => undefined;
  const all = new Promise<void>((r) => (resolveAll = r));
  client.on('rtp', (track, packet) => {
    if (!pending.has(track.index)) return;
    const format = mpegAudioFormat(packet.payload);
    if (format === undefined) return;
    const s = summaries.find((x) => x.index === track.index);
    if (s !== undefined) Object.assign(s, format);
    pending.delete(track.index);
    if (pending.size === 0) resolveAll();
  });
  let timer: ClockTimer | undefined;
  try {
    await client.setup({ transport: 'tcp', tracks: [...pending] });
    await client.play();
    const waited = new Promise<void>((r) => {
      timer = clockTimeout(options.clock ?? systemClock, r, options.waitMs ?? MPEG_AUDIO_WAIT_MS, {
        unref: true,
      });
    });
    await Promise.race([all, waited]);
    await client.teardown();
  } catch (e) {
    // the summaries stay without a sample rate
    if (!(e instanceof RtspClientError)) throw e;
  } finally {
    timer?.cancel();
  }
}
