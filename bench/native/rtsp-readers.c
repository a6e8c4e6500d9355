// The reader side of `npm run bench:fanout` in C, for `--readers-impl c` (issue 21, the join storm): the same
// command line, stdin/stdout protocol and report as bench/readers.ts with `--transport tcp`, in one
// single-threaded process on epoll and non-blocking sockets, so that 1000 readers joining at once measure the
// server and not the readers process (readers.ts ran at 103-108 % of a core in that storm, on 2 cores).
//
//   gcc -O2 -Wall -Werror -o rtsp-readers bench/native/rtsp-readers.c
//   ./rtsp-readers --url rtsp://127.0.0.1:P/bench --count N [--ramp 50] [--timeout-ms 15000] [--transport tcp]
//
// Per reader, as readers.ts: connect, DESCRIBE, SETUP per track (RTP/AVP/TCP, interleaved=2i-2i+1, the
// channels the server answers are used), PLAY at the session URL; then `$` frames and RTSP replies (keepalive
// OPTIONS with the Session every timeout/3, staggered) in the same stream. At most --ramp setups in flight,
// each reader tried once, in order. Measured the same way (see readers.ts): connectMs, describeMs, setupMs
// (connect start to PLAY reply), playReplyMs, firstPacketMs, firstKeyframeMs (from the PLAY request),
// firstVideoIsKeyframe, RTP sequence accounting per channel (reader-driver.ts countRtp), window bytes with
// the 4-byte `$` headers, video packets' added delay in the window. Differences, all deliberate:
//   - the clock (CLOCK_MONOTONIC, ms) is read once per read(2) rather than per packet: the packets of one read
//     arrived together, and Node's per-packet reading only adds this process's own processing time;
//   - joinLoopDelayMs emulates Node's monitorEventLoopDelay({resolution: 5}): a 5 ms tick is armed and the time
//     from arming to when the loop gets to it is recorded (so an idle process shows ~5 ms, as Node's does);
//     a loop busy for 40 ms on a batch of events shows ~40 ms: how late this process read;
//   - a reply head over 64 KB, a body over 64 KB, an SDP with more than 8 media or a request that the socket
//     does not take whole (EAGAIN) fail that reader with a reason; credentials in the URL are not carried
//     over to control URLs of another form (withCredentialsOf): the bench's URLs have none.
// Bounded: every request and connect has a deadline (--timeout-ms), the process ends at "stop" (report, exit
// 0), at stdin EOF (exit 3 at once), or after MAX_RUN_S seconds (exit 4).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_TRACKS 8
#define MAX_HEAD_BYTES (64 * 1024)
#define MAX_BODY_BYTES (64 * 1024)
/** What a reader keeps between reads: a cut `$` frame (<= 65539 B) or reply (head + body). */
#define MAX_REST_BYTES (MAX_HEAD_BYTES + MAX_BODY_BYTES + 8)
/** One read(2) lands after the kept rest: room for the largest rest and 128 KB more. */
#define READ_BUF_BYTES (MAX_REST_BYTES + 128 * 1024)
#define URL_BYTES 1024
#define REASON_BYTES 96
#define MAX_REASONS 64
#define MAX_RUN_S (4 * 3600)
/** Per reader, the window's video delays kept (at 100 packets/s: almost 3 hours). */
#define MAX_DELAYS_PER_READER (1 << 20)
#define LOOP_TICK_MS 5.0

enum state { S_IDLE, S_CONNECTING, S_DESCRIBE, S_SETUP, S_PLAY, S_PLAYING, S_FAILED, S_CLOSED };
enum codec { C_OTHER, C_H264, C_H265 };

typedef struct {
  uint8_t rtp, codec, video;
  int clock_rate;
  int last_seq;
  double first_arrival_ms;
  uint32_t last_ts;
  int64_t ts_unwrapped;
} channel_t;

typedef struct {
  int fd;
  enum state state;
  char failure[REASON_BYTES];
  int cseq;
  double deadline_ms; /** 0: no request or connect in flight. */
  const char *pending_method;
  /* setup */
  int ntracks, step;
  char *track_url[MAX_TRACKS];
  uint8_t track_codec[MAX_TRACKS], track_video[MAX_TRACKS];
  int track_clock[MAX_TRACKS];
  char session_id[256];
  char session_url[URL_BYTES];
  double keepalive_every_ms, next_keepalive_ms;
  /* channels: chmap[channel] = index + 1 into ch, 0 = not set up */
  uint8_t chmap[256];
  channel_t ch[2 * MAX_TRACKS];
  int nch;
  /* measurements */
  double setup_start, setup_ms, connect_ms, describe_ms, play_reply_ms, play_sent_at, first_packet_ms,
      first_keyframe_ms;
  int first_video_seen, first_video_is_keyframe;
  int64_t rtp_packets, lost, w_bytes, w_packets, w_lost, w_dup, w_reorder;
  int in_window;
  double *w_delays;
  size_t n_delays, cap_delays;
  /* the cut frame or reply of the last read */
  uint8_t *rest;
  size_t rest_len;
} reader_t;

typedef struct {
  char reason[REASON_BYTES];
  int count;
} reason_count_t;

/* ---- globals: one process, one loop ---- */
static reader_t *readers;
static int reader_count, ramp = 50, timeout_ms = 15000;
static char url[URL_BYTES];
static struct sockaddr_storage server_addr;
static socklen_t server_addr_len;
static int epfd;
static int next_reader, in_flight, stopped, ready_sent;
static double ramp_start_ms, mark_ms;
static struct rusage mark_usage;
static reason_count_t failures[MAX_REASONS];
static int n_failures;
static uint8_t *read_buf;
static double *loop_delays;
static size_t n_loop_delays, cap_loop_delays;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("rtsp-readers: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static void push_double(double **arr, size_t *n, size_t *cap, double v, size_t max) {
  if (*n >= max) return;
  if (*n == *cap) {
    size_t c = *cap == 0 ? 256 : *cap * 2;
    double *p = realloc(*arr, c * sizeof(double));
    if (p == NULL) return; /* out of memory: the sample is dropped, not the process */
    *arr = p;
    *cap = c;
  }
  (*arr)[(*n)++] = v;
}

