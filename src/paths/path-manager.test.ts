import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualTimerClock } from '../base/clock.js';
import { nullLogger } from '../base/logger.js';
import type { PublishedMedia } from '../media/published-media.js';
import { Stream, type StreamReader } from '../media/stream.js';
import {
  PathManager,
  sourceKindOf,
  type OnDemandSources,
  type PathManagerDeps,
  type PathSource,
  type PathSourceControl,
  type SourceOwner,
} from './path-manager.js';

function media(encodingName = 'H264'): PublishedMedia {
  return {
    describeSdp: () => 'v=0\r\n',
    controls: ['trackID=0'],
    tracks: [{ payloadType: 96, encodingName, clockRate: 90000, fmtp: {} }],
  };
}

/** A source that records what the manager does to it, and can end its stream as a file does at its end. */
class FakeSource implements PathSource {
  media = media();
  stream: Stream | undefined;
  stops = 0;
  constructor(private readonly log: string[] = []) {}
  start(stream: Stream): void {
    this.stream = stream;
    this.log.push('start');
  }
  stop(): Promise<void> {
    this.stops++;
    this.log.push('stop');
    return Promise.resolve();
  }
}

function manager(extra: Partial<PathManagerDeps> = {}): {
  paths: PathManager;
  clock: ManualTimerClock;
  events: string[];
} {
  const clock = new ManualTimerClock(1000);
  const paths = new PathManager({
    clock,
    logger: nullLogger,
    newStream: (m, onEnded) => new Stream(m.tracks, { clock, onEnded }),
    ...extra,
  });
  const events: string[] = [];
  paths.onPathReady((p) => events.push(`ready ${p.name} ${p.owner.kind}`));
  paths.onPathNotReady((p) => events.push(`not ready ${p.name} ${p.reason}`));
  return { paths, clock, events };
}

const API_FILE: SourceOwner = { kind: 'file-loop', file: '/clips/a.mp4', origin: 'api' };
const CONFIG_FILE: SourceOwner = { kind: 'file-loop', file: '/clips/b.mp4', origin: 'config' };

test('a publisher claims a name, gets its stream at RECORD and frees it when it leaves', () => {
  const { paths, events } = manager();
  assert.ok(paths.claimPublisher('cam', 'S1', media()));
  assert.equal(paths.claimPublisher('cam', 'S2', media()), false, 'a second publisher is refused');
  assert.equal(paths.addSource('cam', API_FILE, new FakeSource(), { replace: () => true }), undefined);
  const claimed = paths.get('cam')!;
  assert.deepEqual(claimed.owner, { kind: 'publisher', sessionId: 'S1' });
  assert.equal(sourceKindOf(claimed.owner), 'publisher');
  assert.equal(claimed.stream, undefined, 'no stream before RECORD');
  assert.deepEqual(events, [], 'not ready before RECORD');

  assert.equal(paths.startPublishing('cam', 'S2'), undefined);
  const stream = paths.startPublishing('cam', 'S1')!;
  assert.equal(paths.startPublishing('cam', 'S1'), stream, 'a second RECORD keeps the stream');
  assert.deepEqual(events, ['ready cam publisher']);
  assert.equal(paths.publishedBy('cam', 'S1'), claimed);
  assert.equal(paths.publishedBy('cam', 'S2'), undefined);

  assert.equal(paths.releasePublisher('cam', 'S2', 'not mine'), undefined);
  assert.equal(stream.ended, false);
  void paths.removeSource('cam', 'sources only');
  assert.equal(paths.get('cam'), claimed, 'removeSource never takes a publisher path');
  assert.equal(paths.releasePublisher('cam', 'S1', 'teardown'), claimed);
  assert.ok(stream.ended);
  assert.equal(paths.get('cam'), undefined);
  assert.deepEqual(events, ['ready cam publisher', 'not ready cam teardown']);
  assert.ok(paths.claimPublisher('cam', 'S2', media()), 'the name is free again');
});

