"""The end card and the hook title (issue 11): the brand kit's slate with the call to action,
rendered for every platform preset at a third of its size, read back by OCR (tesseract) on the
last frame; nothing of it outside the platform's safe zone; the blurred background holds the last
frame; long text wraps and shrinks to fit; the validator's rules."""

from __future__ import annotations

import re
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from clipagent.brief import BriefError, parse_brief
from clipagent.edl import EDL, Clip, EndCard, MediaRef, SafeArea
from clipagent.ffmpeg import find_ffmpeg
from clipagent.planning.assemble import corner_logo, end_card_for, hook_title_for
from clipagent.presets import list_presets
from clipagent.render.endcard import layout_end_card, layout_hook_title, safe_box
from clipagent.render.run import plan_render, run_render
from clipagent.render.text import find_font
from clipagent.validate import validate_edl

from .conftest import edl_from, make_audio, make_image, make_video

SAMPLE_LOGO = Path(__file__).resolve().parents[1] / "samples" / "media" / "logo.png"
CTA = "Try clipagent today"
TITLE = "Three tips"
LENGTH = Fraction(7, 2)  # hook title 0-2 s, end card 2-3.5 s
SCALE = 3  # every platform's frame at a third of its size (1080x1920 -> 360x640)

needs_tesseract = pytest.mark.skipif(shutil.which("tesseract") is None, reason="needs tesseract-ocr")


