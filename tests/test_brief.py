"""The brief (brief.md) and the presets: parsing, readable errors, the defaults cascade."""

from __future__ import annotations

import codecs
from fractions import Fraction
from pathlib import Path

import pytest

from clipagent import presets
from clipagent.brief import BriefError, fit_captions, frame_size, key_terms, load_brief, parse_brief
from clipagent.edl import Cue
from clipagent.errors import BadInputError

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "brief.md"


def brief(front: str, body: str = "Direction.") -> str:
    return f"---\n{front}\n---\n{body}\n"


def error_of(text: str) -> str:
    with pytest.raises(BriefError) as info:
        parse_brief(text)
    return str(info.value)


@pytest.fixture(autouse=True)
def _shipped_presets_only(monkeypatch):
    monkeypatch.delenv(presets.ENV_VAR, raising=False)


# ---- the sample ---------------------------------------------------------------------------------


def test_sample_brief_uses_every_field_and_resolves():
    b = load_brief(SAMPLE)
    written = b.model_dump(exclude={"body", "source"}, exclude_unset=True)
    assert set(written) == set(presets_fields()), "samples/brief.md should show every front-matter field"
    assert b.duration == 20 and b.aspect == "16:9" and b.captions == "bold"
    assert b.must_include == ("turns raw footage into a finished cut", "the hook in the first three seconds")
    assert b.body.startswith("# A twenty-second explainer")

    r = b.resolve()
    assert (r.output.width, r.output.height, r.output.fps) == (1920, 1080, 30)
    assert r.output.loudness_lufs == -14 and r.target_duration == 20 and r.max_duration is None
    assert (r.shot_length.min, r.shot_length.max) == (2, 4)
    assert r.caption_style.name == "bold" and r.brand.name == "clipagent"
    assert r.brand.logo.path == "logo.png" and (REPO / "samples" / "media" / r.brand.logo.path).is_file()
    assert r.music == "music.m4a" and (REPO / "samples" / "media" / r.music).is_file()
    assert r.cta == "Try clipagent today" and r.language == "en" and r.avoid == ("um",)
    assert [Path(p).name for p in r.preset_files] == ["defaults.yaml", "youtube.yaml", "bold.yaml", "clipagent.yaml"]
    assert r.key_terms(3) == ["clipagent", "sam", "product"]


def presets_fields() -> list[str]:
    from clipagent.brief import FIELD_RULES

    return list(FIELD_RULES)


# ---- errors name the field and the reason -------------------------------------------------------


@pytest.mark.parametrize(
    "field, value, reason",
    [
        ("title", "[a, b]", "must be text"),
        ("platform", "{a: 1}", "platform preset name"),
        ("aspect", "wide", "width:height ratio"),
        ("aspect", "1:10", "width:height ratio"),
        ("duration", "abc", "number of seconds > 0 and at most 24 h (or the platform's maximum), got 'abc'"),
        ("duration", "-3", "number of seconds > 0 and at most 24 h (or the platform's maximum), got -3"),
        ("duration", "true", "number of seconds > 0 and at most 24 h (or the platform's maximum), got True"),
        ("pace", "quick", "one of slow, medium, fast, got 'quick'"),
        ("captions", "[bold]", "on, off, or a caption style name"),
        ("music", "/etc/passwd", "relative to the media folder"),
        ("music", "../outside.mp3", "relative to the media folder"),
        ("brand", "Not A Name", "brand preset name"),
        ("cta", "''", "must be text"),
        ("must_include", "[ok, {a: 1}]", "list of phrases"),
        ("avoid", "{um: 1}", "list of phrases"),
        ("language", "english!", "language code"),
    ],
)
def test_type_error_names_the_field(field, value, reason):
    message = error_of(brief(f"{field}: {value}"))
    assert message.startswith(f"brief.md: field `{field}")
    assert reason in message
    with pytest.raises(BadInputError):  # the CLI exits 2 for it
        parse_brief(brief(f"{field}: {value}"))


def test_list_item_error_names_the_item():
    assert "field `must_include[1]`" in error_of(brief("must_include: [ok, [nested]]"))


def test_several_problems_are_reported_together():
    message = error_of(brief("title: [x]\nduration: zero"))
    assert "field `title`" in message and "field `duration`" in message


