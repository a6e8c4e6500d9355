// The hook runner with real processes (sh, sleep): restart with backoff, process groups ended with
// what they run for, leftovers of a killed run ended at the next start (and never a stranger).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../base/clock.js';
import { nullLogger } from '../base/logger.js';
import { Hooks } from './hooks.js';
import type { HookSettingsSource, PathHookSettings, ServerHookSettings } from './settings.js';

const NONE: PathHookSettings = {
  runOnInit: '',
  runOnInitRestart: false,
  runOnDemand: '',
  runOnDemandRestart: false,
  runOnDemandStartTimeout: 10,
  runOnDemandCloseAfter: 10,
  runOnReady: '',
  runOnReadyRestart: false,
  runOnNotReady: '',
  runOnRead: '',
  runOnReadRestart: false,
  runOnUnread: '',
  runOnRecordSegmentComplete: '',
};

function settingsOf(
  paths: Record<string, Partial<PathHookSettings>>,
  server: Partial<ServerHookSettings> = {},
): HookSettingsSource {
  return {
    path: (name) => ({
      ok: true,
      key: name in paths ? name : undefined,
      settings: { ...NONE, ...paths[name] },
      captures: [name],
      source: undefined,
    }),
    server: () => ({
      runOnConnect: '',
      runOnConnectRestart: false,
      runOnDisconnect: '',
      hooksUseShell: false,
      hooksMaxProcesses: 8,
      ...server,
    }),
    initPaths: () => Object.keys(paths),
  };
}

function hooksWith(settings: HookSettingsSource, pidDir?: string): Hooks {
  return new Hooks({
    clock: systemClock,
    logger: nullLogger,
    settings,
    rtspPort: () => 8554,
    pidDir,
    backoff: { firstRestartDelayMs: 100, maxRestartDelayMs: 400, stableRunMs: 10_000 },
  });
}

async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Whether a process is alive (and not a zombie). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The processes of process group `pgid`. */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

test('a crashing command is restarted with a growing delay, and not after close', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtspkit-hooks-'));
  try {
    const log = join(dir, 'runs');
    const hooks = hooksWith(
      settingsOf({ cam: { runOnInit: `sh -c 'date +%s%N >> ${log}; exit 3'`, runOnInitRestart: true } }),
    );
    hooks.start();
    const runs = (): number[] =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
            .trim()
            .split('\n')
            .map((l) => Number(l) / 1e6)
        : [];
    await until(() => runs().length >= 5, 'five runs');
    await hooks.close();
    const times = runs();
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // 100, 200, 400, 400 ms at least (a loaded machine only makes them longer).
    for (const [i, min] of [100, 200, 400, 400].entries())
      assert.ok(gaps[i]! >= min - 5, `gap ${i} was ${Math.round(gaps[i]!)} ms, expected >= ${min}`);
    assert.ok(hooks.counters.exited >= 5);
    const after = times.length;
    await new Promise((r) => setTimeout(r, 600));
    assert.ok(runs().length <= after + 1, 'no restart after close');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a command kept while a path is ready ends with it, its whole process group too', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtspkit-hooks-'));
  try {
    const marker = join(dir, 'not-ready');
    const hooks = hooksWith(
      settingsOf({
        cam: { runOnReady: `sh -c 'sleep 300 & sleep 300'`, runOnNotReady: `touch ${marker}-$RTSPKIT_PATH` },
      }),
      dir,
    );
    hooks.pathReady('cam', { id: 'S1', type: 'rtspSession' });
    await until(() => readdirSync(dir).some((f) => f.startsWith('hook-')), 'the pid file');
    const leader = Number(/hook-(\d+)/.exec(readdirSync(dir).find((f) => f.startsWith('hook-'))!)![1]);
    await until(() => groupMembers(leader).length === 3, 'sh and its two sleeps');
    const members = groupMembers(leader);
    hooks.pathNotReady('cam', { id: 'S1', type: 'rtspSession' });
    await until(() => members.every((pid) => !alive(pid)), 'the group to end');
    await until(() => existsSync(`${marker}-cam`), 'runOnNotReady');
    await hooks.close();
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.startsWith('hook-')),
      [],
      'pid files removed with their processes',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the next start ends what a killed run left, never a process whose pid was reused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtspkit-hooks-'));
  try {
    const killed = hooksWith(settingsOf({ cam: { runOnInit: 'sleep 300' } }), dir);
    killed.start(); // never closed: as if the server was killed with SIGKILL
    await until(() => readdirSync(dir).length === 1, 'the pid file');
    const leftover = Number(/hook-(\d+)/.exec(readdirSync(dir)[0]!)![1]);
    assert.ok(alive(leftover));
    // A stale file naming a live process that is not ours (this test's own pid, another start time).
    writeFileSync(
      join(dir, `hook-${process.pid}.json`),
      JSON.stringify({ pid: process.pid, startTicks: '1', cmdline: 'sleep\u0000300\u0000' }),
    );
    const next = hooksWith(settingsOf({}), dir);
    next.start();
    await until(() => !alive(leftover), 'the leftover to end');
    assert.equal(next.counters.leftoversEnded, 1);
    assert.deepEqual(readdirSync(dir), [], 'both files removed');
    await next.close();
    await killed.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('commands past hooksMaxProcesses are refused and counted; reads run runOnUnread at their end', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtspkit-hooks-'));
  try {
    const hooks = hooksWith(
      settingsOf(
        { cam: { runOnRead: 'sleep 300', runOnUnread: `touch ${dir}/unread-$RTSPKIT_READER_ID` } },
        { hooksMaxProcesses: 2 },
      ),
    );
    try {
      for (const id of ['A', 'B', 'C']) hooks.readStarted(id, 'cam', 'x=1', { id, type: 'rtspSession' });
      assert.equal(hooks.runningCount, 2);
      assert.equal(hooks.counters.refusedAtLimit, 1);
      hooks.readEnded('A');
      await until(() => existsSync(`${dir}/unread-A`), 'runOnUnread of A, once its runOnRead ended');
    } finally {
      await hooks.close();
    }
    assert.equal(hooks.runningCount, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('runOnRecordSegmentComplete gets the segment file and its duration', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtspkit-hooks-'));
  try {
    const hooks = hooksWith(
      settingsOf({
        cam: { runOnRecordSegmentComplete: `touch ${dir}/seg-$RTSPKIT_SEGMENT_DURATION-\${RTSPKIT_PATH}` },
      }),
    );
    hooks.segmentComplete('cam', '/rec/cam/a.mp4', 1500);
    await until(() => existsSync(join(dir, 'seg-1.500-cam')), 'the command');
    await hooks.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
