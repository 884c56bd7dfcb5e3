import json
from fractions import Fraction

import pytest

from clipagent.edl import dump_edl, edl_json_schema, load_edl, parse_edl, place_clips, timeline_duration
from clipagent.errors import EDLError

from .conftest import REPO, edl_from

SAMPLE = REPO / "samples" / "edl.json"


def test_sample_edl_round_trips_exactly():
    text = SAMPLE.read_text()
    edl = parse_edl(text)
    assert dump_edl(edl) == text
    assert edl.clips[2].transition_in.kind == "crossfade"
    assert edl.clips[2].transition_in.duration == Fraction(2, 5)


def test_times_are_rational_not_float():
    edl = edl_from({"clips": [{"id": "c", "media": "a", "src_in": "1001/30000", "src_out": 0.7}]})
    assert edl.clips[0].src_in == Fraction(1001, 30000)
    assert edl.clips[0].src_out == Fraction(7, 10)
    dumped = json.loads(dump_edl(edl))
    assert dumped["clips"][0]["src_in"] == "1001/30000" and dumped["clips"][0]["src_out"] == "0.7"


def test_placement_overlaps_transitions_and_rounds_without_drift():
    clips = [{"id": f"c{i}", "media": "a", "src_in": 0, "src_out": "0.35"} for i in range(10)]
    clips[5]["transition_in"] = {"kind": "crossfade", "duration": "0.1"}
    edl = edl_from({"clips": clips})
    placed = place_clips(edl)
    assert timeline_duration(edl) == Fraction(35, 10) - Fraction(1, 10)
    # 0.35 s is 10.5 frames at 30 fps: boundaries alternate 10/11 frames instead of drifting.
    assert placed[-1].end_frame == 102
    assert [p.frame_count for p in placed[:4]] == [11, 10, 11, 10]
    assert placed[5].start == placed[4].end - Fraction(1, 10)


def test_structural_errors_are_all_reported_with_locations():
    bad = {
        "media": [{"id": "a", "path": "a.mp4"}],
        "clips": [{"id": "c1", "media": "a", "src_in": "soon", "src_out": 1, "speed": 2}, {"id": "bad id!", "media": "a"}],
        "overlays": [{"kind": "sparkles", "start": 0, "end": 1}],
        "extra": 1,
    }
    with pytest.raises(EDLError) as caught:
        parse_edl(json.dumps(bad))
    locations = {v.location for v in caught.value.violations}
    assert {"clips[0].src_in", "clips[1].id", "clips[1].src_in", "clips[1].src_out", "extra"} <= locations
    assert any(loc.startswith("overlays[0]") for loc in locations)
    assert all(v.code == "schema" for v in caught.value.violations)