@pytest.mark.parametrize(
    "typo, right",
    [("durtion", "duration"), ("captionz", "captions"), ("mustinclude", "must_include"), ("length", "duration"),
     ("aspect_ratio", "aspect"), ("lang", "language")],
)
def test_unknown_field_suggests_the_right_name(typo, right):
    message = error_of(brief(f"{typo}: 1"))
    assert f"unknown field `{typo}`" in message
    assert f"did you mean `{right}`" in message


def test_bad_yaml_gives_the_file_line():
    text = "---\ntitle: fine\npace: fast\ncta: Buy: now\n---\nbody\n"  # line 4 of the file
    message = error_of(text)
    assert message.startswith("brief.md: line 4:")


def test_unclosed_front_matter_and_non_mapping():
    assert "never closed" in error_of("---\ntitle: x\n")
    assert "field: value" in error_of(brief("- a list"))


@pytest.mark.parametrize(
    "front, known",
    [
        ("platform: tiktokk", "known: reels, shorts, square, tiktok, youtube"),
        ("brand: acme", "known: clipagent"),
        ("captions: fancy", "known: bold, boxed, karaoke, minimal"),
    ],
)
def test_unknown_preset_lists_the_known_ones(front, known):
    message = error_of(brief(front))
    assert message.startswith(f"brief.md: field `{front.split(':')[0]}`: unknown")
    assert known in message


def test_unknown_platform_suggests_the_close_one():
    assert "did you mean `tiktok`" in error_of(brief("platform: tiktokk"))


def test_missing_and_non_utf8_files(tmp_path):
    with pytest.raises(BriefError, match="not found"):
        load_brief(tmp_path / "nope.md")
    bad = tmp_path / "latin1.md"
    bad.write_bytes("---\ntitle: caf\xe9\n---\n".encode("latin-1"))
    with pytest.raises(BriefError, match="not UTF-8"):
        load_brief(bad)


# ---- values and the cascade ---------------------------------------------------------------------


def test_no_front_matter_means_all_defaults():
    b = parse_brief("# Launch video\n\nShow the product.\n", source="launch.md")
    assert b.body.startswith("# Launch video") and b.platform is None
    r = b.resolve()
    assert r.platform.name == "youtube" and (r.output.width, r.output.height) == (1920, 1080)
    assert r.pace == "medium" and r.target_duration == 30
    assert r.caption_style.name == "bold" and r.brand is None and r.music is None
    assert r.title == "Launch video"  # the first heading when no title is given


def test_platform_preset_values_apply_unless_the_brief_overrides():
    r = parse_brief(brief("platform: tiktok")).resolve()
    assert (r.output.width, r.output.height, r.output.fps) == (1080, 1920, 30)
    assert r.max_duration == 600 and r.target_duration == 30  # min(platform max, 30 s)
    assert r.safe_zone.bottom == 0.25 and r.safe_zone.right == 0.12

    r = parse_brief(brief("platform: tiktok\nduration: 600\npace: fast\ncaptions: minimal")).resolve()
    assert r.target_duration == 600 and not r.over_max
    assert (r.shot_length.min, r.shot_length.max) == (Fraction(4, 5), 2)
    assert r.caption_style.name == "minimal"


def test_captions_on_off_and_yaml_words():
    assert parse_brief(brief("captions: off")).resolve().caption_style is None
    assert parse_brief(brief("captions: none")).resolve().caption_style is None
    assert parse_brief(brief("captions: false")).resolve().caption_style is None
    assert parse_brief(brief("platform: reels\ncaptions: on")).resolve().caption_style.name == "bold"
    # `no` is Norwegian, not false; 1:30 is a time, not base-60 arithmetic
    b = parse_brief(brief("language: no\nduration: 1:30\nmusic: none"))
    assert b.language == "no" and b.duration == 90 and b.resolve().music is None


@pytest.mark.parametrize(
    "platform, aspect, size",
    [
        ("youtube", "9:16", (1080, 1920)),
        ("tiktok", "16:9", (1920, 1080)),
        ("tiktok", "1:1", (1080, 1080)),
        ("reels", "4:5", (1080, 1350)),
        ("youtube", "4:3", (1440, 1080)),
    ],
)
def test_aspect_overrides_the_platform_size(platform, aspect, size):
    r = parse_brief(brief(f"platform: {platform}\naspect: {aspect}")).resolve()
    assert (r.output.width, r.output.height) == size
    assert r.output.fps == r.platform.fps  # the rest of the platform stays


