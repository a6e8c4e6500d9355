/**
 * RTSP status codes (RFC 2326 §7.1.1) and the mapping from this folder's `ParseError` codes to the status a
 * server answers with.
 */

/** Every status code of RFC 2326 §7.1.1 with its reason phrase. */
export const RTSP_STATUS: Readonly<Record<number, string>> = Object.freeze({
  100: 'Continue',
  200: 'OK',
  201: 'Created',
  250: 'Low on Storage Space',
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Moved Temporarily',
  303: 'See Other',
  304: 'Not Modified',
  305: 'Use Proxy',
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  407: 'Proxy Authentication Required',
  408: 'Request Time-out',
  410: 'Gone',
  411: 'Length Required',
  412: 'Precondition Failed',
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Large',
  415: 'Unsupported Media Type',
  451: 'Parameter Not Understood',
  452: 'Conference Not Found',
  453: 'Not Enough Bandwidth',
  454: 'Session Not Found',
  455: 'Method Not Valid in This State',
  456: 'Header Field Not Valid for Resource',
  457: 'Invalid Range',
  458: 'Parameter Is Read-Only',
  459: 'Aggregate operation not allowed',
  460: 'Only aggregate operation allowed',
  461: 'Unsupported transport',
  462: 'Destination unreachable',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Time-out',
  505: 'RTSP Version not supported',
  551: 'Option not supported',
});

const CLASS_PHRASES: Readonly<Record<number, string>> = {
  1: 'Informational',
  2: 'Success',
  3: 'Redirection',
  4: 'Client Error',
  5: 'Server Error',
};

/**
 * The reason phrase for `code`. Codes outside the table get a phrase for their class (RFC 2326 §7.1.1 lets a
 * recipient treat an unknown code as the x00 code of its class), so a response line is never left bare.
 */
export function reasonPhrase(code: number): string {
  return RTSP_STATUS[code] ?? CLASS_PHRASES[Math.floor(code / 100)] ?? 'Unknown';
}

/**
 * Stable `ParseError` codes thrown by the parsers of `src/rtsp/`. The values equal the keys so a code can be
 * written either as `RtspErrorCode.BadHeader` or as the string `'RTSP_BAD_HEADER'`.
 */
export const RtspErrorCode = {
  /** Request or status line longer than `maxStartLineBytes`. */
  StartLineTooLong: 'RTSP_START_LINE_TOO_LONG',
  /** Header section (all lines after the start line) longer than `maxHeaderBytes`. */
  HeadersTooLarge: 'RTSP_HEADERS_TOO_LARGE',
  /** More header fields than `maxHeaderCount`. */
  TooManyHeaders: 'RTSP_TOO_MANY_HEADERS',
  /** Content-Length above `maxBodyBytes`. */
  BodyTooLarge: 'RTSP_BODY_TOO_LARGE',
  /** `$` frame longer than `maxInterleavedBytes`. */
  InterleavedTooLarge: 'RTSP_INTERLEAVED_TOO_LARGE',
  /** Start line that is neither `METHOD URI VERSION` nor `VERSION CODE [REASON]`. */
  BadStartLine: 'RTSP_BAD_START_LINE',
  /** Protocol version other than RTSP/x.y or HTTP/1.x. */
  BadVersion: 'RTSP_BAD_VERSION',
  /** Header line without a colon, with an invalid name, or with control characters. */
  BadHeader: 'RTSP_BAD_HEADER',
  /** Content-Length that is not a decimal number, or several that disagree. */
  BadContentLength: 'RTSP_BAD_CONTENT_LENGTH',
  BadTransport: 'RTSP_BAD_TRANSPORT',
  BadSession: 'RTSP_BAD_SESSION',
  BadRange: 'RTSP_BAD_RANGE',
  BadRtpInfo: 'RTSP_BAD_RTP_INFO',
  BadCSeq: 'RTSP_BAD_CSEQ',
  BadScale: 'RTSP_BAD_SCALE',
  BadSpeed: 'RTSP_BAD_SPEED',
  BadAuth: 'RTSP_BAD_AUTH',
  BadUrl: 'RTSP_BAD_URL',
} as const;
export type RtspErrorCode = (typeof RtspErrorCode)[keyof typeof RtspErrorCode];

/*
 * Choices (RFC 2326 has no 431 Request Header Fields Too Large, and RTSP/1.0 clients may not know it):
 * - oversized or too many headers -> 400: the message is rejected as malformed, like most RTSP servers do;
 * - oversized body or `$` frame -> 413 Request Entity Too Large;
 * - oversized request line -> 414 Request-URI Too Large (the URI is what makes a request line long);
 * - unknown protocol version -> 505;
 * - a Range the server cannot parse -> 457 Invalid Range, which tells the client it is the Range that failed;
 * - everything else -> 400.
 */
const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  [RtspErrorCode.StartLineTooLong]: 414,
  [RtspErrorCode.HeadersTooLarge]: 400,
  [RtspErrorCode.TooManyHeaders]: 400,
  [RtspErrorCode.BodyTooLarge]: 413,
  [RtspErrorCode.InterleavedTooLarge]: 413,
  [RtspErrorCode.BadVersion]: 505,
  [RtspErrorCode.BadRange]: 457,
};

/** The RTSP status a server should answer a request with when parsing it threw `ParseError(code)`. */
export function statusForParseError(code: string): number {
  return STATUS_BY_CODE[code] ?? 400;
}

/** Status codes (RFC 2326 §7.1.1) named where code tests for them. */
export const RtspStatus = {
  Ok: 200,
  MultipleChoices: 300,
  MovedPermanently: 301,
  MovedTemporarily: 302,
  NotModified: 304,
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  RequestEntityTooLarge: 413,
  UnsupportedMediaType: 415,
  ParameterNotUnderstood: 451,
  NotEnoughBandwidth: 453,
  SessionNotFound: 454,
  MethodNotValidInThisState: 455,
  HeaderFieldNotValid: 456,
  InvalidRange: 457,
  ParameterIsReadOnly: 458,
  AggregateOperationNotAllowed: 459,
  OnlyAggregateOperationAllowed: 460,
  UnsupportedTransport: 461,
  InternalServerError: 500,
  NotImplemented: 501,
  BadGateway: 502,
  ServiceUnavailable: 503,
  RtspVersionNotSupported: 505,
  OptionNotSupported: 551,
} as const;
