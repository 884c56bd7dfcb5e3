#!/usr/bin/env bash
# Installs everything clipagent needs, idempotently:
#   - system packages (ffmpeg, fonts, espeak-ng, libGL for OpenCV) with apt-get when running as root on Debian/Ubuntu;
#   - a virtualenv in .venv with clipagent and its Python dependencies.
# Without root or apt, it says what is missing; clipagent then uses the ffmpeg binary inside
# the imageio-ffmpeg package.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ] || missing+=(fonts-dejavu-core)
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
python3 -c "import ensurepip, venv" >/dev/null 2>&1 || missing+=(python3-venv)
# melt (MLT) renders the MLT export headless; tesseract reads captions and end cards off frames in
# the tests; Noto fonts give captions real glyphs for CJK, right-to-left scripts and emoji.
command -v melt >/dev/null 2>&1 || missing+=(melt)
command -v tesseract >/dev/null 2>&1 || missing+=(tesseract-ocr tesseract-ocr-eng)
[ -d /usr/share/fonts/opentype/noto ] || missing+=(fonts-noto-cjk)
[ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing+=(fonts-noto-color-emoji)
[ -f /usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf ] || missing+=(fonts-noto-core)
# libass draws no bitmap (colour) emoji: Symbola gives captions outline emoji.
fc-list 2>/dev/null | grep -q Symbola || missing+=(fonts-symbola)
# OpenCV's wheel (shot detection) links libGL and glib.
ldconfig -p 2>/dev/null | grep -q "libGL.so.1 " || missing+=(libgl1)
ldconfig -p 2>/dev/null | grep -q "libgthread-2.0.so.0 " || missing+=(libglib2.0-0)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: not installing ${missing[*]} (needs root and apt-get); clipagent falls back to imageio-ffmpeg's ffmpeg" >&2
  fi
fi

python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "setup: Python 3.11+ is required" >&2; exit 2; }
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[models,scale,test]" 2>&1 | grep -v "^WARNING: Location" || true
# MTCNN face detection (reframing): facenet-pytorch 2.6.0 ships its weights in the wheel but pins
# torch<2.3; MTCNN itself is plain torch, so it goes in without its pins.
.venv/bin/python -c "import facenet_pytorch" >/dev/null 2>&1 \
  || .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps "facenet-pytorch==2.6.0" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import clipagent" || { echo "setup: installing clipagent failed" >&2; exit 1; }
