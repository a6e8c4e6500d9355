// The prototype, for bench/udp-send.ts's `mmsg` mode only (rtspkit's add-on is packages/udp-batch, checked
// and IPv6-capable; `--modes batch` measures it): what one sendmmsg(2)
// per flush costs against one dgram send per datagram. Build it where a compiler and Node's headers are:
//
//   gcc -O2 -shared -fPIC -I/usr/include/node -DNODE_GYP_MODULE_NAME=udp_batch \
//       bench/native/udp-batch.c -o /tmp/udp-batch.node
//   node dist/bench/udp-send.js --modes single,mmsg --addon /tmp/udp-batch.node
//
// sendBatch(fd, arena, lengths, ports, ipv4, count): datagram i is the next lengths[i] bytes of `arena`, to
// ipv4:ports[i]; returns how many the kernel took (MSG_DONTWAIT: it stops at a full send buffer).
#define _GNU_SOURCE
#include <node_api.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <string.h>
#define MAXB 1024
static struct mmsghdr msgs[MAXB];
static struct iovec iov[MAXB];
static struct sockaddr_in addrs[MAXB];
static napi_value SendBatch(napi_env env, napi_callback_info info) {
  size_t argc = 6; napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd; uint32_t ip, n; napi_get_value_int32(env, argv[0], &fd); napi_get_value_uint32(env, argv[4], &ip);
  napi_get_value_uint32(env, argv[5], &n);
  char* arena; size_t arenaLen; napi_get_buffer_info(env, argv[1], (void**)&arena, &arenaLen);
  void* d; size_t l; napi_typedarray_type t; napi_value ab; size_t off;
  napi_get_typedarray_info(env, argv[2], &t, &l, &d, &ab, &off); uint32_t* lens = d;
  napi_get_typedarray_info(env, argv[3], &t, &l, &d, &ab, &off); uint32_t* ports = d;
  uint32_t total = 0; size_t at = 0;
  for (uint32_t base = 0; base < n; base += MAXB) {
    uint32_t k = n - base < MAXB ? n - base : MAXB;
    for (uint32_t i = 0; i < k; i++) {
      iov[i].iov_base = arena + at; iov[i].iov_len = lens[base + i]; at += lens[base + i];
      memset(&addrs[i], 0, sizeof addrs[i]);
      addrs[i].sin_family = AF_INET; addrs[i].sin_port = htons(ports[base + i]); addrs[i].sin_addr.s_addr = htonl(ip);
      memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
      msgs[i].msg_hdr.msg_name = &addrs[i]; msgs[i].msg_hdr.msg_namelen = sizeof addrs[i];
      msgs[i].msg_hdr.msg_iov = &iov[i]; msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int sent = 0;
    while (sent < (int)k) { int r = sendmmsg(fd, msgs + sent, k - sent, MSG_DONTWAIT); if (r <= 0) break; sent += r; }
    total += sent;
    if (sent < (int)k) break;
  }
  napi_value out; napi_create_uint32(env, total, &out); return out;
}
static napi_value Init(napi_env env, napi_value exports) {
  napi_value fn; napi_create_function(env, "sendBatch", NAPI_AUTO_LENGTH, SendBatch, NULL, &fn);
  napi_set_named_property(env, exports, "sendBatch", fn); return exports;
}
NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
