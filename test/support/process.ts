/** Child processes for tests: bounded in time, ended by their own PID, output kept for messages. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './tools.js';

export interface Run {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  kill(signal?: NodeJS.Signals): void;
  /** What the process has written so far. */
  output(): { stdout: string; stderr: string };
}

export function run(
  cmd: string,
  args: string[],
  options: { timeoutMs: number; stdin?: 'ignore' | 'pipe'; cwd?: string },
): Run {
  const child = spawn(cmd, args, { stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'], cwd: options.cwd });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 200_000) stderr += d;
  });
  const timer = setTimeout(() => {
    child.kill('SIGKILL');
  }, options.timeoutMs);
  const done = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
  }>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, signal: null, stdout, stderr: stderr + String(err) });
    });
  });
  return {
    child,
    done,
    kill: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    output: () => ({ stdout, stderr }),
  };
}

export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface ProbedStream {
  codec_name: string;
  codec_type: string;
  width?: number;
  height?: number;
  sample_rate?: string;
  channels?: number;
  nb_read_frames?: string;
}

export function parseProbe(json: string): ProbedStream[] {
  const parsed = JSON.parse(json) as { streams?: ProbedStream[] };
  return parsed.streams ?? [];
}

/**
 * Waits for a publisher that should stop by itself at the end of its file. GStreamer's
 * rtspclientsink sometimes never reaches EOS on a busy machine (seen against gst-rtsp-server
 * too: 3 of 8 runs under two CPU hogs), so once the server has every frame and none has come
 * for `idleMs`, the publisher gets SIGINT, which makes it send TEARDOWN at once.
 */
export async function finishPublisher(
  pub: Run,
  framesIn: () => number,
  expectedFrames: number,
  idleMs = 3000,
): Promise<{ code: number | null; stderr: string; nudged: boolean }> {
  let nudged = false;
  let last = -1;
  let lastChangeMs = Date.now();
  const timer = setInterval(() => {
    const n = framesIn();
    if (n !== last) {
      last = n;
      lastChangeMs = Date.now();
    } else if (!nudged && n >= expectedFrames && Date.now() - lastChangeMs > idleMs) {
      nudged = true;
      pub.kill('SIGINT');
    }
  }, 100);
  const r = await pub.done;
  clearInterval(timer);
  return { code: r.code, stderr: r.stderr, nudged };
}

/** Waits for a process to end by itself within `timeoutMs`; otherwise kills it and says so. */
export async function endsWithin(
  proc: Run,
  timeoutMs: number,
): Promise<{ code: number | null; stderr: string; timedOut: boolean }> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill('SIGKILL');
  }, timeoutMs);
  const r = await proc.done;
  clearTimeout(timer);
  return { code: r.code, stderr: r.stderr, timedOut };
}

export interface PublishOptions {
  /** Stop after this many seconds of media (`-t`). */
  durationS?: number;
  /** Play the file over and over (`-stream_loop -1`) until the process is ended. */
  loop?: boolean;
  timeoutMs?: number;
}

/** ffmpeg publishing every stream of a file in real time (`-re`, stream copy) to an RTSP URL over `transport`. */
export function publishFile(
  file: string,
  url: string,
  transport: 'tcp' | 'udp',
  options: PublishOptions = {},
): Run {
  const input = ['-re', ...(options.loop === true ? ['-stream_loop', '-1'] : []), '-i', file];
  const duration = options.durationS !== undefined ? ['-t', String(options.durationS)] : [];
  return run(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', ...input, ...duration].concat([
      '-map',
      '0',
      '-c',
      'copy',
      '-f',
      'rtsp',
      '-rtsp_transport',
      transport,
      url,
    ]),
    { timeoutMs: options.timeoutMs ?? 40_000 },
  );
}

/**
 * ffprobe decoding `target` (a URL or a file) to the end: per stream codec, size and frames read
 * (parse with parseProbe). `options` go before the target (e.g. `-rtsp_transport udp`).
 */
export function probeFrames(target: string, options: string[] = [], timeoutMs = 40_000): Run {
  return run(
    'ffprobe',
    ['-v', 'error', ...options, '-count_frames', '-of', 'json'].concat([
      '-show_entries',
      'stream=codec_name,width,height,nb_read_frames',
      target,
    ]),
    { timeoutMs },
  );
}

/** The `rtspkit` command line, run from source (tsx) as a user would run the built one. */
export function rtspkit(args: string[], timeoutMs = 30_000): Run {
  return run(process.execPath, ['--import', 'tsx', join(repoRoot(), 'src', 'cli', 'main.ts'), ...args], {
    timeoutMs,
  });
}
