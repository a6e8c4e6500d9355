import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../base/clock.js';
import type { PublishedMedia } from '../media/published-media.js';
import { RtspServer } from './server.js';

function media(): PublishedMedia {
  return {
    describeSdp: () => 'v=0\r\n',
    controls: ['trackID=0'],
    tracks: [{ payloadType: 96, encodingName: 'H264', clockRate: 90000, fmtp: {} }],
  };
}

test('the view hands out plain snapshots, one view per server', () => {
  const clock = new ManualClock(1000, 1_700_000_000_000);
  const server = new RtspServer({ clock });
  const view = server.view;
  assert.equal(server.view, view);
  assert.deepEqual(view.paths(), []);
  assert.equal(view.path('cam'), undefined);
  assert.equal(view.feed('cam'), undefined);

  const stream = view.addSourcePath('cam', media());
  assert.ok(stream !== false);
  clock.advance(500);
  const [p] = view.paths();
  assert.ok(p !== undefined);
  // Plain data: what JSON keeps is all there is (no class, no live reference into the engine).
  assert.deepEqual(JSON.parse(JSON.stringify(p)), p);
  assert.equal(p.name, 'cam');
  assert.equal(p.source, 'file');
  assert.equal(p.ready, true);
  assert.equal(p.sinceWallMs, 1_700_000_000_000);
  assert.deepEqual(p.tracks, [{ encodingName: 'H264', clockRate: 90000 }]);
  assert.equal(view.path('cam')?.streamId, p.streamId);
  assert.equal(view.feed('cam')?.stream, stream);
  assert.ok(view.feeds('cam', stream));

  const counters = view.counters();
  assert.deepEqual(JSON.parse(JSON.stringify(counters)), counters);
  assert.equal(counters.connections, 0);
  assert.deepEqual(view.sessions(), []);
  assert.equal(view.endSession('0123456789ABCDEF', 'kicked'), false);
});

test('removeSourcePath with a stream leaves a path another stream feeds now', () => {
  const server = new RtspServer({ clock: new ManualClock() });
  const view = server.view;
  const first = view.addSourcePath('cam', media());
  assert.ok(first !== false);
  view.removeSourcePath('cam', 'gone');
  assert.equal(view.path('cam'), undefined);
  assert.ok(first.ended);
  const second = view.addSourcePath('cam', media());
  assert.ok(second !== false);
  assert.notEqual(view.path('cam')?.streamId, undefined);
  view.removeSourcePath('cam', 'stale owner', first);
  assert.equal(view.feed('cam')?.stream, second);
  assert.equal(view.feeds('cam', first), false);
  view.removeSourcePath('cam', 'its owner', second);
  assert.equal(view.path('cam'), undefined);
});

test('addSourcePath on a source-fed name ends the stream it replaces', () => {
  const server = new RtspServer({ clock: new ManualClock() });
  const view = server.view;
  const readyNames: string[] = [];
  const notReady: string[] = [];
  view.onPathReady((p) => readyNames.push(p.name));
  view.onPathNotReady((p) => notReady.push(`${p.name}: ${p.reason}`));
  const first = view.addSourcePath('cam', media());
  const second = view.addSourcePath('cam', media());
  assert.ok(first !== false && second !== false);
  assert.ok(first.ended, 'the replaced stream ended (its readers told)');
  assert.equal(second.ended, false);
  assert.equal(view.feed('cam')?.stream, second);
  assert.deepEqual(view.path('cam')?.owner, { kind: 'embedded' });
  assert.equal(view.path('cam')?.publisherSessionId, null);
  assert.deepEqual(readyNames, ['cam', 'cam']);
  assert.deepEqual(notReady, ['cam: replaced']);
});