/** As reader-driver.ts countReason: runs of 4 or more digits become N, at most 80 characters. */
static void count_reason(reason_count_t *map, int *n, const char *reason) {
  char key[REASON_BYTES];
  size_t k = 0;
  for (size_t i = 0; reason[i] != '\0' && k < 80;) {
    size_t j = i;
    while (isdigit((unsigned char)reason[j])) j++;
    if (j - i >= 4) {
      key[k++] = 'N';
      i = j;
    } else if (j > i) {
      while (i < j && k < 80) key[k++] = reason[i++];
    } else {
      key[k++] = reason[i++];
    }
  }
  key[k] = '\0';
  for (int i = 0; i < *n; i++)
    if (strcmp(map[i].reason, key) == 0) {
      map[i].count++;
      return;
    }
  if (*n == MAX_REASONS) {
    /* the last slot collects the rest */
    snprintf(map[MAX_REASONS - 1].reason, REASON_BYTES, "other reasons");
    map[MAX_REASONS - 1].count++;
    return;
  }
  snprintf(map[*n].reason, REASON_BYTES, "%s", key);
  map[*n].count = 1;
  (*n)++;
}

/* ---- RTP: keyframes and sequence numbers (as readers.ts and reader-driver.ts) ---- */

static int h265_irap_or_ps(int t) { return (t >= 16 && t <= 21) || (t >= 32 && t <= 34); }

/** Does this RTP payload start a keyframe: parameter sets or an IRAP picture (RFC 6184 §5.6-5.8, RFC 7798 §4.4). */
static int starts_keyframe(int codec, const uint8_t *p, size_t len) {
  if (len < 2) return 0;
  if (codec == C_H264) {
    int t = p[0] & 0x1f;
    if (t == 5 || t == 7) return 1;
    if (t == 24) { /* STAP-A: [size:16][NAL]... */
      for (size_t o = 1; o + 3 <= len;) {
        size_t size = ((size_t)p[o] << 8) | p[o + 1];
        int nt = p[o + 2] & 0x1f;
        if (nt == 5 || nt == 7) return 1;
        o += 2 + size;
      }
      return 0;
    }
    if (t == 28) return (p[1] & 0x80) != 0 && (p[1] & 0x1f) == 5; /* FU-A start of an IDR */
    return 0;
  }
  if (codec == C_H265) {
    int t = (p[0] >> 1) & 0x3f;
    if (h265_irap_or_ps(t)) return 1;
    if (t == 48) { /* AP */
      for (size_t o = 2; o + 4 <= len;) {
        size_t size = ((size_t)p[o] << 8) | p[o + 1];
        if (h265_irap_or_ps((p[o + 2] >> 1) & 0x3f)) return 1;
        o += 2 + size;
      }
      return 0;
    }
    if (t == 49 && len >= 3) { /* FU */
      int ft = p[2] & 0x3f;
      return (p[2] & 0x80) != 0 && ft >= 16 && ft <= 21;
    }
  }
  return 0;
}

/** Offset of the payload in an RTP packet (RFC 3550 §5.1, §5.3.1), or -1 when malformed. */
static long rtp_payload_offset(const uint8_t *pkt, size_t len) {
  if (len < 12 || pkt[0] >> 6 != 2) return -1;
  size_t off = 12 + 4 * (pkt[0] & 0x0f);
  if (pkt[0] & 0x10) {
    if (len < off + 4) return -1;
    off += 4 + 4 * (((size_t)pkt[off + 2] << 8) | pkt[off + 3]);
  }
  return off <= len ? (long)off : -1;
}

static void count_rtp(reader_t *r, channel_t *ch, int seq) {
  r->rtp_packets++;
  r->w_packets++;
  if (ch->last_seq >= 0) {
    int d = (seq - ch->last_seq) & 0xffff;
    if (d == 0) r->w_dup++;
    else if (d >= 0x8000) r->w_reorder++;
    else {
      if (d > 1) {
        r->lost += d - 1;
        r->w_lost += d - 1;
      }
      ch->last_seq = seq;
    }
  } else {
    ch->last_seq = seq;
  }
}

/** One `$` frame's packet (readers.ts onFrameBytes + onPacketAt), arrived at `now`. */
static void on_frame(reader_t *r, int channel, const uint8_t *p, size_t len, double now) {
  r->w_bytes += 4 + (int64_t)len;
  int idx = r->chmap[channel];
  if (idx == 0) return;
  channel_t *ch = &r->ch[idx - 1];
  if (!ch->rtp || len < 12) return;
  int first_key = ch->video && r->first_keyframe_ms < 0;
  if (ch->video) {
    uint32_t ts = ((uint32_t)p[4] << 24) | ((uint32_t)p[5] << 16) | ((uint32_t)p[6] << 8) | p[7];
    if (ch->first_arrival_ms < 0) {
      ch->first_arrival_ms = now;
      ch->last_ts = ts;
    } else {
      ch->ts_unwrapped += (int32_t)(ts - ch->last_ts); /* signed 32-bit step: wraparound-safe */
      ch->last_ts = ts;
      if (r->in_window)
        push_double(&r->w_delays, &r->n_delays, &r->cap_delays,
                    now - ch->first_arrival_ms - (double)ch->ts_unwrapped * 1000.0 / ch->clock_rate,
                    MAX_DELAYS_PER_READER);
    }
  }
  count_rtp(r, ch, (p[2] << 8) | p[3]);
  if (r->first_packet_ms < 0) r->first_packet_ms = now - r->play_sent_at;
  if (first_key) {
    long off = rtp_payload_offset(p, len);
    int key = off >= 0 && starts_keyframe(ch->codec, p + off, len - off);
    if (!r->first_video_seen) {
      r->first_video_seen = 1;
      r->first_video_is_keyframe = key;
    }
    if (key) r->first_keyframe_ms = now - r->play_sent_at;
  }
}

