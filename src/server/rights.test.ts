import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitsSession, readSetupTransport, requiredAction } from './rights.js';

const TCP = 'RTP/AVP/TCP;unicast;interleaved=0-1';
const UDP = 'RTP/AVP;unicast;client_port=5000-5001';

test('the right of a SETUP follows the parsed mode, not the text of the header', () => {
  const table: [string, 'read' | 'publish'][] = [
    [TCP, 'read'],
    [`${TCP};mode=play`, 'read'],
    [`${TCP};mode="PLAY"`, 'read'],
    [`${TCP};mode=record`, 'publish'],
    [`${TCP};mode="RECORD"`, 'publish'],
    [`${TCP};Mode=Record`, 'publish'],
    [`${TCP};mode=receive`, 'publish'],
    [`${TCP};mode="PLAY,RECORD"`, 'publish'],
    [`${TCP};x-mode=record`, 'read'],
    [`${TCP};X-MODE="RECORD"`, 'read'],
    [`${TCP};x-note="mode=record"`, 'read'],
    [`${TCP};x-mode=record,${UDP}`, 'read'],
    [`${TCP};x-mode=record,${UDP};mode=record`, 'publish'],
    [`${TCP};mode=play,${UDP};mode=receive`, 'publish'],
  ];
  for (const [header, action] of table) {
    const transport = readSetupTransport(header);
    assert.equal(transport.mode, action === 'publish' ? 'record' : 'play', header);
    assert.equal(requiredAction('SETUP', false, transport), action, header);
    // Inside a session nothing is asked again: the session's mode, set when it was made, decides.
    assert.equal(requiredAction('SETUP', true, transport), undefined, header);
  }
});

test('a SETUP without a usable Transport still needs read; other methods', () => {
  for (const header of [undefined, '', 'garbage', `${TCP};mode="unterminated`]) {
    const transport = readSetupTransport(header);
    assert.equal(transport.mode, undefined);
    assert.equal(requiredAction('SETUP', false, transport), 'read');
  }
  assert.equal(requiredAction('DESCRIBE', false, undefined), 'read');
  assert.equal(requiredAction('DESCRIBE', true, undefined), 'read');
  assert.equal(requiredAction('ANNOUNCE', false, undefined), 'publish');
  for (const m of ['OPTIONS', 'PLAY', 'PAUSE', 'RECORD', 'TEARDOWN', 'GET_PARAMETER', 'SET_PARAMETER'])
    assert.equal(requiredAction(m, false, undefined), undefined, m);
});

test('inside a session, PLAY, RECORD and SETUP must fit the mode the session was made in', () => {
  const record = readSetupTransport(`${TCP};mode=record`);
  const play = readSetupTransport(TCP);
  const xmode = readSetupTransport(`${TCP};x-mode=record`);
  assert.equal(fitsSession('play', 'PLAY', undefined), true);
  assert.equal(fitsSession('play', 'RECORD', undefined), false);
  assert.equal(fitsSession('record', 'RECORD', undefined), true);
  assert.equal(fitsSession('record', 'PLAY', undefined), false);
  assert.equal(fitsSession('play', 'SETUP', record), false);
  assert.equal(fitsSession('play', 'SETUP', play), true);
  assert.equal(fitsSession('play', 'SETUP', xmode), true);
  assert.equal(fitsSession('record', 'SETUP', record), true);
  assert.equal(fitsSession('record', 'SETUP', play), true);
  for (const m of ['PAUSE', 'TEARDOWN', 'GET_PARAMETER', 'SET_PARAMETER', 'OPTIONS', 'DESCRIBE'])
    for (const mode of ['play', 'record'] as const) assert.equal(fitsSession(mode, m, undefined), true, m);
});
