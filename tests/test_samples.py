"""The shipped sample EDL renders to spec: the README's first command does this."""

from fractions import Fraction

import pytest

from clipagent.edl import load_edl, timeline_duration
from clipagent.media import integrated_loudness
from clipagent.render.run import plan_render, run_render

from .conftest import REPO, ffprobe_facts

pytestmark = pytest.mark.slow


def test_sample_edl_renders_to_spec(tmp_path):
    edl_path = REPO / "samples" / "edl.json"
    edl = load_edl(edl_path)
    out = tmp_path / "sample-cut.mp4"
    run_render(plan_render(edl, edl_path.parent / edl.media_root, out, protect=[edl_path]))
    facts = ffprobe_facts(out)
    assert (facts["width"], facts["height"]) == (edl.output.width, edl.output.height)
    assert facts["rate"] == facts["base_rate"] == Fraction(edl.output.fps)
    assert abs(facts["duration"] - float(timeline_duration(edl))) <= 1 / float(edl.output.fps)
    assert facts["frames"] == round(timeline_duration(edl) * edl.output.fps)
    assert facts["has_audio"]
    assert abs(integrated_loudness(out) - edl.output.loudness_lufs) <= 1.0


def test_samples_are_small_and_described():
    media = REPO / "samples" / "media"
    total = sum(p.stat().st_size for p in media.iterdir())
    assert total < 5 * 1024 * 1024
    assert (media / "manifest.json").exists() and (media / "host_intro.srt").exists()
