"""Property-based fuzzing (hypothesis) of the three parsers that read what people and models write:
the time parser, the EDL loader and the brief parser (issue 10, acceptance).

The property is the same for each: any input gives a value, or a typed error (a ClipAgentError,
or ValueError from the time parser, which pydantic turns into a field error), and it does so
quickly (a deadline per example). Values that parse are then used the way the product uses
them (placed on the timeline, validated against media, dumped and parsed back, resolved against
the presets), which must not raise either.

Examples per test: `CLIPAGENT_FUZZ_EXAMPLES` (default 200, the CI run); `bench/fuzz.py` runs
10,000. The CI run is derandomised (the same examples every time); the bench run is random.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clipagent.brief import parse_brief
from clipagent.edl import EDL, dump_edl, parse_edl, place_clips, timeline_duration
from clipagent.errors import ClipAgentError
from clipagent.media import probe
from clipagent.timebase import (
    MAX_CUT_SECONDS,
    MAX_RATE,
    MAX_SOURCE_SECONDS,
    format_time,
    parse_cut_time,
    parse_rate,
    parse_time,
)
from clipagent.validate import validate_edl

from .conftest import make_audio, make_image, make_video

EXAMPLES = int(os.environ.get("CLIPAGENT_FUZZ_EXAMPLES", "200"))
DEADLINE_MS = int(os.environ.get("CLIPAGENT_FUZZ_DEADLINE_MS", "2000"))
"""Per example. Generous for a loaded 2-core machine: the faults this guards against took
seconds ("1e10000000") to minutes (a longer exponent, a YAML alias bomb)."""

settings.register_profile(
    "clipagent-fuzz",
    max_examples=EXAMPLES,
    deadline=timedelta(milliseconds=DEADLINE_MS),
    database=None,  # nothing written into the work tree
    derandomize=EXAMPLES <= 1000,  # CI: the same examples every run; the bench run explores
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
FUZZ = settings(settings.get_profile("clipagent-fuzz"))

# ---- strategies ---------------------------------------------------------------------------------

_DIGITS = st.text("0123456789", min_size=1, max_size=60)
numeric_text = st.one_of(
    st.from_regex(r"\A\s?[+-]?\d{0,45}(\.\d{0,45})?([eE][+-]?\d{1,12})?\s?\Z"),
    st.builds(lambda a, b: f"{a}/{b}", st.from_regex(r"\A[+-]?\d{1,45}\Z"), st.from_regex(r"\A[+-]?\d{1,45}\Z")),
    st.builds(lambda h, m, s: f"{h}:{m}:{s}", _DIGITS, _DIGITS, st.from_regex(r"\A\d{1,3}(\.\d{0,45})?\Z")),
    st.builds(lambda m, s: f"{m}:{s}", _DIGITS, _DIGITS),
    st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-0", "0/0", "1/0", "1e10000000",
                     "1_000", "0x1F", "٣", "１２", "1e", ".", "-", "/", "::", "1:2:3:4", "2.5s", "½"]),
)  # fmt: skip
extreme_numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**60), max_value=10**60),
    st.sampled_from([0, -1, 10**400, -(10**400), 2**63, MAX_CUT_SECONDS + 1, MAX_SOURCE_SECONDS + 1, MAX_RATE + 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e6, max_value=1e6),
    st.fractions(max_denominator=10**12),
    st.booleans(),
)
time_like = st.one_of(extreme_numbers, numeric_text, st.text(max_size=30), st.none(), st.lists(st.integers(), max_size=2))


# ---- 1. the time parser -------------------------------------------------------------------------


@FUZZ
@given(time_like)
def test_the_time_parser_gives_a_bounded_exact_value_or_a_value_error(value):
    for parse, low, high in (
        (parse_time, -MAX_SOURCE_SECONDS, MAX_SOURCE_SECONDS),
        (parse_cut_time, -MAX_CUT_SECONDS, MAX_CUT_SECONDS),
        (parse_rate, 0, MAX_RATE),
    ):
        try:
            seconds = parse(value)
        except ValueError:
            continue
        assert isinstance(seconds, Fraction) and low <= seconds <= high
        assert parse is not parse_rate or seconds > 0
        assert parse(format_time(seconds)) == seconds  # written back exactly, in a form that parses again


# ---- 2. the EDL loader --------------------------------------------------------------------------

MEDIA_IDS = ["a", "b", "logo", "music", "ghost"]
ids = st.one_of(st.sampled_from(MEDIA_IDS), st.text(max_size=8))
numbers = st.one_of(extreme_numbers, numeric_text)
clip = st.fixed_dictionaries(
    {"id": st.one_of(st.sampled_from([f"c{i}" for i in range(4)]), st.text(max_size=5)), "media": ids,
     "src_in": numbers, "src_out": numbers},
    optional={"speed": numbers, "gain_db": numbers, "mute": st.one_of(st.booleans(), numbers),
              "fit": st.sampled_from(["contain", "cover", "stretch"]),
              "crop": st.fixed_dictionaries({}, optional={k: numbers for k in "xywh"}),
              "transition_in": st.fixed_dictionaries({"kind": st.sampled_from(["cut", "crossfade", "dip", "wipe"])},
                                                     optional={"duration": numbers})},
)  # fmt: skip
overlay = st.one_of(
    st.fixed_dictionaries({"kind": st.just("text"), "text": st.text(min_size=1, max_size=20), "start": numbers, "end": numbers},
                          optional={"size": numbers, "position": st.sampled_from(["top", "bottom", "nowhere"])}),
    st.fixed_dictionaries({"kind": st.just("image"), "media": ids, "start": numbers, "end": numbers},
                          optional={"width": numbers, "opacity": numbers, "margin": numbers}),
    st.fixed_dictionaries({"kind": st.just("captions"), "cues": st.lists(
        st.fixed_dictionaries({"start": numbers, "end": numbers, "text": st.text(min_size=1, max_size=10)}), max_size=3)},
        optional={"max_chars_per_line": numbers, "size": numbers}),
)  # fmt: skip
near_valid_edl = st.fixed_dictionaries(
    {"media": st.just([{"id": "a", "path": "a.mp4"}, {"id": "b", "path": "b.mp4"}, {"id": "logo", "path": "logo.png"},
                       {"id": "music", "path": "music.m4a"}]),
     "clips": st.lists(clip, min_size=1, max_size=5)},
    optional={"output": st.fixed_dictionaries({}, optional={"width": numbers, "height": numbers, "fps": numbers,
                                                             "loudness_lufs": numbers, "true_peak_db": numbers}),
              "overlays": st.lists(overlay, max_size=3),
              "music": st.fixed_dictionaries({"media": ids}, optional={"src_in": numbers, "gain_db": numbers,
                                                                      "fade_in": numbers, "fade_out": numbers}),
              "schema_version": st.one_of(st.just(1), numbers)},
)  # fmt: skip
any_json = st.recursive(
    st.one_of(st.none(), st.booleans(), extreme_numbers, st.text(max_size=10)),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)),
    max_leaves=20,
)


def _json(value) -> str:
    """JSON text as a person or a model might write it: huge integers, NaN, Infinity and all
    (a Fraction is written as its "a/b" text)."""
    try:
        return json.dumps(value, default=str)
    except ValueError:  # an int past Python's 4300-digit limit
        return json.dumps(_huge_ints_as_text(value), default=str)


def _huge_ints_as_text(value):
    if isinstance(value, dict):
        return {k: _huge_ints_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_huge_ints_as_text(v) for v in value]
    if isinstance(value, int) and value.bit_length() > 10_000:
        return "9" * 5000
    return value


@pytest.fixture(scope="module")
def prober(tmp_path_factory):
    """Real probe facts of a 3 s clip, a logo and a music bed, answered by file name (any other
    name is the clip): the validator's arithmetic is under test here, not probing."""
    root = tmp_path_factory.mktemp("fuzz-media")
    infos = {
        "a.mp4": probe(make_video(root / "a.mp4", duration=3)),
        "logo.png": probe(make_image(root / "logo.png")),
        "music.m4a": probe(make_audio(root / "music.m4a", duration=2)),
    }
    return lambda path: infos.get(Path(path).name, infos["a.mp4"])