/* ---- reader lifecycle ---- */

static void start_more(void);

static void close_reader_fd(reader_t *r) {
  if (r->fd >= 0) close(r->fd); /* also leaves the epoll set */
  r->fd = -1;
  free(r->rest);
  r->rest = NULL;
  r->rest_len = 0;
}

/** Ends a reader: a failed setup (counted in failures) or, after PLAY, a closed reader (its reason kept). */
static void fail(reader_t *r, const char *fmt, ...) {
  if (r->state == S_FAILED || r->state == S_CLOSED || r->state == S_IDLE) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->failure, REASON_BYTES, fmt, ap);
  va_end(ap);
  r->deadline_ms = 0;
  close_reader_fd(r);
  if (r->state == S_PLAYING) {
    r->state = S_CLOSED;
    return;
  }
  r->state = S_FAILED;
  count_reason(failures, &n_failures, r->failure);
  in_flight--;
  start_more();
}

/** Writes a request whole (they are small); a socket that takes less fails the reader. Returns 0 on success. */
static int send_request(reader_t *r, const char *method, const char *uri, const char *headers, int awaited) {
  char req[4096];
  int n = snprintf(req, sizeof req, "%s %s RTSP/1.0\r\nCSeq: %d\r\nUser-Agent: rtspkit-bench\r\n%s\r\n", method,
                   uri, ++r->cseq, headers);
  if (n < 0 || n >= (int)sizeof req) {
    fail(r, "%s: request too long", method);
    return -1;
  }
  ssize_t w = send(r->fd, req, n, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (w != n) {
    if (w < 0) fail(r, "%s: write: %s", method, strerror(errno));
    else fail(r, "%s: write took %zd of %d bytes", method, w, n);
    return -1;
  }
  if (awaited) {
    r->pending_method = method;
    r->deadline_ms = now_ms() + timeout_ms;
  }
  return 0;
}

static void start_reader(reader_t *r) {
  r->state = S_CONNECTING;
  in_flight++;
  r->setup_start = now_ms();
  r->deadline_ms = r->setup_start + timeout_ms;
  r->pending_method = "connect";
  int fd = socket(server_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    fail(r, "socket: %s", strerror(errno));
    return;
  }
  r->fd = fd;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&server_addr, server_addr_len) < 0 && errno != EINPROGRESS) {
    fail(r, "connect: %s", strerror(errno));
    return;
  }
  struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.u64 = (uint64_t)(r - readers)};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) fail(r, "epoll_ctl: %s", strerror(errno));
}

/** Starts readers while fewer than --ramp are in flight; a start that fails at once loops here, not deeper. */
static void start_more(void) {
  static int starting;
  if (starting) return;
  starting = 1;
  while (!stopped && in_flight < ramp && next_reader < reader_count) start_reader(&readers[next_reader++]);
  starting = 0;
}

static void on_connected(reader_t *r) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  if (err != 0) {
    fail(r, "connect: %s", strerror(err));
    return;
  }
  r->connect_ms = now_ms() - r->setup_start;
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)(r - readers)};
  if (epoll_ctl(epfd, EPOLL_CTL_MOD, r->fd, &ev) < 0) {
    fail(r, "epoll_ctl: %s", strerror(errno));
    return;
  }
  r->state = S_DESCRIBE;
  send_request(r, "DESCRIBE", url, "Accept: application/sdp\r\n", 1);
}

/* ---- RTSP replies ---- */

/** The value of header `name` in `head` (case-insensitive, first occurrence, trimmed), or NULL; in `out`. */
static const char *header(const char *head, size_t head_len, const char *name, char *out, size_t out_len) {
  size_t nl = strlen(name);
  const char *p = memchr(head, '\n', head_len);
  const char *end = head + head_len;
  while (p != NULL && p + 1 < end) {
    const char *line = p + 1;
    const char *eol = memchr(line, '\n', end - line);
    if (eol == NULL) eol = end;
    if ((size_t)(eol - line) > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
      const char *v = line + nl + 1;
      const char *ve = eol;
      while (v < ve && (*v == ' ' || *v == '\t')) v++;
      while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t')) ve--;
      size_t n = (size_t)(ve - v) < out_len - 1 ? (size_t)(ve - v) : out_len - 1;
      memcpy(out, v, n);
      out[n] = '\0';
      return out;
    }
    p = eol;
  }
  return NULL;
}

static int is_absolute_url(const char *s) {
  if (!isalpha((unsigned char)s[0])) return 0;
  const char *p = s + 1;
  while (isalnum((unsigned char)*p) || *p == '+' || *p == '.' || *p == '-') p++;
  return strncmp(p, "://", 3) == 0;
}

/** src/rtsp/url.ts joinControlUrl: absolute as is, `*`/'' the base, '/x' replaces the path, else base + '/' + x. */
static int join_control_url(char *out, size_t out_len, const char *base, const char *control) {
  while (*control == ' ' || *control == '\t') control++;
  size_t cl = strlen(control);
  while (cl > 0 && (control[cl - 1] == ' ' || control[cl - 1] == '\t')) cl--;
  int n;
  if (cl == 0 || (cl == 1 && control[0] == '*')) n = snprintf(out, out_len, "%s", base);
  else if (is_absolute_url(control)) n = snprintf(out, out_len, "%.*s", (int)cl, control);
  else if (control[0] == '/') {
    if (!is_absolute_url(base)) return -1;
    const char *auth = strstr(base, "://") + 3;
    size_t al = strcspn(auth, "/?#");
    n = snprintf(out, out_len, "%.*s%.*s", (int)(auth - base + al), base, (int)cl, control);
  } else {
    size_t bl = strlen(base);
    n = snprintf(out, out_len, "%s%s%.*s", base, bl > 0 && base[bl - 1] == '/' ? "" : "/", (int)cl, control);
  }
  return n < 0 || (size_t)n >= out_len ? -1 : 0;
}