def test_load_edl_errors(tmp_path):
    with pytest.raises(EDLError, match="not found"):
        load_edl(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(EDLError, match="not a valid EDL"):
        load_edl(broken)


def test_json_schema_names_version_and_time_forms():
    schema = edl_json_schema()
    assert schema["properties"]["schema_version"]["enum"] == [1, 2]
    assert schema["properties"]["schema_version"]["default"] == 2
    assert schema["$id"].endswith("edl-2.json")
    assert {"Reframe", "CropKeyframe"} <= set(schema["$defs"])
    assert "Clip" in schema["$defs"] and "Transition" in schema["$defs"]
    src_in = schema["$defs"]["Clip"]["properties"]["src_in"]
    assert {"type": "number"} in src_in["anyOf"]


# ---- numbers at the edges (issue 10, kind 1) --------------------------------------------------


def _violations_of(data: dict) -> dict[str, str]:
    base = {"media": [{"id": "a", "path": "a.mp4"}], "clips": [{"id": "c1", "media": "a", "src_in": 0, "src_out": 1}]}
    with pytest.raises(EDLError) as caught:
        parse_edl(json.dumps({**base, **data}))
    assert all(v.code == "schema" for v in caught.value.violations)
    return {v.location: v.message for v in caught.value.violations}


def test_speed_zero_is_a_schema_violation_not_a_division_by_zero():
    found = _violations_of({"clips": [{"id": "c1", "media": "a", "src_in": 0, "src_out": 1, "speed": 0}]})
    assert found == {"clips[0].speed": "0 is out of range: a rate must be above 0 and at most 1000"}


@pytest.mark.parametrize(
    "clip, location",
    [
        ({"src_out": "1e400"}, "clips[0].src_out"),
        ({"src_out": 1e300}, "clips[0].src_out"),
        ({"src_in": "-1e10000000"}, "clips[0].src_in"),
        ({"speed": "1/0"}, "clips[0].speed"),
        ({"speed": True}, "clips[0].speed"),
        ({"speed": -1}, "clips[0].speed"),
        ({"gain_db": True}, "clips[0].gain_db"),
        ({"transition_in": {"kind": "dip", "duration": "25:00:00"}}, "clips[0].transition_in.duration"),
    ],
)
def test_extreme_clip_numbers_are_refused_by_field(clip, location):
    found = _violations_of({"clips": [{"id": "c1", "media": "a", "src_in": 0, "src_out": 1, **clip}]})
    assert list(found) == [location]


def test_json_infinities_nan_and_huge_integers_are_refused():
    text = '{"media": [{"id": "a", "path": "a.mp4"}], "clips": [{"id": "c1", "media": "a", "src_in": 0, "src_out": 1e400, "gain_db": NaN}]}'
    with pytest.raises(EDLError) as caught:
        parse_edl(text)
    assert {v.location for v in caught.value.violations} == {"clips[0].src_out", "clips[0].gain_db"}
    with pytest.raises(EDLError):
        parse_edl(text.replace("1e400", "1" + "0" * 5000))  # Python's int-digit limit is not a crash


def test_an_overlay_ending_at_1e400_is_refused_on_the_cut_timeline():
    found = _violations_of({"overlays": [{"kind": "text", "text": "hi", "start": 0, "end": "1e400"}]})
    assert list(found) == ["overlays[0].text.end"] and "out of range" in found["overlays[0].text.end"]
    found = _violations_of({"overlays": [{"kind": "captions", "cues": [{"start": 0, "end": 90000, "text": "x"}]}]})
    assert found == {"overlays[0].captions.cues[0].end": "90000 is out of range: at most 24 h either side of 0"}


@pytest.mark.parametrize("field, value", [("width", True), ("fps", 0), ("fps", "30/0"), ("fps", 1001), ("loudness_lufs", "NaN")])
def test_output_numbers_at_the_edges(field, value):
    found = _violations_of({"output": {field: value}})
    assert list(found) == [f"output.{field}"]


def test_negative_zero_is_zero_and_round_trips():
    edl = edl_from({"clips": [{"id": "c", "media": "a", "src_in": -0.0, "src_out": "1"}]})
    assert edl.clips[0].src_in == 0 and json.loads(dump_edl(edl))["clips"][0]["src_in"] == "0"


def test_a_key_given_twice_is_a_schema_violation_at_its_place():
    """JSON keeps the last of two equal keys without a word; in an EDL that hides a mistake."""
    clip = {"id": "c1", "media": "a", "src_in": 0, "src_out": 1}
    text = json.dumps({"media": [{"id": "a", "path": "a.mp4"}], "clips": [clip]})
    text = text.replace('"src_out": 1', '"src_out": 1, "src_out": 3')
    text = text.replace('"path": "a.mp4"', '"path": "a.mp4", "path": "b.mp4"')
    with pytest.raises(EDLError) as caught:
        parse_edl(text)
    assert [(v.location, v.message) for v in caught.value.violations] == [
        ("media[0].path", "`path` is given twice; keep one"),
        ("clips[0].src_out", "`src_out` is given twice; keep one"),
    ]
