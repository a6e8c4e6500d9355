/** The `rtspkit` command line: its commands and options (main.ts starts it, with the Node flags `serve` needs). */
import { existsSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ConfigError, loadConfigFile, parseConfig, splitHostPort, type Config } from '../config/config.js';
import { watchConfigFile } from '../config/watch.js';
import { startApp, VERSION, type App, type AppOptions } from '../app.js';
import { LOG_FORMATS, LOG_LEVELS, resolveLogFormat } from '../log/logger.js';
import { bannerFacts, formatBanner } from './banner.js';
import { selfSignedCertificate } from '../config/tls.js';
import { userFromCli } from '../server/auth.js';
import { randomBytes } from 'node:crypto';
import { hashPassword, type PasswordForm } from '../auth/password.js';
import { registerClientCommands } from './client-commands.js';

function portArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('expected a port number 0-65535');
  return n;
}

/** RTP on an even port, RTCP on the next (RFC 3550 §11); 0 picks a free pair. */
function rtpPortArg(value: string): number {
  const n = portArg(value);
  if (n % 2 !== 0 || n > 65534)
    throw new InvalidArgumentError('expected an even port (RTCP uses the next one)');
  return n;
}

interface ServeOptions {
  config?: string;
  port?: number;
  host?: string;
  rtpPort?: number;
  rtpPortRange?: string;
  udp: boolean;
  watch: boolean;
  logLevel?: Config['logLevel'];
  logFormat?: Config['logFormat'];
  rtspsPort?: number;
  httpTunnelPort?: number;
  tlsCert?: string;
  tlsKey?: string;
  tlsSelfSigned?: boolean;
  demo?: boolean;
  api?: boolean;
  apiPort?: number;
  user?: string[];
  media?: string;
}

/** The file, then the environment's RTSPKIT_CONFIG_* variables, then the command line's flags. */
function buildConfig(path: string | undefined, opts: ServeOptions): Config {
  let config =
    path !== undefined ? loadConfigFile(path, process.env) : parseConfig('', '(no config file)', process.env);
  if (opts.port !== undefined || opts.host !== undefined) {
    const cur = splitHostPort(config.rtspAddress);
    config = { ...config, rtspAddress: `${opts.host ?? cur.host}:${opts.port ?? cur.port}` };
  }
  if (opts.rtpPort !== undefined) config = { ...config, rtpPort: opts.rtpPort };
  if (opts.rtpPortRange !== undefined) config = { ...config, rtpPortRange: opts.rtpPortRange };
  if (!opts.udp) config = { ...config, rtpPort: null };
  if (opts.logLevel !== undefined) config = { ...config, logLevel: opts.logLevel };
  if (opts.logFormat !== undefined) config = { ...config, logFormat: opts.logFormat };
  if (opts.httpTunnelPort !== undefined)
    config = { ...config, rtspHttpAddress: `${opts.host ?? ''}:${opts.httpTunnelPort}` };
  if (opts.rtspsPort !== undefined) {
    const cur = splitHostPort(config.rtspsAddress);
    config = { ...config, rtspsAddress: `${opts.host ?? cur.host}:${opts.rtspsPort}` };
  }
  if (opts.tlsCert !== undefined) config = { ...config, tlsCert: opts.tlsCert };
  if (opts.tlsKey !== undefined) config = { ...config, tlsKey: opts.tlsKey };
  if (opts.demo === true) config = { ...config, demo: true };
  if (opts.media !== undefined) config = { ...config, mediaDir: opts.media };
  if (opts.user !== undefined && opts.user.length > 0) {
    const users = [...config.auth.users, ...opts.user.map(userFromCli)];
    const names = users.map((u) => u.name);
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice !== undefined)
      throw new ConfigError(`--user: user ${JSON.stringify(twice)} is configured twice`);
    config = { ...config, auth: { ...config.auth, users } };
  }
  if (opts.api === true) config = { ...config, api: true };
  if (opts.apiPort !== undefined) {
    const cur = splitHostPort(config.apiAddress);
    config = { ...config, api: true, apiAddress: `${cur.host}:${opts.apiPort}` };
  }
  return config;
}

/**
 * SIGTERM on a cluster node with a drain period (README "Cluster"): its readers are sent RTSP REDIRECT
 * to other nodes and new sessions refused (503), then it stops once the period is over.
 */
async function drainFirst(app: App, signal: string): Promise<void> {
  const periodS = app.config.cluster?.drainPeriod ?? 0;
  if (signal !== 'SIGTERM' || app.cluster === undefined || periodS === 0) return;
  const moved = await app.cluster.drain();
  app.server.logger.info({ readers: moved, drainPeriodS: periodS }, 'draining before stopping');
  await new Promise((resolve) => setTimeout(resolve, periodS * 1000));
}

