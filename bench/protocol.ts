// `npm run bench`: throughput of the sans-I/O protocol layers (RTSP framer and serializer, RTP/RTCP codecs).
// Prints a table, or with `--json` one JSON array of {group, name, value, unit}.
import { cpus } from 'node:os';
import { benchRtp } from './rtp.js';
import { benchRtsp } from './rtsp.js';

interface Row {
  group: string;
  name: string;
  value: number;
  unit: string;
}

function formatRate(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)} M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)} k`;
  return String(value);
}

function main(): void {
  const json = process.argv.includes('--json');
  const rows: Row[] = [
    ...benchRtsp().map((r) => ({ group: 'rtsp', ...r })),
    ...benchRtp().map((r) => ({ group: 'rtp', ...r })),
  ];
  if (json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  const nameWidth = Math.max(...rows.map((r) => r.name.length));
  const valueWidth = Math.max(...rows.map((r) => formatRate(r.value).length));
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  process.stdout.write(`rtspkit protocol bench: Node ${process.version}, ${cpu}\n\n`);
  process.stdout.write(`${'benchmark'.padEnd(nameWidth)}  ${'rate'.padStart(valueWidth)}  unit\n`);
  process.stdout.write(`${'-'.repeat(nameWidth)}  ${'-'.repeat(valueWidth)}  ${'-'.repeat(11)}\n`);
  for (const r of rows) {
    process.stdout.write(
      `${r.name.padEnd(nameWidth)}  ${formatRate(r.value).padStart(valueWidth)}  ${r.unit}\n`,
    );
  }
}

main();
