"""Brief cases: `clipagent edit BRIEF MEDIA -o out --dry-run` over a 3 s talk with a sidecar.

A malformed brief stops before any work with exit 2, naming the file and the field (README, "The
brief"). The examples of issue 10 kinds 1, 2 and 11 are here, plus the ways people really break a
YAML file. Where the issue is silent: a UTF-16 brief with a byte-order mark is read (YAML 1.2,
section 5.2: a processor must accept UTF-8 and UTF-16, told apart by the BOM; Windows editors save
"Unicode" that way), and an empty brief is a brief without front matter, every default applied.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from .harness import EDIT_FAST, Case, Work

SRT = """1
00:00:00,100 --> 00:00:01,300
Hello and welcome to the show.

2
00:00:01,500 --> 00:00:02,900
Today we test bad input.
"""
GOOD_FRONT = "title: Corpus\nduration: 2.5\npace: medium\n"


def talk(work: Work) -> None:
    """media/: talk.mp4 (3 s, tone) with talk.srt (two sentences), and music.m4a."""
    work.copy("good.mp4", "talk.mp4")
    work.write("media/talk.srt", SRT)
    work.copy("music.m4a")


def edit(front: str | None, *extra: str, raw: bytes | None = None, dry_run: bool = True):
    """A setup: the talk, a brief with `front` (or `raw` bytes), and the edit command."""

    def setup(work: Work) -> list[str]:
        talk(work)
        if raw is not None:
            work.write("brief.md", raw)
        elif front is not None:
            work.brief(front)
        return ["edit", "brief.md", "media", "-o", "out", *EDIT_FAST, *(["--dry-run"] if dry_run else []), *extra]

    return setup


def _wrote_edl(work: Work, result) -> None:
    assert (work.path("out") / "edl.json").is_file(), "no edl.json written"


def _wrote_with_umask(work: Work, result) -> None:
    """Every output honours the umask (issue 10 kind 12: they were 0600 while cut.mp4 was 0644)."""
    _wrote_edl(work, result)
    umask = os.umask(0)
    os.umask(umask)
    modes = {path.name: oct(path.stat().st_mode & 0o777) for path in work.path("out").iterdir() if path.is_file()}
    assert set(modes.values()) == {oct(0o666 & ~umask)}, f"modes {modes} with umask {oct(umask)}"


def _alias_bomb() -> str:
    lines = ["must_include:", '  - &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"  - &{name} [{','.join([f'*{prev}'] * 9)}]")
    return "\n".join(lines)


def _nvenc_works() -> bool:
    from clipagent.ffmpeg import find_ffmpeg

    cmd = [find_ffmpeg().path, "-v", "error", "-f", "lavfi", "-i", "color=s=256x256", "-frames:v", "1", "-c:v",
           "h264_nvenc", "-f", "null", "-"]  # fmt: skip
    return subprocess.run(cmd, capture_output=True).returncode == 0


def _nvenc(work: Work) -> list[str]:
    if _nvenc_works():
        pytest.skip("this machine has NVENC")
    return edit(GOOD_FRONT, "--encoder", "h264_nvenc", dry_run=False)(work)


def _directory_brief(work: Work) -> list[str]:
    (work.path("brief.md")).mkdir()
    return edit(None)(work)


def _python_tag(work: Work) -> list[str]:
    return edit("title: !!python/object/apply:os.system ['touch hacked']\n")(work)


def _utf16(work: Work) -> list[str]:
    talk(work)
    work.write("brief.md", f"---\n{GOOD_FRONT}---\n# Corpus\n", encoding="utf-16")
    return ["edit", "brief.md", "media", "-o", "out", *EDIT_FAST, "--dry-run"]


def _empty_shorts(work: Work) -> list[str]:
    work.brief("duration: 2")
    for n in range(4):
        work.copy("half.mp4", f"take{n}.mp4", into="shorts")
    return ["edit", "brief.md", "shorts", "-o", "out", *EDIT_FAST, "--dry-run"]


def _no_media(work: Work) -> list[str]:
    work.brief("duration: 2")
    work.write("footage/notes.txt", "shot list: nothing yet\n")
    return ["edit", "brief.md", "footage", "-o", "out", *EDIT_FAST, "--dry-run"]


def _audio_only(work: Work) -> list[str]:
    work.brief("duration: 2")
    work.copy("music.m4a", "song.m4a", into="footage")
    return ["edit", "brief.md", "footage", "-o", "out", *EDIT_FAST, "--dry-run"]


def _media_dir_is_file(work: Work) -> list[str]:
    work.brief("duration: 2")
    work.copy("good.mp4", "footage.mp4", into=".")
    return ["edit", "brief.md", "footage.mp4", "-o", "out", *EDIT_FAST, "--dry-run"]


def _media_dir_missing(work: Work) -> list[str]:
    work.brief("duration: 2")
    return ["edit", "brief.md", "nofootage", "-o", "out", *EDIT_FAST, "--dry-run"]


B, BOMB = "brief", dict(timeout=15, memory_mb=2048)
CASES = [
    Case("brief-control-valid", B, 12, edit(GOOD_FRONT), 0, ("out",), check=_wrote_with_umask),
    Case("brief-bad-yaml", B, None, edit("duration: [1, 2\npace: fast"), 2, ("brief.md",)),
    Case("brief-unknown-field", B, None, edit("lenght: 20"), 2, ("brief.md", "lenght")),
    Case("brief-wrong-type", B, None, edit("duration: [1, 2]"), 2, ("brief.md", "duration")),
    Case("brief-pace-unknown", B, None, edit("pace: ludicrous"), 2, ("pace",)),
    Case("brief-platform-unknown", B, None, edit("platform: myspace"), 2, ("platform", "myspace")),
    Case("brief-aspect-zero", B, None, edit('aspect: "0:0"'), 2, ("aspect",)),
    Case("brief-must-include-number", B, None, edit("must_include: 5"), 2, ("must_include",)),
    Case("brief-title-10k", B, None, edit("title: " + "x" * 10_000), 2, ("title",)),
    Case("brief-not-a-mapping", B, None, edit("- duration\n- 20"), 2, ("brief.md",)),
    Case("brief-alias-bomb", B, 2, edit(_alias_bomb()), 2, ("brief.md", "must_include|alias|anchor"), **BOMB),
    Case("brief-deep-nesting", B, 2, edit("must_include: " + "[" * 20_000 + "]" * 20_000), 2, ("brief.md",), **BOMB),
    Case("brief-python-tag", B, None, _python_tag, 2, ("brief.md",)),
    Case("brief-duplicate-key", B, 11, edit("duration: 10\nduration: 2"), 2, ("brief.md", "duration")),
    Case("brief-duration-1e12", B, 1, edit("duration: 1e12"), 2, ("duration",), **BOMB),
    Case("brief-duration-30-digits", B, 1, edit("duration: " + "9" * 30), 2, ("duration",), **BOMB),
    Case("brief-duration-long-exponent", B, 1, edit('duration: "1e10000000"'), 2, ("duration",), **BOMB),
    Case("brief-duration-negative", B, None, edit("duration: -5"), 2, ("duration",)),
    Case("brief-duration-nan", B, None, edit("duration: .nan"), 2, ("duration",)),
    Case("brief-music-missing", B, 11, edit("duration: 2.5\nmusic: missing.m4a"), 2, ("missing.m4a",)),
    Case("brief-music-is-srt", B, 11, edit("duration: 2.5\nmusic: talk.srt"), 2, ("talk.srt",)),
    Case("brief-music-escapes", B, None, edit("music: ../music.m4a"), 2, ("music",)),
    Case("brief-binary-garbage", B, None, edit(None, raw=bytes(range(256)) * 8), 2, ("brief.md",)),
    Case("brief-directory", B, None, _directory_brief, 2, ("brief.md",)),
    Case("brief-missing", B, None, edit(None), 2, ("brief.md",)),
    Case("brief-empty-file", B, None, edit(None, raw=b""), 0, ("brief.md: the brief is empty", "defaults"),
         check=_wrote_edl),  # fmt: skip
    Case("brief-utf16-bom", B, None, _utf16, 0, check=_wrote_edl),
    Case("brief-utf16-no-bom", B, None, edit(None, raw=f"---\n{GOOD_FRONT}---\n# Corpus\n".encode("utf-16-le")), 2,
         ("brief.md: not UTF-8 text", "NUL bytes", "save the brief as UTF-8")),  # fmt: skip
    Case("brief-duration-tiny", B, None, edit("duration: 0.001"), 2,
         ("brief.md: field `duration`: 0.001 s is shorter than the shortest cut, 1 s",)),  # fmt: skip
    Case("brief-must-include-fails", B, 11, edit(GOOD_FRONT + "must_include: [purple elephants dancing]"), 1,
         ("purple elephants",), leaves=("out",)),  # fmt: skip
    Case("brief-must-include-fails-accepted", B, 11,
         edit(GOOD_FRONT + "must_include: [purple elephants dancing]", "--accept-failed-checks"), 0,
         ("purple elephants",), check=_wrote_edl),  # fmt: skip
    Case("edit-nvenc-without-nvenc", B, 12, _nvenc, 2, ("h264_nvenc",)),
    Case("edit-folder-of-half-second-clips", "media", 12, _empty_shorts, 2, ("shorts",)),
    Case("edit-folder-without-media", "media", None, _no_media, 2, ("footage",)),
    Case("edit-folder-audio-only", "media", None, _audio_only, 2, ("footage",)),
    Case("edit-media-dir-is-a-file", "media", None, _media_dir_is_file, 2, ("footage.mp4",)),
    Case("edit-media-dir-missing", "media", None, _media_dir_missing, 2, ("nofootage",)),
]
