// RTMP in the whole app (startApp): `rtmpAddress` with port 0, a publisher's path in /v1/paths, the
// rtspkit_rtmp_* series in /metrics, and `rtmpAddress: null` (what the other tests use) starts none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp } from '../src/app.js';
import { parseConfig } from '../src/config/config.js';
import { serializeAudioTag } from '../src/flv/tags.js';
import { LOOPBACK_APP_CONFIG_LINES } from './support/server.js';
import { TestRtmpClient } from './support/rtmp-client.js';
import { waitFor } from './support/process.js';

const lines = LOOPBACK_APP_CONFIG_LINES.filter((l) => !l.startsWith('rtmpAddress'));

async function get(port: number, path: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return res.text();
}

test('startApp serves RTMP on rtmpAddress: a publisher is a path, /metrics counts RTMP', async () => {
  const app = await startApp(parseConfig([...lines, "rtmpAddress: '127.0.0.1:0'"].join('\n')));
  try {
    assert.ok(app.rtmp?.port !== undefined && app.rtmp.port > 0);
    const c = await TestRtmpClient.connect(app.rtmp.port);
    const id = await c.open('app');
    assert.equal(await c.publish(id, 'radio'), 'NetStream.Publish.Start');
    c.metadata(id, { audiocodecid: 10 });
    c.media(
      id,
      8,
      0,
      serializeAudioTag({ kind: 'config', codec: 'aac', config: Buffer.from('1190', 'hex') }),
    );
    c.media(
      id,
      8,
      0,
      serializeAudioTag({ kind: 'frame', codec: 'aac', data: Buffer.from([0x21, 0x10, 0x04]) }),
    );
    await waitFor(() => app.server.paths.get('app/radio')?.stream !== undefined, 5000, 'the path');
    const paths = JSON.parse(await get(app.api!.port, '/v1/paths')) as
      { items?: { name: string }[] } | { name: string }[];
    assert.match(JSON.stringify(paths), /"app\/radio"/);
    const metrics = await get(app.api!.port, '/metrics');
    assert.match(metrics, /rtspkit_rtmp_connections\{role="publisher"\} 1/);
    assert.match(metrics, /rtspkit_rtmp_connections_accepted_total 1/);
    c.close();
  } finally {
    await app.close();
  }
  const off = await startApp(parseConfig(LOOPBACK_APP_CONFIG_LINES.join('\n')));
  assert.equal(off.rtmp, undefined);
  await off.close();
});
