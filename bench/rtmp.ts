// `npm run bench:rtmp`: what RTMP ingest costs next to RTSP ingest, both fanned out to N RTSP readers.
//
//   npm run bench:rtmp -- [--readers 500] [--seconds 20] [--runs 3]
//
// Runs bench/fanout.ts (rtspkit, TCP readers) with `--ingest rtsp` and `--ingest rtmp` back to back, `--runs`
// times each, and compares the median server CPU (utime+stime over the window, % of one core). The goal
// (issue 20): RTMP ingest at most 1.1x the CPU of RTSP ingest at 500 readers.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Proc } from './proc.js';
import type { RunResult } from './fanout.js';

const FANOUT = fileURLToPath(new URL('./fanout.js', import.meta.url));

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name}: a positive integer`);
  return v;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function fanout(
  ingest: 'rtsp' | 'rtmp',
  readers: number,
  seconds: number,
  dir: string,
): Promise<RunResult> {
  const out = join(dir, `${ingest}-${Date.now()}.json`);
  const p = new Proc('fanout', process.execPath, [
    FANOUT,
    '--server',
    'rtspkit',
    '--ingest',
    ingest,
    '--readers',
    String(readers),
    '--seconds',
    String(seconds),
    '--out',
    out,
  ]);
  await p.exit;
  const { results } = JSON.parse(readFileSync(out, 'utf8')) as { results: RunResult[] };
  const r = results[0]!;
  if (r.error !== undefined || r.serverCpuPct === undefined)
    throw new Error(`${ingest}: ${r.error ?? 'no CPU figure'}`);
  return r;
}

async function main(): Promise<void> {
  const readers = arg('--readers', 500);
  const seconds = arg('--seconds', 20);
  const runs = arg('--runs', 3);
  const dir = mkdtempSync(join(tmpdir(), 'rtspkit-bench-rtmp-'));
  const cpu: Record<'rtsp' | 'rtmp', number[]> = { rtsp: [], rtmp: [] };
  try {
    for (let i = 0; i < runs; i++) {
      for (const ingest of ['rtsp', 'rtmp'] as const) {
        const r = await fanout(ingest, readers, seconds, dir);
        cpu[ingest].push(r.serverCpuPct!);
        process.stderr.write(
          `run ${i + 1} ${ingest}: CPU ${r.serverCpuPct!.toFixed(1)} %, ${r.report?.playing}/${readers} playing, lost ${r.report?.windowLost}, load1 ${r.loadavgBefore?.[0]?.toFixed(2)}\n`,
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const rtsp = median(cpu.rtsp);
  const rtmp = median(cpu.rtmp);
  const ratio = rtmp / rtsp;
  process.stdout.write(
    `bench:rtmp: ${readers} RTSP readers, ${seconds} s windows, ${runs} runs each\n` +
      `  median server CPU: RTSP ingest ${rtsp.toFixed(1)} %, RTMP ingest ${rtmp.toFixed(1)} %, ratio ${ratio.toFixed(3)} (goal <= 1.1)\n`,
  );
  if (ratio > 1.1) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:rtmp: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
