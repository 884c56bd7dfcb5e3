"""Word-by-word captions: word times through edits and speed, the ASS file, placement off faces,
fonts for CJK and emoji, sidecars, and a render read back by OCR (issue 11, "Captions")."""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pysubs2
import pytest

from clipagent.analysis.models import FaceBox, FaceFrame, FaceTrack, IndexedFile, Segment, Transcript, Word
from clipagent.brief import fit_captions
from clipagent.edl import EDL, Captions, Cue, CueWord
from clipagent.planning.captions import caption_cues, captions_overlay, place_cues, place_off_faces
from clipagent.presets import SafeZone, load_brand, load_caption_style
from clipagent.render import captions as rc
from clipagent.render import run as render_run
from clipagent.validate import validate_edl

from .conftest import edl_from

WORDS = "quick brown foxes jumping over lazy sleepy dogs".split()
WORD_STEP = Fraction(9, 20)  # a word every 0.45 s of the source, each 0.35 s long
HIGHLIGHT = "#FFD400"


def _file(words: list[tuple[str, Fraction, Fraction]],
          *, size=(640, 360), faces: FaceTrack | None = None) -> IndexedFile:
    """A hand-made index entry: a transcript with known word times (no analysis run)."""
    segment = Segment(start=words[0][1], end=words[-1][2], text=" ".join(w for w, _, _ in words),
                      words=[Word(text=t, start=s, end=e) for t, s, e in words])  # fmt: skip
    transcript = Transcript(source="sidecar", language="en", model="hand-made", segments=[segment])
    info = SimpleNamespace(video=SimpleNamespace(display_size=size))
    return IndexedFile.model_construct(id="talk", path="talk.mp4", transcript=transcript, faces=faces, info=info)


def _timed_words() -> list[tuple[str, Fraction, Fraction]]:
    starts = [Fraction(3, 10) + k * WORD_STEP for k in range(len(WORDS))]
    return [(w, start, start + Fraction(7, 20)) for w, start in zip(WORDS, starts)]


TWO_CLIPS = {
    "output": {"width": 640, "height": 360, "fps": 30},
    "media": [{"id": "talk", "path": "talk.mp4"}],
    "clips": [
        {"id": "c1", "media": "talk", "src_in": 0, "src_out": "2.1"},
        {"id": "c2", "media": "talk", "src_in": "2.1", "src_out": "4.2", "speed": "1.5"},
    ],
}


def _expected_output_time(source: Fraction) -> Fraction:
    """The index time of a word on the output timeline, by hand: clip 2 starts at 2.1 s, plays 1.5x."""
    return source if source < Fraction(21, 10) else Fraction(21, 10) + (source - Fraction(21, 10)) / Fraction(3, 2)


def test_word_times_follow_the_cuts_and_the_speed():
    edl = edl_from(TWO_CLIPS)
    cues = caption_cues(edl, {"talk": _file(_timed_words())}, max_chars_per_line=16)
    words = [w for cue in cues for w in cue.words]
    assert [w.text for w in words] == WORDS
    for word, (_, start, end) in zip(words, _timed_words()):
        assert abs(word.start - _expected_output_time(start)) <= Fraction(1, 1000)
        assert abs(word.end - _expected_output_time(end)) <= Fraction(1, 1000)
    assert all(cue.start == cue.words[0].start for cue in cues)
    assert all(len(rc.break_lines(rc.cue_words(cue), 16)) <= 2 for cue in cues)  # 1-2 lines of at most 16 columns
    assert all(a.end <= b.start for a, b in zip(cues, cues[1:]))


def test_a_cue_never_needs_a_third_line():
    """12 columns a line (TikTok's frame in the karaoke size): "into a finished cut." is 20
    characters, under 2 x 12, yet breaks into three lines; the planner splits it instead."""
    text = "It turns raw footage into a finished cut."
    words = [(w, Fraction(k, 4), Fraction(k, 4) + Fraction(1, 5)) for k, w in enumerate(text.split())]
    edl = edl_from({**TWO_CLIPS, "clips": TWO_CLIPS["clips"][:1]})
    cues = caption_cues(edl, {"talk": _file(words)}, max_chars_per_line=12)
    assert len(cues) >= 2 and all(len(rc.break_lines(rc.cue_words(c), 12)) <= 2 for c in cues)
    assert " ".join(c.text for c in cues) == text