/** A DESCRIBE 200: the SDP's media (type, first rtpmap, control) and the session and control URLs. */
static int on_describe(reader_t *r, const char *head, size_t head_len, const char *body, size_t body_len) {
  char content_base[URL_BYTES], base[URL_BYTES];
  snprintf(base, sizeof base, "%s", url);
  if (header(head, head_len, "Content-Base", content_base, sizeof content_base) != NULL && content_base[0] != '\0')
    if (join_control_url(base, sizeof base, url, content_base) < 0) return fail(r, "bad Content-Base"), -1;
  char session_control[URL_BYTES] = "";
  int has_session_control = 0;
  char media_control[MAX_TRACKS][URL_BYTES];
  int has_media_control[MAX_TRACKS] = {0};
  int n = 0;
  for (size_t i = 0; i < body_len;) {
    const char *line = body + i;
    const char *eol = memchr(line, '\n', body_len - i);
    size_t ll = eol == NULL ? body_len - i : (size_t)(eol - line);
    i += ll + 1;
    if (ll > 0 && line[ll - 1] == '\r') ll--;
    if (ll >= 2 && line[0] == 'm' && line[1] == '=') {
      if (n == MAX_TRACKS) return fail(r, "SDP: more than %d media", MAX_TRACKS), -1;
      n++;
      r->track_video[n - 1] = ll >= 7 && strncmp(line + 2, "video ", 6) == 0;
      r->track_codec[n - 1] = C_OTHER;
      r->track_clock[n - 1] = -1;
    } else if (ll > 9 && strncmp(line, "a=rtpmap:", 9) == 0 && n > 0 && r->track_clock[n - 1] < 0) {
      /* a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>] (RFC 4566 §6): the first one that reads */
      char enc[64];
      unsigned pt;
      int rate;
      char tmp[256];
      snprintf(tmp, sizeof tmp, "%.*s", (int)(ll - 9), line + 9);
      if (sscanf(tmp, "%u %63[^/]/%d", &pt, enc, &rate) == 3 && rate > 0 && pt <= 127) {
        r->track_clock[n - 1] = rate;
        r->track_codec[n - 1] = strcasecmp(enc, "H264") == 0 ? C_H264 : strcasecmp(enc, "H265") == 0 ? C_H265 : C_OTHER;
      }
    } else if (ll >= 10 && strncmp(line, "a=control:", 10) == 0) {
      char *dst = n == 0 ? session_control : media_control[n - 1];
      if (n == 0 ? has_session_control : has_media_control[n - 1]) continue; /* the first one counts */
      snprintf(dst, URL_BYTES, "%.*s", (int)(ll - 10), line + 10);
      if (n == 0) has_session_control = 1;
      else has_media_control[n - 1] = 1;
    }
  }
  if (n == 0) return fail(r, "SDP: no media"), -1;
  /* resolveSessionUrl: the session-level control joined to the base; resolveControlUrl: media control to that. */
  if (has_session_control) {
    if (join_control_url(r->session_url, sizeof r->session_url, base, session_control) < 0)
      return fail(r, "bad session control URL"), -1;
  } else {
    snprintf(r->session_url, sizeof r->session_url, "%s", base);
  }
  for (int t = 0; t < n; t++) {
    if (r->track_clock[t] < 0) r->track_clock[t] = 90000; /* readers.ts: rtpmap?.clockRate ?? 90000 */
    char track[URL_BYTES];
    if (!has_media_control[t]) snprintf(track, sizeof track, "%s", r->session_url);
    else if (join_control_url(track, sizeof track, r->session_url, media_control[t]) < 0)
      return fail(r, "bad media control URL"), -1;
    r->track_url[t] = strdup(track);
    if (r->track_url[t] == NULL) return fail(r, "out of memory"), -1;
  }
  r->ntracks = n;
  return 0;
}

static void send_setup(reader_t *r) {
  char h[512];
  int i = r->step;
  int n = snprintf(h, sizeof h, "Transport: RTP/AVP/TCP;unicast;interleaved=%d-%d\r\n", 2 * i, 2 * i + 1);
  if (r->session_id[0] != '\0') snprintf(h + n, sizeof h - n, "Session: %s\r\n", r->session_id);
  send_request(r, "SETUP", r->track_url[i], h, 1);
}

/** `interleaved=a[-b]` of a Transport header (RFC 2326 §12.39), or -1 for either part not there. */
static void transport_interleaved(const char *t, int *rtp, int *rtcp) {
  *rtp = *rtcp = -1;
  const char *p = t;
  while ((p = strcasestr(p, "interleaved=")) != NULL) {
    if (p == t || p[-1] == ';' || p[-1] == ' ') {
      char *e;
      long a = strtol(p + 12, &e, 10);
      if (e == p + 12 || a < 0 || a > 255) return;
      *rtp = (int)a;
      if (*e == '-') {
        char *e2;
        long b = strtol(e + 1, &e2, 10);
        if (e2 != e + 1 && b >= 0 && b <= 255) *rtcp = (int)b;
      }
      return;
    }
    p += 12;
  }
}

static void set_channel(reader_t *r, int channel, int rtp, int codec, int video, int clock) {
  if (r->nch == 2 * MAX_TRACKS) return;
  channel_t *c = &r->ch[r->nch++];
  memset(c, 0, sizeof *c);
  c->rtp = rtp;
  c->codec = codec;
  c->video = video;
  c->clock_rate = clock;
  c->last_seq = -1;
  c->first_arrival_ms = -1;
  r->chmap[channel] = r->nch;
}

