#!/usr/bin/python3
"""GStreamer rtspsrc in ONVIF mode, seeking in clock time (for test/recording-replay-gst.test.ts).

Usage: gst_onvif_replay.py URL --protocols tcp|udp --start UNIX_MS [--stop UNIX_MS] [--rate R]
                           [--prop name=value ...] [--until-eos]

In onvif-mode rtspsrc's segments are in clock time: nanoseconds since the NTP epoch (1900), the
`Range: clock=` of the replies. A seek with that format, sent while PAUSED, becomes the first PLAY's
`Range: clock=` and its rate the `Scale` (as the onvif-mode documentation of rtspsrc describes).
Prints one line per video access unit that leaves rtspsrc (its marker packet), from the ONVIF replay
header extension: `frame <unix ms> <C><E><D><T>` (0/1 each), `terminal` after the frame with T (and
leaves there unless --until-eos), then `eos` at EOS. Exits 0 at EOS or T, 1 on an error, 2 on bad
arguments.
"""
import argparse
import os
import struct
import sys
import threading

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtp", "1.0")
from gi.repository import GLib, Gst, GstRtp  # noqa: E402

NTP_UNIX_OFFSET_S = 2208988800
REPLAY_EXTENSION = 0xABAC


def ns_since_1900(unix_ms: int) -> int:
    return (unix_ms + NTP_UNIX_OFFSET_S * 1000) * 1_000_000


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--protocols", default="tcp")
    ap.add_argument("--start", type=int, required=True)
    ap.add_argument("--stop", type=int)
    ap.add_argument("--rate", type=float, default=1.0)
    ap.add_argument("--prop", action="append", default=[])
    ap.add_argument("--until-eos", action="store_true", help="read on after the T bit, until EOS")
    args = ap.parse_args()

    Gst.init(None)
    pipeline = Gst.Pipeline.new("replay")
    src = Gst.ElementFactory.make("rtspsrc", "src")
    src.set_property("location", args.url)
    src.set_property("onvif-mode", True)
    Gst.util_set_object_arg(src, "protocols", args.protocols)
    for prop in args.prop:
        name, _, value = prop.partition("=")
        Gst.util_set_object_arg(src, name, value)
    pipeline.add(src)

    def on_buffer(_pad, info):
        buf = info.get_buffer()
        ok, rtp = GstRtp.RTPBuffer.map(buf, Gst.MapFlags.READ)
        if not ok:
            return Gst.PadProbeReturn.OK
        try:
            if not rtp.get_marker():
                return Gst.PadProbeReturn.OK
            ext = rtp.get_extension_data()  # (GLib.Bytes of the words after the 4-byte header, bits)
            data = bytes(ext[0].get_data()) if ext is not None and ext[0] is not None else b""
            if ext is None or ext.bits != REPLAY_EXTENSION or len(data) < 12:
                print("frame-without-extension", flush=True)
                return Gst.PadProbeReturn.OK
            seconds, fraction = struct.unpack(">II", bytes(data[0:8]))
            flags = data[8]
            unix_ms = (seconds - NTP_UNIX_OFFSET_S) * 1000 + fraction * 1000 / 2**32
            bits_text = "".join("1" if flags & m else "0" for m in (0x80, 0x40, 0x20, 0x10))
            print(f"frame {unix_ms:.3f} {bits_text}", flush=True)
            if flags & 0x10:
                # T: the last frame of the replay (ONVIF Streaming §6.3). rtspsrc 1.22 over TCP at a
                # speed other than 1 queues the EOS of the server's BYE in its jitter buffer and never
                # lets it out, so the replay's own end mark ends the reading.
                print("terminal", flush=True)
                if not args.until_eos:
                    GLib.idle_add(loop.quit)
        finally:
            rtp.unmap()
        return Gst.PadProbeReturn.OK

    def on_pad_added(_src, pad):
        caps = pad.get_current_caps() or pad.query_caps(None)
        media = caps.get_structure(0).get_string("media") or "?"
        sink = Gst.parse_bin_from_description("queue ! fakesink sync=false", True)
        pipeline.add(sink)
        sink.sync_state_with_parent()
        pad.link(sink.get_static_pad("sink"))
        if media == "video":
            pad.add_probe(Gst.PadProbeType.BUFFER, on_buffer)

    src.connect("pad-added", on_pad_added)
    loop = GLib.MainLoop()
    status = {"code": 0}

    def on_message(_bus, msg):
        if msg.type == Gst.MessageType.EOS:
            print("eos", flush=True)
            loop.quit()
        elif msg.type == Gst.MessageType.ERROR:
            err, debug = msg.parse_error()
            print(f"error {err.message} {debug}", file=sys.stderr, flush=True)
            status["code"] = 1
            loop.quit()

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)

    stop_type = Gst.SeekType.NONE if args.stop is None else Gst.SeekType.SET
    stop = -1 if args.stop is None else ns_since_1900(args.stop)
    start = ns_since_1900(args.start)
    # With a negative rate GStreamer plays from stop down to start (start < stop all the same).
    seek = Gst.Event.new_seek(
        args.rate,
        Gst.Format.TIME,
        Gst.SeekFlags.FLUSH | Gst.SeekFlags.ACCURATE,
        Gst.SeekType.SET,
        start,
        stop_type,
        stop,
    )

    def on_progress(_bus, msg):
        # rtspsrc has no source pads before data flows, so the seek goes to the element itself, once it
        # has DESCRIBEd and SET UP (its "open" completes); then PLAYING sends the one PLAY.
        kind, code, _text = msg.parse_progress()
        if code == "open" and kind == Gst.ProgressType.COMPLETE:
            if not src.send_event(seek):
                print("error seek refused", file=sys.stderr, flush=True)
                status["code"] = 1
                loop.quit()
                return
            pipeline.set_state(Gst.State.PLAYING)

    bus.connect("message::progress", on_progress)
    pipeline.set_state(Gst.State.PAUSED)
    loop.run()
    # Going to NULL sends TEARDOWN; after a replay ended by its T bit (no EOS) rtspsrc 1.22 over TCP
    # sometimes never returns from it. What was read is printed already: wait a little, then leave.
    closer = threading.Thread(target=pipeline.set_state, args=(Gst.State.NULL,), daemon=True)
    closer.start()
    closer.join(5)
    sys.stdout.flush()
    os._exit(status["code"])


if __name__ == "__main__":
    sys.exit(main())
