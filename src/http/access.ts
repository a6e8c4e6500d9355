/** Which right each URL of the HTTP side needs (api.ts asks the authorizer for it before routing). */

/**
 * The right a request needs: watching a path as HLS, or on its player page, is reading it (the `read`
 * right on that path, as over RTSP), so a user who may only watch can use a player; everything else is
 * the API (`api`), the index page included (it lists every path). hls.js itself is a public library:
 * undefined, no check.
 *
 * The player page is at /play/<path> rather than mediamtx's /<path>: there a path named `metrics`,
 * `hls.js` or `v1/paths` (a publisher chooses the name) would be shadowed by the API's own routes.
 */
export interface ApiAccess {
  action: 'api' | 'read' | 'playback';
  path: string;
}

export function accessFor(pathname: string): ApiAccess | undefined {
  if (pathname === '/hls.js') return undefined;
  if (pathname.startsWith('/play/')) {
    const rest = pathname.slice('/play/'.length);
    try {
      return { action: 'read', path: rest.split('/').map(decodeURIComponent).join('/') };
    } catch (e) {
      if (!(e instanceof URIError)) throw e;
      // Checked as it is (a read right on every path passes it), then the page says the name is not valid.
      return { action: 'read', path: rest };
    }
  }
  const exportPath = recordingExportPath(pathname);
  if (exportPath !== undefined) {
    try {
      return { action: 'playback', path: exportPath.split('/').map(decodeURIComponent).join('/') };
    } catch (e) {
      if (!(e instanceof URIError)) throw e;
      // Checked as it is, then the route answers 400 for the malformed name.
      return { action: 'playback', path: exportPath };
    }
  }
  if (pathname.startsWith('/hls/')) {
    const rest = pathname.slice('/hls/'.length);
    const slash = rest.lastIndexOf('/');
    try {
      // As HlsServer.handle names it; a malformed name is checked against the api right (then 400s).
      if (slash > 0)
        return { action: 'read', path: rest.slice(0, slash).split('/').map(decodeURIComponent).join('/') };
    } catch (e) {
      if (!(e instanceof URIError)) throw e; // malformed percent-encoding: the api right
    }
  }
  return { action: 'api', path: '' };
}

/** The path an export URL (`/v1/recordings/NAME/get`) names, still percent-encoded; else undefined. */
export function recordingExportPath(pathname: string): string | undefined {
  const prefix = '/v1/recordings/';
  if (!pathname.startsWith(prefix) || !pathname.endsWith('/get')) return undefined;
  const rest = pathname.slice(prefix.length, -'/get'.length);
  return rest === '' ? undefined : rest;
}
