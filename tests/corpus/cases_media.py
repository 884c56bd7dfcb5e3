"""Media and sidecar cases: `probe`, `validate`, `analyze` and tiny `render`s over files people
really have: empty, truncated, text renamed .mp4, 6 to 16 audio channels, streams that start late,
protocol-like names, HDR, interlaced, rotated, variable frame rate, odd sizes, and subtitles saved
in UTF-16, overlapping, running past the end, or in Chinese.

Issue 10 kinds 5, 6, 7, 8, 9 and 10. Odd but valid files exit 0; unusable ones exit 2 naming the
file; one unusable file never stops a folder's analysis (README, "Media understanding"). A sidecar
that is not subtitles at all is bad input (exit 2, naming it): issue 10 kind 7 objects to a sidecar
dropped with a note and exit 0, and `--transcripts sidecar` asks for that file's words.
"""

from __future__ import annotations

import json
from fractions import Fraction

from .cases_briefs import talk
from .harness import BASE_EDL, EDIT_FAST, Case, Work

ANALYZE = ["--transcripts", "sidecar", "--no-embeddings", "--json"]


def _text_mp4(work: Work, name: str = "notes.mp4") -> None:
    work.write(f"media/{name}", "INT. KITCHEN - DAY\nSam pours coffee.\n")


def probe(name: str, as_: str | None = None):
    def setup(work: Work) -> list[str]:
        if name == "notes.mp4":
            _text_mp4(work)
        elif name == "empty.mp4":
            work.write("media/empty.mp4", b"")
        elif name == "folder.mp4":
            work.path("media/folder.mp4").mkdir(parents=True)
        elif name != "missing.mp4":
            work.copy(name, as_)
        return ["probe", f"media/{as_ or name}"]

    return setup


def validate(name: str, as_: str = "a.mp4", src_out: str | float = 1, render: bool = False, root: str = "media"):
    """The file as media "a" of an EDL beside it (or inside it: `root="."`); validate or render 0..src_out."""

    def setup(work: Work) -> list[str]:
        if name == "notes.mp4":
            _text_mp4(work, as_)
        elif name == "empty.mp4":
            work.write(f"media/{as_}", b"")
        else:
            work.copy(name, as_)
        edl = {**BASE_EDL, "media": [{"id": "a", "path": as_}], "clips": [{"id": "c1", "media": "a", "src_in": 0,
                                                                            "src_out": src_out}]}  # fmt: skip
        if root == ".":
            work.write("media/edl.json", json.dumps({**edl, "media_root": "."}))
            where = "media/edl.json"
        else:
            where = str(work.edl(**{k: v for k, v in edl.items() if k != "schema_version"}).relative_to(work.root))
        if render:
            return ["render", where, "-o", "cut.mp4", "--encoder", "libx264"]
        return ["validate", where]

    return setup


def analyze(*names: str, srt: str | None = None, srt_encoding: str = "utf-8"):
    """A folder of library files (`name` or `name:as`), with `srt` beside the first; analyze --json."""

    def setup(work: Work) -> list[str]:
        for spec in names:
            name, _, as_ = spec.partition(":")
            if name == "notes.mp4":
                _text_mp4(work, as_ or name)
            elif name == "empty.mp4":
                work.write(f"media/{as_ or name}", b"")
            else:
                work.copy(name, as_ or None)
        if srt is not None:
            first = (names[0].partition(":")[2] or names[0]).rsplit(".", 1)[0]
            work.write(f"media/{first}.srt", srt, encoding=srt_encoding)
        return ["analyze", "media", *ANALYZE]

    return setup


def _rendered(work: Work, result) -> None:
    assert work.path("cut.mp4").is_file() and work.path("cut.mp4").stat().st_size > 1000, "cut.mp4 not rendered"


def _words(*expected: str):
    """The index printed by analyze --json holds each expected word (strings gathered from the JSON)."""

    def check(work: Work, result) -> None:
        strings: list[str] = []

        def walk(node) -> None:
            if isinstance(node, str):
                strings.append(node)
            elif isinstance(node, dict):
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(json.loads(result.stdout))
        text = " ".join(strings).lower()
        missing = [word for word in expected if word.lower() not in text]
        assert not missing, f"words missing from the index: {missing}\n{result.stdout[:2000]}"

    return check


def _captioned(phrase: str):
    """The edit's captions.srt (the words actually played) holds the phrase."""

    def check(work: Work, result) -> None:
        captions = work.path("out/captions.srt").read_text(encoding="utf-8")
        assert phrase in " ".join(captions.lower().split()), f"captions.srt lacks {phrase!r}:\n{captions}"

    return check


def _sound_measured(*names: str):
    """Each named file is in the index with its loudness measured: its audio was decoded (downmixed),
    not skipped or failed."""

    def check(work: Work, result) -> None:
        files = {entry["path"]: entry for entry in json.loads(result.stdout)["files"]}
        for name in names:
            assert name in files, f"{name} is not in the index: {sorted(files)}"
            audio = files[name]["audio"] or {}
            assert isinstance(audio.get("integrated_lufs"), float), f"{name}: no loudness measured: {audio}"

    return check