test('a publisher that leaves before RECORD frees the name without a not-ready event', () => {
  const { paths, events } = manager();
  assert.ok(paths.claimPublisher('cam', 'S1', media()));
  assert.ok(paths.releasePublisher('cam', 'S1', 'teardown') !== undefined);
  assert.equal(paths.get('cam'), undefined);
  assert.deepEqual(events, []);
});

test('a source path is typed by its owner and ready at once; a taken name is refused', () => {
  const { paths, events } = manager();
  const source = new FakeSource();
  const path = paths.addSource('lobby', API_FILE, source)!;
  assert.deepEqual(path.owner, { kind: 'file-loop', file: '/clips/a.mp4', origin: 'api' });
  assert.equal(sourceKindOf(path.owner), 'file');
  assert.equal(source.stream, path.stream, 'the source writes into the path stream');
  assert.equal(path.media, source.media);
  assert.deepEqual(events, ['ready lobby file-loop']);
  assert.equal(paths.addSource('lobby', CONFIG_FILE, new FakeSource()), undefined, 'no replace: refused');
  assert.equal(
    paths.addSource('lobby', CONFIG_FILE, new FakeSource(), {
      replace: (cur) => cur.owner.kind === 'embedded',
    }),
    undefined,
    'replace refused by its predicate',
  );
  assert.equal(paths.claimPublisher('lobby', 'S1', media()), false, 'a publisher cannot take a source path');
  assert.equal(paths.get('lobby'), path);
  const embedded = paths.addSource('feed', { kind: 'embedded' }, media('H265'))!;
  assert.equal(embedded.media.tracks[0]!.encodingName, 'H265');
  assert.deepEqual(
    paths.list().map((p) => p.name),
    ['lobby', 'feed'],
  );
});

test('replacing a source path ends the old stream and stops its source before the new one starts', async () => {
  const { paths, events } = manager();
  const log: string[] = [];
  const first = new FakeSource(log);
  const old = paths.addSource('cam', CONFIG_FILE, first)!;
  const oldStream = old.stream!;
  let oldEndedAtStart: boolean | undefined;
  const second = new FakeSource(log);
  const start = second.start.bind(second);
  second.start = (stream) => {
    oldEndedAtStart = oldStream.ended;
    start(stream);
  };
  const next = paths.addSource('cam', CONFIG_FILE, second, {
    replace: (cur) => cur.owner.kind === 'file-loop' && cur.owner.origin === 'config',
    replaceReason: 'changed in the config',
  })!;
  assert.equal(oldEndedAtStart, true, 'the old stream had ended when the new source started');
  assert.deepEqual(log, ['start', 'stop', 'start']);
  assert.equal(first.stops, 1);
  assert.notEqual(next.stream, oldStream);
  assert.equal(paths.get('cam'), next);
  assert.deepEqual(events, [
    'ready cam file-loop',
    'not ready cam changed in the config',
    'ready cam file-loop',
  ]);
  await paths.close('closing');
});

test('removing a source path ends its stream and stops its source, only the one asked for', async () => {
  const { paths, events } = manager();
  const source = new FakeSource();
  const path = paths.addSource('cam', API_FILE, source)!;
  await paths.removeSource('cam', 'stale', (cur) => cur !== path);
  assert.equal(paths.get('cam'), path, 'the predicate kept it');
  const removed = paths.removeSource('cam', 'removed through the api', (cur) => cur === path);
  assert.equal(paths.get('cam'), undefined, 'the name is free at once');
  assert.ok(path.stream!.ended);
  await removed;
  assert.equal(source.stops, 1);
  assert.deepEqual(events, ['ready cam file-loop', 'not ready cam removed through the api']);
  await paths.removeSource('cam', 'again');
  assert.equal(source.stops, 1);
});

test('a source that ends its own stream (end of file, read error) frees its name', () => {
  const { paths, events } = manager();
  const source = new FakeSource();
  paths.addSource('clip', API_FILE, source);
  source.stream!.end('end of file');
  assert.equal(paths.get('clip'), undefined);
  assert.equal(source.stops, 1);
  assert.deepEqual(events, ['ready clip file-loop', 'not ready clip end of file']);
});

