/**
 * Who may do what: the server asks the Authorizer once per request, before acting on it.
 *
 * Decision order for a request without credentials: the anonymous user (when configured, its IP list
 * allows the client and its rights cover the action and path) is let in; otherwise 401 with challenges
 * (Digest SHA-256, Digest MD5 last for ffmpeg, Basic unless disabled; see src/auth/server.ts). The
 * external hook is not asked about anonymous access.
 *
 * With credentials: a user from the config is checked locally (password, then IP list and rights: 403 when
 * the password is right but the IP or the right is not); a name not in the config goes to the external
 * hook when there is one (2xx allows, anything else, a timeout or an error denies with 401), else 401.
 * Unknown users and wrong passwords both get 401, so names cannot be probed: not by the answer, and,
 * without a hook, not by its time either. A name not in the config is checked like a wrong password,
 * through the same code, against a dummy stored password of the form most users have (random, made
 * at construction): the same lookups, the same hashes (scrypt included, and its cache), the same
 * refusal. With a hook the hook's own round trip shows for unknown names, and a user whose stored form
 * differs from the dummy's shows by the cost of that form (scrypt: tens of milliseconds).
 *
 * Digest with the hook: the hook gets no password and answers 2xx with JSON `{"ha1": "<hex>",
 * "algorithm": "MD5" | "SHA-256"}` (HA1 = H(user:realm:password)); the server checks the response locally.
 *
 * Cost per request: Digest is a few hashes and an HMAC. Basic against a scrypt hash runs scrypt off the
 * event loop once per (user, password, stored form) and caches the outcome (keyed by a SHA-256 of those,
 * bounded); clear passwords from the config are turned into HA1s at construction and not kept.
 * Passwords are never logged. A Digest qop=auth answer accepted once is refused when it comes again
 * (NonceCountMemory in src/auth/server.ts: 401 stale=true).
 */
