/** What `rtspkit serve` says once it listens: version, config file, every URL it serves, the demo's. */
import type { App } from '../app.js';
import { splitHostPort } from '../config/config.js';

export interface BannerFacts {
  version: string;
  /** The config file read, or undefined for none (defaults, environment and flags). */
  configFile: string | undefined;
  /** What each listening address is, with its URL, in the order shown. */
  urls: { what: string; url: string }[];
}

/** A host for URLs: "localhost" for every interface, brackets around IPv6. */
function urlHost(host: string): string {
  if (host === '' || host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

export function bannerFacts(app: App, version: string, configFile: string | undefined): BannerFacts {
  const { config, server, api } = app;
  const host = urlHost(splitHostPort(config.rtspAddress).host);
  const urls: BannerFacts['urls'] = [
    { what: 'RTSP (also HTTP tunnel and WebSocket)', url: `rtsp://${host}:${server.port}/` },
  ];
  if (server.rtspsPort !== undefined)
    urls.push({ what: 'RTSPS', url: `rtsps://${host}:${server.rtspsPort}/` });
  if (server.httpTunnelPort !== undefined)
    urls.push({ what: 'RTSP over HTTP', url: `rtsph://${host}:${server.httpTunnelPort}/` });
  if (config.rtpPort !== null)
    urls.push({
      what: 'RTP/RTCP over UDP',
      url:
        config.rtpPortRange ??
        (config.rtpPort === 0 ? 'a free port pair' : `${config.rtpPort}-${config.rtpPort + 1}`),
    });
  if (api !== undefined) {
    const apiHost = urlHost(splitHostPort(config.apiAddress).host);
    urls.push({ what: 'HTTP API, /metrics, web page', url: `http://${apiHost}:${api.port}/` });
  }
  if (config.mediaDir !== null)
    urls.push({
      what: `files on demand from ${config.mediaDir}`,
      url: `rtsp://${host}:${server.port}/<file>`,
    });
  // A `~regex` entry names many paths, none of them a URL to print.
  for (const name of Object.keys(config.paths).filter((key) => !key.startsWith('~')))
    urls.push({ what: `path ${name}`, url: `rtsp://${host}:${server.port}/${name}` });
  if (config.demo) urls.push({ what: 'demo', url: `rtsp://${host}:${server.port}/demo` });
  return { version, configFile, urls };
}

/** The banner as text lines, for a terminal. */
export function formatBanner(facts: BannerFacts): string[] {
  const width = Math.max(...facts.urls.map((u) => u.what.length), 'config'.length);
  return [
    `rtspkit ${facts.version} (Node.js ${process.versions.node})`,
    `  ${'config'.padEnd(width)}  ${facts.configFile ?? '(none: defaults, RTSPKIT_CONFIG_* and flags)'}`,
    ...facts.urls.map((u) => `  ${u.what.padEnd(width)}  ${u.url}`),
    ...(facts.urls.some((u) => u.what === 'demo')
      ? [`  try: ffplay ${facts.urls.find((u) => u.what === 'demo')!.url}`]
      : []),
    '  Ctrl-C stops',
  ];
}
