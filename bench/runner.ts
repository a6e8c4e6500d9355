// What the runners bench:fanout and bench:vod share: the options both take, the parent's side of the readers
// process (its JSON lines "ready" and "report"), and the window in which the server's CPU and RSS are measured.
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { cpuSeconds, rssKB, sleep, waitUntil, type Proc } from './proc.js';

/** A comma-separated list of integers >= `min` (a command-line value of `what`). */
export function intList(v: string, what: string, min: number): number[] {
  const xs = v.split(',').map((s) => Number(s.trim()));
  if (xs.length === 0 || xs.some((x) => !Number.isInteger(x) || x < min))
    throw new Error(`${what}: expected a comma-separated list of integers >= ${min}`);
  return xs;
}

/** The options of both runners. */
export interface RunnerOptions {
  readers: number[];
  seconds: number;
  clip: string;
  gstServer: string;
  warmupS: number;
  ramp: number;
  json: boolean;
  out: string | undefined;
}

/**
 * Parses `argv` into `o` (which holds the defaults): --json, -h/--help (prints `usage`, exits 0) and the
 * options of RunnerOptions here; a runner's own value-less flags go to `flag`, its own options to `option`
 * (each returns false for an argument it does not know).
 */
export function parseRunnerOptions<O extends RunnerOptions>(
  argv: readonly string[],
  o: O,
  usage: string,
  flag: (a: string) => boolean,
  option: (a: string, v: string) => boolean,
): O {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') {
      o.json = true;
      continue;
    }
    if (flag(a)) continue;
    if (a === '-h' || a === '--help') {
      process.stdout.write(`${usage}\n`);
      process.exit(0);
    }
    const v = argv[++i];
    if (v === undefined) throw new Error(`missing value after ${a}\n${usage}`);
    switch (a) {
      case '--readers':
        o.readers = intList(v, a, 1);
        break;
      case '--seconds':
        o.seconds = intList(v, a, 1)[0]!;
        break;
      case '--warmup':
        o.warmupS = intList(v, a, 0)[0]!;
        break;
      case '--ramp':
        o.ramp = intList(v, a, 1)[0]!;
        break;
      case '--clip':
        o.clip = v;
        break;
      case '--gst-server':
        o.gstServer = v;
        break;
      case '--out':
        o.out = v;
        break;
      default:
        if (!option(a, v)) throw new Error(`unknown argument ${a}\n${usage}`);
    }
  }
  return o;
}

/** Throws for the first of `procs` that has ended. */
export function assertAlive(procs: readonly Proc[]): void {
  for (const p of procs) if (p.exited) throw new Error(`${p.name} exited (${p.exitInfo}): ${p.stderrTail()}`);
}

/** The readers process (readers.ts, vod.ts --child): its JSON lines, "mark" and "stop". */
export class ReadersLink<Ready extends { type: 'ready' }, Report extends { type: 'report' }> {
  readonly #messages: (Ready | Report)[] = [];

  constructor(readonly proc: Proc) {
    createInterface({ input: proc.child.stdout! }).on('line', (line) => {
      try {
        this.#messages.push(JSON.parse(line) as Ready | Report);
      } catch {
        process.stderr.write(`readers: ${line}\n`);
      }
    });
  }

  /** Waits for "ready" while `alive` does not throw. */
  async ready(n: number, budgetMs: number, alive: () => void): Promise<Ready> {
    await waitUntil(`${n} readers to set up`, budgetMs, () => {
      alive();
      return this.#messages.some((m) => m.type === 'ready');
    });
    return this.#messages.find((m): m is Ready => m.type === 'ready')!;
  }

  mark(): void {
    this.proc.child.stdin!.write('mark\n');
  }

  /** Sends "stop" and waits (20 s at most) for the report. */
  async report(): Promise<Report> {
    const readers = this.proc;
    readers.child.stdin!.write('stop\n');
    await waitUntil('the readers report', 20_000, () => {
      if (readers.exited && !this.#messages.some((m) => m.type === 'report'))
        throw new Error(`readers exited (${readers.exitInfo}) without a report: ${readers.stderrTail()}`);
      return this.#messages.some((m) => m.type === 'report');
    });
    return this.#messages.find((m): m is Report => m.type === 'report')!;
  }
}

/** What a window writes into a run's result. */
export interface WindowResult {
  loadavgBefore?: number[];
  loadavgAfter?: number[];
  rssStartKB?: number;
  rssEndKB?: number;
  rssMaxKB?: number;
  /** Server VmRSS about once a second over the window, kB. */
  rssSamplesKB?: number[];
}

/**
 * The measured window of `seconds`: the server's RSS at its start, about once a second and at its end; the
 * CPU of each `cpu` process in % of one core, written to `result[key]`. `atStart` runs after the start RSS,
 * before "mark" goes to the readers; `atEnd` after the end RSS. `alive` is checked every second.
 */
export async function measureWindow<R extends WindowResult>(
  result: R,
  server: Proc,
  cpu: readonly (readonly [Proc, keyof R])[],
  seconds: number,
  link: { mark(): void },
  alive: () => void,
  atStart: () => void = () => undefined,
  atEnd: () => void = () => undefined,
): Promise<void> {
  result.loadavgBefore = loadavg();
  const t0 = performance.now();
  const cpu0 = cpu.map(([p]) => cpuSeconds(p.pid));
  const rssStartKB = rssKB(server.pid);
  result.rssStartKB = rssStartKB;
  atStart();
  link.mark();
  const rssSamples = [rssStartKB];
  const end = t0 + seconds * 1000;
  for (let now = performance.now(); now < end; now = performance.now()) {
    await sleep(Math.min(1000, end - now));
    alive();
    rssSamples.push(rssKB(server.pid));
  }
  const wallS = (performance.now() - t0) / 1000;
  cpu.forEach(([p, key], k) => {
    (result as Record<keyof R, number>)[key] = ((cpuSeconds(p.pid) - cpu0[k]!) / wallS) * 100;
  });
  const rssEndKB = rssKB(server.pid);
  result.rssEndKB = rssEndKB;
  atEnd();
  rssSamples.push(rssEndKB);
  result.rssSamplesKB = rssSamples;
  result.rssMaxKB = Math.max(...rssSamples);
  result.loadavgAfter = loadavg();
}
