/**
 * How an RTMP URL names a path. A client splits `rtmp://host/app/stream` into the `app` of its
 * `connect` and the stream name of its `publish`/`play`; ffmpeg puts every segment but the last in
 * `app` (`rtmp://host/a/b/c`: app `a/b`, stream `c`) and, for one segment (`rtmp://host/cam`), an
 * empty app and the segment as the stream name; others send the single segment as `app` with an
 * empty stream name. So the path is app and stream name joined by `/`, empty parts dropped:
 * `rtmp://host/live/cam` is path `live/cam` (the same as `rtsp://host/live/cam`), `rtmp://host/cam`
 * is `cam` whichever way the client split it.
 *
 * Query keys may follow either part (`rtmp://host/live/cam?user=u&pass=p`, or after the app); the
 * stream name's win. `user` and `pass` are the credentials; the whole query goes to the auth hook.
 */
export interface RtmpTarget {
  path: string;
  /** The query, without `?`, credentials included (for the hook; never logged). */
  query: string;
  credentials: { username: string; password: string } | undefined;
}

function splitQuery(s: string): { name: string; params: URLSearchParams } {
  const q = s.indexOf('?');
  return q < 0
    ? { name: s, params: new URLSearchParams() }
    : { name: s.slice(0, q), params: new URLSearchParams(s.slice(q + 1)) };
}

function trimSlashes(s: string): string {
  return s.replace(/^\/+|\/+$/g, '');
}

/** The path and credentials an `app` and a stream name name. */
export function rtmpTarget(app: string, streamName: string): RtmpTarget {
  const a = splitQuery(app);
  const s = splitQuery(streamName);
  const params = new URLSearchParams(a.params);
  for (const [k, v] of s.params) params.set(k, v);
  const path = [trimSlashes(a.name), trimSlashes(s.name)].filter((p) => p !== '').join('/');
  const username = params.get('user');
  const password = params.get('pass') ?? '';
  return {
    path,
    query: params.toString(),
    credentials: username !== null && username !== '' ? { username, password } : undefined,
  };
}
