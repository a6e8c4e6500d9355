// A plain static HTTP server for bench/hls.ts: serves the files of one folder (GStreamer's hlssink2 output)
// as HLS, in its own process so that its CPU is counted on GStreamer's side. Playlists are read from disk at
// each request (hlssink2 rewrites them), segments too: what nginx or `python -m http.server` would do, minus
// their caches. Names are checked: one path segment, no `..`.
//
//   node dist/bench/hls-static.js --dir DIR --port PORT
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';

function parse(argv: string[]): { dir: string; port: number } {
  const o = { dir: '', port: 0 };
  for (let i = 0; i < argv.length; i += 2) {
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`missing value after ${argv[i]}`);
    if (argv[i] === '--dir') o.dir = v;
    else if (argv[i] === '--port') o.port = Number(v);
    else throw new Error(`unknown option ${argv[i]}`);
  }
  if (o.dir === '' || !(o.port > 0)) throw new Error('usage: hls-static --dir DIR --port PORT');
  return o;
}

const TYPES: Record<string, string> = {
  m3u8: 'application/vnd.apple.mpegurl',
  ts: 'video/mp2t',
  m4s: 'video/mp4',
  mp4: 'video/mp4',
};

const o = parse(process.argv.slice(2));
const server = http.createServer((req, res) => {
  const name = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(1));
  const type = TYPES[name.split('.').pop() ?? ''];
  if (type === undefined || name.includes('/') || name.includes('..')) {
    res.writeHead(404).end();
    return;
  }
  readFile(join(o.dir, name)).then(
    (body) => {
      res.writeHead(200, {
        'Content-Type': type,
        'Content-Length': body.length,
        'Cache-Control': 'no-cache',
      });
      res.end(body);
    },
    () => res.writeHead(404).end(),
  );
});
server.keepAliveTimeout = 10_000;
server.listen(o.port, '127.0.0.1');
