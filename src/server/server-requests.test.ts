// ServerRequests on a ManualTimerClock with a stand-in connection: CSeqs of its own per connection, answers
// matched by CSeq (others counted and dropped), the timeout, the bound on requests waiting, the close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualTimerClock } from '../base/clock.js';
import { nullLogger } from '../base/logger.js';
import { RtspFramer } from '../rtsp/framer.js';
import { RtspHeaders } from '../rtsp/headers.js';
import type { RtspRequest, RtspResponse } from '../rtsp/message.js';
import { ServerRequests, type RequestChannel, type ServerRequestOutcome } from './server-requests.js';
import { presentationUri } from './session-lifecycle.js';

function channel(id: number): RequestChannel & { sent: RtspRequest[]; isClosed: boolean } {
  const framer = new RtspFramer();
  const sent: RtspRequest[] = [];
  return {
    id,
    isClosed: false,
    sent,
    write(bytes: Buffer) {
      for (const m of framer.push(bytes)) if (m.kind === 'request') sent.push(m);
    },
  };
}

function response(statusCode: number, cseq: string | undefined): RtspResponse {
  const headers = new RtspHeaders();
  if (cseq !== undefined) headers.set('CSeq', cseq);
  return { kind: 'response', version: 'RTSP/1.0', statusCode, reason: '', headers, body: Buffer.alloc(0) };
}

function sender(clock: ManualTimerClock): ServerRequests {
  return new ServerRequests({
    clock,
    logger: nullLogger,
    settings: { serverRequestTimeoutMs: 1000, maxServerRequestsPending: 2, serverName: 'rtspkit' },
  });
}

test('each connection numbers its own requests; an answer settles the request with its CSeq only', async () => {
  const clock = new ManualTimerClock();
  const requests = sender(clock);
  const a = channel(1);
  const b = channel(2);
  const first = requests.send(a, 'REDIRECT', 'rtsp://h/p', { Location: 'rtsp://x/p', Session: 'S1' });
  const second = requests.send(a, 'OPTIONS', '*', {});
  const other = requests.send(b, 'GET_PARAMETER', 'rtsp://h/p', {});
  assert.deepEqual(
    a.sent.map((r) => [r.method, r.headers.get('CSeq')]),
    [
      ['REDIRECT', '1'],
      ['OPTIONS', '2'],
    ],
  );
  assert.equal(a.sent[0]!.headers.get('Location'), 'rtsp://x/p');
  assert.equal(b.sent[0]!.headers.get('CSeq'), '1');
  requests.onResponse(a, response(200, '7')); // wrong CSeq
  requests.onResponse(a, response(200, undefined)); // none
  requests.onResponse(b, response(200, '2')); // another connection's number
  requests.onResponse(a, response(501, '2'));
  requests.onResponse(a, response(200, '1'));
  requests.onResponse(b, response(405, ' 1 '));
  const outcomes = await Promise.all([first, second, other]);
  assert.deepEqual(
    outcomes.map((o) => (o.kind === 'answered' ? o.response.statusCode : o.kind)),
    [200, 501, 405],
  );
  assert.equal(requests.counters.unmatched, 3);
  assert.equal(requests.counters.answered, 3);
  assert.equal(clock.pendingTimers, 0);
});

test('no answer within the timeout; a late answer is unmatched; over the bound is refused; a close settles', async () => {
  const clock = new ManualTimerClock();
  const requests = sender(clock);
  const a = channel(1);
  const settled: ServerRequestOutcome['kind'][] = [];
  const note = (p: Promise<ServerRequestOutcome>): Promise<void> => p.then((o) => void settled.push(o.kind));
  const waits = [
    note(requests.send(a, 'REDIRECT', '*', {})),
    note(requests.send(a, 'REDIRECT', '*', {})),
    note(requests.send(a, 'REDIRECT', '*', {})), // a third one waiting: over the bound of 2
  ];
  assert.equal(a.sent.length, 2);
  clock.advance(999);
  await Promise.resolve();
  assert.deepEqual(settled, ['over-limit']);
  clock.advance(1);
  await Promise.all(waits);
  assert.deepEqual(settled, ['over-limit', 'timeout', 'timeout']);
  requests.onResponse(a, response(200, '1'));
  assert.equal(requests.counters.unmatched, 1);
  const closing = requests.send(a, 'ANNOUNCE', '*', {}, Buffer.from('v=0\r\n'));
  assert.equal(a.sent[2]!.headers.get('Content-Length'), '5');
  requests.connectionClosed(a);
  assert.equal((await closing).kind, 'closed');
  a.isClosed = true;
  assert.equal((await requests.send(a, 'OPTIONS', '*', {})).kind, 'closed');
  assert.equal(a.sent.length, 3);
  assert.deepEqual(
    { ...requests.counters },
    { sent: 3, answered: 0, timedOut: 2, closed: 2, overLimit: 1, unmatched: 1 },
  );
  assert.equal(clock.pendingTimers, 0);
});

test("the Request-URI of the server's requests: the session's path encoded again, no userinfo", () => {
  assert.equal(
    presentationUri('rtsp://user:pw@127.0.0.1:8554/a%20b/trackID=0?token=x', 'a b'),
    'rtsp://127.0.0.1:8554/a%20b',
  );
  assert.equal(
    presentationUri('rtsp://h/x%0D%0ASession:%201', 'x\r\nSession: 1'),
    'rtsp://h/x%0D%0ASession%3A%201',
  );
  assert.equal(presentationUri('rtsp://h:1/cams/front/', 'cams/front'), 'rtsp://h:1/cams/front');
  assert.equal(presentationUri('/cam', 'cam'), '*');
});