def srt(*cues: tuple[str, str, str]) -> str:
    return "\n".join(f"{n}\n{a} --> {b}\n{text}\n" for n, (a, b, text) in enumerate(cues, start=1))


TALK = srt(("00:00:00,100", "00:00:01,300", "Hello and welcome to the show."),
           ("00:00:01,500", "00:00:02,900", "Today we test bad input."))  # fmt: skip
OVERLAP = srt(("00:00:00,100", "00:00:01,600", "Hello and welcome everybody."),
              ("00:00:01,300", "00:00:02,800", "Today we test overlapping cues."))  # fmt: skip
PAST_END = srt(("00:00:00,100", "00:00:01,300", "Hello and welcome."),
               ("00:00:02,000", "00:00:05,000", "Goodbye everyone, thanks."))  # fmt: skip
CHINESE = srt(("00:00:00,100", "00:00:02,900", "大家好，欢迎收看。今天我们测试坏的输入。谢谢大家！"))


def _chinese_edit(work: Work) -> list[str]:
    work.copy("good.mp4", "talk.mp4")
    work.write("media/talk.srt", CHINESE)
    work.brief("duration: 1\npace: fast\nlanguage: zh\ncaptions: off")
    return ["edit", "brief.md", "media", "-o", "out", *EDIT_FAST, "--dry-run"]


def _one_sentence(work: Work, result) -> None:
    """The 1 s target is met by one of the three sentences, not by the whole 2.8 s cue."""
    report = json.loads(work.path("out/report.json").read_text())
    assert Fraction(report["duration"]) <= Fraction(3, 2), f"a {report['duration']} s cut for a 1 s target"


SHORT_TALK = srt(("00:00:00,100", "00:00:00,900", "Hello and welcome."),
                 ("00:00:01,000", "00:00:01,900", "Today we test."))  # fmt: skip


def edit_of(name: str):
    """A 2 s talk made of library file `name` with a sidecar; edit --dry-run for a 1.8 s cut."""

    def setup(work: Work) -> list[str]:
        work.copy(name, "talk." + name.rsplit(".", 1)[1])
        work.write("media/talk.srt", SHORT_TALK)
        work.brief("duration: 1.8\npace: fast")
        return ["edit", "brief.md", "media", "-o", "out", *EDIT_FAST, "--dry-run"]

    return setup


def _plan_says(*words: str):
    """plan.md says what was done to the picture (issue 10 kind 9: "Say so in plan.md")."""

    def check(work: Work, result) -> None:
        plan = work.path("out/plan.md").read_text(encoding="utf-8").lower()
        missing = [word for word in words if word not in plan]
        assert not missing, f"plan.md does not say {missing}:\n{plan[-1500:]}"

    return check


def _utf16_edit(work: Work) -> list[str]:
    talk(work)
    work.write("media/talk.srt", TALK, encoding="utf-16")
    work.brief('duration: 2.5\nmust_include: ["welcome to the show"]')
    return ["edit", "brief.md", "media", "-o", "out", *EDIT_FAST, "--dry-run"]


