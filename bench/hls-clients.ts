// N HLS clients in one process, for bench/hls.ts: each polls a media playlist every target duration (RFC 8216
// §6.3.4) and fetches each new segment once (and the EXT-X-MAP init segment once), as a player that keeps up
// would, over its own keep-alive connection. Bounded: every client stops after --seconds.
//
//   node dist/bench/hls-clients.js --url http://127.0.0.1:PORT/.../index.m3u8 --clients 200 --seconds 20
//
// Prints one JSON line on stdout at the end: per client the first segment's latency (client start to the
// last byte of its first media segment, ms), bytes and segments fetched, requests, errors by kind.
import http from 'node:http';

interface ClientResult {
  firstSegmentMs: number | undefined;
  bytes: number;
  segments: number;
  requests: number;
  errors: Record<string, number>;
}

export interface HlsClientsReport {
  type: 'report';
  clients: number;
  seconds: number;
  results: ClientResult[];
}

const REQUEST_TIMEOUT_MS = 10_000;

function parse(argv: string[]): { url: string; clients: number; seconds: number } {
  const o = { url: '', clients: 200, seconds: 20 };
  for (let i = 0; i < argv.length; i += 2) {
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`missing value after ${argv[i]}`);
    if (argv[i] === '--url') o.url = v;
    else if (argv[i] === '--clients') o.clients = Number(v);
    else if (argv[i] === '--seconds') o.seconds = Number(v);
    else throw new Error(`unknown option ${argv[i]}`);
  }
  if (o.url === '' || !(o.clients >= 1 && o.clients <= 5000) || !(o.seconds > 0 && o.seconds <= 600))
    throw new Error('usage: hls-clients --url URL [--clients 1..5000] [--seconds 1..600]');
  return o;
}

/** GET `url` to the end: the body, or a thrown error named by its kind (status, timeout, socket error). */
function get(agent: http.Agent, url: URL): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode === 200) resolve(Buffer.concat(chunks));
        else reject(new Error(`status ${res.statusCode}`));
      });
      res.on('error', reject);
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function client(playlistUrl: URL, endMs: number): Promise<ClientResult> {
  const r: ClientResult = { firstSegmentMs: undefined, bytes: 0, segments: 0, requests: 0, errors: {} };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const t0 = performance.now();
  const fetched = new Set<string>();
  const fetch = async (url: URL): Promise<Buffer | undefined> => {
    r.requests++;
    try {
      const body = await get(agent, url);
      r.bytes += body.length;
      return body;
    } catch (err) {
      const kind = err instanceof Error ? err.message.replace(/^(status \d+).*/, '$1') : 'error';
      const key = /^(status \d+|timeout)$/.test(kind)
        ? kind
        : `socket: ${(err as NodeJS.ErrnoException).code ?? kind}`;
      r.errors[key] = (r.errors[key] ?? 0) + 1;
      return undefined;
    }
  };
  while (performance.now() < endMs) {
    const pollStart = performance.now();
    const text = (await fetch(playlistUrl))?.toString('utf8');
    let targetS = 1;
    if (text !== undefined) {
      targetS = Number(/#EXT-X-TARGETDURATION:(\d+)/.exec(text)?.[1] ?? 1) || 1;
      const map = /#EXT-X-MAP:URI="([^"]+)"/.exec(text)?.[1];
      const uris = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
      // A player starts near the live edge: at most the last three segments (RFC 8216 §6.3.3).
      const wanted = fetched.size === 0 ? uris.slice(-3) : uris;
      for (const uri of [...(map !== undefined ? [map] : []), ...wanted]) {
        if (fetched.has(uri) || performance.now() >= endMs) continue;
        fetched.add(uri);
        const body = await fetch(new URL(uri, playlistUrl));
        if (body === undefined || uri === map) continue;
        r.segments++;
        r.firstSegmentMs ??= performance.now() - t0;
      }
    }
    await sleep(
      Math.max(0, Math.min(targetS * 1000 - (performance.now() - pollStart), endMs - performance.now())),
    );
  }
  agent.destroy();
  return r;
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const url = new URL(o.url);
  const endMs = performance.now() + o.seconds * 1000;
  const results = await Promise.all(Array.from({ length: o.clients }, () => client(url, endMs)));
  const report: HlsClientsReport = { type: 'report', clients: o.clients, seconds: o.seconds, results };
  process.stdout.write(JSON.stringify(report) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`hls-clients: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