static void on_setup(reader_t *r, const char *head, size_t head_len) {
  char v[512];
  if (header(head, head_len, "Session", v, sizeof v) == NULL) v[0] = '\0';
  /* src/rtsp/session.ts parseSession: id [";timeout=" seconds] */
  size_t idl = strcspn(v, ";");
  while (idl > 0 && (v[idl - 1] == ' ' || v[idl - 1] == '\t')) idl--;
  if (idl == 0 || idl >= sizeof r->session_id) return fail(r, "malformed session id");
  for (size_t k = 0; k < idl; k++)
    if (v[k] <= 0x20 || v[k] >= 0x7f || v[k] == ',') return fail(r, "malformed session id");
  memcpy(r->session_id, v, idl);
  r->session_id[idl] = '\0';
  const char *to = strcasestr(v + idl, "timeout=");
  if (to != NULL) {
    long s = strtol(to + 8, NULL, 10);
    if (s > 0) r->keepalive_every_ms = s * 1000.0 / 3 > 1000.0 ? s * 1000.0 / 3 : 1000.0;
  }
  int rtp_ch = 2 * r->step, rtcp_ch;
  if (header(head, head_len, "Transport", v, sizeof v) != NULL) {
    int a, b;
    transport_interleaved(v, &a, &b);
    if (a >= 0) rtp_ch = a;
    rtcp_ch = b >= 0 ? b : (rtp_ch + 1) & 0xff;
    if (a < 0) rtcp_ch = (rtp_ch + 1) & 0xff;
  } else {
    rtcp_ch = rtp_ch + 1;
  }
  int t = r->step;
  set_channel(r, rtp_ch, 1, r->track_codec[t], r->track_video[t], r->track_clock[t]);
  set_channel(r, rtcp_ch, 0, r->track_codec[t], 0, r->track_clock[t]);
  r->step++;
  if (r->step < r->ntracks) {
    send_setup(r);
    return;
  }
  for (int k = 0; k < r->ntracks; k++) {
    free(r->track_url[k]);
    r->track_url[k] = NULL;
  }
  char h[512];
  snprintf(h, sizeof h, "Session: %s\r\nRange: npt=0.000-\r\n", r->session_id);
  r->state = S_PLAY;
  r->play_sent_at = now_ms();
  send_request(r, "PLAY", r->session_url, h, 1);
}

/** One RTSP message, head `m[0, head_len)` (with its blank line), body after it. */
static void on_message(reader_t *r, const char *m, size_t head_len, size_t body_len) {
  if (head_len < 12 || strncmp(m, "RTSP/", 5) != 0) return; /* requests from the server are not expected */
  const char *sp = memchr(m, ' ', head_len);
  if (sp == NULL) return fail(r, "malformed status line");
  int code = atoi(sp + 1);
  if (r->deadline_ms == 0) return; /* keepalive replies: not awaited */
  r->deadline_ms = 0;
  double now = now_ms();
  switch (r->state) {
    case S_DESCRIBE:
      if (code != 200) return fail(r, "DESCRIBE %d", code);
      r->describe_ms = now - r->setup_start;
      if (on_describe(r, m, head_len, m + head_len, body_len) < 0) return;
      r->state = S_SETUP;
      r->step = 0;
      send_setup(r);
      return;
    case S_SETUP:
      if (code != 200) return fail(r, "SETUP %d", code);
      on_setup(r, m, head_len);
      return;
    case S_PLAY:
      if (code != 200) return fail(r, "PLAY %d", code);
      r->play_reply_ms = now - r->play_sent_at;
      r->setup_ms = now - r->setup_start;
      r->next_keepalive_ms = now + r->keepalive_every_ms * (0.5 + drand48() / 2);
      r->state = S_PLAYING;
      in_flight--;
      start_more();
      return;
    default:
      return;
  }
}

/**
 * What one read(2) brought, after the rest of the last: `$` frames (RFC 2326 §10.12) counted in place, RTSP
 * replies (head up to the blank line, Content-Length body) handled whole; a cut frame or reply is kept.
 */
static void on_readable(reader_t *r) {
  size_t len = r->rest_len;
  if (len > 0) memcpy(read_buf, r->rest, len);
  ssize_t n = read(r->fd, read_buf + len, READ_BUF_BYTES - len);
  if (n == 0) return fail(r, "connection closed");
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return;
    return fail(r, "read: %s", strerror(errno));
  }
  len += n;
  double now = now_ms();
  size_t pos = 0;
  while (pos < len) {
    const uint8_t *b = read_buf + pos;
    if (b[0] == '$') {
      if (len - pos < 4) break;
      size_t end = pos + 4 + (((size_t)b[2] << 8) | b[3]);
      if (end > len) break;
      /* counted from the PLAY request on, as readers.ts sets onFrameBytes just before it */
      if (r->state == S_PLAY || r->state == S_PLAYING) on_frame(r, b[1], b + 4, end - pos - 4, now);
      pos = end;
      continue;
    }
    const uint8_t *he = memmem(b, len - pos, "\r\n\r\n", 4);
    if (he == NULL) {
      if (len - pos > MAX_HEAD_BYTES) return fail(r, "reply head too large");
      break;
    }
    size_t head_len = (size_t)(he - b) + 4;
    if (head_len > MAX_HEAD_BYTES) return fail(r, "reply head too large");
    char cl[32];
    size_t body_len = 0;
    if (header((const char *)b, head_len, "Content-Length", cl, sizeof cl) != NULL) {
      char *e;
      unsigned long v = strtoul(cl, &e, 10);
      if (e == cl || *e != '\0' || v > MAX_BODY_BYTES) return fail(r, "reply body too large or malformed");
      body_len = v;
    }
    if (pos + head_len + body_len > len) break;
    on_message(r, (const char *)b, head_len, body_len);
    if (r->state == S_FAILED || r->state == S_CLOSED) return;
    pos += head_len + body_len;
  }
  size_t keep = len - pos;
  if (keep > MAX_REST_BYTES) return fail(r, "reply too large");
  if (keep == 0) {
    r->rest_len = 0;
    return;
  }
  uint8_t *p = realloc(r->rest, keep);
  if (p == NULL) return fail(r, "out of memory");
  memmove(p, read_buf + pos, keep);
  r->rest = p;
  r->rest_len = keep;
}

