#!/usr/bin/env bash
# Makes media/demo.mp4, the clip rtspkit loops as its demo stream (see media/README.md).
#
# Only ffmpeg's lavfi generators are used (no input files), with fixed parameters:
#   video  testsrc2 640x360 @ 25 fps, 10 s (250 frames), with a burnt-in counter (frame number and
#          time in the loop) when DejaVu Sans Mono is installed (drawtext); testsrc2 alone otherwise
#          (it already moves and shows a frame counter of its own).
#          H.264 Constrained Baseline (x264 `-profile:v baseline`: no B-frames, CAVLC, so every
#          player and hardware decoder copes), level 3.0, GOP 1 s (an IDR every 25 frames, no
#          scene-cut keyframes), ~700 kbit/s capped with a VBV so the file size stays predictable.
#   audio  sine 440 Hz with a 1760 Hz beep at every second (beep_factor=4), 48 kHz, upmixed to
#          stereo, AAC-LC 128 kbit/s, 10 s.
#   file   both streams exactly 10 s (the loop source wraps audio and video together, so their
#          lengths must match), moov at the front (+faststart), no creation time or encoder tags
#          (bitexact), about 1 MB.
#
# Usage: scripts/make-demo.sh [output]   (default: media/demo.mp4 at the repository root)
# Needs: ffmpeg with libx264 and the native aac encoder (Debian's ffmpeg 5.1 was used).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/media/demo.mp4}"
mkdir -p "$(dirname "$out")"

DURATION=10
FPS=25
SIZE=640x360
FONT=/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf

vf="format=yuv420p"
if [[ -r "$FONT" ]]; then
  # Frame number (n) and presentation time within the clip; both restart at every loop.
  vf="drawtext=fontfile=$FONT:fontsize=24:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=8"
  vf+=":x=16:y=h-th-24:text='rtspkit  frame %{frame_num}  %{pts\\:hms}'"
  vf+=",format=yuv420p"
else
  echo "make-demo: $FONT not found: testsrc2 without the drawtext counter" >&2
fi

ffmpeg -hide_banner -loglevel error -nostdin -y \
  -f lavfi -i "testsrc2=size=$SIZE:rate=$FPS:duration=$DURATION" \
  -f lavfi -i "sine=frequency=440:beep_factor=4:sample_rate=48000:duration=$DURATION" \
  -map 0:v -map 1:a \
  -vf "$vf" \
  -c:v libx264 -preset medium -profile:v baseline -level 3.0 -pix_fmt yuv420p \
  -g $FPS -keyint_min $FPS -sc_threshold 0 -bf 0 \
  -b:v 700k -maxrate 800k -bufsize 800k -threads 1 \
  -c:a aac -b:a 128k -ar 48000 -ac 2 \
  -t $DURATION -shortest \
  -map_metadata -1 -fflags +bitexact -flags:v +bitexact -flags:a +bitexact \
  -movflags +faststart \
  "$out"

ls -l "$out"