def test_frame_size_is_even():
    assert frame_size(1080, 1920, "21:9") == (2520, 1080)
    assert all(v % 2 == 0 for v in frame_size(1080, 1080, "5:7"))


def test_captions_move_inside_the_safe_zone_and_fit_the_width():
    r = parse_brief(brief("platform: reels")).resolve()
    style = r.caption_style
    box_bottom = style.margin - 0.35 * style.size  # the renderer's box border reaches this low
    assert box_bottom >= r.safe_zone.bottom
    px_per_char = 0.6 * style.size * r.output.height
    assert style.max_chars_per_line * px_per_char <= r.output.width * (1 - 2 * r.safe_zone.right)
    # a roomy landscape frame keeps the style's own values
    wide = parse_brief(brief("platform: youtube")).resolve().caption_style
    assert (wide.margin, wide.max_chars_per_line) == (0.12, 28)


def test_caption_style_and_logo_make_edl_overlays():
    r = load_brief(SAMPLE).resolve()
    captions = r.caption_style.overlay([Cue(start=0, end=1, text="Hello")])
    assert captions.size == r.caption_style.size and captions.outline == r.caption_style.outline == 0.1
    assert captions.style == r.caption_style.name and captions.box_color is None  # bold: outlined, no box
    logo = r.brand.logo.overlay("logo", Fraction(0), Fraction(20))
    assert logo.position == "top_right" and logo.width == 0.12


def test_override_is_the_last_step():
    b = load_brief(SAMPLE).override(platform="shorts", duration=15, pace=None)
    r = b.resolve()
    assert r.platform.name == "shorts" and r.target_duration == 15 and r.pace == "medium"
    assert r.output.height == 1080  # the sample's aspect 16:9 still applies, at the short side
    with pytest.raises(BriefError, match="command line: field `duration`"):
        load_brief(SAMPLE).override(duration="soon")
    with pytest.raises(BriefError, match="did you mean `duration`"):
        load_brief(SAMPLE).override(duraton=5)


def test_key_terms_skip_stop_words_and_directions():
    text = "Cut to the kitchen. Show the recipe, the kitchen and Maria's recipe book. https://x.io/recipe"
    assert key_terms(text, 3) == ["kitchen", "recipe", "maria"]


# ---- preset files -------------------------------------------------------------------------------


def test_every_shipped_preset_loads():
    loaders = {"platform": presets.load_platform, "captions": presets.load_caption_style, "brand": presets.load_brand}
    for kind, load in loaders.items():
        names = presets.list_presets(kind)
        assert names
        for name in names:
            preset = load(name)
            assert preset.name == name and Path(preset.source).is_file()
    for name in presets.list_presets("platform"):
        presets.load_caption_style(presets.load_platform(name).caption_style)
    assert {"tiktok", "reels", "shorts", "youtube", "square"} <= set(presets.list_presets("platform"))
    assert presets.load_defaults().platform in presets.list_presets("platform")


def test_platform_limits():
    limits = {name: presets.load_platform(name).max_duration for name in ("tiktok", "reels", "shorts", "youtube")}
    assert limits == {"tiktok": 600, "reels": 180, "shorts": 180, "youtube": None}
    square = presets.load_platform("square")
    assert (square.width, square.height) == (1080, 1080)


def test_user_preset_folder_wins(tmp_path, monkeypatch):
    (tmp_path / "platforms").mkdir()
    (tmp_path / "platforms" / "tiktok.yaml").write_text("width: 720\nheight: 1280\nfps: 25\nmax_duration: 60\n")
    (tmp_path / "platforms" / "kiosk.yaml").write_text("width: 1080\nheight: 1920\nfps: 30\nmax_duration: null\n")
    (tmp_path / "defaults.yaml").write_text("pace: fast\n")
    monkeypatch.setenv(presets.ENV_VAR, str(tmp_path))

    assert presets.load_platform("tiktok").width == 720
    assert "kiosk" in presets.list_presets("platform")
    r = parse_brief(brief("platform: tiktok")).resolve()
    assert (r.output.width, r.output.fps, r.max_duration) == (720, 25, 60)
    assert r.pace == "fast"  # the user's defaults.yaml overrides that key...
    assert r.caption_style.name == "bold"  # ...and the shipped defaults fill the rest


