/**
 * The HTML the API serves: the index page (needs `api`), a path's player page (needs `read` on it) and
 * error pages, each with a Content-Security-Policy that allows exactly its own inline script and style
 * (by hash), and hls.js's browser build. Routing and rights stay in api.ts; this file only makes pages.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';

export interface WebPage {
  /** The page's text; the player's has {{name}}, {{playlist}} and {{root}} fields to fill in. */
  html: string;
  csp: string;
}

/** An error page has no script and no style: nothing is allowed. */
export const ERROR_PAGE_CSP =
  "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Text for HTML content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * hls.js's browser build, found through Node's resolution from this module, so it is the copy
 * npm installed next to rtspkit whether rtspkit is this checkout or a dependency of something else.
 * Undefined when the package is missing (the page then says it cannot play).
 */
export function loadHlsJs(): Buffer | undefined {
  try {
    return readFileSync(createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Reads a page and allows exactly its inline script and style (by hash) in the CSP. */
function loadWebPage(file: 'index.html' | 'play.html'): WebPage {
  const html = readFileSync(new URL(`./${file}`, import.meta.url), 'utf8');
  const hashes = (tag: string): string[] =>
    [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map(
      (m) => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`,
    );
  const csp = [
    "default-src 'none'",
    // 'self' for /hls.js; media-src blob: for the MediaSource object URL hls.js gives the <video>
    // (it runs without a worker, so no worker-src is needed).
    `script-src 'self' ${hashes('script').join(' ')}`,
    `style-src ${hashes('style').join(' ')}`,
    "connect-src 'self'",
    "media-src 'self' blob:",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, csp };
}

/** The pages, each read once on first use. */
export class WebPages {
  private index: WebPage | undefined;
  private player: WebPage | undefined;

  indexPage(): WebPage {
    this.index ??= loadWebPage('index.html');
    return this.index;
  }

  /**
   * The player page of path `name`; `playlist` and `root` are relative URLs from where the browser
   * stands. Every field is HTML-escaped: a path name is chosen by whoever publishes (ANNOUNCE names it).
   */
  playerPage(fields: { name: string; playlist: string; root: string }): WebPage {
    this.player ??= loadWebPage('play.html');
    const html = this.player.html.replace(/\{\{(name|playlist|root)\}\}/g, (_m, key: string) =>
      escapeHtml(fields[key as keyof typeof fields]),
    );
    return { html, csp: this.player.csp };
  }
}

/** A page saying `status` and why, with nothing that runs. */
export function errorPage(status: number, message: string): WebPage {
  const title = `${status} ${http.STATUS_CODES[status] ?? ''}`.trim();
  const html = [
    '<!doctype html>',
    '<html lang="en">',
    '<meta charset="utf-8" />',
    `<title>${escapeHtml(title)} · rtspkit</title>`,
    `<h1>${escapeHtml(title)}</h1>`,
    `<p>${escapeHtml(message)}</p>`,
    '</html>',
    '',
  ].join('\n');
  return { html, csp: ERROR_PAGE_CSP };
}

/** Sends a page with the headers every HTML answer carries. */
export function sendHtml(
  res: http.ServerResponse,
  status: number,
  page: WebPage,
  headers: Record<string, string | string[]> = {},
): void {
  const bytes = Buffer.from(page.html);
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': String(bytes.length),
    'Content-Security-Policy': page.csp,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-cache',
  });
  res.end(bytes);
}
