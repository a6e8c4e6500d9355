import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  ADOBE_AUTH_FAILED,
  ADOBE_NEED_AUTH,
  adobeChallengeDescription,
  adobeKey,
  adobeResponse,
  isAdobeSafeValue,
  parseAdobeConnectParams,
} from './adobe-auth.js';

const md5b64 = (s: string): string => createHash('md5').update(s).digest('base64');

test("the key and response are ffmpeg's do_adobe_auth: md5 base64 of user+salt+password, then key+opaque+challenge2", () => {
  const key = adobeKey('alice', 'cMxoV-yRUnff', 's3cret');
  assert.equal(key, md5b64('alicecMxoV-yRUnffs3cret'));
  assert.equal(adobeResponse(key, 'MZBkauZvh2kK', '1a2b3c4d'), md5b64(`${key}MZBkauZvh2kK1a2b3c4d`));
});

test('the descriptions carry what ffmpeg and librtmp look for', () => {
  assert.match(ADOBE_NEED_AUTH, /code=403 need auth/);
  assert.match(ADOBE_NEED_AUTH, /authmod=adobe/);
  assert.match(ADOBE_AUTH_FAILED, /authmod=adobe.*\?reason=authfailed/);
  assert.equal(
    adobeChallengeDescription('alice', 'S', 'C'),
    '[ AccessManager.Reject ] : [ authmod=adobe ] : ?reason=needauth&user=alice&salt=S&challenge=C&opaque=C',
  );
  assert.ok(isAdobeSafeValue('alice.b@x-1'));
  for (const bad of ['', 'a&b', 'a b', 'a=b', 'x'.repeat(129)]) assert.ok(!isAdobeSafeValue(bad), bad);
});

test("a connect's query: the base64 response keeps its '+' (ffmpeg does not escape it)", () => {
  const p = parseAdobeConnectParams('authmod=adobe&user=alice&challenge=1a2b3c4d&response=ab+c/d==&opaque=Q');
  assert.deepEqual(p, {
    authmod: 'adobe',
    user: 'alice',
    clientChallenge: '1a2b3c4d',
    response: 'ab+c/d==',
    opaque: 'Q',
  });
  assert.equal(parseAdobeConnectParams('response=a%2Bb').response, 'a+b');
  assert.deepEqual(parseAdobeConnectParams(''), {
    authmod: undefined,
    user: undefined,
    clientChallenge: undefined,
    response: undefined,
    opaque: undefined,
  });
});