import { BlockList, isIP } from 'node:net';
import { createHash, randomBytes, scrypt } from 'node:crypto';
import type { Clock } from '../base/clock.js';
import { systemClock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import { nullLogger } from '../base/logger.js';
import { isParseError } from '../base/errors.js';
import type { AuthCredentials } from '../rtsp/auth-header.js';
import { parseAuthorization, serializeWwwAuthenticate } from '../rtsp/auth-header.js';
import type { PathMatcher } from '../auth/access.js';
import { compilePathPattern } from '../auth/access.js';
import type { StoredPassword } from '../auth/password.js';
import { AuthHook } from './auth-hook.js';
import { adobeKey } from '../flv/adobe-auth.js';
import {
  digestFamily,
  isImplicitClear,
  parseStoredPassword,
  passwordMethods,
  scryptMatches,
  SCRYPT_PARAMS,
  storedHa1,
  verifyPassword,
  withoutClear,
} from '../auth/password.js';
import type { DigestAuthorization } from '../auth/server.js';
import {
  checkNonce,
  createNonce,
  digestUserhash,
  NONCE_RANDOM_BYTES,
  NonceCountMemory,
  type DigestReplayMemory,
  nonceStampMs,
  parseBasicAuthorization,
  parseDigestAuthorization,
  serverChallenges,
  verifyDigest,
} from '../auth/server.js';
import { RtspStatus } from '../rtsp/status.js';

/**
 * `playback`: playing back (RTSP) and exporting (HTTP) a path's recordings, a right of its own: a user who may watch a
 * camera live need not be allowed to go through its past.
 */
export type Action = 'read' | 'publish' | 'api' | 'playback';

export interface Permission {
  action: Action;
  /** Path pattern (see src/auth/access.ts): `cam1`, `cam*`, `site/**`, `~^cam[0-9]+$`; absent: every path. */
  path?: string;
}

export interface AuthUser {
  name: string;
  /** A stored form (src/auth/password.ts: scrypt:, sha256:, digest-md5:, digest-sha256:, digest:, plain:). */
  password: string;
  permissions: Permission[];
  /** Addresses or CIDR blocks (`10.0.0.0/8`, `::1`) the user may connect from; absent: anywhere. */
  ips?: string[];
}

export interface AuthConfig {
  users: AuthUser[];
  /** Offer and accept Basic (the password crosses the network in clear unless over TLS). */
  basic: boolean;
  realm: string;
  anonymous?: { permissions: Permission[]; ips?: string[] };
  externalHook?: { url: string; timeoutMs?: number };
}

export interface AuthRequest {
  method: string;
  uri: string;
  headers: { get(name: string): string | undefined };
}

export interface AuthContext {
  ip: string;
  action: Action;
  /** The stream path, e.g. `cam1` or `site/cam2` (leading and trailing slashes ignored). */
  path: string;
  /** The query string of the request URL, without `?`, for the hook. */
  query: string;
}

export interface AuthDenial {
  statusCode: typeof RtspStatus.Unauthorized | typeof RtspStatus.Forbidden;
  headers: [string, string][];
}

export interface AuthorizerOptions {
  clock?: Clock;
  logger?: Logger;
  /** Nonce HMAC key (16 bytes or more); random per process by default, so nonces die with a restart. */
  secret?: Buffer;
  /** How long a nonce is good for; then a right answer gets 401 stale=true. Default 10 minutes. */
  nonceLifetimeMs?: number;
  /** Random bytes for nonces (tests inject a fixed source). */
  random?: (size: number) => Buffer;
  /** Entries in the Basic password cache. Default 1024. */
  cacheSize?: number;
  /**
   * The Digest qop=auth answers already accepted (replay detection); pass the same one with the same
   * `secret` to an Authorizer that replaces another (config reload), so a replay stays refused.
   */
  nonceCounts?: DigestReplayMemory;
}

export const DEFAULT_NONCE_LIFETIME_MS = 10 * 60_000;

interface CompiledRights {
  rights: { action: Action; match: PathMatcher }[];
  ips: BlockList | undefined;
}

interface LocalUser extends CompiledRights {
  name: string;
  stored: StoredPassword;
  /** Cache key part: the stored form as configured (a config change invalidates cached outcomes). */
  storedSpec: string;
}

type Checked = { ok: true; user: string; local?: LocalUser } | { ok: false; denial: AuthDenial };

/** What makes two stored forms cost the same to check: the kind, the Digest families, the sizes. */
function storedShape(stored: StoredPassword): string {
  switch (stored.kind) {
    case 'clear':
      return 'clear';
    case 'sha256':
      return 'sha256';
    case 'scrypt':
      return `scrypt:${stored.salt.length}:${stored.hash.length}`;
    case 'digest':
      return `digest:${Object.keys(stored.ha1).sort().join(',')}`;
  }
}

/**
 * A random stored password shaped like `like` (any form when undefined: both HA1s), that no password
 * matches but whose check costs what a real one of that shape costs.
 */
function dummyStored(like: StoredPassword | undefined, random: (size: number) => Buffer): StoredPassword {
  switch (like?.kind) {
    case 'sha256':
      return { kind: 'sha256', hash: random(32) };
    case 'scrypt':
      return { kind: 'scrypt', salt: random(like.salt.length), hash: random(like.hash.length) };
    case 'digest':
      return {
        kind: 'digest',
        ha1: {
          ...(like.ha1.MD5 !== undefined ? { MD5: random(16).toString('hex') } : {}),
          ...(like.ha1['SHA-256'] !== undefined ? { 'SHA-256': random(32).toString('hex') } : {}),
        },
      };
    default:
      return {
        kind: 'digest',
        ha1: { MD5: random(16).toString('hex'), 'SHA-256': random(32).toString('hex') },
      };
  }
}

/**
 * An allow-list entry: `10.0.0.0/8`, `::1`, `fd00::/8` — an address with an optional prefix length of its
 * family (absent: the one address). Throws a RangeError naming the entry.
 */
export function parseAddressBlock(entry: string): {
  address: string;
  prefixBits: number;
  type: 'ipv4' | 'ipv6';
} {
  const [address = '', prefix, extra] = entry.trim().split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined)
    throw new RangeError(`invalid IP allow-list entry ${JSON.stringify(entry)}`);
  const max = family === 4 ? 32 : 128;
  const prefixBits = prefix === undefined ? max : Number(prefix);
  if ((prefix !== undefined && !/^\d{1,3}$/.test(prefix)) || prefixBits > max)
    throw new RangeError(`invalid prefix length in ${JSON.stringify(entry)}`);
  return { address, prefixBits, type: family === 4 ? 'ipv4' : 'ipv6' };
}