def test_karaoke_ass_onsets_match_the_index():
    """One ASS event per word, highlighting it from its index time (mapped onto the cut)."""
    style = load_caption_style("karaoke")
    edl = edl_from(TWO_CLIPS)
    overlay, _ = captions_overlay(edl, {"talk": _file(_timed_words())}, style, SafeZone())
    edl = edl.model_copy(update={"overlays": [overlay]})
    doc = pysubs2.SSAFile.from_string(rc.sidecar(edl, "ass", Path(".")))
    tag = rc._tag_colour(style.highlight_color)
    onsets = {}
    for event in doc.events:
        lit = re.search(r"\{\\1c" + re.escape(tag) + r"\}(.+?)\{", event.text)
        if lit:
            onsets.setdefault(lit[1], event.start / 1000)
    assert set(onsets) == set(WORDS)
    gaps = [abs(onsets[w] - float(_expected_output_time(s))) for w, s, _ in _timed_words()]
    assert statistics.median(gaps) <= 0.1 and max(gaps) <= 0.1
    assert doc.info["PlayResX"] == "640" and doc.styles["Captions"].fontsize == round(360 * style.size)


def test_lines_break_evenly_and_cjk_counts_double():
    assert rc.break_lines("one two three four five six".split(), 20) == [[0, 1, 2], [3, 4, 5]]
    assert rc.columns("你好") == 4 and rc.join_words(["你好", "世界", "ok"]) == "你好世界 ok"
    cue = Cue(start=0, end=1, text="x", words=[CueWord(text=w, start=Fraction(k, 10), end=Fraction(k + 1, 10))
                                              for k, w in enumerate("a {b} c\\N".split())])  # fmt: skip
    text = rc.cue_text(cue, Captions(cues=[cue], highlight_color=HIGHLIGHT), highlight=1)
    assert "{b}" not in text and "(b)" in text and "\\N" not in text.replace("\\\u2060N", "")


def _face_track(y: float) -> FaceTrack:
    frames = [FaceFrame(time=Fraction(k, 2), boxes=[FaceBox(x=0.4, y=y, w=0.2, h=0.25, score=0.99)])
              for k in range(10)]  # fmt: skip
    return FaceTrack(detector="hand-made", frames=frames)


def test_captions_move_off_a_face_when_another_place_fits():
    style = fit_captions(load_caption_style("bold"), SafeZone(top=0.08, bottom=0.25), 640, 360)
    edl = edl_from({**TWO_CLIPS, "clips": TWO_CLIPS["clips"][:1]})
    cues = caption_cues(edl, {"talk": _file(_timed_words())}, style.max_chars_per_line)
    low_face = {"talk": _file(_timed_words(), faces=_face_track(y=0.5))}  # lower half: under bottom captions
    placed, moved = place_cues(cues, edl, low_face, style, SafeZone(top=0.08, bottom=0.25))
    assert moved == len(cues) and {c.position for c in placed} == {"top"}
    assert all(c.margin >= 0.08 for c in placed)  # inside the top safe zone
    high_face = {"talk": _file(_timed_words(), faces=_face_track(y=0.1))}
    placed, moved = place_cues(cues, edl, high_face, style, SafeZone())
    assert moved == 0 and all(c.position is None for c in placed)
    # a cover crop of a 16:9 source into 9:16 drops a face at the far left: nothing to avoid
    vertical = edl_from({**TWO_CLIPS, "output": {"width": 360, "height": 640, "fps": 30},
                         "clips": [{"id": "c1", "media": "talk", "src_in": 0, "src_out": 2, "fit": "cover"}]})
    left = FaceBox(x=0.02, y=0.6, w=0.1, h=0.2, score=1)
    track = FaceTrack(detector="x", frames=[FaceFrame(time=Fraction(1), boxes=[left])])
    assert place_cues(cues[:1], vertical, {"talk": _file(_timed_words(), faces=track)}, style, SafeZone())[1] == 0


def test_faces_are_placed_through_the_clips_reframing_window():
    """16:9 into 9:16: a face right of centre and low in the picture is cut off by the centre crop,
    but inside a window that follows it, where it would sit under bottom captions."""
    face = FaceBox(x=0.72, y=0.55, w=0.12, h=0.3, score=0.99)
    track = FaceTrack(detector="hand-made", frames=[FaceFrame(time=Fraction(k, 2), boxes=[face]) for k in range(5)])
    files = {"talk": _file(_timed_words()[:4], faces=track)}
    clip = {"id": "c1", "media": "talk", "src_in": 0, "src_out": 2, "fit": "cover"}
    window = {"w": 0.31640625, "h": 1, "keyframes": [{"time": 0, "x": 0.6, "y": 0}]}
    style = load_caption_style("karaoke")
    for reframe, expected in ((None, {None}), (window, {"top"})):
        vertical = {"width": 360, "height": 640, "fps": 30}
        edl = edl_from({**TWO_CLIPS, "output": vertical, "clips": [{**clip, "reframe": reframe}]})
        overlay, _ = captions_overlay(edl, files, style, SafeZone(), place=False)
        placed, moved = place_off_faces(edl.model_copy(update={"overlays": [overlay]}), files, SafeZone())
        assert {c.position for c in placed.overlays[0].cues} == expected, reframe


