"""Finding ffmpeg: the system's, an override, or the imageio-ffmpeg fallback."""

import pytest

from clipagent import ffmpeg as ffmpeg_module
from clipagent.errors import ToolError
from clipagent.render.run import plan_render, run_render

from .conftest import edl_from, ffprobe_facts


@pytest.fixture
def fresh_lookup():
    ffmpeg_module.find_ffmpeg.cache_clear()
    yield
    ffmpeg_module.find_ffmpeg.cache_clear()


def test_falls_back_to_imageio_ffmpeg_and_renders(monkeypatch, fresh_lookup, media_dir, tmp_path):
    pytest.importorskip("imageio_ffmpeg")
    monkeypatch.setattr(ffmpeg_module.shutil, "which", lambda name: None)
    found = ffmpeg_module.find_ffmpeg()
    assert found.source == "imageio-ffmpeg" and found.major >= 4
    assert "imageio-ffmpeg" in found.describe()
    out = tmp_path / "cut.mp4"
    run_render(plan_render(edl_from({"overlays": [{"kind": "text", "text": "hi", "start": 0, "end": 1}]}), media_dir, out))
    assert ffprobe_facts(out)["frames"] == 30


def test_override_must_be_executable(monkeypatch, fresh_lookup, tmp_path):
    monkeypatch.setenv("CLIPAGENT_FFMPEG", str(tmp_path / "nope"))
    with pytest.raises(ToolError, match="CLIPAGENT_FFMPEG"):
        ffmpeg_module.find_ffmpeg()


def test_filter_script_option_follows_version():
    old = ffmpeg_module.FFmpeg("ffmpeg", "system", "5.1.9", 5)
    new = ffmpeg_module.FFmpeg("ffmpeg", "system", "n9.0.2", 9)
    assert old.filter_script_option == "-filter_complex_script"
    assert new.filter_script_option == "-/filter_complex"
