// Can a client tell an unknown user from a wrong password by the time the server takes to refuse?
// (Issue 13 item 9: 225 vs 243 µs median before the fix.) Both get 401; this measures how long each
// takes, interleaved sample by sample so that drift of a shared machine hits both alike, and prints
// median and percentiles per scheme and stored form. A figure, never an assertion (DEVELOPERS.md).
//
//   npm run build && node dist/bench/auth-timing.js [--samples 1500] [--scrypt-samples 200] [--rtsp] [--json]
//
// In process, Authorizer.check is timed alone. With --rtsp the same requests go as DESCRIBEs over one
// TCP connection to a running RtspServer on 127.0.0.1 (what a prober sees, with the network stack's noise).
import net from 'node:net';
import { parseArgs } from 'node:util';
import { Authorizer, type AuthRequest } from '../src/server/auth.js';
import { hashPassword } from '../src/auth/password.js';
import { digestCredentials, parseDigestChallenge } from '../src/auth/digest.js';
import { parseWwwAuthenticate, serializeAuthorization } from '../src/rtsp/auth-header.js';
import { RtspServer } from '../src/server/server.js';
import { RtspFramer } from '../src/rtsp/framer.js';
import type { RtspResponse } from '../src/rtsp/message.js';

const REALM = 'rtspkit';
const USER = 'alice';
const PASSWORD = 'correct horse';

interface Figures {
  samples: number;
  medianUs: number;
  p10Us: number;
  p90Us: number;
  p99Us: number;
  meanUs: number;
}

function figures(us: number[]): Figures {
  const s = [...us].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  const round = (x: number): number => Math.round(x * 10) / 10;
  return {
    samples: s.length,
    medianUs: round(at(0.5)),
    p10Us: round(at(0.1)),
    p90Us: round(at(0.9)),
    p99Us: round(at(0.99)),
    meanUs: round(s.reduce((a, b) => a + b, 0) / s.length),
  };
}

type Scheme = 'basic' | 'digest-md5' | 'digest-sha256';

interface Case {
  name: string;
  stored: string;
  scheme: Scheme;
  samples: number;
}

function authorizer(stored: string): Authorizer {
  return new Authorizer({
    realm: REALM,
    basic: true,
    users: [
      { name: USER, password: stored, permissions: [{ action: 'read' }] },
      // A second user of the same stored form, as a real config has several.
      {
        name: 'bob',
        password: stored.replace(/^plain:.*/, 'plain:other'),
        permissions: [{ action: 'read' }],
      },
    ],
  });
}

/** The Authorization header for `user` with a wrong password; `i` varies it so no cache can help. */
function credentials(
  scheme: Scheme,
  challengeHeaders: string[],
  user: string,
  i: number,
  uri: string,
): string {
  const password = `wrong-${i}`;
  if (scheme === 'basic') return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const algorithm = scheme === 'digest-md5' ? 'MD5' : 'SHA-256';
  const challenge = challengeHeaders
    .flatMap((h) => parseWwwAuthenticate(h))
    .map(parseDigestChallenge)
    .find((c) => c?.algorithm === algorithm);
  if (challenge === undefined) throw new Error(`no ${algorithm} challenge`);
  return serializeAuthorization(
    digestCredentials(challenge, {
      username: user,
      password,
      method: 'DESCRIBE',
      uri,
      nonceCount: i + 1,
      cnonce: `c${i}`,
    }),
  );
}

/** Times `run` for an unknown user and for a wrong password, alternately, `samples` times each. */
async function measure(
  samples: number,
  run: (user: string, i: number) => Promise<number>,
): Promise<{ unknownUser: Figures; wrongPassword: Figures }> {
  const unknown: number[] = [];
  const wrong: number[] = [];
  const warmup = Math.min(50, samples);
  for (let i = 0; i < warmup; i++) {
    await run('mallory', -1 - i);
    await run(USER, -1 - i);
  }
  for (let i = 0; i < samples; i++) {
    // Alternate which goes first, so neither always follows the other.
    if (i % 2 === 0) {
      unknown.push(await run('mallory', i));
      wrong.push(await run(USER, i));
    } else {
      wrong.push(await run(USER, i));
      unknown.push(await run('mallory', i));
    }
  }
  return { unknownUser: figures(unknown), wrongPassword: figures(wrong) };
}