def test_styles_take_the_brand_colours_and_old_edls_still_validate():
    brand = load_brand("clipagent")
    karaoke = load_caption_style("karaoke").branded(brand)
    boxed = load_caption_style("boxed").branded(brand)
    assert karaoke.highlight_color == brand.primary and boxed.box_color == brand.secondary + "D9"
    for name in ("bold", "minimal", "karaoke", "boxed"):
        overlay = load_caption_style(name).overlay([Cue(start=0, end=1, text="hi")])
        assert overlay.style == name
    words = [{"text": "a", "start": 0.5, "end": 0.6}, {"text": "b", "start": 0.1, "end": 0.2}]  # b before a
    cue = {"start": 0, "end": 1, "text": "a b", "words": words}
    bad = edl_from({"overlays": [{"kind": "captions", "cues": [cue]}]})
    found = [v for v in validate_edl(bad, Path("."), prober=lambda p: None).violations if "words" in v.location]
    assert [v.location for v in found] == ["overlays[0].cues[0].words[1]"]


def test_sidecars_carry_every_cue_as_written():
    cues = [Cue(start=Fraction(1, 10), end=Fraction(2), text="Hello {world}"),
            Cue(start=2, end=3, text="你好 🫠 😀")]
    edl = edl_from({"overlays": [Captions(cues=cues).model_dump(mode="json")]})
    for kind in ("srt", "vtt"):
        back = pysubs2.SSAFile.from_string(rc.sidecar(edl, kind, Path(".")))
        expected = [(100, 2000, "Hello (world)"), (2000, 3000, "你好 🫠 😀")]
        assert [(e.start, e.end, e.plaintext) for e in back] == expected
    assert "WEBVTT" in rc.sidecar(edl, "vtt", Path("."))
    assert rc.sidecar(edl_from({}), "srt", Path(".")) == ""


@pytest.mark.skipif(not shutil.which("fc-list"), reason="fontconfig's tools are not installed")
def test_cjk_rtl_and_emoji_have_outline_fonts(tmp_path):
    scripts, emoji = "你好世界 こんにちは 안녕 مرحبا שלום", "😀🎉👍"
    for char in set(scripts) - {" "}:  # fonts-noto-cjk and fonts-noto-core (scripts/setup.sh)
        assert rc.has_glyph(char), f"no outline font for {char!r} (U+{ord(char):04X})"
        query = f":outline=true:charset={ord(char):x}"
        listed = subprocess.run(["fc-list", query, "family"], capture_output=True, text=True)
        assert listed.stdout.strip(), char
    cue = Cue(start=0, end=1, text=scripts + " " + emoji)
    edl = edl_from({"overlays": [Captions(cues=[cue]).model_dump(mode="json")]})
    notes = rc.caption_notes(edl)
    if all(rc.has_glyph(c) for c in emoji):  # an outline emoji font (fonts-symbola): drawn, in one colour
        assert not any("no installed font" in n for n in notes) and any("one colour" in n for n in notes)
    else:  # only the bitmap colour font, which libass cannot use: left out, and said so
        assert any("no installed font" in n and "U+1F389" in n for n in notes)
    # a character no font covers is left out of the drawing and named
    orphan = next((c for c in "\U0001fae0\U0001fa77\U000f0000" if not rc.has_glyph(c)), None)
    if orphan:
        alone = Captions(cues=[Cue(start=0, end=1, text=f"ok {orphan}")])
        lone = edl_from({"overlays": [alone.model_dump(mode="json")]})
        assert f"U+{ord(orphan):04X}" in rc.caption_notes(lone)[0]
        assert orphan not in rc.cue_text(lone.overlays[0].cues[0], lone.overlays[0])


# ---- renders, read back ---------------------------------------------------------------------------