/* ---- the JSON lines ---- */

static void json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c < 0x20 || c >= 0x7f) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}

static void json_reasons(FILE *f, const reason_count_t *map, int n) {
  fputc('{', f);
  for (int i = 0; i < n; i++) {
    if (i > 0) fputc(',', f);
    json_string(f, map[i].reason);
    fprintf(f, ":%d", map[i].count);
  }
  fputc('}', f);
}

/** A number as JSON.stringify writes it: NaN and infinities as null. */
static void json_number(FILE *f, double v) {
  if (isnan(v) || isinf(v)) fputs("null", f);
  else fprintf(f, "%.17g", v);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/** Node's monitorEventLoopDelay percentile: the smallest sample with at least q of them at or below it. */
static double percentile(const double *sorted, size_t n, double q) {
  if (n == 0) return NAN;
  size_t i = (size_t)(q * n);
  if ((double)i < q * n) i++; /* ceil */
  if (i > 0) i--;
  if (i >= n) i = n - 1;
  return sorted[i];
}

/** To 0.01 ms, as readers.ts rounds (v >= 0; libm is not linked). */
static double round2(double v) { return (double)(long long)(v * 100 + 0.5) / 100; }

static void send_ready(void) {
  int playing = 0;
  for (int i = 0; i < reader_count; i++) playing += readers[i].state == S_PLAYING;
  qsort(loop_delays, n_loop_delays, sizeof(double), cmp_double);
  double max = n_loop_delays > 0 ? loop_delays[n_loop_delays - 1] : 0;
  printf("{\"type\":\"ready\",\"requested\":%d,\"playing\":%d,\"failed\":%d,\"failures\":", reader_count, playing,
         reader_count - playing);
  json_reasons(stdout, failures, n_failures);
  printf(",\"rampMs\":");
  json_number(stdout, now_ms() - ramp_start_ms);
  printf(",\"joinLoopDelayMs\":{\"p50\":");
  json_number(stdout, n_loop_delays ? round2(percentile(loop_delays, n_loop_delays, 0.5)) : 0);
  printf(",\"p99\":");
  json_number(stdout, n_loop_delays ? round2(percentile(loop_delays, n_loop_delays, 0.99)) : 0);
  printf(",\"max\":");
  json_number(stdout, round2(max));
  printf("},\"impl\":\"c\"}\n");
  fflush(stdout);
  ready_sent = 1;
}

typedef double (*reader_value_fn)(const reader_t *);
static double v_setup(const reader_t *r) { return r->setup_ms; }
static double v_describe(const reader_t *r) { return r->describe_ms; }
static double v_connect(const reader_t *r) { return r->connect_ms; }
static double v_play_reply(const reader_t *r) { return r->play_reply_ms; }
static double v_first_packet(const reader_t *r) { return r->first_packet_ms; }
static double v_first_keyframe(const reader_t *r) { return r->first_keyframe_ms; }

/** `"name":[...]` over the readers that played; with `only_set`, those whose value is >= 0. */
static void json_array(const char *name, reader_value_fn fn, int only_set) {
  printf(",\"%s\":[", name);
  int first = 1;
  for (int i = 0; i < reader_count; i++) {
    const reader_t *r = &readers[i];
    if (r->setup_ms < 0) continue;
    double v = fn(r);
    if (only_set && v < 0) continue;
    if (!first) putchar(',');
    first = 0;
    printf("%.4f", v);
  }
  putchar(']');
}

static void send_report(void) {
  double window_ms = now_ms() - mark_ms;
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  double cpu_user = (u.ru_utime.tv_sec - mark_usage.ru_utime.tv_sec) * 1e3 +
                    (u.ru_utime.tv_usec - mark_usage.ru_utime.tv_usec) / 1e3;
  double cpu_sys = (u.ru_stime.tv_sec - mark_usage.ru_stime.tv_sec) * 1e3 +
                   (u.ru_stime.tv_usec - mark_usage.ru_stime.tv_usec) / 1e3;
  int played = 0, closed = 0, silent = 0, first_key = 0, no_key = 0;
  int64_t w_bytes = 0, w_packets = 0, w_lost = 0, w_dup = 0, w_reorder = 0, total_packets = 0, total_lost = 0;
  int64_t min_bytes = INT64_MAX, max_bytes = 0;
  reason_count_t close_reasons[MAX_REASONS];
  int n_close = 0;
  size_t n_added = 0;
  for (int i = 0; i < reader_count; i++) {
    reader_t *r = &readers[i];
    if (r->setup_ms < 0) continue;
    played++;
    if (r->state == S_CLOSED) {
      closed++;
      count_reason(close_reasons, &n_close, r->failure);
    }
    w_bytes += r->w_bytes;
    w_packets += r->w_packets;
    w_lost += r->w_lost;
    w_dup += r->w_dup;
    w_reorder += r->w_reorder;
    silent += r->w_bytes == 0;
    if (r->w_bytes < min_bytes) min_bytes = r->w_bytes;
    if (r->w_bytes > max_bytes) max_bytes = r->w_bytes;
    total_packets += r->rtp_packets;
    total_lost += r->lost;
    first_key += r->first_video_is_keyframe;
    no_key += r->first_keyframe_ms < 0;
    n_added += r->n_delays;
  }
  if (played == 0) min_bytes = 0;
  /* Added delay: per reader, each delay minus that reader's smallest in the window; pooled. */
  double *added = malloc((n_added > 0 ? n_added : 1) * sizeof(double));
  size_t k = 0;
  if (added != NULL)
    for (int i = 0; i < reader_count; i++) {
      reader_t *r = &readers[i];
      if (r->n_delays == 0) continue;
      double min = INFINITY;
      for (size_t j = 0; j < r->n_delays; j++)
        if (r->w_delays[j] < min) min = r->w_delays[j];
      for (size_t j = 0; j < r->n_delays; j++) added[k++] = r->w_delays[j] - min;
    }
  qsort(added, k, sizeof(double), cmp_double);

  printf("{\"type\":\"report\",\"requested\":%d,\"playing\":%d,\"failed\":%d,\"failures\":", reader_count, played,
         reader_count - played);
  json_reasons(stdout, failures, n_failures);
  printf(",\"closedAfterPlay\":%d,\"closeReasons\":", closed);
  json_reasons(stdout, close_reasons, n_close);
  printf(",\"windowMs\":");
  json_number(stdout, window_ms);
  printf(",\"windowBytes\":%lld,\"windowRtpPackets\":%lld,\"windowLost\":%lld,\"windowDuplicates\":%lld,"
         "\"windowReordered\":%lld,\"windowSilentReaders\":%d,\"windowMinReaderBytes\":%lld,"
         "\"windowMaxReaderBytes\":%lld,\"totalRtpPackets\":%lld,\"totalLost\":%lld",
         (long long)w_bytes, (long long)w_packets, (long long)w_lost, (long long)w_dup, (long long)w_reorder, silent,
         (long long)min_bytes, (long long)max_bytes, (long long)total_packets, (long long)total_lost);
  json_array("setupMs", v_setup, 0);
  json_array("describeMs", v_describe, 0);
  json_array("connectMs", v_connect, 0);
  json_array("playReplyMs", v_play_reply, 0);
  json_array("firstPacketMs", v_first_packet, 1);
  json_array("firstKeyframeMs", v_first_keyframe, 1);
  printf(",\"firstVideoIsKeyframe\":%d,\"noKeyframe\":%d,\"addedDelayMs\":{\"p50\":", first_key, no_key);
  json_number(stdout, percentile(added, k, 0.5));
  printf(",\"p90\":");
  json_number(stdout, percentile(added, k, 0.9));
  printf(",\"p99\":");
  json_number(stdout, percentile(added, k, 0.99));
  printf(",\"max\":");
  json_number(stdout, k > 0 ? added[k - 1] : NAN);
  printf(",\"packets\":%zu},\"cpuUserMs\":", k);
  json_number(stdout, cpu_user);
  printf(",\"cpuSystemMs\":");
  json_number(stdout, cpu_sys);
  printf("}\n");
  fflush(stdout);
  free(added);
}

/* ---- stdin: "mark", "stop"; EOF ends the process ---- */

static char stdin_line[256];
static size_t stdin_len;

static void mark(void) {
  for (int i = 0; i < reader_count; i++) {
    reader_t *r = &readers[i];
    r->in_window = 1;
    r->n_delays = 0;
    r->w_bytes = r->w_packets = r->w_lost = r->w_dup = r->w_reorder = 0;
  }
  mark_ms = now_ms();
  getrusage(RUSAGE_SELF, &mark_usage);
}

static void on_stdin(void) {
  char buf[256];
  ssize_t n = read(0, buf, sizeof buf);
  if (n == 0) exit(3); /* the parent went away */
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return;
    exit(3);
  }
  for (ssize_t i = 0; i < n; i++) {
    if (buf[i] != '\n') {
      if (stdin_len < sizeof stdin_line - 1) stdin_line[stdin_len++] = buf[i];
      continue;
    }
    stdin_line[stdin_len] = '\0';
    stdin_len = 0;
    char *s = stdin_line;
    while (isspace((unsigned char)*s)) s++;
    size_t l = strlen(s);
    while (l > 0 && isspace((unsigned char)s[l - 1])) s[--l] = '\0';
    if (strcmp(s, "mark") == 0) mark();
    else if (strcmp(s, "stop") == 0) stopped = 1;
  }
}