function addressBlocks(list: string[] | undefined): BlockList | undefined {
  if (list === undefined) return undefined;
  const blocks = new BlockList();
  for (const entry of list) {
    const { address, prefixBits, type } = parseAddressBlock(entry);
    blocks.addSubnet(address, prefixBits, type);
  }
  return blocks;
}

function compileRights(permissions: Permission[], ips: string[] | undefined): CompiledRights {
  return {
    rights: permissions.map((p) => ({
      action: p.action,
      match: p.path === undefined ? () => true : compilePathPattern(p.path),
    })),
    ips: addressBlocks(ips),
  };
}

function ipAllowed(rights: CompiledRights, ip: string): boolean {
  if (rights.ips === undefined) return true;
  const family = isIP(ip);
  if (family === 0) return false;
  return rights.ips.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

function mayDo(rights: CompiledRights, ctx: AuthContext): boolean {
  return rights.rights.some((r) => r.action === ctx.action && r.match(ctx.path));
}

const scryptAsync = (password: string, salt: Buffer, keylen: number): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    scrypt(password, salt, keylen, SCRYPT_PARAMS, (err, key) => {
      if (err) reject(err);
      else resolve(key);
    });
  });

/**
 * A user with every right on every path, from `--user NAME:PASSWORD` (the password may hold colons; it
 * is kept as `plain:` and turned into HA1s by the Authorizer).
 */
export function userFromCli(spec: string): AuthUser {
  const colon = spec.indexOf(':');
  if (colon <= 0) throw new RangeError('--user wants NAME:PASSWORD');
  return {
    name: spec.slice(0, colon),
    password: `plain:${spec.slice(colon + 1)}`,
    permissions: [{ action: 'read' }, { action: 'publish' }, { action: 'api' }, { action: 'playback' }],
  };
}

export class Authorizer {
  /** Requests denied for wrong, unknown or malformed credentials, a forbidden IP or a missing right. */
  authFailures = 0;
  /** Password hashes actually computed for Basic (cache misses), for metrics and tests. */
  passwordChecks = 0;

  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly secret: Buffer;
  private readonly nonceLifetimeMs: number;
  private readonly random: (size: number) => Buffer;
  private readonly cacheSize: number;
  private readonly nonceCounts: DigestReplayMemory;
  private readonly users = new Map<string, LocalUser>();
  /** H(user:realm) → user, for RFC 7616 userhash, per hash family. */
  private readonly userhashes = new Map<string, LocalUser>();
  private readonly anonymous: CompiledRights | undefined;
  /** Outcomes of Basic password checks by SHA-256(user, stored form, password); in flight too. */
  private readonly basicCache = new Map<string, Promise<boolean>>();
  /** What a name not in the config is checked against (see the module comment). */
  private readonly dummy: { stored: StoredPassword; storedSpec: string };
  /** The HTTP endpoint asked to allow or deny (auth-hook.ts); undefined without `externalHook`. */
  private readonly hook: AuthHook | undefined;
  /** The salt of RTMP's Adobe challenge (flv/adobe-auth.ts), one per Authorizer; not secret. */
  readonly adobeSalt = randomBytes(9).toString('base64url');
  /** Adobe keys of the users whose password is in clear in the config (a hash cannot give one). */
  private readonly adobeKeys = new Map<string, string>();
  private readonly adobeDummyKey = randomBytes(16).toString('base64');

