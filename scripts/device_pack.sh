#!/usr/bin/env bash
# Pack the training side of music_speech/ (made by `make corpus`) for a GPU
# machine that cannot reach ../shared/corpus: Opus at 20 kbit/s, about 23 MB
# for 2.5 hours, so that it fits the 64 MiB a device call carries.
# Needs opusenc (Debian's opus-tools).
# Usage: scripts/device_pack.sh [OUT_DIR]   (default .devdata; git-ignored)
set -euo pipefail
out=${1:-.devdata}
for kind in speech music; do
  mkdir -p "$out/$kind"
  for f in music_speech/${kind}_wav/*.flac; do
    opusenc --quiet --bitrate 20 "$f" "$out/$kind/$(basename "${f%.flac}").ogg"
  done
done
du -sh "$out"