/* ---- main ---- */

static void usage_exit(const char *msg) {
  die("%s\nusage: rtsp-readers --url rtsp://HOST:PORT/PATH --count N [--ramp 50] [--timeout-ms 15000] "
      "[--transport tcp]",
      msg);
}

static int positive_int(const char *v, const char *name) {
  char *e;
  long x = strtol(v, &e, 10);
  if (*v == '\0' || *e != '\0' || x < 1 || x > 10000000) die("--%s must be a positive integer", name);
  return (int)x;
}

static void resolve_server(void) {
  /* rtsp://[user[:pass]@]host[:port]/path: host and port only; the URL is sent as written. */
  if (strncasecmp(url, "rtsp://", 7) != 0) usage_exit("--url: rtsp://HOST:PORT/PATH only");
  const char *auth = url + 7;
  size_t al = strcspn(auth, "/?#");
  char hostport[256];
  if (al >= sizeof hostport) die("--url: host too long");
  memcpy(hostport, auth, al);
  hostport[al] = '\0';
  char *h = strrchr(hostport, '@');
  h = h == NULL ? hostport : h + 1;
  char *port = "554";
  if (h[0] == '[') {
    char *close = strchr(h, ']');
    if (close == NULL) die("--url: unterminated IPv6 address");
    *close = '\0';
    if (close[1] == ':' && close[2] != '\0') port = close + 2;
    h++;
  } else {
    char *c = strrchr(h, ':');
    if (c != NULL) {
      *c = '\0';
      if (c[1] != '\0') port = c + 1;
    }
  }
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
  int err = getaddrinfo(h, port, &hints, &res);
  if (err != 0) die("--url: %s: %s", h, gai_strerror(err));
  memcpy(&server_addr, res->ai_addr, res->ai_addrlen);
  server_addr_len = res->ai_addrlen;
  freeaddrinfo(res);
}