def test_malformed_preset_names_the_file_and_field(tmp_path, monkeypatch):
    (tmp_path / "platforms").mkdir()
    bad = tmp_path / "platforms" / "bad.yaml"
    bad.write_text("width: 1080\nheight: wide\nfps: 30\nmax_duration: null\nsafe_zone: {bottom: 0.7, middle: 1}\n")
    monkeypatch.setenv(presets.ENV_VAR, str(tmp_path))
    with pytest.raises(BriefError) as info:
        presets.load_platform("bad")
    message = str(info.value)
    assert f"{bad}: field `height`" in message
    assert f"{bad}: field `safe_zone.bottom`" in message
    assert f"{bad}: field `safe_zone.middle`: unknown field" in message

    bad.write_text("width: [1080\n")
    with pytest.raises(BriefError, match=r"bad.yaml: line 2: not valid YAML"):
        presets.load_platform("bad")

    (tmp_path / "brands").mkdir()
    (tmp_path / "brands" / "evil.yaml").write_text("primary: '#FF0000'\nlogo: {path: ../../secret.png}\n")
    with pytest.raises(BriefError, match=r"field `logo.path`: must be a path relative to the media folder"):
        presets.load_brand("evil")


def test_fit_captions_keeps_a_roomy_style():
    style = presets.load_caption_style("minimal")
    zone = presets.SafeZone(top=0, bottom=0, left=0, right=0)
    assert fit_captions(style, zone, 1920, 1080) == style.model_copy(update={"margin": style.margin})


# ---- bounds and silent mistakes (issue 10, kinds 1, 2 and 11) ----------------------------------


@pytest.mark.parametrize("value", ["1e12", "1.0e12", "1e10000000", "100000:00:00"])
def test_a_huge_duration_is_refused_before_any_planning(value):
    """`duration: 1e12` reached the planner and raised MemoryError in the knapsack."""
    message = error_of(brief(f"duration: {value}"))
    assert message.startswith("brief.md: field `duration`: must be a number of seconds > 0 and at most 24 h")


def test_duration_is_bounded_by_the_platform_maximum_or_24_hours():
    message = error_of(brief("platform: reels\nduration: 181"))
    assert message == (
        "brief.md: field `duration`: 181 s is longer than the reels platform's maximum, 180 s\n"
        "  hint: give a duration of at most 180 s, or a platform with a longer limit"
    )
    assert parse_brief(brief("platform: reels\nduration: 180")).resolve().target_duration == 180
    assert parse_brief(brief("platform: youtube\nduration: '24:00:00'")).resolve().target_duration == 86400
    assert "at most 24 h" in error_of(brief("platform: youtube\nduration: 86400.5"))  # no platform limit: 24 h