M, S = "media", "sidecar"
CASES = [
    Case("probe-control-valid", M, None, probe("good.mp4"), 0, ("duration",)),
    Case("probe-empty-file", M, None, probe("empty.mp4"), 2, ("empty.mp4",)),
    Case("probe-text-renamed-mp4", M, None, probe("notes.mp4"), 2, ("notes.mp4",)),
    Case("probe-truncated", M, None, probe("truncated.mp4"), 2, ("truncated.mp4",)),
    Case("probe-directory", M, None, probe("folder.mp4"), 2, ("folder.mp4",)),
    Case("probe-missing", M, None, probe("missing.mp4"), 2, ("missing.mp4",)),
    Case("probe-aac-8-channels", M, 5, probe("aac8.mp4"), 0, ("aac8.mp4|channels",)),
    Case("probe-pcm-8-channels", M, 5, probe("pcm8.mov"), 0, ("pcm8.mov|channels",)),
    Case("probe-protocol-like-name", M, 8, probe("good.mp4", "take:2.mp4"), 0, ("duration",)),
    Case("validate-empty-media", M, None, validate("empty.mp4", "empty.mp4"), 2, ("empty.mp4",)),
    Case("validate-truncated-media", M, None, validate("truncated.mp4", "truncated.mp4"), 2, ("truncated.mp4",)),
    Case("validate-text-renamed-mp4", M, None, validate("notes.mp4", "notes.mp4"), 2, ("notes.mp4",)),
    Case("validate-index-at-front-truncated", M, 10, validate("front-index.mp4", "front-index.mp4", src_out=2.9), 2,
         ("clips[0].src_out|front-index.mp4",)),  # fmt: skip
    Case("validate-one-frame-to-the-end", M, 10, validate("one-frame.mp4", src_out="1/30"), 0, ("valid",)),
    Case("validate-32-frames-2997-to-the-end", M, 10, validate("frames32-2997.mp4", src_out="32032/30000"), 0,
         ("valid",)),  # fmt: skip
    Case("validate-rotated", M, None, validate("rotated.mp4"), 0, ("valid",)),
    Case("validate-vfr", M, None, validate("vfr.mp4"), 0, ("valid",)),
    Case("validate-half-second-clip-too-long-range", M, None, validate("half.mp4", src_out=1), 2,
         ("clips[0].src_out",)),  # fmt: skip
    Case("render-odd-size", M, None, validate("odd-size.mp4", render=True), 0, check=_rendered),
    Case("render-pcm-10-channels", M, 5, validate("pcm10.mov", "a.mov", render=True), 0, check=_rendered),
    Case("render-aac-8-channels", M, 5, validate("aac8.mp4", render=True), 0, check=_rendered),
    Case("render-audio-starts-late", M, 6, validate("late-audio.mp4", render=True), 0, check=_rendered),
    Case("render-video-starts-late", M, 6, validate("late-video.mp4", render=True), 0, check=_rendered),
    Case("render-protocol-like-name", M, 8, validate("good.mp4", "take:2.mp4", render=True, root="."), 0,
         check=_rendered),  # fmt: skip
    Case("render-timestamp-name", M, 8, validate("good.mp4", "2024-05-01T10:30:00.mp4", render=True, root="."), 0,
         check=_rendered),  # fmt: skip
    Case("render-dash-name", M, 8, validate("good.mp4", "-y.mp4", render=True, root="."), 0, check=_rendered),
    Case("render-hlg", M, 9, validate("hlg.mp4", render=True), 0, check=_rendered),
    Case("render-interlaced", M, 9, validate("interlaced.mp4", render=True), 0, check=_rendered),
    Case("edit-hlg-says-tone-mapped", M, 9, edit_of("hlg.mp4"), 0, check=_plan_says("tone")),
    Case("edit-interlaced-says-deinterlaced", M, 9, edit_of("interlaced.mp4"), 0, check=_plan_says("deinterlac")),
    Case("analyze-aac-6-channels", M, 5, analyze("aac6.mp4"), 0, check=_sound_measured("aac6.mp4")),
    Case("analyze-aac-8-channels", M, 5, analyze("aac8.mp4"), 0, check=_sound_measured("aac8.mp4")),
    Case("analyze-16-channels-aac-and-pcm", M, 5, analyze("pcm16.mov", "aac16.mp4", "good.mp4"), 0,
         check=_sound_measured("pcm16.mov", "aac16.mp4", "good.mp4")),  # fmt: skip
    Case("analyze-pcm-8-and-10-channels", M, 5, analyze("pcm8.mov", "pcm10.mov"), 0,
         check=_sound_measured("pcm8.mov", "pcm10.mov")),  # fmt: skip
    Case("analyze-protocol-like-names", M, 8, analyze("good.mp4:take:2.mp4", "other.mp4:2024-05-01T10:30:00.mp4"), 0,
         ("take:2.mp4", "2024-05-01T10:30:00.mp4")),  # fmt: skip
    Case("analyze-unusable-files-skipped", M, None, analyze("good.mp4", "empty.mp4", "notes.mp4", "truncated.mp4"), 0,
         ("empty.mp4", "notes.mp4", "truncated.mp4")),  # fmt: skip
    Case("analyze-folder-missing", M, None, lambda work: ["analyze", "nowhere", *ANALYZE], 2, ("nowhere",)),
    Case("sidecar-control-utf8", S, None, analyze("good.mp4:talk.mp4", srt=TALK), 0, check=_words("welcome", "input")),
    Case("sidecar-utf16-bom", S, 7, analyze("good.mp4:talk.mp4", srt=TALK, srt_encoding="utf-16"), 0,
         check=_words("welcome", "input")),  # fmt: skip
    Case("sidecar-utf16-bom-edit", S, 7, _utf16_edit, 0, check=_captioned("welcome to the show")),
    Case("sidecar-overlapping-cues", S, 7, analyze("good.mp4:talk.mp4", srt=OVERLAP), 0,
         check=_words("everybody", "overlapping")),  # fmt: skip
    Case("sidecar-cue-past-the-end", S, 7, analyze("good.mp4:talk.mp4", srt=PAST_END), 0, check=_words("goodbye")),
    Case("sidecar-chinese-sentences", S, 7, _chinese_edit, 0, check=_one_sentence),
    Case("sidecar-binary-garbage", S, None, analyze("good.mp4:talk.mp4", srt=bytes(range(256)).decode("latin-1"),
         srt_encoding="latin-1"), 2, ("talk.srt",)),  # fmt: skip
]
