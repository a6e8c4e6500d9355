/**
 * Runs inside a fresh network namespace (test/pull-multicast.test.ts makes it with `unshare --net`), so
 * multicast stays on its own loopback: an rtspkit upstream serves a file loop over multicast; our client
 * plays it over multicast (a monitor socket in the group counts its receiver reports), then leaves; an
 * rtspkit app pulls the path with `sourceTransport: multicast` and ffprobe reads through it over TCP;
 * the upstream path goes and comes back (its group closes with BYE) and the pull comes back by itself.
 * Prints one JSON line with what each part saw.
 */
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp } from '../../src/app.js';
import { isParseError } from '../../src/base/errors.js';
import { RtspClient } from '../../src/client/index.js';
import { parseConfig } from '../../src/config/config.js';
import { parseRtcpCompound } from '../../src/rtp/rtcp.js';
import type { PullStatsSnapshot } from '../../src/sources/pull-stats.js';
import { parseProbe, probeFrames, run, waitFor } from './process.js';
import { LOOPBACK_APP_CONFIG_LINES, startTestServer } from './server.js';
import { mediaPath, repoRoot } from './tools.js';

const CLIP = 'h264_base_aac.mp4';
const PLAY_MS = 1500;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function joinedGroups(): Promise<string[]> {
  const r = await run('ip', ['maddr', 'show', 'dev', 'lo'], { timeoutMs: 5000 }).done;
  return [...r.stdout.matchAll(/inet\s+(239\.\d+\.\d+\.\d+)/g)].map((m) => m[1]!);
}

/** A member of `group` on `port` that counts the RTCP receiver reports (PT 201) sent there. */
async function rtcpMonitor(group: string, port: number): Promise<{ rrs: Set<number>; close(): void }> {
  const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((r) => s.bind(port, group, r));
  s.addMembership(group, '127.0.0.1');
  const rrs = new Set<number>();
  s.on('message', (msg) => {
    try {
      for (const p of parseRtcpCompound(msg)) if (p.type === 'rr') rrs.add(p.ssrc);
    } catch (e) {
      if (!isParseError(e)) throw e; // not RTCP: not counted
    }
  });
  return { rrs, close: () => s.close() };
}

async function main(): Promise<void> {
  const { server: upstream, url } = await startTestServer({
    multicast: { range: '239.255.43.0/24', rtpPort: 17002, ttl: 1 },
  });
  const added = await upstream.paths.addFileLoop('cam', { file: mediaPath(CLIP), loop: true }, 'api');
  if (!added.ok) throw new Error(added.message);
  const dir = mkdtempSync(join(tmpdir(), 'rtspkit-pull-mc-'));
  try {
    // 1. Our client, over multicast.
    const client = new RtspClient(url('cam'), { anyPort: false, receiverReportIntervalMs: 300 });
    const accessUnits = [0, 0];
    client.on('accessUnit', (t) => accessUnits[t.index]!++);
    await client.connect();
    await client.describe();
    await client.setup({ transport: 'multicast' });
    const session = [...upstream.sessions.values()].find((s) => s.isMulticast);
    const setup = session?.setups[0];
    const group = setup?.kind === 'multicast' ? setup : undefined;
    if (group === undefined) throw new Error('no multicast session on the upstream');
    const monitor = await rtcpMonitor(group.address, group.rtcpPort);
    await client.play();
    // Meanwhile `rtspkit play -t multicast` records the same group (two members on one host).
    const cliOut = join(dir, 'cli.ts');
    const cli = run(
      process.execPath,
      [join(repoRoot(), 'dist', 'src', 'cli', 'main.js'), 'play', '-t', 'multicast', '-d', '2'].concat([
        '-o',
        cliOut,
        url('cam'),
      ]),
      { timeoutMs: 15_000 },
    );
    await sleep(PLAY_MS);
    const cliDone = await cli.done;
    const cliProbe = await probeFrames(cliOut, [], 10_000).done;
    const clientResult = {
      transport: client.transport,
      group: group.address,
      accessUnits,
      stats: client.stats(),
      groupsWhilePlaying: await joinedGroups(),
      receiverReports: monitor.rrs.size,
      cli: {
        code: cliDone.code,
        stderr: cliDone.stderr.slice(-500),
        streams: cliProbe.code === 0 ? parseProbe(cliProbe.stdout) : [],
      },
    };
    monitor.close();
    await client.teardown();
    client.close();
    const groupsAfter = await joinedGroups();

    // 2. A pull over multicast, read through the pulling server by ffprobe over TCP.
    const app = await startApp(
      parseConfig(
        [
          ...LOOPBACK_APP_CONFIG_LINES,
          'pullReconnectMaxDelay: 1',
          'paths:',
          `  mc: { source: ${JSON.stringify(url('cam'))}, sourceTransport: multicast }`,
        ].join('\n'),
      ),
    );
    try {
      await waitFor(() => app.server.paths.get('mc')?.stream !== undefined, 10_000, 'the pull');
      const through = `rtsp://127.0.0.1:${app.server.port}/mc`;
      const probed = await probeFrames(through, ['-rtsp_transport', 'tcp', '-read_intervals', '%+2']).done;
      const upstreamStats = (): PullStatsSnapshot | undefined =>
        app.server.paths.get('mc')?.source?.stats?.() as PullStatsSnapshot | undefined;
      const before = upstreamStats();
      // 3. The upstream path goes (its group ends with BYE) and comes back: the pull joins again.
      await upstream.paths.removeSource('cam', 'test');
      await sleep(300);
      const again = await upstream.paths.addFileLoop('cam', { file: mediaPath(CLIP), loop: true }, 'api');
      if (!again.ok) throw new Error(again.message);
      await waitFor(() => (upstreamStats()?.reconnects ?? 0) >= 1, 10_000, 'the reconnect');
      const packetsAtReconnect = app.server.paths.get('mc')?.stream?.counters[0]?.packetsIn ?? 0;
      await waitFor(
        () => (app.server.paths.get('mc')?.stream?.counters[0]?.packetsIn ?? 0) > packetsAtReconnect + 20,
        10_000,
        'packets after the reconnect',
      );
      const after = upstreamStats();
      process.stdout.write(
        `${JSON.stringify({
          client: { ...clientResult, groupsAfter },
          pull: {
            probeCode: probed.code,
            probeStderr: probed.stderr.slice(-500),
            streams: probed.code === 0 ? parseProbe(probed.stdout) : [],
            before,
            after,
          },
        })}\n`,
      );
    } finally {
      await app.close();
    }
  } finally {
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`pull multicast scenario: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
