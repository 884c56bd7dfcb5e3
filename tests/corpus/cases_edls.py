"""EDL cases: `clipagent validate` (and `render` where the output matters) over an EDL beside a
`media/` folder holding a.mp4 (3 s, 160x90, 30 fps, tone).

Issue 10 kind 1 (numbers at the edges), kind 2 (10,000 clips, capped messages) and kind 3 (a
timeline of many short clips renders), plus schema errors, path escapes and unknown media. The
README's validation table says where each problem is reported: `clips[0].speed`, `media[0].path`.
"""

from __future__ import annotations

import json

from .harness import BASE_EDL, Case, Work

CLIP = BASE_EDL["clips"][0]


def validate(raw: str | None = None, files: tuple[str, ...] = ("good.mp4:a.mp4",), **fields):
    """A setup: the media, an EDL with `fields` replaced (or `raw` JSON text), `validate edl.json`."""

    def setup(work: Work) -> list[str]:
        for spec in files:
            name, _, as_ = spec.partition(":")
            work.copy(name, as_ or name)
        work.edl(raw=raw, **fields)
        return ["validate", "edl.json"]

    return setup


def clip(**fields) -> list[dict]:
    return [{**CLIP, **fields}]


def raw_clip(fragment: str) -> str:
    """EDL text whose first clip carries `fragment` verbatim (JSON that json.dumps cannot write)."""
    text = json.dumps(BASE_EDL)
    return text.replace('"src_out": 1}', f'"src_out": 1, {fragment}}}', 1)


def _many(count: int, outside: bool) -> list[dict]:
    clips = []
    for n in range(count):
        start = (n % 29) / 10
        clips.append({"id": f"c{n}", "media": "a", "src_in": start, "src_out": 60 if outside else start + 0.1})
    return clips


def _directory(work: Work) -> list[str]:
    work.copy("good.mp4", "a.mp4")
    work.path("edl.json").mkdir()
    return ["validate", "edl.json"]


def _missing(work: Work) -> list[str]:
    work.copy("good.mp4", "a.mp4")
    return ["validate", "edl.json"]


def _render_invalid_keeps_output(work: Work) -> list[str]:
    validate(clips=clip(src_out=60))(work)
    work.write("cut.mp4", b"the previous cut, which must survive\n")
    return ["render", "edl.json", "-o", "cut.mp4", "--encoder", "libx264"]


def _many_clips_render(work: Work) -> list[str]:
    work.copy("good.mp4", "a.mp4")
    work.copy("other.mp4", "b.mp4")
    clips = [{"id": f"c{n}", "media": "ab"[n % 2], "src_in": (n % 15) / 10, "src_out": (n % 15) / 10 + 0.1}
             for n in range(150)]  # fmt: skip
    work.edl(media=[{"id": "a", "path": "a.mp4"}, {"id": "b", "path": "b.mp4"}], clips=clips)
    return ["render", "edl.json", "-o", "cut.mp4", "--encoder", "libx264"]


def _rendered(name: str):
    def check(work: Work, result) -> None:
        assert work.path(name).is_file() and work.path(name).stat().st_size > 1000, f"{name} not rendered"

    return check


E, SLOW = "edl", dict(timeout=15, memory_mb=2048)
MEDIA = [{"id": "a", "path": "a.mp4"}, {"id": "m", "path": "music.m4a"}, {"id": "logo", "path": "logo.png"},
         {"id": "s", "path": "silent.mp4"}]  # fmt: skip
