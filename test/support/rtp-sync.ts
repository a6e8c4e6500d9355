/**
 * How a reader's RTP-Info and the RTCP sender reports it receives place its tracks in time, computed
 * from the packets as a receiver does (ffmpeg's rtpdec: RTP-Info until the first SR, then the SRs).
 *
 * RFC 2326 §12.33: each track's `rtptime` is the RTP time of the instant in the Range header, the same
 * instant for every track. RFC 3550 §6.4.1: an SR maps its track's RTP time to the sender's wall clock.
 * So each track's rtptime, mapped through that track's first SR, must give one instant; the spread of
 * those instants across tracks is the A/V step a receiver sees when it moves from RTP-Info to SR timing.
 */
import { ntpToUnixMs } from '../../src/base/clock.js';
import { tsDiff32 } from '../../src/base/seq.js';
import { parseRtcpCompound, type SenderReport } from '../../src/rtp/rtcp.js';
import { parseRtpInfo, type RtpInfo } from '../../src/rtsp/rtp-info.js';
import type { RtspResponse } from '../../src/rtsp/message.js';
import { mediaFormats } from '../../src/sdp/formats.js';
import { parseSdp } from '../../src/sdp/parse.js';
import { RawClient, sessionId } from './raw-client.js';

export interface SyncReading {
  /** Per track: the wall instant (Unix ms) of its RTP-Info rtptime through its first SR after PLAY. */
  instantsMs: number[];
  /** max - min of `instantsMs`. */
  spreadMs: number;
  rtpInfo: RtpInfo[];
}

/** Clock rate of each media section of a DESCRIBE answer. */
export function clockRates(describe: RtspResponse): number[] {
  return parseSdp(describe.body.toString()).media.map((m) => mediaFormats(m)[0]!.clockRate);
}

/**
 * The spread, for the RTP-Info of `play` and the SRs on the odd channels of `client.frames` from
 * index `fromFrame`: waits (at most `timeoutMs`) for one SR per track. Channels are 2i, 2i+1.
 */
export async function syncAfterPlay(
  client: RawClient,
  play: RtspResponse,
  rates: readonly number[],
  fromFrame: number,
  timeoutMs = 8000,
): Promise<SyncReading> {
  const rtpInfo = parseRtpInfo(play.headers.get('RTP-Info') ?? '');
  const firstSr = (track: number): SenderReport | undefined => {
    for (const f of client.frames.slice(fromFrame)) {
      if (f.channel !== 2 * track + 1) continue;
      const sr = parseRtcpCompound(f.payload).find((p) => p.type === 'sr');
      if (sr !== undefined) return sr;
    }
    return undefined;
  };
  await client.until(
    () => rates.every((_, i) => firstSr(i) !== undefined),
    timeoutMs,
    'an SR on every track',
  );
  const instantsMs = rates.map((rate, i) => {
    const sr = firstSr(i)!;
    const rtptime = rtpInfo[i]?.rtptime;
    if (rtptime === undefined)
      throw new Error(`no rtptime for track ${i} in ${play.headers.get('RTP-Info')}`);
    return ntpToUnixMs(sr.ntp) + (tsDiff32(sr.rtpTimestamp, rtptime) * 1000) / rate;
  });
  return {
    instantsMs,
    spreadMs: Math.max(...instantsMs) - Math.min(...instantsMs),
    rtpInfo,
  };
}

/** DESCRIBE, SETUP of every track over TCP (channels 2i, 2i+1), PLAY: a reader joining `url`. */
export async function joinOverTcp(
  port: number,
  url: string,
  headers: Record<string, string> = {},
): Promise<{ client: RawClient; session: string; rates: number[]; play: RtspResponse }> {
  const client = await RawClient.connect(port);
  const d = await client.request('DESCRIBE', url, { Accept: 'application/sdp' });
  if (d.statusCode !== 200) throw new Error(`DESCRIBE ${url}: ${d.statusCode}`);
  const rates = clockRates(d);
  let session = '';
  for (let i = 0; i < rates.length; i++) {
    const s = await client.request('SETUP', `${url}/trackID=${i}`, {
      Transport: `RTP/AVP/TCP;unicast;interleaved=${2 * i}-${2 * i + 1}`,
      ...(session !== '' ? { Session: session } : {}),
    });
    if (s.statusCode !== 200) throw new Error(`SETUP ${url}/trackID=${i}: ${s.statusCode}`);
    session = sessionId(s);
  }
  const play = await client.request('PLAY', `${url}/`, { Session: session, ...headers });
  if (play.statusCode !== 200) throw new Error(`PLAY ${url}: ${play.statusCode}`);
  return { client, session, rates, play };
}
