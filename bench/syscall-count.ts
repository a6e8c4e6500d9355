// What a server's sends cost, counted from outside over a bench window (with proc.ts's cpuSplitSeconds):
// with `perf`, its send-type system calls (write, writev, sendmsg, sendto, sendmmsg:
// Node's TCP writes are write/writev through libuv, gst-rtsp-server's are sendmsg through GSocket), so a
// bench can state writes per second, bytes per write and CPU per write for rtspkit, the floor and gst alike.
import { spawn, type ChildProcess } from 'node:child_process';

const SEND_CALLS = ['write', 'writev', 'sendmsg', 'sendto', 'sendmmsg'] as const;
export type SendCall = (typeof SEND_CALLS)[number];

/** Counts of each send call over the counted time. */
export type SendCounts = Partial<Record<SendCall, number>>;

/**
 * Starts `perf stat` on the send-call tracepoints of `pid` (root or perf_event_paranoid <= 1). `stop` ends it
 * (SIGINT: perf prints its counts) and resolves the counts, or undefined when perf is missing or refused.
 */
export function countSendCalls(pid: number): { stop(): Promise<SendCounts | undefined> } {
  let out = '';
  let child: ChildProcess;
  const events = SEND_CALLS.map((c) => `syscalls:sys_enter_${c}`).join(',');
  try {
    child = spawn('perf', ['stat', '-x', ',', '-e', events, '-p', String(pid)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch {
    return { stop: () => Promise.resolve(undefined) };
  }
  child.on('error', () => undefined);
  child.stderr?.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const done = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return {
    async stop(): Promise<SendCounts | undefined> {
      if (child.exitCode === null && child.pid !== undefined) child.kill('SIGINT');
      await done;
      const counts: SendCounts = {};
      let any = false;
      for (const line of out.split('\n')) {
        // "12345,,syscalls:sys_enter_write,..."
        const [value, , event] = line.split(',');
        const call = event?.replace('syscalls:sys_enter_', '') as SendCall | undefined;
        if (call === undefined || !SEND_CALLS.includes(call) || !/^\d+$/.test(value ?? '')) continue;
        counts[call] = Number(value);
        any = true;
      }
      return any ? counts : undefined;
    },
  };
}

export function totalSends(c: SendCounts): number {
  return SEND_CALLS.reduce((n, k) => n + (c[k] ?? 0), 0);
}