test('ready listeners get plain data and a tap; a failing listener does not stop the others', () => {
  const { paths } = manager();
  const got: string[] = [];
  paths.onPathReady(() => {
    throw new Error('recorder broke');
  });
  const off = paths.onPathReady((p) => {
    assert.equal(p.tap.ended, false);
    assert.deepEqual(Object.keys(p).sort(), ['media', 'name', 'owner', 'tap']);
    got.push(p.name);
  });
  paths.addSource('a', { kind: 'embedded' }, media());
  off();
  paths.addSource('b', { kind: 'embedded' }, media());
  assert.deepEqual(got, ['a']);
  assert.ok(paths.get('b') !== undefined, 'the path went on despite the failing listener');
});

test('close stops the sources the manager started; embedded feeds are their owner’s', async () => {
  const { paths } = manager();
  const source = new FakeSource();
  paths.addSource('file', API_FILE, source);
  const embedded = paths.addSource('feed', { kind: 'embedded' }, media())!;
  await paths.close('server closing');
  assert.equal(source.stops, 1);
  assert.equal(paths.get('file'), undefined);
  assert.equal(paths.get('feed'), embedded);
  assert.equal(paths.addSource('late', API_FILE, new FakeSource()), undefined, 'nothing starts after close');
});

/** On-demand sources whose `open` the test settles by hand. */
function onDemandOf(names: string[]): {
  onDemand: OnDemandSources;
  opens: { name: string; resolve: (s: PathSource) => void; reject: (e: Error) => void }[];
} {
  const opens: { name: string; resolve: (s: PathSource) => void; reject: (e: Error) => void }[] = [];
  return {
    opens,
    onDemand: {
      sourceFor: (name) =>
        names.includes(name)
          ? {
              owner: { kind: 'embedded' },
              open: () => new Promise<PathSource>((resolve, reject) => opens.push({ name, resolve, reject })),
            }
          : undefined,
    },
  };
}

test('a reader asking for an on-demand name starts its source once and gets its path', async () => {
  const { onDemand, opens } = onDemandOf(['pull']);
  const { paths, events } = manager({ onDemand, onDemandStartTimeoutMs: 5000 });
  assert.equal(await paths.forReader('other'), undefined, 'no source for that name');
  const first = paths.forReader('pull');
  const second = paths.forReader('pull');
  assert.equal(opens.length, 1, 'readers asking meanwhile wait for the same start');
  const source = new FakeSource();
  opens[0]!.resolve(source);
  const [a, b] = await Promise.all([first, second]);
  assert.ok(a !== undefined && a === b);
  assert.equal(a.stream, source.stream);
  assert.deepEqual(events, ['ready pull embedded']);
  assert.equal(await paths.forReader('pull'), a, 'a running path is served as it is');
  assert.equal(opens.length, 1);
});

test('an on-demand source that does not start in time answers nothing and is stopped when it comes', async () => {
  const { onDemand, opens } = onDemandOf(['pull']);
  const { paths, clock } = manager({ onDemand, onDemandStartTimeoutMs: 5000 });
  const asked = paths.forReader('pull');
  clock.advance(4999);
  assert.equal(opens.length, 1);
  clock.advance(1);
  assert.equal(await asked, undefined);
  const late = new FakeSource();
  opens[0]!.resolve(late);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(late.stops, 1);
  assert.equal(late.stream, undefined, 'never started');
  assert.equal(paths.get('pull'), undefined);

  const again = paths.forReader('pull');
  assert.equal(opens.length, 2, 'a later reader starts it again');
  opens[1]!.reject(new Error('connection refused'));
  assert.equal(await again, undefined);
  assert.equal(clock.pendingTimers, 0, 'the timeout was cancelled');
});