def alias_bomb() -> str:
    """The 367-byte brief from the issue's report: nine levels of nine aliases (9^9 strings)."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]")
    return "\n".join(lines)


def test_a_yaml_alias_bomb_is_refused_at_once():
    import time

    bomb = "must_include:\n  - " + alias_bomb().replace("\n", "\n  - ").replace(": &", "_: &")
    text = brief(bomb)
    assert len(text.encode()) < 600
    started = time.perf_counter()
    message = error_of(text)
    assert time.perf_counter() - started < 0.5
    assert message.startswith("brief.md: line 3: YAML anchors and aliases (`&name`, `*name`) are not allowed")


def test_anchors_and_aliases_are_refused_in_presets_too(tmp_path, monkeypatch):
    (tmp_path / "platforms").mkdir()
    (tmp_path / "platforms" / "p.yaml").write_text("width: &w 1080\nheight: *w\nfps: 30\nmax_duration: null\n")
    monkeypatch.setenv(presets.ENV_VAR, str(tmp_path))
    with pytest.raises(BriefError, match=r"p.yaml: line 1: YAML anchors and aliases"):
        presets.load_platform("p")


def test_a_key_given_twice_is_refused_naming_it_and_both_lines():
    message = error_of(brief("title: One\nduration: 20\nmusic: a.m4a\nduration: 30"))
    assert message == (
        "brief.md: line 5: field `duration` is given twice (lines 3 and 5)\n"
        "  hint: keep one of them: YAML would silently use the last"
    )


def test_a_key_given_twice_in_a_preset_is_refused(tmp_path, monkeypatch):
    (tmp_path / "platforms").mkdir()
    text = "width: 1080\nheight: 1920\nfps: 30\nmax_duration: null\nsafe_zone:\n  top: 0.1\n  top: 0.2\n"
    (tmp_path / "platforms" / "p.yaml").write_text(text)
    monkeypatch.setenv(presets.ENV_VAR, str(tmp_path))
    with pytest.raises(BriefError, match=r"p.yaml: line 7: field `top` is given twice \(lines 6 and 7\)"):
        presets.load_platform("p")


def test_deep_nesting_and_huge_numbers_are_refused_plainly():
    assert "nested more than 32 levels deep" in error_of(brief("must_include: " + "[" * 5000 + "]" * 5000))
    assert "a number with more than 40 digits" in error_of(brief("duration: 1" + "0" * 5000))


def test_error_listings_are_capped():
    many_unknown = "\n".join(f"field{i}: 1" for i in range(5000))
    message = error_of(brief(many_unknown))
    assert message.count("unknown field `") == 20 and "... and 4980 more unknown fields" in message
    long_items = "must_include:\n" + "\n".join(f"  - {'x' * 201}" for _ in range(3000))
    message = error_of(brief(long_items))
    assert message.count("field `must_include[") == 20 and "... and 2980 more" in message
    assert len(message) < 5000


@pytest.mark.parametrize("field, value", [("width", "true"), ("loudness_lufs", ".nan"), ("fps", "0"), ("fps", "1/0")])
def test_preset_numbers_at_the_edges(tmp_path, monkeypatch, field, value):
    (tmp_path / "platforms").mkdir()
    fields = {"width": "1080", "height": "1920", "fps": "30", "max_duration": "null", field: value}
    (tmp_path / "platforms" / "p.yaml").write_text("".join(f"{k}: {v}\n" for k, v in fields.items()))
    monkeypatch.setenv(presets.ENV_VAR, str(tmp_path))
    with pytest.raises(BriefError, match=rf"p.yaml: field `{field}`"):
        presets.load_platform("p")


def test_settings_that_would_be_read_as_direction_are_refused():
    """Without `---` the settings were silently part of the body, and every default applied."""
    assert error_of("duration: 20\nplatform: tiktok\n\nA cut.\n") == (
        "brief.md: line 1: `duration: 20` looks like a setting, but there is no front matter\n"
        "  hint: put the settings between two `---` lines at the top of the brief"
    )
    assert error_of("+++\nduration = 20\n+++\nA cut.\n").startswith("brief.md: line 1: TOML front matter (`+++`)")
    assert parse_brief("Duration matters: keep it short.\n").duration is None  # prose, not a field


def test_blank_lines_before_the_front_matter_are_allowed_and_lines_stay_right():
    assert parse_brief("\n\n---\nduration: 12\n---\nA cut.\n").duration == 12
    assert error_of("\n\n---\nduration: 1\nduration: 2\n---\n").startswith(
        "brief.md: line 5: field `duration` is given twice (lines 4 and 5)"
    )


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-8-sig"])
def test_a_brief_saved_with_a_byte_order_mark_is_read(tmp_path, encoding):
    path = tmp_path / "brief.md"
    text = "---\nduration: 12\ntitle: Café\n---\n# Direction\n"
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data
    path.write_bytes(data)
    brief = load_brief(path)
    assert (brief.duration, brief.title) == (12, "Café")


def test_text_in_another_encoding_is_refused_plainly(tmp_path):
    path = tmp_path / "brief.md"
    path.write_bytes("---\ntitle: Café\n---\n".encode("cp1252"))
    with pytest.raises(BriefError, match=r"brief.md: not UTF-8 text\n  hint: save the brief as UTF-8"):
        load_brief(path)


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_refused_not_read_as_direction(tmp_path, encoding):
    """UTF-16 without a mark is valid UTF-8 (a NUL after each letter): it was read as body text with
    every setting dropped, exit 0."""
    path = tmp_path / "brief.md"
    path.write_bytes("---\nduration: 12\n---\nDirection.\n".encode(encoding))
    with pytest.raises(BriefError) as info:
        load_brief(path)
    assert str(info.value).startswith(f"{path}: not UTF-8 text (NUL bytes: UTF-16 without a byte-order mark?)")
    assert "save the brief as UTF-8" in str(info.value) and info.value.exit_code == 2


@pytest.mark.parametrize(
    ("front", "said"),
    [
        ("duration: 0.001", "0.001 s is shorter than the shortest cut, 1 s\n  hint: give a duration of at least 1 s"),
        ("duration: 0.9", "0.9 s is shorter than the shortest cut, 1 s"),
        ("platform: tiktok\nduration: 2", "2 s is shorter than the tiktok platform's minimum, 3 s\n"
         "  hint: give a duration of at least 3 s, or a platform with a shorter minimum"),
    ],
)
def test_a_tiny_duration_is_refused_at_the_field(front, said):
    """`duration: 0.001` planned nothing and failed with "nothing fits in 0.0 s" (exit 1)."""
    message = error_of(brief(front))
    assert message.startswith(f"brief.md: field `duration`: {said}"), message
    assert parse_brief(brief("duration: 1")).resolve().target_duration == 1
    assert parse_brief(brief("platform: tiktok\nduration: 3")).resolve().target_duration == 3


def test_an_empty_brief_resolves_to_the_defaults_with_a_note():
    for text in ("", "\n  \n", "---\n---\n"):
        resolved = parse_brief(text, "empty.md").resolve()
        note = resolved.empty_note()
        assert note and note.startswith("empty.md: the brief is empty, so the cut uses the defaults: platform youtube")
        assert "30 s" in note and "'empty' from the file name" in note
    assert parse_brief(brief("duration: 5")).resolve().empty_note() is None
    assert parse_brief("Just direction.").resolve().empty_note() is None


def test_a_control_character_names_its_line_and_the_fix(tmp_path):
    path = tmp_path / "brief.md"
    path.write_text("---\ntitle: fine\ncta: a\x01b\n---\nbody\n")
    with pytest.raises(BriefError) as caught:
        load_brief(path)
    assert str(caught.value) == (
        f"{path}: line 3: a character YAML does not allow (#x0001, a control character)\n"
        "  hint: remove it, and save the file as plain text"
    )
    path.write_text("---\ntitle: fine\n---\nbody\nmore a\x00b\n")  # a stray NUL, in the body too
    with pytest.raises(BriefError) as caught:
        load_brief(path)
    assert str(caught.value) == (
        f"{path}: line 5: a NUL character (#x0000), which text never has\n"
        "  hint: remove it, and save the file as plain text"
    )


# ---- the variants block: one sentence per fault -----------------------------------------------


@pytest.mark.parametrize("value", ["5", "yes", "2.5"])
def test_a_variants_block_that_is_not_a_matrix_is_one_line(value):
    message = error_of(brief(f"variants: {value}"))
    first = message.splitlines()[0]
    assert first.startswith("brief.md: field `variants`: must be a mapping of axes to lists of values")
    assert "dict[" not in message and "list[" not in message and message.count("field `variants`") == 1


@pytest.mark.parametrize(
    ("block", "said"),
    [
        ('{aspect: ["0:0"]}', "field `variants`: axis `aspect`: '0:0' must be a width:height ratio such as"),
        ("{music: [../x.mp3]}", "field `variants`: axis `music`: '../x.mp3' must be a file path relative to"),
        ("{platform: [nope]}", "field `variants`: axis `platform`: 'nope': unknown platform 'nope'; known:"),
        ("{duration: [999]}", "axis `duration`: '999': 999 s is longer than the reels platform's maximum"),
    ],
)
def test_a_bad_axis_value_is_one_sentence_naming_the_axis_and_value(block, said):
    from clipagent.batch.matrix import MatrixError, expand, matrix_from_data

    b = parse_brief(brief(f"platform: reels\nvariants: {block}"), "b.md")
    with pytest.raises(MatrixError) as info:
        expand(matrix_from_data(b.variants, f"{b.source}: field `variants`"), b)
    message = info.value.message
    assert message.startswith("b.md: field `variants`: axis `") and said in message, message
    assert message.count("field `variants`") == 1 and "field `aspect`" not in message and ", got" not in message
    assert "\n" not in message and info.value.hint
