// @rtspkit/udp-batch: one sendmmsg(2) for many UDP datagrams (Linux). rtspkit's UDP fan-out gathers a
// flush's datagrams for every reader in one arena and hands them to the kernel here, in one call per up
// to BATCH_MAX datagrams, instead of one dgram send (a JS to C++ transition, a libuv call and a
// sendmsg(2)) each. N-API only (NAPI_VERSION 8): one binary serves every Node from 12.22 on.
//
// sendBatch(fd, family, arena, lengths, addresses, ports, count, errnoOut) -> datagrams the kernel took
//   fd        the socket's descriptor (dgram's, non-blocking; MSG_DONTWAIT anyway)
//   family    4 (AF_INET: 4 bytes of each 16-byte address slot are used) or 6 (AF_INET6: all 16)
//   arena     Buffer/Uint8Array: datagram i is the lengths[i] bytes after datagram i-1's
//   lengths   Uint32Array, >= count entries
//   addresses Uint8Array, >= 16 * count bytes: datagram i's destination in network order at 16 * i
//   ports     Uint16Array, >= count entries, host order
//   count     datagrams to send (<= COUNT_MAX)
//   errnoOut  Int32Array, >= 1 entry: 0 when every datagram went, else the errno that stopped the batch
// The kernel takes a prefix: the return value is its length; the caller sends the rest another way (EAGAIN
// when the socket's send buffer is full, or a refusal of datagram number `return value`).
//
// Every length, count and offset is checked against the sizes of the arrays passed before anything is
// read: a bad argument throws (TypeError/RangeError) and nothing is sent. No global or static mutable
// state (the message vectors live on the stack, BATCH_MAX of them), so the module is safe in several
// Node environments at once (worker threads: NAPI_MODULE_INIT registers it per environment).
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

// Datagrams per sendmmsg(2) call (the kernel's own cap, UIO_MAXIOV, is 1024); on the stack: about 28 KB.
#define BATCH_MAX 256
// Datagrams per sendBatch call: bounds the work one call may do.
#define COUNT_MAX 65536
// A UDP payload is at most 65507 bytes (IPv4) / 65527 (IPv6): anything larger is a caller's error.
#define DATAGRAM_MAX 65535

static napi_value throw_error(napi_env env, int range, const char* message) {
  if (range) napi_throw_range_error(env, NULL, message);
  else napi_throw_type_error(env, NULL, message);
  return NULL;
}

// The data and element count of a typed array of `want` type; 0 on a mismatch.
static int typed_array(napi_env env, napi_value value, napi_typedarray_type want, void** data, size_t* length) {
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return 0;
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &type, length, data, &buffer, &offset) != napi_ok) return 0;
  if (type != want) return 0;
  if (*length > 0 && *data == NULL) return 0;
  return 1;
}

