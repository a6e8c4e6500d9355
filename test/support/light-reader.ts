/**
 * A light RTSP reader for load tests: one TCP connection, DESCRIBE (following up to 3 redirects),
 * SETUP of the first track interleaved, PLAY; it counts the interleaved bytes it gets. Hundreds of
 * them fit in one test process where ffmpeg processes would not.
 */
import { parseSdp } from '../../src/sdp/parse.js';
import { getControl } from '../../src/sdp/attributes.js';
import { resolveControlUrl } from '../../src/rtsp/url.js';
import { RawClient, sessionId } from './raw-client.js';

export interface LightReader {
  /** The port of the node that serves it (after redirects). */
  port: number;
  redirects: number;
  bytes(): number;
  close(): void;
}

export async function lightRead(url: string): Promise<LightReader> {
  let target = url;
  let redirects = 0;
  for (;;) {
    const port = Number(new URL(target).port);
    const c = await RawClient.connect(port);
    let bytes = 0;
    c.onFrame = (f) => {
      bytes += f.payload.length;
    };
    const d = await c.request('DESCRIBE', target, { Accept: 'application/sdp' });
    if (d.statusCode === 302 && redirects < 3) {
      c.close();
      target = d.headers.get('Location')!;
      redirects++;
      continue;
    }
    if (d.statusCode !== 200) {
      c.close();
      throw new Error(`DESCRIBE ${target}: ${d.statusCode}`);
    }
    const sdp = parseSdp(d.body.toString('utf8'));
    const control = getControl(sdp.media[0]!);
    const trackUrl = resolveControlUrl({
      requestUrl: target,
      contentBase: d.headers.get('Content-Base') ?? target,
      ...(control !== undefined ? { mediaControl: control } : {}),
    });
    const s = await c.request('SETUP', trackUrl, { Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' });
    if (s.statusCode !== 200) throw new Error(`SETUP ${s.statusCode}`);
    const p = await c.request('PLAY', target, { Session: sessionId(s), Range: 'npt=0-' });
    if (p.statusCode !== 200) throw new Error(`PLAY ${p.statusCode}`);
    return { port, redirects, bytes: () => bytes, close: () => c.close() };
  }
}
