/**
 * `npm run fuzz`: every parser with many generated cases, then the socket fuzzer.
 *   node dist/test/fuzz/main.js [--runs 100000] [--seconds 60] [--connections 8] [--seed N]
 */
import { parseArgs } from 'node:util';
import { fuzzParsers } from './parsers.js';
import { fuzzServer } from './socket.js';

export const HEAP_GROWTH_LIMIT_BYTES = 16 * 1024 * 1024;

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '60' },
    connections: { type: 'string', default: '8' },
    seed: { type: 'string' },
  },
});
const runs = Number(values.runs);
const started = Date.now();
for (const r of fuzzParsers(runs, values.seed === undefined ? undefined : Number(values.seed))) {
  console.log(`parser ${r.name.padEnd(24)} ${r.runs} cases ok`);
}
console.log(`parsers done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
const s = await fuzzServer(Number(values.seconds), Number(values.connections));
const growth = s.heapAfterBytes - s.heapBeforeBytes;
console.log(
  `socket fuzz: ${s.seconds} s, ${s.connections} connections, ${s.messagesSent} messages (${(s.bytesSent / 1e6).toFixed(1)} MB); ` +
    `${s.authFailures} refused for their credentials; server still answers: ${s.stillAnswers}; heap ${(s.heapBeforeBytes / 1e6).toFixed(1)} -> ${(s.heapAfterBytes / 1e6).toFixed(1)} MB`,
);
if (!s.stillAnswers || growth > HEAP_GROWTH_LIMIT_BYTES) {
  console.error(
    `FAILED: ${!s.stillAnswers ? 'the server stopped answering' : `heap grew by ${(growth / 1e6).toFixed(1)} MB`}`,
  );
  process.exit(1);
}
