#!/usr/bin/env bash
# Installs everything, then runs the main job on the shipped samples: the sample brief over the
# sample footage becomes out/brief/ (cut.mp4, edl.json, plan.md, captions.srt, storyboard.png,
# report.json). Offline it uses the heuristic planner; with OPENAI_BASE_URL set, the LLM planner.
# --transcripts whisper: the words come from the shipped Whisper models, not the samples' .srt sidecars
# (which stay for the tests that need exact words).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
.venv/bin/clipagent doctor || true
.venv/bin/clipagent edit samples/brief.md samples/media/ -o out/brief --transcripts whisper
.venv/bin/clipagent probe out/brief/cut.mp4 --loudness
