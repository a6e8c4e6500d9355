import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError } from '../base/errors.js';
import { FmtpParams, parseFmtp, parseFmtpParams, serializeFmtp } from './fmtp.js';

const H264 =
  '96 packetization-mode=1;profile-level-id=640028;sprop-parameter-sets=Z2QAKKzZQHgCJ+XAWoCAgKAAAAMAIAAAB4HjBjLA,aOvjyyLA';

test('parseFmtp keeps values as strings and base64 padding intact', () => {
  const f = parseFmtp(H264);
  assert.equal(f.format, '96');
  assert.equal(f.params.get('profile-level-id'), '640028');
  assert.equal(typeof f.params.get('profile-level-id'), 'string');
  assert.equal(f.params.get('sprop-parameter-sets'), 'Z2QAKKzZQHgCJ+XAWoCAgKAAAAMAIAAAB4HjBjLA,aOvjyyLA');
  const padded = parseFmtp('96 sprop-parameter-sets=Z0LAHtoCgL/lwEQAAAMABAAAAwDIPFi6gA==,aM48gA==;x=1');
  assert.equal(padded.params.get('sprop-parameter-sets'), 'Z0LAHtoCgL/lwEQAAAMABAAAAwDIPFi6gA==,aM48gA==');
  assert.equal(padded.params.get('x'), '1');
  assert.equal(serializeFmtp(f.format, f.params), H264);
});

test('keys are case-insensitive for lookup, original spelling and order for output', () => {
  const p = parseFmtpParams('Profile-Level-Id=42e01f; Packetization-Mode=1');
  assert.equal(p.get('profile-level-id'), '42e01f');
  assert.ok(p.has('PACKETIZATION-MODE'));
  assert.deepEqual(p.keys(), ['Profile-Level-Id', 'Packetization-Mode']);
  p.set('packetization-mode', '0');
  assert.equal(p.toString(), 'Profile-Level-Id=42e01f;Packetization-Mode=0');
  assert.deepEqual(p.toRecord(), { 'profile-level-id': '42e01f', 'packetization-mode': '0' });
  assert.ok(p.delete('PROFILE-level-id'));
  assert.ok(!p.delete('nope'));
  assert.deepEqual([...p], [['Packetization-Mode', '0']]);
  assert.equal(p.size, 1);
});

test('tolerates spaces, trailing and empty separators, bare tokens, no parameters', () => {
  const f = parseFmtp('  97   profile-level-id = 1 ;mode=AAC-hbr;; config=1190; ');
  assert.equal(f.format, '97');
  assert.deepEqual(f.params.entries(), [
    ['profile-level-id', '1'],
    ['mode', 'AAC-hbr'],
    ['config', '1190'],
  ]);
  const dtmf = parseFmtp('101 0-15');
  assert.equal(dtmf.params.has('0-15'), true);
  assert.equal(serializeFmtp('101', dtmf.params), '101 0-15');
  const none = parseFmtp('96');
  assert.equal(none.params.size, 0);
  assert.equal(serializeFmtp(96, none.params), '96');
  assert.throws(
    () => parseFmtp('   '),
    (e: unknown) => e instanceof ParseError && e.code === 'SDP_BAD_FMTP',
  );
});

test('serializeFmtp accepts records and pair lists, and refuses separators inside values', () => {
  assert.equal(
    serializeFmtp(96, { 'packetization-mode': '1', 'profile-level-id': '42e01f' }),
    '96 packetization-mode=1;profile-level-id=42e01f',
  );
  assert.equal(
    serializeFmtp('97', [
      ['config', '1190'],
      ['mode', 'AAC-hbr'],
    ]),
    '97 config=1190;mode=AAC-hbr',
  );
  assert.equal(serializeFmtp(96, new FmtpParams({ a: 'b=c==' })), '96 a=b=c==');
  assert.throws(() => serializeFmtp(96, { a: 'x;y' }), RangeError);
  assert.throws(() => serializeFmtp(96, { 'a=b': 'x' }), RangeError);
  assert.throws(() => serializeFmtp(96, { a: 'x\r\n' }), RangeError);
  assert.throws(() => serializeFmtp('9 6', {}), RangeError);
});