@pytest.fixture(scope="module")
def footage(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("endcard")
    make_video(root / "a.mp4", duration=4)
    if SAMPLE_LOGO.is_file():
        shutil.copy(SAMPLE_LOGO, root / "logo.png")
    else:
        make_image(root / "logo.png", size="256x128", color="orange")
    make_audio(root / "music.m4a", duration=2)
    return root


def brief(platform: str, extra: str = ""):
    return parse_brief(f"---\nplatform: {platform}\nbrand: clipagent\ncta: {CTA}\nhook_title: {TITLE}\n{extra}---\n").resolve()


def edl_for(platform: str, **card) -> EDL:
    resolved = brief(platform)
    end_card = end_card_for(resolved, LENGTH, "logo")
    assert end_card is not None
    out = resolved.output
    output = out.model_copy(update={"width": out.width // SCALE // 2 * 2, "height": out.height // SCALE // 2 * 2})
    return EDL(output=output, media=[MediaRef(id="a", path="a.mp4"), MediaRef(id="logo", path="logo.png")],
               clips=[Clip(id="c1", media="a", src_in=0, src_out=LENGTH, fit="cover")],
               end_card=end_card.model_copy(update={"duration": Fraction(3, 2), **card}), hook_title=hook_title_for(resolved, "", LENGTH))  # fmt: skip


def render(edl: EDL, root: Path, out: Path) -> Path:
    return run_render(plan_render(edl, root, out, encoder="libx264")).output


def frame_at(video: Path, seconds: float | None, dest: Path) -> np.ndarray:
    """The frame at `seconds` (None: the last frame) as RGB, also written to `dest` (PNG)."""
    where = ["-sseof", "-0.1"] if seconds is None else ["-ss", str(seconds)]
    subprocess.run([find_ffmpeg().path, "-v", "error", "-y", *where, "-i", str(video), "-frames:v", "1", "-update", "1",
                    str(dest)], check=True)  # fmt: skip
    raw = subprocess.run([find_ffmpeg().path, "-v", "error", "-i", str(dest), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         check=True, capture_output=True).stdout  # fmt: skip
    width, height = (int(v) for v in re.findall(r"(\d+)x(\d+)", subprocess.run(
        [find_ffmpeg().path, "-hide_banner", "-i", str(dest)], capture_output=True, text=True).stderr)[-1])  # fmt: skip
    return np.frombuffer(raw, np.uint8).reshape(height, width, 3)


def ocr_words(image: Path, psm: int = 6) -> set[str]:
    text = subprocess.run(["tesseract", str(image), "-", "--psm", str(psm)], capture_output=True, text=True).stdout
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


@needs_tesseract
@pytest.mark.parametrize("platform", list_presets("platform"))
def test_ocr_reads_the_call_to_action_on_the_last_frame(platform, footage, tmp_path):
    edl = edl_for(platform)
    cut = render(edl, footage, tmp_path / "cut.mp4")
    last = frame_at(cut, None, tmp_path / "last.png")
    assert words(CTA) <= ocr_words(tmp_path / "last.png"), f"{platform}: the CTA is not read on the last frame"
    # Nothing of the card outside the safe zone: there the frame is the brand's background colour.
    zone = safe_box(edl.end_card.safe_zone, edl.output.width, edl.output.height)
    inside = np.zeros(last.shape[:2], bool)
    inside[zone.y0 : zone.y1, zone.x0 : zone.x1] = True
    background = np.array([int(edl.end_card.background[i : i + 2], 16) for i in (1, 3, 5)])
    outside = np.abs(last[~inside].astype(int) - background).max(axis=1)
    assert np.percentile(outside, 99.5) <= 12, f"{platform}: something is drawn outside the safe zone"
    assert np.abs(last[inside].astype(int) - background).max(axis=1).max() > 100, "the card has content"
    # The hook title over the opening, in its box at the top of the safe zone.
    title = layout_hook_title(edl.hook_title, edl.output.width, edl.output.height, find_font())
    opening = frame_at(cut, 1.0, tmp_path / "opening.png")
    box = title.box
    crop = opening[box.y0 : box.y1, box.x0 : box.x1]
    subprocess.run([find_ffmpeg().path, "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s",
                    f"{box.width}x{box.height}", "-i", "-", "-vf", "scale=iw*2:ih*2", str(tmp_path / "title.png")],
                   input=crop.tobytes(), check=True)  # fmt: skip
    assert words(TITLE) <= ocr_words(tmp_path / "title.png", psm=7), f"{platform}: the hook title is not read"
    assert zone.contains(box)


@needs_tesseract
def test_a_blurred_end_card_holds_the_last_frame(footage, tmp_path):
    import av

    edl = edl_for("youtube", background="blur")
    cut = render(edl, footage, tmp_path / "cut.mp4")
    frame_at(cut, None, tmp_path / "last.png")
    assert words(CTA) <= ocr_words(tmp_path / "last.png")
    with av.open(str(cut)) as container:
        pictures = [f.to_ndarray(format="gray").astype(int) for f in container.decode(video=0)]
    fps = edl.output.fps
    first = round((LENGTH - edl.end_card.duration) * fps)
    assert len(pictures) == round(LENGTH * fps)
    held = [np.abs(pictures[k] - pictures[-1]).mean() for k in range(first, len(pictures))]
    moving = [np.abs(pictures[k] - pictures[k + 1]).mean() for k in range(first - 10, first - 1)]
    assert max(held) < 1.0 < min(moving), "the card holds one frame while the footage before it moves"


def test_long_text_wraps_and_shrinks_inside_the_safe_zone():
    font = find_font()
    zone = SafeArea(top=0.08, bottom=0.25, left=0.05, right=0.12)  # tiktok
    text = "Subscribe for a new editing tip every single morning of the week, and share it with a friend"
    card = EndCard(text=text, logo="logo", safe_zone=zone)
    layout = layout_end_card(card, 1080, 1920, (256, 128), font)
    box = layout.zone
    assert len(layout.text.lines) >= 3 and " ".join(layout.text.lines) == text
    assert max(layout.text.widths) <= box.width
    assert layout.text_top >= box.y0 and layout.text_top + layout.text.height <= box.y1
    assert layout.logo is not None and box.contains(layout.logo)
    assert layout.text.px < round(0.09 * 1080), "shrunk from the brand's size to fit"
    unbroken = layout_end_card(card.model_copy(update={"text": "x" * 80}), 1080, 1920, None, font)
    assert len(unbroken.text.lines) > 1 and max(unbroken.text.widths) <= box.width, "a long word is broken"
    short = layout_end_card(card.model_copy(update={"text": "Go"}), 1920, 1080, None, font)
    assert short.text.px == round(0.09 * 1080), "short text keeps the brand's size"


def test_the_brief_and_the_brand_kit_make_the_card_and_the_title():
    resolved = brief("reels", extra="aspect: '1:1'\n")
    card = end_card_for(resolved, Fraction(20), "logo")
    assert card.text == CTA and card.background == "#1B1F2A" and card.accent == "#FF7A1A" and card.logo == "logo"
    assert card.safe_zone.top == 0.14 and card.duration == Fraction(5, 2)
    assert end_card_for(resolved, Fraction(1), "logo") is None, "a cut shorter than 1.5 s has no end card"
    title = hook_title_for(resolved, "the hook line", Fraction(20))
    assert title.text == TITLE and title.end == 2 and title.box_color == "#FF7A1AE6"
    assert corner_logo(Fraction(20), card, title) == (2, Fraction(35, 2)), "the corner logo waits for the title and the card"
    hooked = parse_brief("---\nhook_title: on\n---\n").resolve()
    assert hook_title_for(hooked, "Hi, I'm Sam.", Fraction(20)).text == "Hi, I'm Sam."
    assert hook_title_for(parse_brief("---\nhook_title: off\n---\n").resolve(), "x", Fraction(20)) is None
    with pytest.raises(BriefError, match="did you mean `hook_title`"):
        parse_brief("---\nhook: Three tips\n---\n")
    with pytest.raises(BriefError, match="field `hook_title`: must be text"):
        parse_brief("---\nhook_title: [a, b]\n---\n")


def test_the_validator_checks_the_card_and_the_title(media_dir):
    edl = edl_from({
        "clips": [{"id": "c1", "media": "a", "src_in": 0, "src_out": 2}],
        "end_card": {"text": CTA, "duration": 1, "logo": "music"},
        "hook_title": {"text": TITLE, "end": 3},
    })  # fmt: skip
    found = {(v.location, v.code) for v in validate_edl(edl, media_dir).violations}
    assert ("end_card.duration", "invalid_value") in found
    assert ("end_card.logo", "not_an_image") in found
    assert ("hook_title.end", "overlay_outside_timeline") in found
    ok = edl_from({"clips": [{"id": "c1", "media": "a", "src_in": 0, "src_out": 2}],
                   "end_card": {"text": CTA, "duration": "1.5", "logo": "logo", "background": "blur"}})
    assert not validate_edl(ok, media_dir).violations


def test_a_long_call_to_action_wraps_between_words_only():
    """At the smallest size, an ordinary word is never broken ("incredibl / e"); only a word wider
    than the line alone is broken between characters."""
    font = find_font()
    zone = SafeArea(top=0.3, bottom=0.3, left=0.3, right=0.3)
    text = "An incredibly comprehensive understanding of extraordinarily sophisticated professional editing " * 2
    card = EndCard(text=text.strip(), safe_zone=zone)
    layout = layout_end_card(card, 360, 640, None, font)
    words = text.split()
    assert all(word in words for line in layout.text.lines for word in line.split()), layout.text.lines
    long_word = "Supercalifragilisticexpialidocious" * 2
    mixed = layout_end_card(card.model_copy(update={"text": f"Try it {long_word} today"}), 360, 640, None, font)
    assert mixed.text.lines[0] == "Try it" and mixed.text.lines[-1].endswith("today"), mixed.text.lines
    assert "".join(mixed.text.lines[1:-1]) + mixed.text.lines[-1].removesuffix(" today") == long_word
    assert max(mixed.text.widths) <= layout.zone.width


CJK_TITLE = "安全第一 مرحبا بكم 🎉🚀 שלום"


def test_cjk_and_emoji_are_measured_in_the_font_that_draws_them():
    """The title's lines are measured with fontconfig's fallback for the scripts the render's font
    lacks (as libass draws them), so CJK characters take their full em."""
    from clipagent.render.captions import has_glyph
    from clipagent.render.endcard import text_width

    if not all(has_glyph(c) for c in "安🎉"):
        pytest.skip("needs fonts-noto-cjk and fonts-symbola")
    font = find_font()
    assert text_width("安全第一", 100, font) >= 380  # four full-width characters, not four empty boxes
    assert text_width("🎉🚀", 100, font) >= 150


def test_the_hook_title_and_the_end_card_draw_cjk_and_emoji(footage, tmp_path):
    """A hook title and a call to action mixing CJK, Arabic, emoji and Hebrew are drawn by libass
    with the captions' font fallback: no empty boxes (tofu, which fill much of their cell); the
    render notes name a character no font covers."""
    from clipagent.render.captions import caption_notes, has_glyph

    if not all(has_glyph(c) for c in "安🎉"):
        pytest.skip("needs fonts-noto-cjk and fonts-symbola")
    edl = edl_for("reels")
    edl = edl.model_copy(update={"hook_title": edl.hook_title.model_copy(update={"text": CJK_TITLE}),
                                 "end_card": edl.end_card.model_copy(update={"text": "立即试用 🎉 جرب الآن"})})  # fmt: skip
    cut = render(edl, footage, tmp_path / "cut.mp4")
    title = layout_hook_title(edl.hook_title, edl.output.width, edl.output.height, find_font())
    assert " ".join(title.text.lines) == CJK_TITLE
    opening = frame_at(cut, 1.0, tmp_path / "opening.png")
    last = frame_at(cut, None, tmp_path / "last.png")
    for picture, box in ((opening, title.box), (last, safe_box(edl.end_card.safe_zone, *last.shape[1::-1]))):
        assert picture[box.y0 : box.y1, box.x0 : box.x1].astype(int).std() > 20, "text is drawn"
    assert not any("glyph" in note for note in caption_notes(edl))
    unknown = edl.model_copy(update={"end_card": edl.end_card.model_copy(update={"text": "Go \U000f0000 now"})})
    assert any(note.startswith("end card: no installed font has a glyph for \U000f0000 (U+F0000)")
               for note in caption_notes(unknown))


def test_a_text_overlay_draws_cjk_and_emoji_in_its_place(footage, tmp_path):
    """A text overlay of the EDL is drawn by libass too, at its position, only between its times."""
    from clipagent.edl import TextOverlay
    from clipagent.render.captions import has_glyph

    if not all(has_glyph(c) for c in "安🎉"):
        pytest.skip("needs fonts-noto-cjk and fonts-symbola")
    edl = edl_for("reels").model_copy(update={"hook_title": None, "end_card": None, "overlays": [
        TextOverlay(text="安全第一 🎉", start=1, end=2, position="bottom", size=0.08, box_color="#000000")]})  # fmt: skip
    cut = render(edl, footage, tmp_path / "cut.mp4")
    h = edl.output.height
    during, before = frame_at(cut, 1.5, tmp_path / "during.png"), frame_at(cut, 0.5, tmp_path / "before.png")
    band = slice(h - round(0.05 * h) - round(0.16 * h), h - round(0.05 * h) + 2)
    dark = (during[band].astype(int).max(axis=2) < 30).mean()
    assert dark > 0.05 > (before[band].astype(int).max(axis=2) < 30).mean(), "the box and text at the bottom, at 1.5 s"
    white = (during[band].astype(int).min(axis=2) > 200).mean()
    assert white > 0.005, "the text is drawn in its box"
