"""review_edl: every brief and policy check passes on a good EDL and fails, with an actionable
violation, on one crafted to break it. Against the sample footage (sidecar transcripts, no CLIP)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from clipagent.analysis.index import AnalyzeOptions, analyze_folder
from clipagent.analysis.models import ShotEmbeddings
from clipagent.brief import parse_brief
from clipagent.edl import EDL, Captions, Clip, Cue, ImageOverlay, MediaRef, TextOverlay
from clipagent.planning.base import PlanContext
from clipagent.planning.review import review_edl

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "media"

BRIEF = """---
platform: youtube
duration: 8
captions: bold
brand: clipagent
cta: Try clipagent today
must_include: ["turns raw footage into a finished cut"]
avoid: ["um"]
---
Sam introduces clipagent.
"""


@pytest.fixture(scope="module")
def index():
    return analyze_folder(SAMPLES, AnalyzeOptions(embeddings=False, transcripts="sidecar"))


@pytest.fixture(scope="module")
def context(index) -> PlanContext:
    return PlanContext(brief=parse_brief(BRIEF).resolve(), index=index, media_root=SAMPLES)


def good_edl(context: PlanContext, **changes) -> EDL:
    """8 s: "Hi, I'm Sam and this is clipagent." + "It turns raw footage into a finished cut." + city b-roll,
    with captions, the logo and the end card."""
    style = context.brief.caption_style
    cues = [
        Cue(start=Fraction("0.08"), end=Fraction("2.854"), text="Hi, I'm Sam and this is clipagent."),
        Cue(start=Fraction("2.934"), end=Fraction("5.428"), text="It turns raw footage into a finished cut."),
    ]
    fields = {
        "output": context.brief.output,
        "media": [
            MediaRef(id="intro", path="host_intro.mp4"),
            MediaRef(id="city", path="broll_city.mp4"),
            MediaRef(id="logo", path="logo.png"),
        ],
        "clips": [
            Clip(id="c1", media="intro", src_in=Fraction("0.42"), src_out=Fraction("3.274")),
            Clip(id="c2", media="intro", src_in=Fraction("3.82"), src_out=Fraction("6.394")),
            Clip(id="c3", media="city", src_in=Fraction(0), src_out=Fraction("2.572"), mute=True),
        ],
        "overlays": [
            style.overlay(cues),
            context.brief.brand.logo.overlay("logo", Fraction(0), Fraction(8)),
            TextOverlay(start=Fraction("5.5"), end=Fraction(8), text="Try clipagent today"),
        ],
        **changes,
    }
    return EDL(**fields)


def failed(review) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for v in review.violations:
        found.setdefault(v.code, []).append(v.location)
    return found


def check(review, name: str):
    return next(c for c in review.checks if c.name == name)


def test_a_good_edl_passes_every_check(context):
    review = review_edl(good_edl(context), context)
    assert review.ok, review.violations
    names = {c.name for c in review.checks}
    assert {"validate", "duration", "must_include: turns raw footage into a finished cut", "avoid: um",
            "cut_inside_word", "brand: logo", "brand: end card", "captions"} <= names  # fmt: skip
    assert all(c.passed for c in review.checks)


def test_validator_violations_are_included(context):
    edl = good_edl(context, media=[*good_edl(context).media, MediaRef(id="bad", path="../outside.mp4")])
    review = review_edl(edl, context)
    assert failed(review) == {"path_escapes_root": ["media[3].path"]}
    assert not check(review, "validate").passed


def test_duration_off_target_says_by_how_much(context):
    clips = good_edl(context).clips[:2]  # 5.4 s of an 8 s target
    review = review_edl(good_edl(context, clips=clips), context)
    assert "duration_off_target" in failed(review)
    message = next(v.message for v in review.violations if v.code == "duration_off_target")
    assert "5.43 s" in message and "add about 2.6 s" in message


def test_over_the_platform_maximum(context):
    brief = context.brief.model_copy(update={"max_duration": Fraction(6)})
    review = review_edl(good_edl(context), context.model_copy(update={"brief": brief}))
    assert failed(review) == {"over_platform_max": ["clips"]}


def test_must_include_missing_says_where_it_is_spoken(context):
    clips = [good_edl(context).clips[0], good_edl(context).clips[2].model_copy(update={"src_out": Fraction("5.146")})]
    review = review_edl(good_edl(context, clips=clips), context)
    assert failed(review)["must_include_missing"] == ["clips"]
    message = next(v.message for v in review.violations if v.code == "must_include_missing")
    assert "host-intro 4.04-6.31 s" in message  # from "turns" (the phrase's first word) to "cut."


def test_visual_must_include_without_clip_weights(context):
    brief = context.brief.model_copy(update={"must_include": ("a shot of the product",)})
    ctx = context.model_copy(update={"brief": brief})
    review = review_edl(good_edl(ctx), ctx)
    result = check(review, "must_include: a shot of the product")
    assert not result.passed and "could not be verified without CLIP weights" in result.detail
    # A clip of a file whose name says it passes, with the same caveat.
    edl = good_edl(ctx)
    product = Clip(id="c3", media="product", src_in=Fraction(0), src_out=Fraction("2.572"), mute=True)
    edl = edl.model_copy(update={"media": [*edl.media, MediaRef(id="product", path="product_vertical.mp4")],
                                 "clips": [*edl.clips[:2], product]})  # fmt: skip
    result = check(review_edl(edl, ctx), "must_include: a shot of the product")
    assert result.passed and "without CLIP weights" in result.detail


def test_visual_must_include_with_clip_vectors(context, index):
    """With embeddings in the index and a text embedder, coverage means showing a shot CLIP ranks."""
    city = index.file("broll-city")
    vectors = ShotEmbeddings(model="fake", checkpoint="fake", dim=3, vectors=[[1, 0, 0], [0, 1, 0], [0, 0, 1]],
                             shot_of_vector=[0, 1, 2])  # fmt: skip
    files = [f.model_copy(update={"embeddings": vectors}) if f is city else f for f in index.files]
    brief = context.brief.model_copy(update={"must_include": ("a dark fractal",)})
    ctx = context.model_copy(update={"brief": brief, "index": index.model_copy(update={"files": files})})
    embed = lambda text: np.array([0.0, 1.0, 0.0], dtype=np.float32)
    assert not check(review_edl(good_edl(ctx), ctx, embed), "must_include: a dark fractal").passed  # shot 0 only
    clips = [
        *good_edl(ctx).clips[:2],
        good_edl(ctx).clips[2].model_copy(update={"src_in": Fraction(3), "src_out": Fraction("5.572")}),
    ]
    assert check(review_edl(good_edl(ctx, clips=clips), ctx, embed), "must_include: a dark fractal").passed


def test_avoid_in_speech_and_in_captions(context):
    tips = MediaRef(id="tips", path="host_tips.mp4")
    edl = good_edl(context)
    says_um = Clip(id="c3", media="tips", src_in=Fraction("3.52"), src_out=Fraction("6.092"))
    captions = edl.overlays[0].model_copy(
        update={"cues": [*edl.overlays[0].cues, Cue(start=6, end=7, text="Um, well")]}
    )
    edl = edl.model_copy(update={"media": [*edl.media, tips], "clips": [*edl.clips[:2], says_um],
                                 "overlays": [captions, *edl.overlays[1:]]})  # fmt: skip
    review = review_edl(edl, context)
    assert failed(review)["avoid_present"] == ["clips[2]", "overlays[0].cues[2]"]
    # Whole words only: "umbrella" is not "um".
    brief = context.brief.model_copy(update={"avoid": ("umbrella", "raw")})
    review = review_edl(good_edl(context), context.model_copy(update={"brief": brief}))
    assert failed(review) == {"avoid_present": ["clips[1]", "overlays[0].cues[1]"]}


def test_cut_inside_a_word(context):
    edl = good_edl(context)
    clips = [edl.clips[0], edl.clips[1].model_copy(update={"src_in": Fraction("4.2")}), edl.clips[2].model_copy(
        update={"src_out": Fraction("3.0")})]  # fmt: skip
    review = review_edl(good_edl(context, clips=clips), context)
    assert failed(review)["cut_inside_word"] == ["clips[1].src_in"]
    message = next(v.message for v in review.violations if v.code == "cut_inside_word")
    assert '"turns"' in message and "4.042" in message
    # Within 20 ms of a word's edge is on the edge.
    clips[1] = edl.clips[1].model_copy(update={"src_in": Fraction("4.055")})
    assert "cut_inside_word" not in failed(review_edl(good_edl(context, clips=clips), context))


def test_brand_logo_and_end_card_missing(context):
    edl = good_edl(context)
    review = review_edl(edl.model_copy(update={"overlays": [edl.overlays[0]]}), context)
    assert failed(review) == {"brand_missing": ["overlays", "overlays"]}
    assert not check(review, "brand: logo").passed and not check(review, "brand: end card").passed
    early = TextOverlay(start=Fraction(0), end=Fraction(2), text="Try clipagent today")  # not at the end
    review = review_edl(edl.model_copy(update={"overlays": [*edl.overlays[:2], early]}), context)
    assert failed(review) == {"brand_missing": ["overlays"]}


def test_captions_missing_and_outside_the_safe_zone(context):
    edl = good_edl(context)
    review = review_edl(edl.model_copy(update={"overlays": edl.overlays[1:]}), context)
    assert failed(review) == {"captions_missing": ["overlays"]}
    low: Captions = edl.overlays[0].model_copy(update={"margin": 0.02, "max_chars_per_line": 60})
    review = review_edl(edl.model_copy(update={"overlays": [low, *edl.overlays[1:]]}), context)
    assert failed(review) == {"captions_outside_safe_zone": ["overlays[0]"]}
    message = review.violations[0].message
    assert "margin >= 0.0975" in message and "max_chars_per_line <=" in message


def test_a_caption_cue_moved_off_a_face_stays_inside_the_safe_zone(context):
    edl = good_edl(context)
    captions: Captions = edl.overlays[0]
    zone = context.brief.safe_zone
    top = zone.top + 0.35 * captions.size
    moved = [captions.cues[0].model_copy(update={"position": "top", "margin": round(top + 0.01, 4)}), *captions.cues[1:]]
    ok = edl.model_copy(update={"overlays": [captions.model_copy(update={"cues": moved}), *edl.overlays[1:]]})
    assert "captions_outside_safe_zone" not in failed(review_edl(ok, context))
    moved[0] = moved[0].model_copy(update={"margin": 0.0})
    bad = edl.model_copy(update={"overlays": [captions.model_copy(update={"cues": moved}), *edl.overlays[1:]]})
    review = review_edl(bad, context)
    assert failed(review) == {"captions_outside_safe_zone": ["overlays[0]"]}
    assert "cues[0] at the top" in review.violations[0].message


def test_logo_overlay_must_show_the_brand_logo(context):
    edl = good_edl(context)
    other = ImageOverlay(start=Fraction(0), end=Fraction(8), media="city")  # wrong media
    review = review_edl(edl.model_copy(update={"overlays": [edl.overlays[0], other, edl.overlays[2]]}), context)
    assert "brand_missing" in failed(review)