  constructor(
    private readonly config: AuthConfig,
    opts: AuthorizerOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? nullLogger;
    this.secret = opts.secret ?? randomBytes(32);
    if (this.secret.length < 16) throw new RangeError('the auth secret needs 16 bytes or more');
    this.nonceLifetimeMs = opts.nonceLifetimeMs ?? DEFAULT_NONCE_LIFETIME_MS;
    this.random = opts.random ?? randomBytes;
    this.cacheSize = opts.cacheSize ?? 1024;
    this.nonceCounts = opts.nonceCounts ?? new NonceCountMemory();
    for (const u of config.users) {
      if (this.users.has(u.name)) throw new RangeError(`user ${JSON.stringify(u.name)} is configured twice`);
      if (isImplicitClear(u.password))
        this.log.warn(
          { user: u.name },
          'password stored in clear; store a hashed form (see src/auth/password.ts)',
        );
      const parsed = parseStoredPassword(u.password);
      if (parsed.kind === 'clear')
        this.adobeKeys.set(u.name, adobeKey(u.name, this.adobeSalt, parsed.password));
      const stored = withoutClear(parsed, u.name, config.realm);
      const local: LocalUser = {
        name: u.name,
        stored,
        storedSpec: u.password,
        ...compileRights(u.permissions, u.ips),
      };
      this.users.set(u.name, local);
      for (const family of ['MD5', 'SHA-256'] as const)
        this.userhashes.set(digestUserhash(family, u.name, config.realm), local);
      const methods = passwordMethods(stored);
      if (methods.digest.length === 0 && !config.basic)
        this.log.warn(
          { user: u.name },
          'password form allows only Basic, which is off: the user cannot log in',
        );
      else if (!methods.digest.includes('MD5'))
        this.log.info({ user: u.name }, 'no MD5 HA1 for this user: ffmpeg (Digest MD5 only) needs Basic');
    }
    // The most common shape among the users (the first on a tie), so that most names cost the same.
    const shapes = new Map<string, { count: number; stored: StoredPassword }>();
    for (const u of this.users.values()) {
      const shape = storedShape(u.stored);
      const seen = shapes.get(shape);
      if (seen === undefined) shapes.set(shape, { count: 1, stored: u.stored });
      else seen.count++;
    }
    let common: { count: number; stored: StoredPassword } | undefined;
    for (const s of shapes.values()) if (common === undefined || s.count > common.count) common = s;
    this.dummy = {
      stored: dummyStored(common?.stored, randomBytes),
      // Unique per Authorizer, so that cached outcomes of unknown names never pass for a real user's.
      storedSpec: `dummy:${randomBytes(16).toString('hex')}`,
    };
    this.hook =
      config.externalHook === undefined
        ? undefined
        : new AuthHook(config.externalHook, config.realm, this.log);
    this.anonymous =
      config.anonymous === undefined
        ? undefined
        : compileRights(config.anonymous.permissions, config.anonymous.ips);
  }

  /** undefined: allowed. Otherwise the reply to send (401 with challenges, or 403). */
  async check(req: AuthRequest, ctx: AuthContext): Promise<AuthDenial | undefined> {
    const header = req.headers.get('authorization')?.trim();
    if (header === undefined || header === '') {
      if (this.anonymous !== undefined && ipAllowed(this.anonymous, ctx.ip) && mayDo(this.anonymous, ctx))
        return undefined;
      return this.challenge(false);
    }
    let creds: AuthCredentials;
    try {
      creds = parseAuthorization(header);
    } catch (e) {
      return this.fail(e, ctx, 'malformed Authorization');
    }
    const scheme = creds.scheme.toLowerCase();
    let checked: Checked;
    try {
      if (scheme === 'digest') checked = await this.checkDigest(req, ctx, parseDigestAuthorization(creds));
      else if (scheme === 'basic' && this.config.basic)
        checked = await this.checkBasic(ctx, parseBasicAuthorization(creds));
      else return this.fail(undefined, ctx, `${creds.scheme} credentials not accepted`);
    } catch (e) {
      return this.fail(e, ctx, 'malformed credentials');
    }
    return this.admit(checked, ctx);
  }

  /**
   * Credentials that came without an Authorization header (RTMP's `?user=&pass=` query keys): checked
   * as Basic ones are, whatever `basic` says (that option is about RTSP's challenge; here there is
   * none), then the user's addresses and rights. undefined: allowed.
   */
  async checkCredentials(
    creds: { username: string; password: string } | undefined,
    ctx: AuthContext,
  ): Promise<AuthDenial | undefined> {
    if (creds === undefined) {
      if (this.anonymous !== undefined && ipAllowed(this.anonymous, ctx.ip) && mayDo(this.anonymous, ctx))
        return undefined;
      return this.challenge(false);
    }
    const checked = await this.checkBasic(ctx, creds);
    return this.admit(checked, ctx);
  }

