/** What every bench's rtspkit config starts with: RTSP on `host:port`, no UDP, multicast or RTMP, the API on. */
export function benchServerConfigLines(host: string, port: number, apiPort: number): string[] {
  return [
    `rtspAddress: '${host}:${port}'`,
    'rtpPort: null',
    'multicastRange: null',
    'rtmpAddress: null',
    'api: true',
    `apiAddress: '${host}:${apiPort}'`,
    'logLevel: warn',
  ];
}
