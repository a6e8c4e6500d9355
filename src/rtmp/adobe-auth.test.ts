import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../base/clock.js';
import { adobeKey, adobeResponse, ADOBE_AUTH_FAILED, ADOBE_NEED_AUTH } from '../flv/adobe-auth.js';
import { Authorizer } from '../server/auth.js';
import { AdobeChallenges, CHALLENGE_TTL_MS, adobeConnectVerdict } from './adobe-auth.js';

test('pending challenges: bounded, once each, for their user, until they expire', () => {
  const clock = new ManualClock();
  const c = new AdobeChallenges(clock, 2);
  const a = c.issue('alice')!;
  const b = c.issue('bob')!;
  assert.equal(c.issue('carol'), undefined, 'the bound: refused');
  assert.equal(c.take(a, 'bob'), false, "another user's challenge (and it is spent)");
  assert.equal(c.take(a, 'alice'), false, 'spent');
  assert.equal(c.take(b, 'bob'), true);
  assert.equal(c.take(b, 'bob'), false, 'once');
  const d = c.issue('dave')!;
  clock.advance(CHALLENGE_TTL_MS);
  assert.equal(c.take(d, 'dave'), false, 'expired');
  for (let i = 0; i < 2; i++) c.issue('x');
  clock.advance(CHALLENGE_TTL_MS);
  assert.notEqual(c.issue('y'), undefined, 'expired ones make room');
  assert.equal(c.size, 1);
});

test('the connect verdicts: need auth, the challenge, a right answer, a wrong one, query credentials', () => {
  const clock = new ManualClock();
  const authorizer = new Authorizer({
    basic: true,
    realm: 'rtspkit',
    users: [{ name: 'alice', password: 'plain:s3cret', permissions: [{ action: 'publish' }] }],
  });
  const challenges = new AdobeChallenges(clock, 8);
  const verdict = (app: string) => adobeConnectVerdict(app, '127.0.0.1', authorizer, challenges);
  assert.deepEqual(verdict('live'), {
    kind: 'reject',
    description: ADOBE_NEED_AUTH,
    reason: 'auth_challenge',
  });
  assert.deepEqual(verdict('live?user=alice&pass=s3cret'), { kind: 'accept', user: undefined });
  const asked = verdict('live?authmod=adobe&user=alice');
  const m = /salt=([^&]+)&challenge=([^&]+)&opaque=([^&]+)$/.exec(
    'description' in asked ? asked.description : '',
  );
  assert.ok(m !== null);
  const [, salt, challenge, opaque] = m;
  assert.equal(salt, authorizer.adobeSalt);
  assert.equal(challenge, opaque);
  const response = adobeResponse(adobeKey('alice', salt, 's3cret'), opaque!, 'cafe0123');
  const answer = `live?authmod=adobe&user=alice&challenge=cafe0123&response=${response}&opaque=${opaque}`;
  assert.deepEqual(verdict(answer), { kind: 'accept', user: 'alice' });
  assert.deepEqual(
    verdict(answer),
    { kind: 'reject', description: ADOBE_AUTH_FAILED, reason: 'unauthorized' },
    'a replay: the challenge is spent',
  );
  const again = verdict('live?authmod=adobe&user=alice');
  const o2 = again.kind === 'reject' ? /opaque=(.+)$/.exec(again.description)![1]! : '';
  const wrong = adobeResponse(adobeKey('alice', salt, 'guess'), o2, 'cafe0123');
  assert.equal(
    verdict(`live?authmod=adobe&user=alice&challenge=cafe0123&response=${wrong}&opaque=${o2}`).kind,
    'reject',
  );
  assert.equal(authorizer.authFailures, 1);
  assert.equal(verdict('live?authmod=adobe&user=a%26b').kind, 'reject', 'a name the challenge cannot echo');
});