async function inProcess(c: Case): Promise<{ unknownUser: Figures; wrongPassword: Figures }> {
  const auth = authorizer(c.stored);
  const uri = 'rtsp://127.0.0.1:8554/cam1';
  const ctx = { ip: '127.0.0.1', action: 'read' as const, path: 'cam1', query: '' };
  const request = (authorization?: string): AuthRequest => ({
    method: 'DESCRIBE',
    uri,
    headers: { get: (n) => (n.toLowerCase() === 'authorization' ? authorization : undefined) },
  });
  const first = await auth.check(request(), ctx);
  const challenge = first!.headers.map(([, v]) => v);
  return measure(c.samples, async (user, i) => {
    const h = credentials(c.scheme, challenge, user, i, uri);
    const t0 = process.hrtime.bigint();
    const d = await auth.check(request(h), ctx);
    const t1 = process.hrtime.bigint();
    if (d?.statusCode !== 401) throw new Error(`expected 401, got ${d?.statusCode ?? 'allowed'}`);
    return Number(t1 - t0) / 1000;
  });
}

async function overRtsp(c: Case): Promise<{ unknownUser: Figures; wrongPassword: Figures }> {
  const server = new RtspServer({
    host: '127.0.0.1',
    port: 0,
    udpRtpPort: false,
    authorizer: authorizer(c.stored),
  });
  await server.listen();
  const socket = net.connect(server.port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.setNoDelay(true);
  const framer = new RtspFramer();
  let waiting: ((r: RtspResponse) => void) | undefined;
  socket.on('data', (chunk) => {
    for (const m of framer.push(chunk)) if (m.kind === 'response') waiting?.(m);
  });
  let cseq = 0;
  const uri = `rtsp://127.0.0.1:${server.port}/cam1`;
  const describe = (authorization?: string): Promise<RtspResponse> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer in 5 s')), 5000);
      waiting = (r) => {
        clearTimeout(timer);
        waiting = undefined;
        resolve(r);
      };
      const auth = authorization === undefined ? '' : `Authorization: ${authorization}\r\n`;
      socket.write(`DESCRIBE ${uri} RTSP/1.0\r\nCSeq: ${++cseq}\r\n${auth}\r\n`);
    });
  try {
    const first = await describe();
    const challenge = first.headers.getAll('WWW-Authenticate');
    return await measure(c.samples, async (user, i) => {
      const h = credentials(c.scheme, challenge, user, i, uri);
      const t0 = process.hrtime.bigint();
      const r = await describe(h);
      const t1 = process.hrtime.bigint();
      if (r.statusCode !== 401) throw new Error(`expected 401, got ${r.statusCode}`);
      return Number(t1 - t0) / 1000;
    });
  } finally {
    socket.destroy();
    await server.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      samples: { type: 'string', default: '1500' },
      'scrypt-samples': { type: 'string', default: '200' },
      rtsp: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const samples = Number(values.samples);
  const scryptSamples = Number(values['scrypt-samples']);
  const digestForm = hashPassword(PASSWORD, 'digest', { username: USER, realm: REALM });
  const cases: Case[] = [
    { name: 'Basic, digest: form', stored: digestForm, scheme: 'basic', samples },
    { name: 'Digest MD5, digest: form', stored: digestForm, scheme: 'digest-md5', samples },
    { name: 'Digest SHA-256, digest: form', stored: digestForm, scheme: 'digest-sha256', samples },
    { name: 'Basic, plain: form', stored: `plain:${PASSWORD}`, scheme: 'basic', samples },
    {
      name: 'Basic, scrypt: form (uncached)',
      stored: hashPassword(PASSWORD, 'scrypt', { salt: Buffer.alloc(16, 5) }),
      scheme: 'basic',
      samples: scryptSamples,
    },
  ];
  const out: Record<string, { unknownUser: Figures; wrongPassword: Figures }> = {};
  for (const c of cases) {
    const r = values.rtsp ? await overRtsp(c) : await inProcess(c);
    out[c.name] = r;
    if (!values.json) {
      const f = (x: Figures): string =>
        `median ${x.medianUs} µs  p10 ${x.p10Us}  p90 ${x.p90Us}  p99 ${x.p99Us}  mean ${x.meanUs}`;
      console.log(
        `${c.name} (${values.rtsp ? 'DESCRIBE over RTSP' : 'Authorizer.check'}, ${c.samples} each)`,
      );
      console.log(`  unknown user    ${f(r.unknownUser)}`);
      console.log(`  wrong password  ${f(r.wrongPassword)}`);
    }
  }
  if (values.json)
    console.log(JSON.stringify({ node: process.version, rtsp: values.rtsp, cases: out }, null, 2));
}

await main();
