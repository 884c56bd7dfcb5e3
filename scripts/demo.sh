#!/usr/bin/env bash
# Installs everything, renders the shipped sample EDL into out/sample-cut.mp4 and checks it, then
# analyses the sample footage and searches it.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
.venv/bin/clipagent doctor || true
.venv/bin/clipagent render samples/edl.json -o out/sample-cut.mp4
.venv/bin/clipagent probe out/sample-cut.mp4 --loudness
.venv/bin/clipagent analyze samples/media
.venv/bin/clipagent search samples/media "finished cut" --contact-sheet out/search-finished-cut.png