  /**
   * RTMP's Adobe challenge-response (flv/adobe-auth.ts, rtmp/adobe-auth.ts): whether `matches` takes
   * the user's key, base64(md5(name + adobeSalt + password)). Only users whose password the config
   * holds in clear have one. Any other name is checked against a random key (the same work, the same
   * refusal); a refusal is counted and logged as any other.
   */
  verifyAdobe(name: string, matches: (key: string) => boolean, ip: string): boolean {
    const key = this.adobeKeys.get(name);
    const ok = matches(key ?? this.adobeDummyKey) && key !== undefined;
    if (!ok) {
      this.authFailures++;
      this.log.info({ ip, user: name, why: 'adobe response' }, 'authentication failed');
    }
    return ok;
  }

  /** A user the caller has authenticated (RTMP's Adobe challenge): its addresses and rights. */
  admitUser(name: string, ctx: AuthContext): AuthDenial | undefined {
    const local = this.users.get(name);
    if (local === undefined) return this.fail(undefined, ctx, 'user no longer configured', name);
    return this.admit({ ok: true, user: name, local }, ctx);
  }

  /** A checked identity's addresses and rights (a hook-allowed user has no local ones). undefined: allowed. */
  private admit(checked: Checked, ctx: AuthContext): AuthDenial | undefined {
    if (!checked.ok) return checked.denial;
    const local = checked.local;
    if (local !== undefined) {
      if (!ipAllowed(local, ctx.ip)) return this.forbid(ctx, local.name, 'IP not allowed');
      if (!mayDo(local, ctx)) return this.forbid(ctx, local.name, 'no right');
    }
    return undefined;
  }

  /** The 401 for a request without (acceptable) credentials, with a fresh nonce. */
  challenge(stale: boolean): AuthDenial {
    const nonce = createNonce(this.secret, this.clock.wallMs(), this.random(NONCE_RANDOM_BYTES));
    const headers = serverChallenges({
      realm: this.config.realm,
      nonce,
      stale,
      basic: this.config.basic,
    }).map((c): [string, string] => ['WWW-Authenticate', serializeWwwAuthenticate(c)]);
    return { statusCode: RtspStatus.Unauthorized, headers };
  }

  private fail(err: unknown, ctx: AuthContext, why: string, user?: string): AuthDenial {
    if (err !== undefined && !isParseError(err))
      throw err instanceof Error ? err : new Error('non-Error thrown', { cause: err });
    this.authFailures++;
    this.log.info({ ip: ctx.ip, action: ctx.action, path: ctx.path, user, why }, 'authentication failed');
    return this.challenge(false);
  }

  private forbid(ctx: AuthContext, user: string, why: string): AuthDenial {
    this.authFailures++;
    this.log.info({ ip: ctx.ip, action: ctx.action, path: ctx.path, user, why }, 'not authorized');
    return { statusCode: RtspStatus.Forbidden, headers: [] };
  }

  /** A user no password opens, for a name not in the config: checked exactly as a configured one. */
  private unknownUser(name: string): LocalUser {
    return { name, stored: this.dummy.stored, storedSpec: this.dummy.storedSpec, rights: [], ips: undefined };
  }

  private async checkBasic(ctx: AuthContext, c: { username: string; password: string }): Promise<Checked> {
    const found = this.users.get(c.username);
    if (found === undefined && this.config.externalHook !== undefined) {
      const res = await this.hook!.ask(ctx, { user: c.username, password: c.password });
      if (res !== undefined) return { ok: true, user: c.username };
      return { ok: false, denial: this.fail(undefined, ctx, 'denied by the hook', c.username) };
    }
    const local = found ?? this.unknownUser(c.username);
    const ok = await this.basicPasswordOk(local, c.password);
    if (ok && found !== undefined) return { ok: true, user: found.name, local: found };
    const why = found === undefined ? 'unknown user' : 'wrong password';
    return { ok: false, denial: this.fail(undefined, ctx, why, c.username) };
  }