static void check_deadlines(double now) {
  for (int i = 0; i < next_reader; i++) {
    reader_t *r = &readers[i];
    if (r->deadline_ms > 0 && now >= r->deadline_ms) fail(r, "%s timed out after %d ms", r->pending_method, timeout_ms);
  }
}

static void send_keepalives(double now) {
  char h[300];
  for (int i = 0; i < next_reader; i++) {
    reader_t *r = &readers[i];
    if (r->state != S_PLAYING || now < r->next_keepalive_ms) continue;
    r->next_keepalive_ms = now + r->keepalive_every_ms;
    snprintf(h, sizeof h, "Session: %s\r\n", r->session_id);
    send_request(r, "OPTIONS", r->session_url, h, 0);
  }
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i += 2) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (v == NULL) die("missing value after %s", a);
    if (strcmp(a, "--url") == 0) snprintf(url, sizeof url, "%s", v);
    else if (strcmp(a, "--count") == 0) reader_count = positive_int(v, "count");
    else if (strcmp(a, "--ramp") == 0) ramp = positive_int(v, "ramp");
    else if (strcmp(a, "--timeout-ms") == 0) timeout_ms = positive_int(v, "timeoutMs");
    else if (strcmp(a, "--transport") == 0) {
      if (strcmp(v, "tcp") != 0)
        die("--transport %s: this native client reads RTP/AVP/TCP (interleaved) only; use bench/readers.ts "
            "(--readers-impl node) for udp and http",
            v);
    } else if (strcmp(a, "--udp-ports") == 0 || strcmp(a, "--udp-rcvbuf-bytes") == 0) {
      /* UDP options, passed by the fan-out bench whatever the transport: not used over TCP */
    } else die("unknown argument %s", a);
  }
  if (url[0] == '\0') usage_exit("--url is required");
  if (reader_count == 0) reader_count = 1;
  resolve_server();

  signal(SIGPIPE, SIG_IGN);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  srand48((long)now_ms() ^ getpid());
  readers = calloc(reader_count, sizeof(reader_t));
  read_buf = malloc(READ_BUF_BYTES);
  if (readers == NULL || read_buf == NULL) die("out of memory");
  for (int i = 0; i < reader_count; i++) {
    reader_t *r = &readers[i];
    r->fd = -1;
    r->keepalive_every_ms = 20000;
    r->setup_ms = r->connect_ms = r->describe_ms = r->play_reply_ms = -1;
    r->first_packet_ms = r->first_keyframe_ms = -1;
  }
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) die("epoll_create1: %s", strerror(errno));
  /* stdin stays blocking (O_NONBLOCK would reach stdout too when both are one terminal): one read per EPOLLIN */
  struct epoll_event sev = {.events = EPOLLIN, .data.u64 = UINT64_MAX};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &sev) < 0) die("epoll_ctl(stdin): %s", strerror(errno));

  double start = now_ms();
  ramp_start_ms = mark_ms = start;
  getrusage(RUSAGE_SELF, &mark_usage);
  start_more();
  double tick_armed = now_ms(), next_deadline_scan = tick_armed + 50, next_keepalive_scan = tick_armed + 1000;
  static struct epoll_event events[256];
  for (;;) {
    double now = now_ms();
    double wake = next_keepalive_scan;
    if (!ready_sent) {
      if (tick_armed + LOOP_TICK_MS < wake) wake = tick_armed + LOOP_TICK_MS;
      if (next_deadline_scan < wake) wake = next_deadline_scan;
    }
    /* epoll_pwait2 (Linux 5.11): a timeout in ns, so the 5 ms tick is not rounded up to whole ms */
    double wait_ms = wake <= now ? 0 : wake - now;
    struct timespec wait = {.tv_sec = (time_t)(wait_ms / 1000),
                            .tv_nsec = (long)((wait_ms - 1000.0 * (time_t)(wait_ms / 1000)) * 1e6)};
    int n = epoll_pwait2(epfd, events, 256, &wait, NULL);
    if (n < 0 && errno != EINTR) die("epoll_wait: %s", strerror(errno));
    for (int i = 0; i < n; i++) {
      uint64_t id = events[i].data.u64;
      if (id == UINT64_MAX) {
        on_stdin();
        continue;
      }
      reader_t *r = &readers[id];
      if (r->fd < 0) continue;
      if (r->state == S_CONNECTING) {
        if (events[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_connected(r);
      } else {
        on_readable(r);
      }
    }
    now = now_ms();
    if (!ready_sent) {
      /* monitorEventLoopDelay's way: the time from arming a 5 ms tick to the loop getting to it */
      if (now >= tick_armed + LOOP_TICK_MS) {
        push_double(&loop_delays, &n_loop_delays, &cap_loop_delays, now - tick_armed, 1 << 24);
        tick_armed = now;
      }
      if (now >= next_deadline_scan) {
        check_deadlines(now);
        next_deadline_scan = now + 50;
      }
      if (in_flight == 0 && (next_reader == reader_count || stopped)) send_ready();
    }
    if (now >= next_keepalive_scan) {
      send_keepalives(now);
      next_keepalive_scan = now + 1000;
    }
    if (stopped && ready_sent) {
      send_report();
      return 0;
    }
    if (now - start > MAX_RUN_S * 1e3) {
      fprintf(stderr, "rtsp-readers: ran %d s without \"stop\": ending\n", MAX_RUN_S);
      return 4;
    }
  }
}
