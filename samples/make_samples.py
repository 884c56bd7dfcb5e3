#!/usr/bin/env python3
"""Generate small, deterministic sample media for clipagent tests and demos.

Standalone: Python 3.11 standard library only.  Calls ``ffmpeg`` and
``espeak-ng`` through subprocess.

Usage::

    python3 samples/make_samples.py [--out DIR] [--ffmpeg PATH] [--espeak PATH]

Writes into ``--out`` (default: ``media/`` next to this script):

    host_intro.mp4 + host_intro.srt   talking-host clip with speech (12 s)
    host_tips.mp4  + host_tips.srt    talking-host clip with a filler and a long pause (16 s)
    broll_city.mp4                    9 s, three shots, hard cuts at 3.0 s and 6.0 s
    broll_nature.mp4                  8 s @ 25 fps, hard cut at 4.0 s, no audio stream
    product_vertical.mp4              360x640 portrait, 6 s, one shot
    music.m4a                         30 s synthesized 120 BPM music bed
    logo.png                          256x128 RGBA with transparent background
    manifest.json                     what was generated (durations, cuts, sentence timings)

Every file is written to a temporary name in the output folder and then
moved into place with os.replace, so readers never see half-written files.
Re-running with the same ffmpeg/espeak-ng builds gives byte-identical output
(bitexact flags, fixed seeds, fixed encoder thread count, no metadata).
"""

from __future__ import annotations

import argparse
import array
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import wave
import zlib
from pathlib import Path

# --------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------

AUDIO_RATE = 48000          # output audio sample rate (Hz)
ESPEAK_VOICE = "en-us"
ESPEAK_WPM = 150
SPEECH_TRIM_THRESHOLD = 64  # |sample| (int16) above which espeak output counts as sound
START_GRID = 0.1            # sentence start times are placed on a 0.1 s grid
NOISE_FLOOR_AMPLITUDE = 10 ** (-50 / 20)  # -50 dB white noise under the speech

# Common encoder settings (determinism + size).
BITEXACT = ["-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact"]
X264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "30", "-pix_fmt", "yuv420p",
        "-profile:v", "high", "-threads", "4"]  # fixed thread count -> same bytes on any machine
AAC = ["-c:a", "aac", "-ar", str(AUDIO_RATE), "-ac", "2"]
# Prefixed to every filtergraph so auto-inserted scalers are bit-exact too.
SWS = "sws_flags=bicubic+accurate_rnd+full_chroma_int+bitexact;"


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise RuntimeError(
            f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-4000:]}")


def tmp_name(final: Path) -> Path:
    # Same folder (so os.replace is atomic), same extension (so tools that look at it work).
    return final.with_name(f".{final.stem}.tmp-{os.getpid()}{final.suffix}")


def write_atomic_bytes(final: Path, data: bytes) -> None:
    tmp = tmp_name(final)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_atomic_text(final: Path, text: str) -> None:
    write_atomic_bytes(final, text.encode("utf-8"))


def ffmpeg_to(ffmpeg: str, final: Path, args: list[str], fmt: str) -> None:
    """Run ffmpeg writing to a temp file next to ``final``, then os.replace it."""
    tmp = tmp_name(final)
    cmd = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args,
           "-map_metadata", "-1", "-map_chapters", "-1", *BITEXACT, "-f", fmt, str(tmp)]
    try:
        run(cmd)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def mp4_flags() -> list[str]:
    return ["-movflags", "+faststart"]


# --------------------------------------------------------------------------
# Speech
# --------------------------------------------------------------------------

class Speech:
    """A trimmed mono int16 espeak-ng utterance."""

    def __init__(self, text: str, samples: array.array, rate: int):
        self.text = text
        self.samples = samples
        self.rate = rate

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate


def synth(espeak: str, text: str, workdir: Path, idx: int) -> Speech:
    wav_path = workdir / f"utt{idx:02d}.wav"
    run([espeak, "-v", ESPEAK_VOICE, "-s", str(ESPEAK_WPM), "-w", str(wav_path), text])
    with wave.open(str(wav_path), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise RuntimeError(f"unexpected espeak-ng WAV format: {w.getparams()}")
        rate = w.getframerate()
        pcm = array.array("h")
        pcm.frombytes(w.readframes(w.getnframes()))
    if sys.byteorder == "big":
        pcm.byteswap()
    loud = [i for i, s in enumerate(pcm) if abs(s) > SPEECH_TRIM_THRESHOLD]
    if not loud:
        raise RuntimeError(f"espeak-ng produced silence for {text!r}")
    # Trim leading/trailing silence so the utterance's first/last sample is real sound;
    # that makes "start/end of this sentence's audio" exact once it is placed.
    trimmed = pcm[loud[0]:loud[-1] + 1]
    return Speech(text, trimmed, rate)


def ceil_grid(t: float, grid: float = START_GRID) -> float:
    return round(math.ceil(round(t / grid, 6)) * grid, 6)


def layout_speech(espeak: str, workdir: Path, script: list[dict], total: float,
                  lead: float) -> tuple[array.array, int, list[dict]]:
    """Place sentences on a timeline.

    ``script`` items: {"parts": [text, ...], "gap_before": seconds, "part_gap": seconds}.
    A sentence may be spoken as several utterances (e.g. a filler "Um," then the rest)
    so the filler's own timing is known.  Each sentence starts on a 0.1 s grid at or
    after (previous end + gap_before).  Returns (pcm, rate, sentences).
    """
    utt_idx = 0
    placed: list[tuple[int, Speech]] = []
    sentences = []
    cursor = lead
    rate = None
    for item in script:
        start_t = ceil_grid(cursor + item.get("gap_before", 0.0)) if sentences else lead
        parts_info = []
        t = start_t
        for p_i, text in enumerate(item["parts"]):
            sp = synth(espeak, text, workdir, utt_idx)
            utt_idx += 1
            rate = rate or sp.rate
            if sp.rate != rate:
                raise RuntimeError("espeak-ng sample rate changed between utterances")
            if p_i > 0:
                t = t + item.get("part_gap", 0.2)
            start_sample = round(t * rate)
            placed.append((start_sample, sp))
            p_start = start_sample / rate
            p_end = (start_sample + len(sp.samples)) / rate
            parts_info.append({"text": text, "start": p_start, "end": p_end})
            t = p_end
        sentence = {
            "text": " ".join(p["text"] for p in parts_info),
            "start": parts_info[0]["start"],
            "end": parts_info[-1]["end"],
        }
        if len(parts_info) > 1:
            sentence["parts"] = parts_info
        sentences.append(sentence)
        cursor = sentence["end"]
    assert rate is not None
    n_total = round(total * rate)
    if round(cursor * rate) > n_total - round(0.4 * rate):
        raise RuntimeError(f"speech ({cursor:.2f}s) does not fit in {total}s; "
                           "espeak-ng timing differs from what this script expects")
    pcm = array.array("h", bytes(2 * n_total))
    for start_sample, sp in placed:
        pcm[start_sample:start_sample + len(sp.samples)] = sp.samples
    return pcm, rate, sentences


def write_wav(path: Path, pcm: array.array, rate: int) -> None:
    data = pcm
    if sys.byteorder == "big":
        data = array.array("h", pcm)
        data.byteswap()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(data.tobytes())


def srt_time(t: float) -> str:
    ms = round(t * 1000)
    h, ms = divmod(ms, 3600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def make_srt(sentences: list[dict]) -> str:
    blocks = []
    for i, s in enumerate(sentences, 1):
        blocks.append(f"{i}\n{srt_time(s['start'])} --> {srt_time(s['end'])}\n{s['text']}\n")
    return "\n".join(blocks)


def r3(x: float) -> float:
    return round(x, 3)


# --------------------------------------------------------------------------
# Generators
# --------------------------------------------------------------------------

def host_video_graph(duration: float, fps: int, c0: str, c1: str, body: str, head: str,
                     seed: int) -> str:
    """A 'talking host': slowly moving gradient backdrop with a bobbing torso + head."""
    n = round(duration * fps)
    return (
        f"gradients=s=640x360:r={fps}:c0={c0}:c1={c1}:nb_colors=2:seed={seed}:speed=0.004,"
        f"trim=end_frame={n}[bg];"
        f"color=c={body}:s=200x150:r={fps},trim=end_frame={n}[body];"
        f"color=c={head}:s=100x100:r={fps},trim=end_frame={n}[head];"
        f"[bg][body]overlay=x='220+6*sin(2*PI*0.4*t)':y=210:shortest=1[v1];"
        # the head bobs a little faster, like someone talking
        f"[v1][head]overlay=x='270+6*sin(2*PI*0.4*t)':y='95+5*sin(2*PI*2.1*t)':shortest=1,"
        f"format=yuv420p[v]"
    )


def make_host(ffmpeg: str, espeak: str, out: Path, workdir: Path, name: str,
              script: list[dict], duration: float, look: dict, noise_seed: int) -> dict:
    fps = 30
    pcm, rate, sentences = layout_speech(espeak, workdir, script, duration, lead=0.5)
    wav_path = workdir / f"{name}_speech.wav"
    write_wav(wav_path, pcm, rate)
    n_frames = round(duration * fps)
    n_audio = round(duration * AUDIO_RATE)
    graph = SWS + host_video_graph(duration, fps, **look) + ";" + (
        f"[0:a]aresample={AUDIO_RATE},aformat=sample_fmts=fltp:channel_layouts=mono[sp];"
        f"anoisesrc=r={AUDIO_RATE}:a={NOISE_FLOOR_AMPLITUDE:.6f}:c=white:seed={noise_seed},"
        f"aformat=sample_fmts=fltp:channel_layouts=mono[nz];"
        f"[sp][nz]amix=inputs=2:normalize=0:duration=first,"
        f"apad=whole_len={n_audio},atrim=end_sample={n_audio},"
        f"aformat=sample_fmts=fltp:channel_layouts=stereo[a]"
    )
    ffmpeg_to(ffmpeg, out / f"{name}.mp4",
              ["-i", str(wav_path), "-filter_complex", graph, "-map", "[v]", "-map", "[a]",
               *X264, "-g", str(2 * fps),
               *AAC, "-b:a", "96k", *mp4_flags()],
              "mp4")
    write_atomic_text(out / f"{name}.srt", make_srt(sentences))
    log(f"  {name}.mp4 + {name}.srt")
    man_sentences = []
    for s in sentences:
        d = {"text": s["text"], "start": r3(s["start"]), "end": r3(s["end"])}
        if "parts" in s:
            d["parts"] = [{"text": p["text"], "start": r3(p["start"]), "end": r3(p["end"])}
                          for p in s["parts"]]
        man_sentences.append(d)
    return {
        "kind": "talking_head",
        "duration": duration, "width": 640, "height": 360, "fps": fps, "frames": n_frames,
        "has_audio": True, "audio_sample_rate": AUDIO_RATE, "audio_channels": 2,
        "cuts": [],
        "srt": f"{name}.srt",
        "speech": {"voice": ESPEAK_VOICE, "wpm": ESPEAK_WPM},
        "sentences": man_sentences,
    }


def ambience(label: str, duration: float, color: str, amp: float, seed: int) -> str:
    """Quiet decorrelated stereo noise bed, exact length."""
    n = round(duration * AUDIO_RATE)
    return (
        f"anoisesrc=r={AUDIO_RATE}:a={amp}:c={color}:seed={seed},atrim=end_sample={n}[{label}l];"
        f"anoisesrc=r={AUDIO_RATE}:a={amp}:c={color}:seed={seed + 1},atrim=end_sample={n}[{label}r];"
        f"[{label}l][{label}r]join=inputs=2:channel_layout=stereo,"
        f"aformat=sample_fmts=fltp:channel_layouts=stereo[{label}]"
    )


def make_broll_city(ffmpeg: str, out: Path) -> dict:
    fps, shot = 30, 3.0
    n = round(shot * fps)
    graph = SWS + (
        # shot 1: bright, colourful test pattern (scrolling)
        f"testsrc2=s=640x360:r={fps},trim=end_frame={n},format=yuv420p[s1];"
        # shot 2: dark zooming fractal
        f"mandelbrot=s=640x360:r={fps}:maxiter=200:start_scale=2.5:end_scale=0.8:end_pts=60,"
        f"trim=end_frame={n},setpts=PTS-STARTPTS,"
        f"colorchannelmixer=rr=0.3:gg=0.3:bb=0.45,format=yuv420p[s2];"  # darken: 'night'
        # shot 3: saturated orange 'sunset' with a dark block sliding across
        f"color=c=0xff8c1a:s=640x360:r={fps},trim=end_frame={n}[bg3];"
        f"color=c=0x202020:s=160x220:r={fps},trim=end_frame={n}[blk];"
        f"[bg3][blk]overlay=x='-160+t*280':y=100:shortest=1,format=yuv420p[s3];"
        f"[s1][s2][s3]concat=n=3:v=1:a=0,format=yuv420p[v];"
    ) + ambience("a", 3 * shot, "brown", 0.09, 101)
    ffmpeg_to(ffmpeg, out / "broll_city.mp4",
              ["-filter_complex", graph, "-map", "[v]", "-map", "[a]",
               *X264, "-g", str(2 * fps),
               *AAC, "-b:a", "64k", *mp4_flags()],
              "mp4")
    log("  broll_city.mp4")
    return {
        "kind": "broll",
        "duration": 3 * shot, "width": 640, "height": 360, "fps": fps, "frames": 3 * n,
        "has_audio": True, "audio_sample_rate": AUDIO_RATE, "audio_channels": 2,
        "cuts": [shot, 2 * shot],
        "shots": [{"start": 0.0, "end": shot, "desc": "testsrc2 colour pattern"},
                  {"start": shot, "end": 2 * shot, "desc": "dark mandelbrot zoom"},
                  {"start": 2 * shot, "end": 3 * shot, "desc": "orange with sliding dark block"}],
    }


def make_broll_nature(ffmpeg: str, out: Path) -> dict:
    fps, shot = 25, 4.0
    n = round(shot * fps)
    graph = SWS + (
        # shot 1: dark green 'forest' gradient drifting
        f"gradients=s=640x360:r={fps}:c0=0x0b3d0b:c1=0x2e7d32:nb_colors=2:seed=7:speed=0.02,"
        f"trim=end_frame={n},format=yuv420p[s1];"
        # shot 2: bright sky blue with a yellow 'sun' rising
        f"color=c=0x87ceeb:s=640x360:r={fps},trim=end_frame={n}[sky];"
        f"color=c=0xffe135:s=90x90:r={fps},trim=end_frame={n}[sun];"
        f"[sky][sun]overlay=x='100+t*60':y='230-t*35':shortest=1,format=yuv420p[s2];"
        f"[s1][s2]concat=n=2:v=1:a=0,format=yuv420p[v]"
    )
    ffmpeg_to(ffmpeg, out / "broll_nature.mp4",
              ["-filter_complex", graph, "-map", "[v]", "-an",
               *X264, "-g", str(2 * fps), *mp4_flags()],
              "mp4")
    log("  broll_nature.mp4")
    return {
        "kind": "broll",
        "duration": 2 * shot, "width": 640, "height": 360, "fps": fps, "frames": 2 * n,
        "has_audio": False,
        "cuts": [shot],
        "shots": [{"start": 0.0, "end": shot, "desc": "dark green gradient"},
                  {"start": shot, "end": 2 * shot, "desc": "sky blue with yellow sun"}],
    }


def make_product_vertical(ffmpeg: str, out: Path) -> dict:
    fps, duration = 30, 6.0
    n = round(duration * fps)
    graph = SWS + (
        f"gradients=s=360x640:r={fps}:c0=0x3a1c71:c1=0xd76d77:nb_colors=2:seed=3:speed=0.005,"
        f"trim=end_frame={n}[bg];"
        f"color=c=0xf5f5f5:s=150x150:r={fps},trim=end_frame={n},format=rgba,"
        f"rotate=a='t*PI/3':ow='hypot(iw,ih)':oh=ow:c=black@0[prod];"
        f"[bg][prod]overlay=x='(W-w)/2':y='(H-h)/2+20*sin(2*PI*t/6)':shortest=1,"
        f"format=yuv420p[v];"
    ) + ambience("a", duration, "pink", 0.094, 301)
    ffmpeg_to(ffmpeg, out / "product_vertical.mp4",
              ["-filter_complex", graph, "-map", "[v]", "-map", "[a]",
               *X264, "-g", str(2 * fps),
               *AAC, "-b:a", "64k", *mp4_flags()],
              "mp4")
    log("  product_vertical.mp4")
    return {
        "kind": "broll",
        "duration": duration, "width": 360, "height": 640, "fps": fps, "frames": n,
        "has_audio": True, "audio_sample_rate": AUDIO_RATE, "audio_channels": 2,
        "cuts": [],
    }


def make_music(ffmpeg: str, out: Path) -> dict:
    duration, bpm = 30.0, 120
    beat = 60.0 / bpm
    n = round(duration * AUDIO_RATE)
    tb = f"mod(t,{beat})"
    # Kick: sine sweeping ~145 Hz -> 45 Hz with fast exponential decay, on every beat.
    kick = f"0.55*sin(2*PI*(45*{tb}+4*(1-exp(-25*{tb}))))*exp(-9*{tb})"
    # Soft sustained A-minor chord with a slow swell (period = 4 bars = 8 s).
    swell = "(0.8+0.2*sin(2*PI*t/8))"
    left = (f"{kick}+{swell}*(0.05*sin(2*PI*110*t)+0.045*sin(2*PI*220*t)"
            f"+0.03*sin(2*PI*261.63*t)+0.04*sin(2*PI*329.63*t))")
    right = (f"{kick}+{swell}*(0.05*sin(2*PI*110*t)+0.03*sin(2*PI*220*t)"
             f"+0.045*sin(2*PI*261.63*t)+0.035*sin(2*PI*329.63*t))")
    graph = (
        f"aevalsrc=exprs='{left}|{right}':s={AUDIO_RATE}:c=stereo,"
        f"atrim=end_sample={n},afade=t=out:st={duration - 0.05}:d=0.05,"
        f"volume=0.83,aformat=sample_fmts=fltp:channel_layouts=stereo[a]"
    )
    ffmpeg_to(ffmpeg, out / "music.m4a",
              ["-filter_complex", graph, "-map", "[a]", *AAC, "-b:a", "128k", *mp4_flags()],
              "ipod")
    log("  music.m4a")
    return {
        "kind": "music",
        "duration": duration, "has_audio": True, "has_video": False,
        "audio_sample_rate": AUDIO_RATE, "audio_channels": 2,
        "bpm": bpm, "beat_interval": beat,
        "beats": {"first": 0.0, "count": int(duration / beat)},
    }


def png_bytes(width: int, height: int, rgba_rows: list[bytes]) -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))
    raw = b"".join(b"\x00" + row for row in rgba_rows)  # filter type 0 per row
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


