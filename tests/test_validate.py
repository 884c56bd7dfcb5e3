"""The validator: one test per violation kind, each against real probed media."""


import pytest

from clipagent.validate import resolve_media_path, validate_edl

from .conftest import edl_from


def codes(edl, root) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for v in validate_edl(edl, root).violations:
        found.setdefault(v.code, []).append(v.location)
    return found


def test_a_good_edl_has_no_violations(media_dir):
    edl = edl_from({
        "clips": [
            {"id": "c1", "media": "a", "src_in": 0, "src_out": 2},
            {"id": "c2", "media": "silent", "src_in": 0, "src_out": 1, "transition_in": {"kind": "crossfade", "duration": 0.5}},
        ],
        "overlays": [{"kind": "image", "media": "logo", "start": 0, "end": 2.5}],
        "music": {"media": "music"},
    })  # fmt: skip
    report = validate_edl(edl, media_dir)
    assert report.ok, report.violations
    assert any("plays silence" in note for note in report.notes)
    assert report.media["b"].video.fps == 25


def test_duplicate_id(media_dir):
    edl = edl_from({"clips": [{"id": "x", "media": "a", "src_in": 0, "src_out": 1}] * 2})
    assert codes(edl, media_dir) == {"duplicate_id": ["clips[1].id"]}


def test_unknown_media(media_dir):
    edl = edl_from({
        "clips": [{"id": "c", "media": "ghost", "src_in": 0, "src_out": 1}],
        "overlays": [{"kind": "image", "media": "nope", "start": 0, "end": 1}],
        "music": {"media": "tune"},
    })  # fmt: skip
    assert codes(edl, media_dir) == {"unknown_media": ["clips[0].media", "overlays[0].media", "music.media"]}


@pytest.mark.parametrize("path", ["../a.mp4", "/etc/passwd", "sub/../../a.mp4", "C:\\media\\a.mp4", "~/a.mp4", "..\\a.mp4"])
def test_path_escapes_root(media_dir, path):
    edl = edl_from({"media": [{"id": "a", "path": path}]})
    assert codes(edl, media_dir) == {"path_escapes_root": ["media[0].path"]}


def test_paths_inside_the_root_resolve(tmp_path):
    assert resolve_media_path(tmp_path, "sub/clip.mp4") == tmp_path / "sub" / "clip.mp4"
    assert resolve_media_path(tmp_path, "./clip.mp4") == tmp_path / "clip.mp4"


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("empty.mp4", b"", "empty file"),
        ("text.mp4", b"this is not a video, just text\n" * 20, "not a media file"),
        ("missing.mp4", None, "not found"),
    ],
)
def test_media_unusable(tmp_path, name, content, reason):
    if content is not None:
        (tmp_path / name).write_bytes(content)
    edl = edl_from({"media": [{"id": "a", "path": name}]})
    report = validate_edl(edl, tmp_path)
    assert [v.code for v in report.violations] == ["media_unusable"]
    assert reason in report.violations[0].message