def _use(edl: EDL, prober) -> None:
    """What the product does with an EDL that parsed: place it, validate it, write it, read it back."""
    placed = place_clips(edl)
    assert placed[-1].end == timeline_duration(edl)
    report = validate_edl(edl, Path("/fuzz-media"), prober=prober)
    for v in report.violations:
        assert v.location and v.message
    assert parse_edl(dump_edl(edl)) == edl


@FUZZ
@given(near_valid_edl)
def test_near_valid_edls_with_extreme_numbers_load_or_give_an_edl_error(prober, data):
    try:
        edl = parse_edl(_json(data))
    except ClipAgentError as exc:
        assert exc.exit_code == 2 and exc.violations
        return
    _use(edl, prober)


@FUZZ
@given(st.one_of(any_json.map(_json), st.text(max_size=200)))
def test_any_json_or_text_loads_or_gives_an_edl_error(prober, text):
    try:
        edl = parse_edl(text)
    except ClipAgentError as exc:
        assert exc.exit_code == 2
        return
    _use(edl, prober)


# ---- 3. the brief parser ------------------------------------------------------------------------

FIELDS = ["title", "platform", "aspect", "duration", "pace", "captions", "music", "brand", "cta", "must_include",
          "avoid", "language"]  # fmt: skip
yaml_scalar = st.one_of(
    numeric_text,
    st.sampled_from(["tiktok", "youtube", "reels", "square", "9:16", "16:9", "0:0", "1:1000", "on", "off", "none",
                     "bold", "minimal", "clipagent", "fast", "slow", "en", "pt-BR", "true", "no", "~", "null",
                     "'quoted'", '"x"', "a.m4a", "../x", "/etc/passwd", "&a x", "*a", "!!python/object:os.system",
                     "!!binary aGk=", "{a: 1}", "[1, [2, [3]]]", "|\n  block", ">-", "- x", "? x", "<<: {a: 1}"]),
    st.text(alphabet="&*!:-[]{},'\"#|>%@` ?\n\tab019.", max_size=20),
)  # fmt: skip
yaml_value = st.one_of(yaml_scalar, st.lists(yaml_scalar, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"),
                       st.lists(yaml_scalar, max_size=3).map(lambda xs: "".join(f"\n  - {x}" for x in xs)))  # fmt: skip
front_matter = st.lists(
    st.tuples(st.one_of(st.sampled_from(FIELDS), st.text(alphabet="abcdefghijklmnopqrstuvwxyz_:&*- ", max_size=10)),
              yaml_value),
    max_size=8,
).map(lambda pairs: "\n".join(f"{k}: {v}" for k, v in pairs))  # fmt: skip


@FUZZ
@given(front_matter, st.text(max_size=100))
def test_briefs_parse_and_resolve_or_give_a_brief_error(front, body):
    try:
        brief = parse_brief(f"---\n{front}\n---\n{body}")
    except ClipAgentError as exc:
        assert exc.exit_code == 2 and str(exc).startswith("brief.md") or "preset" in str(exc)
        return
    resolved = brief.resolve()
    assert 0 < resolved.target_duration <= (resolved.max_duration or MAX_CUT_SECONDS)


@FUZZ
@given(st.text(alphabet="-&*!:[]{},'\"#|>%@` ?\n\tab019.\ufeff", max_size=120))
def test_any_text_is_a_brief_or_a_brief_error(text):
    try:
        parse_brief(text)
    except ClipAgentError as exc:
        assert exc.exit_code == 2