def make_logo(out: Path) -> dict:
    """Orange rounded box with a white 'play' triangle, on a transparent background.

    Drawn in pure Python (antialiased by 4x4 supersampling) so the bytes depend only on zlib.
    """
    w, h = 256, 128
    x0, y0, x1, y1, rad = 8.0, 8.0, 248.0, 120.0, 28.0
    tri = ((104.0, 36.0), (104.0, 92.0), (156.0, 64.0))
    box_rgb, tri_rgb = (255, 122, 26), (255, 255, 255)

    def in_box(x: float, y: float) -> bool:
        cx = min(max(x, x0 + rad), x1 - rad)
        cy = min(max(y, y0 + rad), y1 - rad)
        return (x0 <= x <= x1 and y0 <= y <= y1
                and (x - cx) ** 2 + (y - cy) ** 2 <= rad * rad)

    def in_tri(x: float, y: float) -> bool:
        (ax, ay), (bx, by), (qx, qy) = tri
        def side(px, py, ux, uy, vx, vy):
            return (vx - ux) * (py - uy) - (vy - uy) * (px - ux)
        s1, s2, s3 = side(x, y, ax, ay, bx, by), side(x, y, bx, by, qx, qy), side(x, y, qx, qy, ax, ay)
        return (s1 >= 0 and s2 >= 0 and s3 >= 0) or (s1 <= 0 and s2 <= 0 and s3 <= 0)

    ss = 4
    offs = [(i + 0.5) / ss for i in range(ss)]
    rows = []
    for py in range(h):
        row = bytearray()
        for px in range(w):
            cov_box = cov_tri = 0
            for oy in offs:
                for ox in offs:
                    x, y = px + ox, py + oy
                    if in_box(x, y):
                        cov_box += 1
                        if in_tri(x, y):
                            cov_tri += 1
            total = ss * ss
            if cov_box == 0:
                row += b"\x00\x00\x00\x00"
                continue
            # colour = mix of box and triangle by triangle coverage within the box
            f = cov_tri / cov_box
            rgb = [round(box_rgb[i] * (1 - f) + tri_rgb[i] * f) for i in range(3)]
            alpha = round(255 * cov_box / total)
            row += bytes(rgb + [alpha])
        rows.append(bytes(row))
    write_atomic_bytes(out / "logo.png", png_bytes(w, h, rows))
    log("  logo.png")
    return {"kind": "image", "width": w, "height": h, "has_alpha": True,
            "has_audio": False, "duration": None}


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