async function serve(opts: ServeOptions): Promise<void> {
  const path = opts.config ?? (existsSync('rtspkit.yml') ? 'rtspkit.yml' : undefined);
  const config = buildConfig(path, opts);
  const appOptions: AppOptions = { loadConfig: () => buildConfig(path, opts) };
  if (opts.tlsSelfSigned === true) appOptions.tls = selfSignedCertificate();
  // Ctrl-C or SIGTERM while starting (the server may already have logged "listening") stops it once started.
  const state: { app?: App; watcher?: { close(): void }; stopping: boolean; reloadWhenStarted: boolean } = {
    stopping: false,
    reloadWhenStarted: false,
  };
  const stop = (signal: string): void => {
    const app = state.app;
    if (state.stopping || app === undefined) {
      state.stopping = true;
      return;
    }
    state.stopping = true;
    app.server.logger.info({ signal }, 'shutting down');
    state.watcher?.close();
    void drainFirst(app, signal).then(() => app.close().then(() => process.exit(0)));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // Reload on SIGHUP and when the file changes, only with a config file: without one, SIGHUP keeps
  // its default meaning (the terminal went away: stop). The handler is there before the server starts
  // (its sources log while it starts): a SIGHUP then reloads once it has started, never kills it.
  if (path !== undefined)
    process.on('SIGHUP', () => {
      if (state.app === undefined) state.reloadWhenStarted = true;
      else void state.app.reload('SIGHUP');
    });
  const started = await startApp(config, appOptions);
  state.app = started;
  if (state.stopping) {
    await started.close();
    process.exit(0);
  }
  if (state.reloadWhenStarted) void started.reload('SIGHUP');
  const logger = started.server.logger;
  const facts = bannerFacts(started, VERSION, path);
  if (config.logLevel !== 'silent') {
    if (resolveLogFormat(config.logFormat, process.stdout) === 'text')
      process.stdout.write(`${formatBanner(facts).join('\n')}\n`);
    else
      logger.info(
        { version: facts.version, config: facts.configFile ?? null, urls: facts.urls },
        'rtspkit ready',
      );
  }
  if (path !== undefined && opts.watch)
    try {
      state.watcher = watchConfigFile(path, () => void started.reload('file changed'), {
        onError: (err) => {
          logger.warn(
            { file: path, err: err.message },
            'config file no longer watched; SIGHUP still reloads',
          );
        },
      });
    } catch (err) {
      logger.warn(
        { file: path, err: (err as Error).message },
        'config file not watched; SIGHUP still reloads',
      );
    }
}

const program = new Command()
  .name('rtspkit')
  .description('RTSP media server and client')
  .version(VERSION, '-V, --version', 'print the version')
  // Usage errors (an unknown option, a bad or missing value): one line and exit 2, for every command.
  .configureOutput({
    outputError: (text, write) => {
      write(`rtspkit: ${text.replace(/^error: /, '').trimEnd()} (see --help)\n`);
    },
  })
  .exitOverride((err: CommanderError) => {
    process.exit(err.exitCode === 0 ? 0 : 2);
  });

program
  .command('serve')
  .description('run the RTSP server')
  .option('-c, --config <path>', 'YAML config file (default: ./rtspkit.yml if present)')
  .option('-p, --port <port>', 'RTSP TCP port (default 8554)', portArg)
  .option('--host <address>', 'address to listen on (default all)')
  .option('--rtp-port <port>', 'even UDP port for RTP; RTCP uses the next one (default 8000)', rtpPortArg)
  .option(
    '--rtp-port-range <first-last>',
    'UDP server ports from this range, a pair per track of each UDP session (instead of --rtp-port)',
  )
  .option('--no-udp', 'disable RTP over UDP (TCP interleaved only)')
  .option('--no-watch', 'do not reload when the config file changes (SIGHUP still reloads it)')
  .addOption(new Option('--log-level <level>', 'log verbosity (default info)').choices(LOG_LEVELS))
  .addOption(
    new Option(
      '--log-format <format>',
      'log lines: text on a terminal, JSON otherwise (default auto)',
    ).choices(LOG_FORMATS),
  )
  .option('--http-tunnel-port <port>', 'an extra port for RTSP over HTTP tunnels (e.g. 8080)', portArg)
  .option('--rtsps-port <port>', 'RTSPS (TLS) port (default 8322), when a certificate is given', portArg)
  .option('--tls-cert <file>', 'PEM certificate for RTSPS')
  .option('--tls-key <file>', 'PEM private key for RTSPS')
  .option(
    '--user <name:password>',
    'add a user with every right and turn authentication on (repeatable)',
    (value: string, previous: string[] | undefined) => {
      if (value.indexOf(':') <= 0) throw new InvalidArgumentError('expected NAME:PASSWORD');
      return [...(previous ?? []), value];
    },
  )
  .option('--media <dir>', 'serve the MP4 files of a folder on demand (seek, pause, scale)')
  .option('--demo', 'serve the built-in demo clip, looping, at rtsp://HOST:PORT/demo')
  .option('--tls-self-signed', 'serve RTSPS with a throwaway self-signed certificate (for trials)')
  .option('--api', 'serve the HTTP API, /metrics and the web page on 127.0.0.1:9997 (config apiAddress)')
  .option('--api-port <port>', 'port of the HTTP API (implies --api)', portArg)
  .addHelpText(
    'after',
    '\nExit codes: 0 stopped (Ctrl-C, SIGTERM), 1 failure (e.g. a port in use), 2 a mistake in the flags or the config.',
  )
  .action(async (opts: ServeOptions) => {
    await serve(opts);
  });

const HASH_FORMS: readonly PasswordForm[] = ['digest', 'digest-md5', 'digest-sha256', 'scrypt'];

/** The password from stdin: a pipe is read whole (one trailing line end dropped); a terminal is asked. */
async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) return readHiddenLine('password (not shown): ');
  let text = '';
  for await (const chunk of process.stdin) text += (chunk as Buffer).toString('utf8');
  return text.replace(/\r?\n[\s\S]*$/, '');
}

