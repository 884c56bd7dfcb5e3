"""The benchmark EDL, rendered the way a moviepy 2.x user would write it.

    python bench/moviepy_equivalent.py EDL.json OUT.mp4 [--media-root DIR]

Reads the same edl.json that clipagent renders (plain json, no clipagent import, so this
process's memory is moviepy's alone) and supports exactly what the benchmark EDL uses:
cuts and crossfades, one text overlay, image overlays, a music bed. Everything else is
refused rather than silently dropped.

Differences from clipagent, all in moviepy's favour (less work):
  * no sidechain ducking: the bed is mixed at a fixed gain (the EDL's music.gain_db);
  * no loudness normalisation (clipagent runs loudnorm to output.loudness_lufs);
  * no per-clip fps/scale/pad normalisation (the sources already are 1280x720 @ 30 fps).
"""

from __future__ import annotations

import argparse
import json
from fractions import Fraction
from pathlib import Path

from moviepy import (
    AudioFileClip,
    CompositeAudioClip,
    CompositeVideoClip,
    ImageClip,
    TextClip,
    VideoFileClip,
    afx,
    vfx,
)

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def seconds(value) -> float:
    return float(Fraction(str(value)))


def rgba(color: str) -> tuple[int, ...]:
    digits = color.lstrip("#")
    return tuple(int(digits[i : i + 2], 16) for i in range(0, len(digits), 2))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("edl", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--media-root", type=Path)
    args = parser.parse_args()

    edl = json.loads(args.edl.read_text(encoding="utf-8"))
    root = args.media_root or args.edl.parent / edl.get("media_root", ".")
    paths = {m["id"]: root / m["path"] for m in edl["media"]}
    out = edl["output"]
    width, height, fps = out["width"], out["height"], seconds(out["fps"])

    # 1. the clips, laid end to end; a crossfade overlaps a clip with the one before it
    layers, sources, cursor = [], [], 0.0
    clip_specs = edl["clips"]
    for k, spec in enumerate(clip_specs):
        if seconds(spec.get("speed", 1)) != 1 or spec.get("crop") or spec.get("gain_db", 0) or spec.get("mute"):
            raise SystemExit(f"clip {spec['id']}: only plain clips are supported")
        source = VideoFileClip(str(paths[spec["media"]]))
        sources.append(source)
        clip = source.subclipped(seconds(spec["src_in"]), seconds(spec["src_out"]))
        transition = spec.get("transition_in", {"kind": "cut"})
        fade = seconds(transition.get("duration", 0)) if transition.get("kind") == "crossfade" else 0.0
        if transition.get("kind") == "dip":
            raise SystemExit("dip transitions are not supported here")
        start = max(0.0, cursor - fade)
        effects, audio_effects = [], []
        if fade:
            effects.append(vfx.CrossFadeIn(fade))
            audio_effects.append(afx.AudioFadeIn(fade))
        following = clip_specs[k + 1].get("transition_in", {}) if k + 1 < len(clip_specs) else {}
        if following.get("kind") == "crossfade":
            audio_effects.append(afx.AudioFadeOut(seconds(following["duration"])))
        if audio_effects and clip.audio is not None:
            clip = clip.with_audio(clip.audio.with_effects(audio_effects))
        clip = clip.with_effects(effects).with_start(start)
        layers.append(clip)
        cursor = start + clip.duration
    total = cursor

    # 2. overlays
    for overlay in edl.get("overlays", []):
        start, end = seconds(overlay["start"]), seconds(overlay["end"])
        if overlay["kind"] == "text":
            if overlay.get("position", "center") != "center":
                raise SystemExit("only centred text is supported here")
            font_px = max(8, round(height * overlay.get("size", 0.06)))
            box = overlay.get("box_color", "#00000099")
            text = TextClip(
                font=FONT,
                text=overlay["text"],
                font_size=font_px,
                color=overlay.get("color", "#FFFFFF"),
                bg_color=rgba(box) if box else None,
                margin=(round(font_px * 0.35), round(font_px * 0.35)),
            )
            layers.append(text.with_position("center").with_start(start).with_duration(end - start))
        elif overlay["kind"] == "image":
            if overlay.get("position", "top_right") != "top_right":
                raise SystemExit("only top_right images are supported here")
            logo_w = max(2, int(round(width * overlay.get("width", 0.15) / 2)) * 2)
            margin = round(height * overlay.get("margin", 0.03))
            logo = ImageClip(str(paths[overlay["media"]])).resized(width=logo_w)
            if overlay.get("opacity", 1.0) < 1:
                logo = logo.with_opacity(overlay["opacity"])
            layers.append(
                logo.with_position((width - logo_w - margin, margin)).with_start(start).with_duration(end - start)
            )
        else:
            raise SystemExit(f"overlay kind {overlay['kind']!r} is not supported here")

    video = CompositeVideoClip(layers, size=(width, height)).with_duration(total)

    # 3. music under the clips' audio, at a fixed gain: moviepy has no sidechain ducking
    #    and no loudness normalisation.
    music = edl.get("music")
    if music:
        bed = AudioFileClip(str(paths[music["media"]]))
        bed_in = seconds(music.get("src_in", 0))
        if bed.duration - bed_in < total:
            bed = bed.with_effects([afx.AudioLoop(duration=total + bed_in)])
        bed = bed.subclipped(bed_in, bed_in + total).with_volume_scaled(10 ** (music.get("gain_db", -8.0) / 20))
        fades = []
        if seconds(music.get("fade_in", 0)) > 0:
            fades.append(afx.AudioFadeIn(seconds(music["fade_in"])))
        if seconds(music.get("fade_out", 1)) > 0:
            fades.append(afx.AudioFadeOut(seconds(music.get("fade_out", 1))))
        bed = bed.with_effects(fades)
        video = video.with_audio(CompositeAudioClip([video.audio, bed]).with_duration(total))

    video.write_videofile(
        str(args.output),
        fps=fps,
        codec="libx264",
        preset="veryfast",
        ffmpeg_params=["-crf", "20"],
        audio_codec="aac",
        audio_bitrate="192k",
        audio_fps=out.get("audio_rate", 48000),
        logger=None,
    )
    for source in sources:
        source.close()


if __name__ == "__main__":
    main()