INTRO_SCRIPT = [
    {"parts": ["Hi, I'm Sam and this is clipagent."]},
    {"parts": ["It turns raw footage into a finished cut."], "gap_before": 0.7},
    {"parts": ["You write a short brief, and it does the editing for you."], "gap_before": 0.7},
]

TIPS_SCRIPT = [
    {"parts": ["Here are three tips for better videos."]},
    # The filler is synthesised as its own utterance so its timing is known exactly.
    {"parts": ["Um,", "first, keep your shots short."], "gap_before": 0.7, "part_gap": 0.25},
    {"parts": ["Second, put the hook in the first three seconds."], "gap_before": 2.5},
    {"parts": ["Third, always end with a call to action."], "gap_before": 0.7},
]


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=here / "media",
                    help="output folder (default: media/ next to this script)")
    ap.add_argument("--ffmpeg", default="ffmpeg", help="ffmpeg executable (default: on PATH)")
    ap.add_argument("--espeak", default="espeak-ng", help="espeak-ng executable (default: on PATH)")
    args = ap.parse_args(argv)

    for tool in (args.ffmpeg, args.espeak):
        if shutil.which(tool) is None:
            print(f"error: {tool!r} not found", file=sys.stderr)
            return 2

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    log(f"writing samples to {out}")
    files: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="clipagent-samples-") as td:
        work = Path(td)
        files["host_intro.mp4"] = make_host(
            args.ffmpeg, args.espeak, out, work, "host_intro", INTRO_SCRIPT, 12.0,
            dict(c0="0x1d3557", c1="0x457b9d", body="0x2a9d8f", head="0xf4a261", seed=11),
            noise_seed=21)
        files["host_tips.mp4"] = make_host(
            args.ffmpeg, args.espeak, out, work, "host_tips", TIPS_SCRIPT, 16.0,
            dict(c0="0x5a189a", c1="0xff6d00", body="0x264653", head="0xe9c46a", seed=12),
            noise_seed=22)
    files["host_tips.mp4"]["deliberate_pauses"] = [
        {"start": files["host_tips.mp4"]["sentences"][1]["end"],
         "end": files["host_tips.mp4"]["sentences"][2]["start"]}]
    files["host_tips.mp4"]["fillers"] = [
        {"text": "Um", **{k: files["host_tips.mp4"]["sentences"][1]["parts"][0][k]
                          for k in ("start", "end")}}]
    files["broll_city.mp4"] = make_broll_city(args.ffmpeg, out)
    files["broll_nature.mp4"] = make_broll_nature(args.ffmpeg, out)
    files["product_vertical.mp4"] = make_product_vertical(args.ffmpeg, out)
    files["music.m4a"] = make_music(args.ffmpeg, out)
    files["logo.png"] = make_logo(out)

    manifest = {
        "generator": "samples/make_samples.py",
        "note": "times in seconds; sentence start/end are the first/last audible sample",
        "files": files,
    }
    write_atomic_text(out / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    log("  manifest.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
