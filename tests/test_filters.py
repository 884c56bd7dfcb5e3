"""Escaping: no text a user or a model writes can change the filtergraph's structure."""

import subprocess

import numpy as np
import pytest

from clipagent.render.filters import chain, escape_value, f
from clipagent.render.text import find_font

HOSTILE = [
    "it's a 'quoted' string",
    'double "quotes"',
    "colon: here, and comma",
    "back\\slash \\' and \\\\ double",
    "%{pts} and %{localtime} and %{eif:1:d}",
    "semi;colon [label] =equals",
    "two\nlines\nthree",
    "  leading and trailing spaces  ",
    "',drawbox=c=red:t=fill,drawtext=text='",
    "[in];[in]drawbox=c=red:t=fill[out]",
    "\\",
    "'",
]


def test_escape_matches_ffmpeg_documentation_example():
    # ffmpeg-filters(1), "Notes on filtergraph escaping".
    text = "this is a 'string': may contain one, or more, special characters"
    assert escape_value(text) == r"this is a \\\'string\\\'\\: may contain one\, or more\, special characters"


def test_filter_builder_escapes_every_value():
    assert f("drawtext", text="a:b", x="(w-tw)/2") == r"drawtext=text=a\\:b:x=(w-tw)/2"
    assert chain(["0:v"], [f("scale", 320, 180), "null"], ["v0"]) == "[0:v]scale=320:180,null[v0]"


def _frame_with_text(ffmpeg: str, text: str, expansion: str = "none") -> tuple[np.ndarray, str]:
    graph = chain(
        [],
        [
            f("color", c="black", s="160x90", d="0.1"),
            f("drawtext", fontfile=str(find_font()), expansion=expansion, text=text, fontcolor="white", fontsize=10, x=2, y=2),
            f("format", "rgb24"),
        ],
        ["out"],
    )
    result = subprocess.run(
        [ffmpeg, "-v", "verbose", "-nostdin", "-filter_complex", graph, "-map", "[out]", "-frames:v", "1",
         "-f", "rawvideo", "-"],
        capture_output=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()[-1500:]
    return np.frombuffer(result.stdout, np.uint8).reshape(90, 160, 3), result.stderr.decode(errors="replace")


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_draws_as_text_and_injects_nothing(ffmpeg, text):
    frame, log = _frame_with_text(ffmpeg, text)
    # The graph holds exactly the three filters we built: no drawbox, no second drawtext.
    assert "drawbox" not in log.split("Output #0")[0].replace(text, "")
    assert "Parsed_drawtext_1" not in log and "Parsed_drawbox" not in log
    red = (frame[..., 0] > 200) & (frame[..., 1] < 80)
    assert not red.any(), "an injected drawbox painted the frame"
    if text.strip():
        assert (frame > 128).any(), "the text itself was drawn"


def test_text_is_drawn_literally_not_expanded(ffmpeg):
    """With expansion=none, "%{pts}" is drawn as those seven characters: the same pixels as a
    literal string of the same characters, and unlike what expansion would draw."""
    literal, _ = _frame_with_text(ffmpeg, "%{pts}")
    expanded, _ = _frame_with_text(ffmpeg, "%{pts}", expansion="normal")
    assert not np.array_equal(literal, expanded)


def test_newline_breaks_the_line(ffmpeg):
    one_line, _ = _frame_with_text(ffmpeg, "ab")
    two_lines, _ = _frame_with_text(ffmpeg, "a\nb")
    rows = lambda frame: np.nonzero((frame > 128).any(axis=(1, 2)))[0]  # noqa: E731
    assert rows(two_lines).max() - rows(two_lines).min() > 1.5 * (rows(one_line).max() - rows(one_line).min())
