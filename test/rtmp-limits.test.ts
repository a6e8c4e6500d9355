// RTMP rights and hostile input, with our own client (test/support/rtmp-client.ts) on one server:
// the same users and rights as RTSP (`?user=&pass=`), a busy path refused with NetStream.Publish.BadName,
// and each kind of bad input closing only its own connection, counted, while a publisher goes on.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Authorizer } from '../src/server/auth.js';
import { ChunkWriter } from '../src/flv/chunk.js';
import { commandMessage } from '../src/flv/messages.js';
import { serializeAudioTag } from '../src/flv/tags.js';
import { startRtmpTestServer, type RtmpTestServer } from './support/rtmp.js';
import { TestRtmpClient } from './support/rtmp-client.js';
import { waitFor } from './support/process.js';

const AAC_CONFIG = Buffer.from('1190', 'hex'); // AAC-LC 48 kHz stereo

describe('RTMP rights, limits and bad input', () => {
  let s: RtmpTestServer;
  let port: number;
  let publisher: TestRtmpClient;
  before(async () => {
    s = await startRtmpTestServer({
      limits: { handshakeTimeoutMs: 500, maxChunkStreams: 4, maxMessageBytes: 1 << 20 },
    });
    port = s.rtmp.port!;
    s.server.authorizer = new Authorizer({
      realm: 'rtspkit',
      basic: false, // RTMP's query credentials do not depend on RTSP's Basic
      users: [
        { name: 'pub', password: 'plain:p', permissions: [{ action: 'publish', path: 'live/cam*' }] },
        { name: 'view', password: 'plain:v', permissions: [{ action: 'read', path: 'live/cam*' }] },
      ],
    });
  });
  after(async () => {
    publisher.close();
    await s.close();
  });

  test('the digest handshake is answered in kind', async () => {
    const c = await TestRtmpClient.connect(port);
    assert.ok(c.serverDigestOk, 'S1 carries the server digest');
    c.close();
  });

  test('rights: no credentials, wrong right, then the publisher; a second publisher gets BadName', async () => {
    for (const name of ['cam1', 'cam1?user=view&pass=v', 'cam1?user=pub&pass=wrong']) {
      const c = await TestRtmpClient.connect(port);
      const id = await c.open('live');
      assert.equal(
        await c.publish(id, name),
        'NetStream.Publish.Unauthorized',
        name.replace(/pass=\w+/, 'pass=*'),
      );
      await c.until(() => c.closed, 'the close');
    }
    publisher = await TestRtmpClient.connect(port);
    const id = await publisher.open('live');
    assert.equal(await publisher.publish(id, 'cam1?user=pub&pass=p'), 'NetStream.Publish.Start');
    publisher.metadata(id, { audiocodecid: 10 });
    publisher.media(id, 8, 0, serializeAudioTag({ kind: 'config', codec: 'aac', config: AAC_CONFIG }));
    for (let i = 0; i < 5; i++)
      publisher.media(
        id,
        8,
        Math.round(i * 21.333),
        serializeAudioTag({ kind: 'frame', codec: 'aac', data: Buffer.from([0x21, 0x10, 0x04]) }),
      );
    await waitFor(() => s.server.paths.get('live/cam1')?.stream !== undefined, 5000, 'the path');
    assert.equal(s.server.paths.get('live/cam1')?.owner.kind, 'publisher');

    const second = await TestRtmpClient.connect(port);
    const id2 = await second.open('live');
    assert.equal(await second.publish(id2, 'cam1?user=pub&pass=p'), 'NetStream.Publish.BadName');
    await second.until(() => second.closed, 'the close');
    assert.equal(s.rtmp.counters.closes.busy, 1);

    const reader = await TestRtmpClient.connect(port);
    const rid = await reader.open('live');
    assert.equal(await reader.play(rid, 'nothing?user=view&pass=v'), 'NetStream.Play.Failed'); // no right on `live/nothing`
    const reader2 = await TestRtmpClient.connect(port);
    const rid2 = await reader2.open('live');
    assert.equal(await reader2.play(rid2, 'cam9?user=view&pass=v'), 'NetStream.Play.StreamNotFound');
    const reader3 = await TestRtmpClient.connect(port);
    const rid3 = await reader3.open('live');
    assert.equal(await reader3.play(rid3, 'cam1?user=view&pass=v'), 'NetStream.Play.Start');
    reader3.close();
  });

  test('bad input closes only its own connection, counted; the publisher goes on', async () => {
    const closes = s.rtmp.counters.closes;
    const before = { ...closes };
    const w = new ChunkWriter();
    const rawClosed = async (bytes: Buffer): Promise<void> => {
      const sock = net.connect(port, '127.0.0.1');
      sock.on('error', () => undefined);
      sock.write(bytes);
      await new Promise<void>((resolve) => sock.on('close', () => resolve()));
    };
    // A half handshake: closed at the handshake timeout (500 ms here).
    await rawClosed(Buffer.concat([Buffer.from([3]), Buffer.alloc(700)]));
    assert.equal(closes.handshake_timeout, before.handshake_timeout + 1);

    const cases: [string, (c: TestRtmpClient) => void, keyof typeof closes][] = [
      [
        'a 16 MB message length',
        (c) => c.sendRaw(Buffer.from('0400000 0ffffff 14 00000000'.replace(/ /g, ''), 'hex')),
        'message_size',
      ],
      [
        'chunk size 0',
        (c) =>
          c.send({ chunkStreamId: 2, timestamp: 0, typeId: 1, messageStreamId: 0, payload: Buffer.alloc(4) }),
        'chunk_size',
      ],
      [
        'chunk size 2^31',
        (c) =>
          c.send({
            chunkStreamId: 2,
            timestamp: 0,
            typeId: 1,
            messageStreamId: 0,
            payload: Buffer.from([0x80, 0, 0, 0]),
          }),
        'chunk_size',
      ],
      ['an unknown command', (c) => c.send(commandMessage(0, 'formatHardDisk', 5, null)), 'unknown_command'],
      [
        'bad AMF0',
        (c) => c.send({ ...commandMessage(0, 'x', 1), payload: Buffer.from([0x02, 0xff, 0xff, 0x41]) }),
        'protocol',
      ],
      [
        'too many chunk streams',
        (c) => {
          for (const csid of [10, 11, 12, 13, 14])
            c.sendRaw(
              Buffer.concat(
                w.serialize({
                  chunkStreamId: csid,
                  timestamp: 0,
                  typeId: 8,
                  messageStreamId: 1,
                  payload: Buffer.alloc(1),
                }),
              ),
            );
        },
        'chunk_streams',
      ],
    ];
    for (const [what, send, counter] of cases) {
      const c = await TestRtmpClient.connect(port);
      await c.open('live');
      const n = closes[counter];
      send(c);
      await c.until(() => c.closed, `the close after ${what}`);
      assert.equal(closes[counter], n + 1, what);
    }
    assert.ok(!publisher.closed, 'the publisher is still connected');
    assert.ok(s.server.paths.get('live/cam1')?.stream?.ended === false, 'its path is still live');
    // And the server still serves: a new client connects.
    const c = await TestRtmpClient.connect(port);
    assert.ok((await c.open('live')) > 0);
    c.close();
  });
});
