#!/usr/bin/python3
"""gst-rtsp-server peer for `npm run bench:vod`: one MP4 file served ON DEMAND, one pipeline per client.

    /usr/bin/python3 bench/gst_vod_server.py --file F.mp4 --port P [--mount /vod] [--max-seconds 600]

Run it with the system Python (/usr/bin/python3: python3-gi, gir1.2-gst-rtsp-server-1.0). The media factory is
NOT shared, so every client gets its own ( filesrc ! qtdemux ! parse ! payloader ) pipeline and its PLAY
`Range: npt=X-` seeks only that pipeline: the on-demand counterpart of rtspkit's `serve --media DIR`.
Readers over TCP interleaved only (like rtspkit with --no-udp). Loopback only. Prints "ready pid=N port=P" on
stderr once it accepts connections; exits by itself after --max-seconds, or on SIGINT/SIGTERM.
"""
import argparse
import os
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

Gst.init(None)


def log(*a):
    print("[gst_vod_server]", *a, file=sys.stderr, flush=True)


def launch_line(path):
    # qtdemux names its pads video_0 / audio_0; config-interval=-1 repeats SPS/PPS before every IDR so a reader
    # that starts after a seek can decode at once (rtspkit sends them in the SDP and with each keyframe too).
    loc = GLib.strescape(path)
    return (
        f'( filesrc location="{loc}" ! qtdemux name=d '
        "d.video_0 ! queue ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1 "
        "d.audio_0 ! queue ! aacparse ! rtpmp4gpay name=pay1 pt=97 )"
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--file", required=True, help="MP4 file (H.264 + AAC) to serve on demand")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--mount", default="/vod")
    ap.add_argument("--backlog", type=int, default=1024)
    ap.add_argument("--max-seconds", type=float, default=600, help="exit after this many seconds")
    a = ap.parse_args()
    if not 1024 <= a.port <= 65535:
        sys.exit(f"port {a.port} outside 1024-65535")
    if a.bind not in ("127.0.0.1", "::1"):
        sys.exit("loopback only")
    path = os.path.abspath(a.file)
    if not os.path.isfile(path):
        sys.exit(f"no such file: {path}")

    server = GstRtspServer.RTSPServer()
    server.set_address(a.bind)
    server.set_service(str(a.port))
    server.set_backlog(a.backlog)

    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch_line(path))
    factory.set_shared(False)  # one pipeline per client: independent seeks
    factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP)
    factory.set_stop_on_disconnect(True)
    server.get_mount_points().add_factory(a.mount, factory)

    if server.attach(None) == 0:
        sys.exit("failed to bind RTSP port")
    loop = GLib.MainLoop()
    GLib.timeout_add(int(a.max_seconds * 1000), loop.quit)
    for s in (signal.SIGINT, signal.SIGTERM):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, s, loop.quit)

    def cleanup_sessions():
        # Sessions of readers that went away without TEARDOWN end at their timeout; this reaps them.
        server.get_session_pool().cleanup()
        return True

    GLib.timeout_add_seconds(2, cleanup_sessions)
    log(f"serving {path} on demand (one pipeline per client) at rtsp://{a.bind}:{a.port}{a.mount}")
    log(f"ready pid={os.getpid()} port={a.port}")
    loop.run()
    log("exit")
    # Skip interpreter finalisation: media threads of gst-rtsp-server may still call into Python.
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
