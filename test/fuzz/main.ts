/**
 * `npm run fuzz`: every parser with many generated cases, then the socket fuzzer, then the media fuzzer.
 *   node dist/test/fuzz/main.js [--runs 100000] [--seconds 60] [--connections 8] [--seed N]
 *                               [--media-seconds 60] [--media-packets 5000000]
 */
import { parseArgs } from 'node:util';
import { fuzzParsers } from './parsers.js';
import { fuzzMedia } from './media.js';
import { fuzzServer } from './socket.js';

export const HEAP_GROWTH_LIMIT_BYTES = 16 * 1024 * 1024;

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '60' },
    connections: { type: 'string', default: '8' },
    seed: { type: 'string' },
    'media-seconds': { type: 'string', default: '60' },
    'media-packets': { type: 'string', default: '5000000' },
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
const mediaSeed = values.seed === undefined ? Date.now() : Number(values.seed);
const m = await fuzzMedia(Number(values['media-seconds']), Number(values['media-packets']), mediaSeed);
const mediaGrowth = m.heapAfterBytes - m.heapBeforeBytes;
console.log(
  `media fuzz (seed ${mediaSeed}): ${m.seconds} s, ${m.packetsSent} RTP packets (${(m.bytesSent / 1e6).toFixed(1)} MB, ` +
    `${m.packetsMutated} mutated, ${m.clockJumps} clock jumps); fMP4 sink: ${m.sinkUnitsMuxed} units muxed, ` +
    `${(m.sinkBytes / 1e6).toFixed(1)} MB, ${m.sinkRestarts} restarts, ${m.sinkExceptions.length} exceptions; ` +
    `HLS: ${m.hlsRequests} requests, ${m.hlsMuxersStarted} muxers; faults caught: ingest ${m.mediaFaults.ingest}, ` +
    `hls ${m.mediaFaults.hls}; server still answers: ${m.stillAnswers}; heap ${(m.heapBeforeBytes / 1e6).toFixed(1)} -> ` +
    `${(m.heapAfterBytes / 1e6).toFixed(1)} MB`,
);
for (const e of m.sinkExceptions) console.error(e);
if (!m.stillAnswers || m.sinkExceptions.length > 0 || mediaGrowth > HEAP_GROWTH_LIMIT_BYTES) {
  console.error(
    `FAILED: ${!m.stillAnswers ? 'the server stopped answering' : m.sinkExceptions.length > 0 ? 'the fMP4 sink threw' : `heap grew by ${(mediaGrowth / 1e6).toFixed(1)} MB`}`,
  );
  process.exit(1);
}
