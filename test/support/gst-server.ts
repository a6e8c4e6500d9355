/**
 * gst-rtsp-server (../shared/peers/gst_server.py) as an upstream for pull tests: started on a free port
 * (or a given one, to restart it after an outage), ready once its shared live media answers DESCRIBE;
 * or in record mode (`record`): ANNOUNCE/RECORD at /pub re-served at /bench, ready once it listens
 * (/bench answers DESCRIBE only after a publisher's first samples: `describable`).
 */
import { existsSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { RtspClient } from '../../src/client/index.js';
import { run, waitFor, type Run } from './process.js';
import { mediaPath, repoRoot, requireTools, skipUnless, skipUnlessMedia } from './tools.js';

export const GST_SERVER = join(repoRoot(), '..', 'shared', 'peers', 'gst_server.py');
export const GST_CLIP = 'h264_base_aac.mp4';

/** For `{ skip }`: the peer, the system python and the clip (fails under RTSPKIT_REQUIRE_TOOLS=1). */
export function skipUnlessGstServer(...tools: string[]): string | false {
  const missing = skipUnless(...tools) || skipUnlessMedia(GST_CLIP);
  if (missing !== false) return missing;
  if (existsSync('/usr/bin/python3') && existsSync(GST_SERVER)) return false;
  if (requireTools)
    throw new Error('RTSPKIT_REQUIRE_TOOLS=1 but gst_server.py or /usr/bin/python3 is missing');
  return 'needs /usr/bin/python3 and ../shared/peers/gst_server.py';
}

/** A TCP port free right now (bound on port 0, then released). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface GstUpstream {
  proc: Run;
  port: number;
  /** gst_server.py's stderr so far. */
  stderr(): string;
}

/** gst_server.py's record mode: publishers ANNOUNCE/RECORD at this mount ... */
export const GST_RECORD_MOUNT = '/pub';
/** ... and readers get the published tracks, shared and live, at this one. */
export const GST_RELAY_MOUNT = '/bench';

/**
 * Starts gst_server.py serving the clip at /live (`extra`: e.g. `--auth user:pass`), or with `record`
 * accepting a publisher at GST_RECORD_MOUNT and relaying it at GST_RELAY_MOUNT. With `port`, on that
 * port (a restart); else on a free one, tried again elsewhere when gst cannot bind it.
 */
export async function startGstUpstream(
  options: { port?: number; extra?: string[]; maxSeconds?: number; record?: boolean } = {},
): Promise<GstUpstream> {
  const mode =
    options.record === true
      ? ['--record-mount', GST_RECORD_MOUNT, '--relay-mount', GST_RELAY_MOUNT]
      : ['--file', mediaPath(GST_CLIP)];
  for (let attempt = 0; ; attempt++) {
    const port = options.port ?? (await freePort());
    const proc = run(
      '/usr/bin/python3',
      [GST_SERVER, ...mode, '--port', String(port)]
        .concat(['--udp-ports', `${port + 2}-${port + 41}`])
        .concat(['--max-seconds', String(options.maxSeconds ?? 90)])
        .concat(options.extra ?? []),
      { timeoutMs: ((options.maxSeconds ?? 90) + 10) * 1000 },
    );
    const state = { stderr: '', exited: false };
    proc.child.stderr!.on('data', (d: string) => {
      state.stderr += d;
    });
    void proc.done.then(() => (state.exited = true));
    await waitFor(() => /ready pid=\d+/.test(state.stderr) || state.exited, 20_000, 'gst_server.py ready');
    if (!state.exited) {
      const userinfo = options.extra?.includes('--auth') === true ? 'user:pass@' : '';
      if (options.record !== true) await describable(`rtsp://${userinfo}127.0.0.1:${port}/live`);
      return { proc, port, stderr: () => state.stderr };
    }
    if (attempt >= 4) throw new Error(`gst_server.py failed: ${state.stderr}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** A shared live media answers DESCRIBE only once its pipeline has data: wait for that. */
export async function describable(url: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const c = new RtspClient(url, { timeoutMs: 5000 });
    c.on('error', () => undefined);
    try {
      await c.describe();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
    } finally {
      c.close();
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function stopGstUpstream(
  g: GstUpstream | undefined,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  if (g === undefined) return;
  g.proc.kill(signal);
  await g.proc.done;
}