/** On-demand owners (pulls, the hooks' runOnDemand) with an idle stop of `closeAfterMs`. */
function idleOnDemand(closeAfterMs: number): { onDemand: OnDemandSources; sources: FakeSource[] } {
  const sources: FakeSource[] = [];
  return {
    sources,
    onDemand: {
      sourceFor: (name) =>
        name.startsWith('od')
          ? {
              owner: { kind: 'pull', url: `rtsp://cam/${name}`, onDemand: true },
              closeAfterMs,
              open: () => {
                const s = new FakeSource();
                sources.push(s);
                return Promise.resolve(s);
              },
            }
          : undefined,
    },
  };
}

/** A reader that takes nothing and notes why its stream ended. */
function fakeReader(ended: string[] = []): StreamReader {
  return {
    transport: 'udp',
    rtpChannels: [],
    tracks: [0],
    backlogBytes: 0,
    writeInterleaved: () => undefined,
    sendRtp: () => undefined,
    sendRtcp: () => undefined,
    streamEnded: (why) => ended.push(why),
  };
}
const reader = fakeReader();

test('an on-demand owner is stopped once its path had no reader for closeAfterMs', async () => {
  const { onDemand, sources } = idleOnDemand(10_000);
  const { paths, clock, events } = manager({ onDemand });
  const path = (await paths.forReader('od1'))!;
  assert.equal(sources.length, 1);
  // A reader joins, stays 30 s: the path stays however long it reads.
  path.stream!.addReader(reader);
  clock.advance(30_000);
  assert.equal(paths.get('od1'), path);
  path.stream!.removeReader(reader);
  clock.advance(9_000);
  assert.equal(paths.get('od1'), path, 'still within closeAfterMs of the last reader');
  clock.advance(2_000);
  assert.equal(paths.get('od1'), undefined, 'stopped after closeAfterMs (+ one check period)');
  assert.equal(sources[0]!.stops, 1);
  assert.equal(paths.counters.onDemandIdleStops, 1);
  assert.deepEqual(events, ['ready od1 pull', 'not ready od1 no readers for 10000 ms']);
  assert.equal(clock.pendingTimers, 0, 'the idle check is cancelled with the path');
});

test('at most maxOnDemandSources on-demand sources run at once; a refusal is counted', async () => {
  const { onDemand } = idleOnDemand(10_000);
  const { paths } = manager({ onDemand, maxOnDemandSources: 2 });
  assert.ok(await paths.forReader('od1'));
  assert.ok(await paths.forReader('od2'));
  assert.equal(await paths.forReader('od3'), undefined);
  assert.equal(paths.counters.onDemandRefused, 1);
  assert.ok(await paths.forReader('od1'), 'a running one is still served');
  await paths.removeSource('od1', 'gone');
  assert.ok(await paths.forReader('od3'), 'a slot freed is taken');
});

test('a source whose media changed keeps its name: the old stream ends, a new one starts', () => {
  const { paths, events } = manager();
  let control: PathSourceControl | undefined;
  const source = new (class extends FakeSource {
    override media = media('H264');
    override start(stream: Stream, c?: PathSourceControl): void {
      super.start(stream);
      control = c;
    }
  })();
  const first = paths.addSource('cam', { kind: 'pull', url: 'rtsp://cam/1', onDemand: false }, source)!;
  const firstStream = first.stream!;
  const ended: string[] = [];
  firstStream.addReader(fakeReader(ended));
  source.media = media('H265');
  const firstControl = control!;
  firstControl.mediaChanged('upstream media changed');
  const next = paths.get('cam')!;
  assert.notEqual(next.stream, firstStream);
  assert.equal(source.stream, next.stream, 'the source writes into the new stream');
  assert.equal(next.media.tracks[0]!.encodingName, 'H265');
  assert.equal(source.stops, 0, 'the source was not stopped');
  assert.deepEqual(events, ['ready cam pull', 'not ready cam upstream media changed', 'ready cam pull']);
  assert.equal(paths.counters.sourceMediaChanges, 1);
  assert.deepEqual(ended, ['upstream media changed'], "the old stream's readers were told why");
  firstControl.mediaChanged('stale control');
  assert.equal(paths.get('cam'), next, "the old entry's control does nothing any more");
});