  private basicPasswordOk(user: LocalUser, password: string): Promise<boolean> {
    const key = createHash('sha256')
      .update(user.name)
      .update('\0')
      .update(user.storedSpec)
      .update('\0')
      .update(password)
      .digest('base64');
    const hit = this.basicCache.get(key);
    if (hit !== undefined) {
      // Refresh its place: the map's order is least recently used first.
      this.basicCache.delete(key);
      this.basicCache.set(key, hit);
      return hit;
    }
    const stored = user.stored;
    this.passwordChecks++;
    const outcome =
      stored.kind === 'scrypt'
        ? scryptAsync(password, stored.salt, stored.hash.length).then((k) => scryptMatches(stored, k))
        : Promise.resolve(
            verifyPassword(stored, password, { username: user.name, realm: this.config.realm }),
          );
    const guarded = outcome.catch((e: unknown) => {
      this.basicCache.delete(key);
      this.log.error({ user: user.name, err: e }, 'password check failed');
      return false;
    });
    this.basicCache.set(key, guarded);
    while (this.basicCache.size > this.cacheSize) {
      const oldest = this.basicCache.keys().next().value;
      if (oldest === undefined) break;
      this.basicCache.delete(oldest);
    }
    return guarded;
  }

  private async checkDigest(req: AuthRequest, ctx: AuthContext, d: DigestAuthorization): Promise<Checked> {
    const nonce = checkNonce(this.secret, d.nonce, this.clock.wallMs(), this.nonceLifetimeMs);
    if (nonce === 'invalid')
      return { ok: false, denial: this.fail(undefined, ctx, 'unknown nonce', d.username) };
    if (d.realm !== this.config.realm)
      return { ok: false, denial: this.fail(undefined, ctx, 'wrong realm', d.username) };
    const family = digestFamily(d.algorithm);
    const found = d.userhash ? this.userhashes.get(d.username.toLowerCase()) : this.users.get(d.username);
    const name = found?.name ?? d.username;
    let ha1: string | undefined;
    const viaHook = found === undefined && this.config.externalHook !== undefined && !d.userhash;
    if (viaHook) {
      ha1 = await this.hook!.ha1(ctx, d.username, family);
      if (ha1 === undefined)
        return { ok: false, denial: this.fail(undefined, ctx, 'denied by the hook', name) };
    } else {
      const local = found ?? this.unknownUser(name);
      ha1 = storedHa1(local.stored, family, local.name, this.config.realm);
      if (ha1 === undefined) {
        const why = found === undefined ? 'unknown user' : `no ${family} HA1 stored for Digest`;
        return { ok: false, denial: this.fail(undefined, ctx, why, name) };
      }
    }
    // With userhash, the response is computed over the hashed name as sent (RFC 7616 §3.4.4 keeps HA1 over
    // the real name, which storedHa1 gives).
    const verdict = verifyDigest({
      method: req.method,
      requestUri: req.uri,
      realm: this.config.realm,
      authorization: d,
      secret: { ha1 },
      nonce,
    });
    // An unknown name has been through the same hashes as a wrong password; it is refused here whatever
    // the verdict (the dummy's HA1 is random, so the verdict is bad-response anyway).
    if (found === undefined && !viaHook)
      return { ok: false, denial: this.fail(undefined, ctx, 'unknown user', name) };
    if (verdict === 'stale') {
      this.log.debug({ ip: ctx.ip, user: name }, 'nonce expired: 401 stale=true');
      return { ok: false, denial: this.challenge(true) };
    }
    if (verdict !== 'ok') return { ok: false, denial: this.fail(undefined, ctx, verdict, name) };
    if (d.qop === 'auth') {
      const nowMs = this.clock.wallMs();
      const stampMs = nonceStampMs(this.secret, d.nonce)!;
      const use = await this.nonceCounts.use(d.nonce, stampMs, d.response, nowMs, this.nonceLifetimeMs);
      if (use === 'replay') {
        this.authFailures++;
        this.log.info(
          { ip: ctx.ip, action: ctx.action, path: ctx.path, user: name, nc: d.nc },
          'replayed Digest answer (same nonce and response): 401 stale=true',
        );
        return { ok: false, denial: this.challenge(true) };
      }
      if (use === 'unknown') {
        this.log.debug({ ip: ctx.ip, user: name }, 'nonce older than the replay memory: 401 stale=true');
        return { ok: false, denial: this.challenge(true) };
      }
    }
    return found === undefined ? { ok: true, user: name } : { ok: true, user: name, local: found };
  }
}