FILES = ("good.mp4:a.mp4", "music.m4a", "logo.png", "silent.mp4")
CASES = [
    Case("edl-control-valid", E, None, validate(), 0, ("valid",)),
    Case("edl-speed-zero", E, 1, validate(clips=clip(speed=0)), 2, ("clips[0].speed",)),
    Case("edl-speed-1e400", E, 1, validate(clips=clip(speed="1e400")), 2, ("clips[0].speed",), **SLOW),
    Case("edl-speed-nan-literal", E, 1, validate(raw=raw_clip('"speed": NaN')), 2, ("clips[0].speed",)),
    Case("edl-gain-nan-literal", E, None, validate(raw=raw_clip('"gain_db": NaN')), 2, ("clips[0].gain_db",)),
    Case("edl-src-out-1e400", E, 1, validate(clips=clip(src_out="1e400")), 2, ("clips[0].src_out",), **SLOW),
    Case("edl-src-out-1e400-number", E, 1,
         validate(raw=json.dumps(BASE_EDL).replace('"src_out": 1', '"src_out": 1e400')), 2, ("clips[0].src_out",),
         **SLOW),  # fmt: skip
    Case("edl-text-end-1e400", E, 1,
         validate(overlays=[{"kind": "text", "text": "hi", "start": 0, "end": "1e400"}]), 2, ("overlays[0]", "end"),
         **SLOW),  # fmt: skip
    Case("edl-time-1e10000000", E, 1, validate(clips=clip(src_out="1e10000000")), 2, ("clips[0].src_out",), **SLOW),
    Case("edl-time-long-exponent", E, 1, validate(clips=clip(src_out="1e" + "9" * 60)), 2, ("clips[0].src_out",),
         **SLOW),  # fmt: skip
    Case("edl-time-100k-digits", E, 1, validate(clips=clip(src_out="1." + "0" * 100_000 + "1")), 2,
         ("clips[0].src_out",), **SLOW),  # fmt: skip
    Case("edl-platform-unknown", E, None, validate(output={"width": 160, "height": 90, "fps": 30, "platform": "myspace"}),
         2, ("output.platform", "myspace")),  # fmt: skip
    Case("edl-fps-zero", E, 1, validate(output={"width": 160, "height": 90, "fps": 0}), 2, ("output.fps",)),
    Case("edl-fps-divide-by-zero", E, 1, validate(output={"width": 160, "height": 90, "fps": "1/0"}), 2,
         ("output.fps",)),  # fmt: skip
    Case("edl-fps-1e9", E, 1, validate(output={"width": 160, "height": 90, "fps": "1e9"}), 2, ("output.fps",), **SLOW),
    Case("edl-src-in-negative", E, None, validate(clips=clip(src_in=-1)), 2, ("clips[0].src_in",)),
    Case("edl-timecode-garbage", E, None, validate(clips=clip(src_out="00:99:99.x")), 2, ("clips[0].src_out",)),
    Case("edl-empty-range", E, None, validate(clips=clip(src_in=2, src_out=1)), 2, ("clips[0]",)),
    Case("edl-range-past-end", E, None, validate(clips=clip(src_out=60)), 2, ("clips[0].src_out",)),
    Case("edl-10000-clips-outside", E, 2, validate(clips=_many(10_000, outside=True)), 2, ("clips[0].src_out",),
         timeout=60, memory_mb=2048, max_output=64_000),  # fmt: skip
    Case("edl-10000-valid-clips", E, 2, validate(clips=_many(10_000, outside=False)), 0, ("valid",), timeout=60),
    Case("render-150-short-clips", E, 3, _many_clips_render, 0, check=_rendered("cut.mp4"), timeout=90),
    Case("edl-unknown-media", E, 12, validate(clips=clip(media="ghost")), 2, ("clips[0].media", "ghost")),
    Case("edl-path-escapes", E, None, validate(media=[{"id": "a", "path": "../a.mp4"}]), 2, ("media[0].path",)),
    Case("edl-path-absolute", E, None, validate(media=[{"id": "a", "path": "/etc/passwd"}]), 2, ("media[0].path",)),
    Case("edl-path-drive", E, None, validate(media=[{"id": "a", "path": "C:\\clips\\a.mp4"}]), 2, ("media[0].path",)),
    Case("edl-media-missing", E, None, validate(media=[{"id": "a", "path": "nope.mp4"}]), 2, ("nope.mp4",)),
    Case("edl-not-json", E, None, validate(raw="{clips: nope"), 2, ("edl.json",)),
    Case("edl-empty-file", E, None, validate(raw=""), 2, ("edl.json",)),
    Case("edl-binary-garbage", E, None, validate(raw=bytes(range(256)).decode("latin-1")), 2, ("edl.json",)),
    Case("edl-deep-nesting", E, None, validate(raw="[" * 100_000 + "]" * 100_000), 2, ("edl.json",), **SLOW),
    Case("edl-directory", E, None, _directory, 2, ("edl.json",)),
    Case("edl-missing", E, None, _missing, 2, ("edl.json",)),
    Case("edl-clips-not-a-list", E, None, validate(clips="nope"), 2, ("clips",)),
    Case("edl-unknown-field", E, None, validate(clips=clip(frobnicate=1)), 2, ("clips[0].frobnicate",)),
    Case("edl-schema-version-99", E, None, validate(schema_version=99), 2, ("schema_version",)),
    Case("edl-duplicate-clip-ids", E, None, validate(clips=clip() * 2), 2, ("clips[1]",)),
    Case("edl-crop-outside", E, None, validate(clips=clip(crop={"x": 0.8, "y": 0, "w": 0.5, "h": 1})), 2,
         ("clips[0].crop",)),  # fmt: skip
    Case("edl-odd-width", E, None, validate(output={"width": 161, "height": 90, "fps": 30}), 2, ("output", "width")),
    Case("edl-music-without-audio", E, None, validate(files=FILES, media=MEDIA, music={"media": "s"}), 2, ("music",)),
    Case("edl-image-as-clip", E, None, validate(files=FILES, media=MEDIA, clips=clip(media="logo")), 2,
         ("clips[0]",)),  # fmt: skip
    Case("edl-audio-as-clip", E, None, validate(files=FILES, media=MEDIA, clips=clip(media="m")), 2, ("clips[0]",)),
    Case("render-invalid-keeps-old-output", "output", None, _render_invalid_keeps_output, 2, ("clips[0].src_out",)),
]
