// A command started on demand that publishes to its path itself (runOnDemand), as the path manager
// runs it: the name stays free for the publisher's ANNOUNCE, readers wait for its RECORD, and the
// command stops once readers are gone (or when it never published).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualTimerClock } from '../base/clock.js';
import { nullLogger } from '../base/logger.js';
import type { PublishedMedia } from '../media/published-media.js';
import { Stream } from '../media/stream.js';
import { packetReader } from '../media/stream-reader.js';
import { PathManager, type OnDemandPublisher } from './path-manager.js';

const MEDIA: PublishedMedia = {
  describeSdp: () => 'v=0\r\n',
  controls: ['trackID=0'],
  tracks: [{ payloadType: 96, encodingName: 'H264', clockRate: 90000, fmtp: {} }],
};

function setup(): {
  paths: PathManager;
  clock: ManualTimerClock;
  command: OnDemandPublisher & { starts: number; stops: number; active: boolean };
} {
  const clock = new ManualTimerClock(1000);
  const paths = new PathManager({
    clock,
    logger: nullLogger,
    newStream: (m, onEnded) => new Stream(m.tracks, { clock, onEnded }),
    onDemand: { sourceFor: (name) => (name === 'dev0' ? command : undefined) },
  });
  const command = {
    publishes: true as const,
    startTimeoutMs: 5000,
    closeAfterMs: 2000,
    starts: 0,
    stops: 0,
    active: false,
    start(): boolean {
      this.starts++;
      this.active = true;
      return true;
    },
    isActive(): boolean {
      return this.active;
    },
    stop(): Promise<void> {
      this.stops++;
      this.active = false;
      return Promise.resolve();
    },
  };
  return { paths, clock, command };
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

test('readers wait for the command to RECORD on the name, then read that publisher', async () => {
  const { paths, clock, command } = setup();
  const first = paths.forReader('dev0');
  const second = paths.forReader('dev0');
  assert.equal(command.starts, 1, 'one command for both readers');
  assert.equal(paths.get('dev0'), undefined, 'the name stays free for the publisher');
  // The command's ffmpeg: ANNOUNCE claims the name, RECORD makes the stream.
  assert.equal(paths.claimPublisher('dev0', 'S1', MEDIA), true);
  clock.advance(1000);
  const stream = paths.startPublishing('dev0', 'S1');
  const [a, b] = await Promise.all([first, second]);
  assert.equal(a?.owner.kind, 'publisher');
  assert.equal(a.stream, stream);
  assert.equal(b, a);

  // A reader keeps it running; 2 s after the last one left, the command is stopped.
  const reader = packetReader({
    tracks: [0],
    backlogBytes: () => 0,
    rtp: () => undefined,
    ended: () => undefined,
  });
  stream!.addReader(reader);
  clock.advance(10_000);
  assert.equal(command.stops, 0);
  stream!.removeReader(reader);
  clock.advance(1000);
  assert.equal(command.stops, 0);
  clock.advance(1500);
  assert.equal(command.stops, 1, 'stopped after closeAfterMs without readers');
  // The next reader starts it again.
  void paths.forReader('dev0');
  await flush();
  assert.equal(command.starts, 1, 'the publisher still holds the path: nothing to start');
  paths.releasePublisher('dev0', 'S1', 'command ended');
  const again = paths.forReader('dev0');
  assert.equal(command.starts, 2);
  clock.advance(5000);
  assert.equal(await again, undefined, 'never published: the reader gets nothing');
  assert.equal(command.stops, 2, 'and the command is stopped');
  await paths.close('test over');
});

test('a command that cannot start answers at once; close stops a running one', async () => {
  const { paths, command } = setup();
  command.start = () => false;
  assert.equal(await paths.forReader('dev0'), undefined);
  command.start = () => true;
  void paths.forReader('dev0');
  await paths.close('closing');
  assert.equal(command.stops, 1);
});

test('a command that exited for good is started again by the next reader, not waited for', async () => {
  const { paths, command } = setup();
  const first = paths.forReader('dev0');
  paths.claimPublisher('dev0', 'S1', MEDIA);
  paths.startPublishing('dev0', 'S1');
  assert.equal((await first)?.owner.kind, 'publisher');
  // It crashes, without restart: its publisher's session ends with its connection.
  command.active = false;
  paths.releasePublisher('dev0', 'S1', 'connection closed');
  void paths.forReader('dev0');
  await flush();
  assert.equal(command.starts, 2);
  assert.equal(command.stops, 1, 'the old one was let go');
  await paths.close('test over');
});
