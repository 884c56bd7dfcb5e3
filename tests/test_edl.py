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
    assert schema["properties"]["schema_version"]["const"] == 1
    assert "Clip" in schema["$defs"] and "Transition" in schema["$defs"]
    src_in = schema["$defs"]["Clip"]["properties"]["src_in"]
    assert {"type": "number"} in src_in["anyOf"]