def _talk(path: Path, ffmpeg: str) -> Path:
    """4.5 s of a calm blue picture with a tone (the words come from the hand-made index)."""
    subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=0x2a4d69:s=640x360:r=30:d=4.5",
                    "-f", "lavfi", "-i", "sine=f=220:d=4.5:sample_rate=48000", "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)],
                   check=True)  # fmt: skip
    return path


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def _ocr(mask: np.ndarray, tmp_path: Path) -> str:
    """Tesseract on black text (the mask) on white; one line."""
    from PIL import Image

    image = tmp_path / "ocr.png"
    Image.fromarray(np.where(mask, 0, 255).astype(np.uint8)).save(image)
    out = subprocess.run(["tesseract", str(image), "-", "--psm", "7"], capture_output=True, text=True).stdout
    return re.sub(r"[^a-z]", "", out.lower())


@pytest.mark.skipif(not shutil.which("tesseract"), reason="tesseract is not installed")
def test_karaoke_render_shows_the_spoken_word_across_segments(tmp_path, ffmpeg, monkeypatch):
    """The cut, rendered with each clip as its own segment process (segments.py), read back: at the
    index time of each word, OCR of the highlighted pixels reads that word."""
    _talk(tmp_path / "talk.mp4", ffmpeg)
    big = {"size": 0.1, "max_chars_per_line": 20, "highlight_color": HIGHLIGHT}
    style = load_caption_style("karaoke").model_copy(update=big)
    edl = edl_from(TWO_CLIPS)
    overlay, _ = captions_overlay(edl, {"talk": _file(_timed_words())}, style, SafeZone())
    edl = EDL.model_validate({**edl.model_dump(), "overlays": [overlay.model_dump()]})
    monkeypatch.setattr(render_run, "video_clips_per_segment", lambda *a: 1)
    job = render_run.plan_render(edl, tmp_path, tmp_path / "cut.mp4", encoder="libx264")
    assert len(job.segments(video=True)) == 2
    render_run.run_render(job)
    frames = _frames(tmp_path / "cut.mp4")
    read = []
    for word, start, end in _timed_words():
        middle = (_expected_output_time(start) + _expected_output_time(min(start + WORD_STEP, end))) / 2
        rgb = frames[int(middle * 30)].astype(int)
        lit = (rgb[..., 0] > 170) & (rgb[..., 1] > 140) & (rgb[..., 2] < 110)  # the highlight colour
        read.append(_ocr(lit, tmp_path) == word)
    assert sum(read) / len(read) >= 0.9, list(zip(WORDS, read))


def test_cjk_and_emoji_caption_renders(tmp_path, ffmpeg):
    """A CJK + Arabic + emoji cue, drawn by libass through the renderer: the caption's pixels are
    there (tests/README: look at the frame with an image viewer too)."""
    _talk(tmp_path / "talk.mp4", ffmpeg)
    text = "你好世界 😀🎉 مرحبا"
    edl = edl_from({
        "output": {"width": 640, "height": 360, "fps": 30}, "media": [{"id": "talk", "path": "talk.mp4"}],
        "clips": [{"id": "c1", "media": "talk", "src_in": 0, "src_out": 1}],
        "overlays": [Captions(cues=[Cue(start=0, end=1, text=text)], size=0.1, box_color=None, outline=0.08)
                     .model_dump(mode="json")],
    })  # fmt: skip
    result = render_run.run_render(render_run.plan_render(edl, tmp_path, tmp_path / "cut.mp4", encoder="libx264"))
    assert ("one colour" in " ".join(result.warnings)) == rc.has_glyph("🎉")  # emoji from an outline font, else named
    frame = _frames(tmp_path / "cut.mp4")[15]
    white = (frame.min(axis=2) > 200)
    rows = np.flatnonzero(white.any(axis=1))
    assert rows.size and rows.min() > 360 * 0.5  # drawn, low in the frame
    columns = np.flatnonzero(white.any(axis=0))
    assert columns.max() - columns.min() > 640 * 0.4  # the whole line: CJK, emoji and Arabic glyphs


def test_doctor_checks_the_ass_filter_and_the_caption_fonts(ffmpeg):
    from clipagent.doctor import REQUIRED_FILTERS
    from clipagent.ffmpeg import available_filters

    assert "ass" in REQUIRED_FILTERS and "ass" in available_filters(ffmpeg)
    check = rc.caption_fonts_check()
    assert check.name == "caption fonts" and "CJK" in check.detail
    assert check.ok == all(rc.has_glyph(c) for sample in rc.CHECKED_SCRIPTS.values() for c in sample)