static napi_value SendBatch(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 8)
    return throw_error(env, 0, "sendBatch(fd, family, arena, lengths, addresses, ports, count, errnoOut)");

  int32_t fd, family;
  uint32_t count;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) return throw_error(env, 0, "fd");
  if (napi_get_value_int32(env, argv[1], &family) != napi_ok || (family != 4 && family != 6))
    return throw_error(env, 0, "family must be 4 or 6");
  if (napi_get_value_uint32(env, argv[6], &count) != napi_ok) return throw_error(env, 0, "count");
  if (count > COUNT_MAX) return throw_error(env, 1, "count too large");

  uint8_t* arena;
  size_t arena_length;
  if (!typed_array(env, argv[2], napi_uint8_array, (void**)&arena, &arena_length))
    return throw_error(env, 0, "arena must be a Uint8Array");
  uint32_t* lengths;
  size_t lengths_count;
  if (!typed_array(env, argv[3], napi_uint32_array, (void**)&lengths, &lengths_count))
    return throw_error(env, 0, "lengths must be a Uint32Array");
  uint8_t* addresses;
  size_t addresses_length;
  if (!typed_array(env, argv[4], napi_uint8_array, (void**)&addresses, &addresses_length))
    return throw_error(env, 0, "addresses must be a Uint8Array");
  uint16_t* ports;
  size_t ports_count;
  if (!typed_array(env, argv[5], napi_uint16_array, (void**)&ports, &ports_count))
    return throw_error(env, 0, "ports must be a Uint16Array");
  int32_t* errno_out;
  size_t errno_count;
  if (!typed_array(env, argv[7], napi_int32_array, (void**)&errno_out, &errno_count) || errno_count < 1)
    return throw_error(env, 0, "errnoOut must be an Int32Array of 1 or more");
  if (lengths_count < count || ports_count < count || addresses_length / 16 < count)
    return throw_error(env, 1, "lengths, addresses or ports shorter than count");

  // Every datagram inside the arena, before anything is sent (no overflow: each length <= DATAGRAM_MAX
  // and count <= COUNT_MAX, so the sum fits in 32 bits; size_t is at least that).
  size_t total = 0;
  for (uint32_t i = 0; i < count; i++) {
    if (lengths[i] > DATAGRAM_MAX) return throw_error(env, 1, "datagram too large");
    total += lengths[i];
  }
  if (total > arena_length) return throw_error(env, 1, "lengths run past the arena");

  struct mmsghdr messages[BATCH_MAX];
  struct iovec vectors[BATCH_MAX];
  union {
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
  } names[BATCH_MAX];

  errno_out[0] = 0;
  uint32_t sent = 0;
  size_t at = 0;
  while (sent < count) {
    uint32_t n = count - sent < BATCH_MAX ? count - sent : BATCH_MAX;
    size_t chunk_at = at;
    for (uint32_t k = 0; k < n; k++) {
      uint32_t i = sent + k;
      const uint8_t* address = addresses + (size_t)16 * i;
      memset(&names[k], 0, sizeof names[k]);
      memset(&messages[k], 0, sizeof messages[k]);
      if (family == 4) {
        names[k].v4.sin_family = AF_INET;
        names[k].v4.sin_port = htons(ports[i]);
        memcpy(&names[k].v4.sin_addr, address, 4);
        messages[k].msg_hdr.msg_namelen = sizeof names[k].v4;
      } else {
        names[k].v6.sin6_family = AF_INET6;
        names[k].v6.sin6_port = htons(ports[i]);
        memcpy(&names[k].v6.sin6_addr, address, 16);
        messages[k].msg_hdr.msg_namelen = sizeof names[k].v6;
      }
      vectors[k].iov_base = arena + chunk_at;
      vectors[k].iov_len = lengths[i];
      chunk_at += lengths[i];
      messages[k].msg_hdr.msg_name = &names[k];
      messages[k].msg_hdr.msg_iov = &vectors[k];
      messages[k].msg_hdr.msg_iovlen = 1;
    }
    // sendmmsg returns how many of the vector went; an error on the first is returned as -1/errno. A
    // datagram after the first that fails ends the call early with the count so far: the next call
    // (this loop) then reports that datagram's errno.
    uint32_t done = 0;
    while (done < n) {
      int r = sendmmsg(fd, messages + done, n - done, MSG_DONTWAIT);
      if (r < 0) {
        if (errno == EINTR) continue;
        errno_out[0] = errno;
        break;
      }
      if (r == 0) {
        errno_out[0] = EAGAIN;
        break;
      }
      for (int k = 0; k < r; k++) at += messages[done + k].msg_hdr.msg_iov->iov_len;
      done += (uint32_t)r;
    }
    sent += done;
    if (done < n) break;
  }

  napi_value result;
  if (napi_create_uint32(env, sent, &result) != napi_ok) return NULL;
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "sendBatch", NAPI_AUTO_LENGTH, SendBatch, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "sendBatch", fn) != napi_ok) return NULL;
  return exports;
}
