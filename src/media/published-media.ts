/** What a path's source (a publisher's ANNOUNCE, a file) tells the server about its media. */
export interface PublishedTrack {
  payloadType: number;
  /** rtpmap encoding name, e.g. H264, MPEG4-GENERIC, OPUS, PCMU. */
  encodingName: string;
  clockRate: number;
  /** The format's `a=fmtp` parameters (parameter sets, AAC config, ...), as in the SDP. */
  fmtp: Readonly<Record<string, string>>;
}

export interface PublishedMedia {
  /** The SDP readers get from DESCRIBE (controls `trackID=N`, aggregate `*`). */
  describeSdp: (baseUrl: string) => string;
  tracks: readonly PublishedTrack[];
  /** The source's own `a=control` per track (a publisher names its SETUP URLs with them). */
  controls: readonly (string | undefined)[];
}
