/**
 * Adobe's RTMP challenge-response authentication (`authmod=adobe`), as Flash Media Server and Wowza
 * ask it and ffmpeg (libavformat/rtmpproto.c) and OBS (librtmp) answer it. There is no published
 * specification; this is the form those clients implement:
 *
 *   1. connect(app)                                   → _error, description "... code=403 need auth; authmod=adobe ..."
 *   2. connect(app?authmod=adobe&user=U)              → _error, description "... authmod=adobe ... ?reason=needauth&user=U&salt=S&challenge=C&opaque=O"
 *   3. connect(app?authmod=adobe&user=U&challenge=C2&response=R&opaque=O) → _result, or "?reason=authfailed"
 *
 * with key = base64(md5(U + S + password)) and R = base64(md5(key + O + C2)) (the client uses C when
 * no opaque came; we send O = C, so both read the same). Each step is a new TCP connection: the client
 * closes after each `_error`. The key is password-equivalent for this scheme, as a Digest HA1 is for
 * its realm; the server can hold it instead of the password when the salt is its own and fixed.
 *
 * Sans-I/O: random values come in as arguments; md5 and base64 are computation.
 */
import { createHash } from 'node:crypto';

/** The `authmod` the clients send and look for. */
export const ADOBE_AUTHMOD = 'adobe';

/** Step 1's description: ffmpeg and librtmp look for "code=403 need auth" and "authmod=adobe". */
export const ADOBE_NEED_AUTH = '[ AccessManager.Reject ] : [ code=403 need auth; authmod=adobe ] : ';

/** Step 3's refusal: ffmpeg reports "Incorrect username/password" and does not retry. */
export const ADOBE_AUTH_FAILED = '[ AccessManager.Reject ] : [ authmod=adobe ] : ?reason=authfailed';

/**
 * What a challenge may echo as user, salt and challenge: clients split the description at `&` and `=`
 * and stop at a space, and put the values back into a URL unescaped.
 */
const SAFE_VALUE = /^[A-Za-z0-9._@~-]{1,128}$/;

export function isAdobeSafeValue(value: string): boolean {
  return SAFE_VALUE.test(value);
}

/** Step 2's description: the challenge (`opaque` is the challenge again). */
export function adobeChallengeDescription(user: string, salt: string, challenge: string): string {
  return (
    `[ AccessManager.Reject ] : [ authmod=adobe ] : ` +
    `?reason=needauth&user=${user}&salt=${salt}&challenge=${challenge}&opaque=${challenge}`
  );
}

function md5Base64(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('base64');
}

/** base64(md5(user + salt + password)): what the server keeps instead of the password. */
export function adobeKey(user: string, salt: string, password: string): string {
  return md5Base64(user + salt + password);
}

/** base64(md5(key + opaque + clientChallenge)): the response a client with the password sends. */
export function adobeResponse(key: string, opaque: string, clientChallenge: string): string {
  return md5Base64(key + opaque + clientChallenge);
}

/** The Adobe parameters of a connect's app query (`app?authmod=adobe&user=...`). */
export interface AdobeConnectParams {
  authmod: string | undefined;
  user: string | undefined;
  /** The client's own challenge (step 3). */
  clientChallenge: string | undefined;
  response: string | undefined;
  opaque: string | undefined;
}

/**
 * Reads the Adobe keys of a query (without `?`); absent keys are undefined. ffmpeg puts the base64
 * response in unescaped, so `+` is a `+` here, not the space of form encoding (percent escapes, if a
 * client sends them, are decoded).
 */
export function parseAdobeConnectParams(query: string): AdobeConnectParams {
  const params = new URLSearchParams(query.replaceAll('+', '%2B'));
  const get = (k: string): string | undefined => params.get(k) ?? undefined;
  return {
    authmod: get('authmod'),
    user: get('user'),
    clientChallenge: get('challenge'),
    response: get('response'),
    opaque: get('opaque'),
  };
}