def test_truncated_media_is_unusable(tmp_path, media_dir):
    data = (media_dir / "a.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 3])  # moov atom at the end is lost
    edl = edl_from({"media": [{"id": "a", "path": "cut.mp4"}]})
    assert list(codes(edl, tmp_path)) == ["media_unusable"]


def test_no_video_stream(media_dir):
    edl = edl_from({"clips": [{"id": "c", "media": "music", "src_in": 0, "src_out": 1}]})
    assert codes(edl, media_dir) == {"no_video_stream": ["clips[0].media"]}


def test_image_cannot_be_a_clip(media_dir):
    edl = edl_from({"clips": [{"id": "c", "media": "logo", "src_in": 0, "src_out": 1}]})
    assert codes(edl, media_dir) == {"no_video_stream": ["clips[0].media"]}


def test_no_audio_stream_for_music(media_dir):
    edl = edl_from({"music": {"media": "silent"}})
    assert codes(edl, media_dir) == {"no_audio_stream": ["music.media"]}


def test_not_an_image(media_dir):
    edl = edl_from({"overlays": [{"kind": "image", "media": "music", "start": 0, "end": 1}]})
    assert codes(edl, media_dir) == {"not_an_image": ["overlays[0].media"]}


def test_empty_range(media_dir):
    edl = edl_from({"clips": [{"id": "c", "media": "a", "src_in": 2, "src_out": 2}]})
    assert codes(edl, media_dir) == {"empty_range": ["clips[0]"]}


def test_range_outside_source(media_dir):
    edl = edl_from({"clips": [
        {"id": "c1", "media": "a", "src_in": 1, "src_out": 3.5},
        {"id": "c2", "media": "a", "src_in": -1, "src_out": 1},
    ]})  # fmt: skip
    found = codes(edl, media_dir)
    assert found == {"range_outside_source": ["clips[0].src_out", "clips[1].src_in"]}


def test_clip_too_short(media_dir):
    edl = edl_from({"clips": [{"id": "c", "media": "a", "src_in": 0, "src_out": 0.01}]})
    assert codes(edl, media_dir) == {"clip_too_short": ["clips[0]"]}


def test_transition_invalid(media_dir):
    edl = edl_from({"clips": [
        {"id": "c1", "media": "a", "src_in": 0, "src_out": 1, "transition_in": {"kind": "crossfade", "duration": 0.2}},
        {"id": "c2", "media": "a", "src_in": 0, "src_out": 1, "transition_in": {"kind": "cut", "duration": 0.2}},
        {"id": "c3", "media": "a", "src_in": 0, "src_out": 0.5, "transition_in": {"kind": "dip", "duration": 0.8}},
        {"id": "c4", "media": "a", "src_in": 0, "src_out": 1, "transition_in": {"kind": "crossfade", "duration": 0}},
    ]})  # fmt: skip
    assert codes(edl, media_dir) == {
        "transition_invalid": [f"clips[{i}].transition_in" for i in range(4)],
    }


def test_overlay_outside_timeline(media_dir):
    edl = edl_from({"overlays": [
        {"kind": "text", "text": "late", "start": 0.5, "end": 5},
        {"kind": "text", "text": "backwards", "start": 0.8, "end": 0.2},
        {"kind": "captions", "cues": [{"start": 0, "end": 0.5, "text": "ok"}, {"start": 0.9, "end": 3, "text": "late"}]},
    ]})  # fmt: skip
    assert codes(edl, media_dir) == {"overlay_outside_timeline": ["overlays[0]", "overlays[1]", "overlays[2].cues[1]"]}


@pytest.mark.parametrize(
    "output",
    [{"width": 321, "height": 180}, {"width": 7680, "height": 7680}, {"width": 1000, "height": 100}, {"fps": 240}],
)
def test_output_invalid(media_dir, output):
    edl = edl_from({"output": {"width": 320, "height": 180, "fps": 30, **output}})
    assert list(codes(edl, media_dir)) == ["output_invalid"]


def test_invalid_value(media_dir):
    edl = edl_from({"clips": [
        {"id": "c1", "media": "a", "src_in": 0, "src_out": 1, "speed": 8},
        {"id": "c2", "media": "a", "src_in": 0, "src_out": 1, "crop": {"x": 0.5, "y": 0, "w": 0.8, "h": 1}},
    ]})  # fmt: skip
    assert codes(edl, media_dir) == {"invalid_value": ["clips[0].speed", "clips[1].crop"]}


def test_every_violation_is_reported_at_once(media_dir):
    edl = edl_from({
        "media": [{"id": "a", "path": "a.mp4"}, {"id": "evil", "path": "../../etc/passwd"}],
        "clips": [
            {"id": "c1", "media": "ghost", "src_in": 0, "src_out": 1},
            {"id": "c2", "media": "a", "src_in": 0, "src_out": 99},
            {"id": "c3", "media": "evil", "src_in": 0, "src_out": 1},
        ],
    })  # fmt: skip
    report = validate_edl(edl, media_dir)
    assert {v.code for v in report.violations} == {"unknown_media", "range_outside_source", "path_escapes_root"}
    assert all(v.location and v.message for v in report.violations)


def test_validate_cli_with_speed_zero_exits_2_naming_the_field(media_dir, tmp_path, capsys):
    """`"speed": 0` crashed `validate` with ZeroDivisionError; now it is bad input, exit 2."""
    import json

    from clipagent.cli import main

    edl = tmp_path / "edl.json"
    edl.write_text(json.dumps({
        "media_root": str(media_dir), "media": [{"id": "a", "path": "a.mp4"}],
        "clips": [{"id": "c1", "media": "a", "src_in": 0, "src_out": 1, "speed": 0}],
    }))  # fmt: skip
    assert main(["validate", str(edl)]) == 2
    err = capsys.readouterr().err
    assert "clips[0].speed" in err and "above 0" in err and "Traceback" not in err


def test_a_cut_longer_than_24_hours_is_refused(media_dir):
    clips = [{"id": f"c{i}", "media": "a", "src_in": 0, "src_out": "1/4", "speed": "1/1000"} for i in range(400)]
    edl = edl_from({"clips": clips})  # 400 clips of 250 s each: 27.8 h
    assert codes(edl, media_dir)["output_invalid"] == ["clips"]


def test_human_listings_are_capped_and_counted(media_dir, tmp_path, capsys):
    """2,000 violations list the first 20 and count the rest by code; --json keeps them all."""
    import json

    from clipagent.cli import main

    clips = [{"id": f"c{i}", "media": "a", "src_in": 2, "src_out": 1} for i in range(2000)]
    edl = tmp_path / "edl.json"
    edl.write_text(json.dumps({"media_root": str(media_dir), "media": [{"id": "a", "path": "a.mp4"}], "clips": clips}))
    assert main(["validate", str(edl)]) == 2
    err = capsys.readouterr().err
    assert err.count("[empty_range]") == 20 and "and 1980 more (empty_range ×1980)" in err
    assert len(err) < 4000
    assert main(["validate", str(edl), "--json"]) == 2
    assert len(json.loads(capsys.readouterr().out)["violations"]) == 2000


def test_media_facts_beyond_the_bounds_are_unusable_media_not_a_crash(media_dir, monkeypatch):
    """A header claiming centuries would fail the MediaInfo model: that is a MediaError."""
    from fractions import Fraction

    import clipagent.media as media
    from clipagent.errors import MediaError

    real = media._describe

    def claims_centuries(container, path, size):
        info = real(container, path, size)
        return media.MediaInfo.model_validate({**info.model_dump(), "duration": str(Fraction(10**10))})

    monkeypatch.setattr(media, "_describe", claims_centuries)
    with pytest.raises(MediaError, match=r"a.mp4: impossible stream facts \(duration: '10000000000' is out of range"):
        media.probe(media_dir / "a.mp4")


@pytest.mark.parametrize(
    "content, reason",
    [
        (b'{"clips": [', "(not JSON: EOF while parsing a list at line 1 column 11)"),
        (b"", "(an empty file, not JSON)"),
        (b"\x00\x85\xff junk", "(binary data, not JSON text: byte 1 is not UTF-8)"),
        (b"[1,2,3]", "(JSON, but an array: an EDL is an object of fields)"),
        (b'"an edl"', "(JSON, but a string: an EDL is an object of fields)"),
    ],
    ids=["malformed", "empty", "binary", "array", "string"],
)
@pytest.mark.parametrize("command", ["validate", "render"])
def test_a_file_that_is_not_an_edl_says_so_in_every_command(tmp_path, capsys, content, reason, command):
    """Not an EDL at all is not "does not fit the media": one loader (edl.load_edl) says "is not a
    valid EDL (why)" with the schema hint, for validate and render alike (score, revise and export
    load through it too); `validate --json` keeps it as one schema violation at (root)."""
    from clipagent.cli import main

    edl = tmp_path / "e.json"
    edl.write_bytes(content)
    argv = ["validate", str(edl)] if command == "validate" else ["render", str(edl), "-o", str(tmp_path / "c.mp4"), "--dry-run"]
    assert main(argv) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"{edl} is not a valid EDL {reason}" in err, err
    assert "hint: `clipagent schema` prints the EDL's JSON Schema" in err
    assert "does not fit" not in err and "(root)" not in err and "Traceback" not in err
    if command == "validate":
        import json

        assert main(["validate", str(edl), "--json"]) == 2
        payload = json.loads(capsys.readouterr().out)
        assert [(v["code"], v["location"]) for v in payload["violations"]] == [("schema", "(root)")]
        assert f"({payload['violations'][0]['message']})" == reason
    assert not (tmp_path / "c.mp4").exists()