/** A line typed on the terminal without echoing it (raw mode); Ctrl-C ends the program (exit 130). */
function readHiddenLine(prompt: string): Promise<string> {
  const stdin = process.stdin;
  stdin.setRawMode(true); // before the prompt: what is typed once it shows is never echoed
  process.stderr.write(prompt);
  stdin.setEncoding('utf8');
  return new Promise((resolve) => {
    let text = '';
    const finish = (): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          finish();
          resolve(text);
          return;
        }
        if (ch === '\u0003') {
          finish();
          process.exit(130);
        }
        if (ch === '\u007f' || ch === '\b') text = text.replace(/[\s\S]$/u, '');
        else text += ch;
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}

program
  .command('hash-password')
  .description(
    'print the stored form of a password for auth.users in rtspkit.yml; the password is read from stdin, ' +
      'never from the command line (shell history, ps)',
  )
  .argument('<name>', 'the user name (the Digest forms hash it with the password)')
  .option('--realm <realm>', 'the auth realm of the config (the Digest forms depend on it)', 'rtspkit')
  .option(
    '--form <form>',
    'digest: Basic and Digest MD5 + SHA-256 (ffmpeg needs MD5); digest-md5; digest-sha256; scrypt: Basic only',
    'digest',
  )
  .action(async (name: string, opts: { realm: string; form: string }) => {
    const form = opts.form as PasswordForm;
    if (!HASH_FORMS.includes(form))
      throw new InvalidArgumentError(`--form must be one of ${HASH_FORMS.join(', ')}`);
    const clear = await readPassword();
    if (clear === '') throw new InvalidArgumentError('empty password on stdin');
    const stored = hashPassword(clear, form, { username: name, realm: opts.realm, salt: randomBytes(16) });
    process.stdout.write(
      `# auth.realm must be ${JSON.stringify(opts.realm)} for this entry\n` +
        `- name: ${JSON.stringify(name)}\n  password: ${JSON.stringify(stored)}\n`,
    );
  });

registerClientCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof InvalidArgumentError) {
    process.stderr.write(`rtspkit: ${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof ConfigError) {
    process.stderr.write(`rtspkit: ${err.message}\n`);
    process.exit(2);
  }
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EADDRINUSE') {
    process.stderr.write(`rtspkit: ${e.message}: is another server running on that port?\n`);
    process.exit(1);
  }
  if (e.code === 'EACCES' && e.syscall === 'listen') {
    process.stderr.write(`rtspkit: ${e.message}: ports below 1024 need root (or CAP_NET_BIND_SERVICE)\n`);
    process.exit(1);
  }
  // One line; the stack only on request (it is for a bug report, not for the user).
  const message = err instanceof Error ? err.message.split('\n')[0]! : String(err);
  process.stderr.write(`rtspkit: ${message}\n`);
  if (process.env.RTSPKIT_DEBUG === '1' && err instanceof Error && err.stack !== undefined)
    process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
