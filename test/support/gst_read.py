#!/usr/bin/python3
"""GStreamer rtspsrc reader for interop tests (run with the system python3, which has python3-gi).

Why not gst-launch: `rtspsrc name=src src. ! application/x-rtp,media=video ! ... src. ! ...audio...`
uses gst-launch's delayed links, and those race when rtspsrc adds its audio and video pads at the
same moment from two streaming threads (a server that starts a reader at a cached keyframe sends
both at once): one attempt briefly links the shared capsfilter, the other fails for good, its
stream is not-linked and never reaches EOS. Here each pad is linked by its own media type in the
pad-added handler, as applications do.

Usage: gst_read.py URL [--protocols tcp|udp|...] [--video-out FILE] [--prop name=value ...] [--print-pts]
Writes the video as an Annex B byte-stream (H.264 or H.265) to FILE; every other stream goes to
a fakesink. Exits 0 at EOS, 1 on an error, 2 on bad arguments. Prints "linked <media> <encoding>"
for each stream, and with --print-pts "pts video <seconds>" for each video buffer rtspsrc gives.
"""
import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

DEPAYLOADERS = {
    "H264": ("rtph264depay", "h264parse", "video/x-h264,stream-format=byte-stream"),
    "H265": ("rtph265depay", "h265parse", "video/x-h265,stream-format=byte-stream"),
}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--protocols")
    ap.add_argument("--video-out")
    ap.add_argument("--prop", action="append", default=[], help="extra rtspsrc property name=value")
    ap.add_argument("--print-pts", action="store_true", help="print each video buffer's pts")
    args = ap.parse_args()

    Gst.init(None)
    pipeline = Gst.Pipeline.new("reader")
    src = Gst.ElementFactory.make("rtspsrc", "src")
    src.set_property("location", args.url)
    if args.protocols:
        Gst.util_set_object_arg(src, "protocols", args.protocols)  # flags: "tcp+http"
    for prop in args.prop:
        name, _, value = prop.partition("=")
        Gst.util_set_object_arg(src, name, value)
    pipeline.add(src)
    state = {"video_linked": False}

    def branch(description: str) -> Gst.Element:
        bin_ = Gst.parse_bin_from_description(description, True)
        pipeline.add(bin_)
        bin_.sync_state_with_parent()
        return bin_

    def on_pad_added(_src: Gst.Element, pad: Gst.Pad) -> None:
        caps = pad.get_current_caps() or pad.query_caps(None)
        s = caps.get_structure(0)
        media = s.get_string("media") or "?"
        encoding = (s.get_string("encoding-name") or "?").upper()
        if media == "video" and args.video_out and not state["video_linked"] and encoding in DEPAYLOADERS:
            depay, parse, out_caps = DEPAYLOADERS[encoding]
            state["video_linked"] = True
            sink = branch(
                f"queue ! {depay} ! {parse} ! {out_caps} ! "
                f"filesink buffer-mode=unbuffered location={args.video_out}"
            )
        else:
            sink = branch("queue ! fakesink")
        if args.print_pts and media == "video":

            def on_buffer(_pad: Gst.Pad, info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
                pts = info.get_buffer().pts
                if pts != Gst.CLOCK_TIME_NONE:
                    print(f"pts video {pts / Gst.SECOND:.6f}", flush=True)
                return Gst.PadProbeReturn.OK

            pad.add_probe(Gst.PadProbeType.BUFFER, on_buffer)
        result = pad.link(sink.get_static_pad("sink"))
        print(f"linked {media} {encoding} {result.value_nick}", flush=True)

    src.connect("pad-added", on_pad_added)
    loop = GLib.MainLoop()
    status = {"code": 0}

    def on_message(_bus: Gst.Bus, msg: Gst.Message) -> None:
        if msg.type == Gst.MessageType.EOS:
            loop.quit()
        elif msg.type == Gst.MessageType.ERROR:
            err, debug = msg.parse_error()
            print(f"ERROR from {msg.src.get_path_string()}: {err.message}\n{debug}", file=sys.stderr)
            status["code"] = 1
            loop.quit()

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        print("ERROR: the pipeline would not start", file=sys.stderr)
        return 1
    loop.run()
    pipeline.set_state(Gst.State.NULL)
    return status["code"]


if __name__ == "__main__":
    sys.exit(main())
