/** The Authorizer the config asks for (users, anonymous rights, an external hook), or none. */
import type { Logger } from './base/logger.js';
import type { Config } from './config/config.js';
import { Authorizer, type AuthConfig } from './server/auth.js';
import type { DigestState } from './app-cluster.js';

/** Auth is on when the config names users, anonymous rights or a hook. */
export function createAuthorizer(
  config: Config,
  logger: Logger,
  nonces: DigestState,
): Authorizer | undefined {
  const a = config.auth;
  if (a.users.length === 0 && a.anonymous === undefined && a.hook === undefined) return undefined;
  const authConfig: AuthConfig = {
    users: a.users.map((u) => ({
      name: u.name,
      password: u.password,
      permissions: u.permissions.map((p) =>
        p.path !== undefined ? { action: p.action, path: p.path } : { action: p.action },
      ),
      ...(u.ips !== undefined ? { ips: u.ips } : {}),
    })),
    basic: a.basic,
    realm: a.realm,
  };
  if (a.anonymous !== undefined)
    authConfig.anonymous = {
      permissions: a.anonymous.permissions.map((p) =>
        p.path !== undefined ? { action: p.action, path: p.path } : { action: p.action },
      ),
      ...(a.anonymous.ips !== undefined ? { ips: a.anonymous.ips } : {}),
    };
  if (a.hook !== undefined)
    authConfig.externalHook = {
      url: a.hook.url,
      ...(a.hook.timeoutMs !== undefined ? { timeoutMs: a.hook.timeoutMs } : {}),
    };
  return new Authorizer(authConfig, { logger, ...nonces });
}
