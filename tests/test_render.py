"""End-to-end renders of small generated media, checked by decoding the output."""

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from clipagent.edl import timeline_duration
from clipagent.errors import BadInputError, RenderError
from clipagent.media import integrated_loudness, probe
from clipagent.render.graph import LoudnessGain
from clipagent.render.run import MIXING, RENDERING, plan_render, run_render

from .conftest import edl_from, ffprobe_facts, make_video

pytestmark = pytest.mark.slow


def render(edl, root: Path, out: Path):
    return run_render(plan_render(edl, root, out, encoder="libx264"))


def test_full_featured_edl_renders_to_spec(media_dir, tmp_path):
    edl = edl_from({
        "output": {"width": 320, "height": 180, "fps": "30000/1001", "loudness_lufs": -16},
        "clips": [
            {"id": "c1", "media": "a", "src_in": 0.2, "src_out": 1.4},
            {"id": "c2", "media": "b", "src_in": 0, "src_out": 1, "fit": "cover"},
            {"id": "c3", "media": "silent", "src_in": 0, "src_out": 1, "transition_in": {"kind": "crossfade", "duration": 0.3}},
            {"id": "c4", "media": "b", "src_in": 0.5, "src_out": 2.5, "speed": 2, "transition_in": {"kind": "dip", "duration": 0.2}},
            {"id": "c5", "media": "a", "src_in": 1, "src_out": 2, "crop": {"x": 0.25, "y": 0.25, "w": 0.5, "h": 0.5}, "gain_db": -6},
        ],
        "overlays": [
            {"kind": "text", "text": "Title: it's \"here\"", "start": 0, "end": 1.5, "position": "top"},
            {"kind": "image", "media": "logo", "start": 0.5, "end": 4, "position": "bottom_right"},
            {"kind": "captions", "cues": [{"start": 0.1, "end": 1.2, "text": "A caption long enough to need two lines here"}]},
        ],
        "music": {"media": "music", "gain_db": -12, "fade_in": 0.2, "fade_out": 0.5},
    })  # fmt: skip
    out = tmp_path / "cut.mp4"
    result = render(edl, Path(media_dir), out)
    facts = ffprobe_facts(out)
    fps = Fraction(30000, 1001)
    expected_frames = round(timeline_duration(edl) * fps)
    assert (facts["width"], facts["height"]) == (320, 180)
    assert facts["rate"] == fps and facts["base_rate"] == fps  # constant frame rate
    assert facts["frames"] == expected_frames
    assert abs(facts["duration"] - float(timeline_duration(edl))) <= 1 / 30
    assert facts["has_audio"]
    assert abs(integrated_loudness(out) - (-16)) <= 1.0
    assert result.duration == Fraction(expected_frames) / fps
    assert not list(tmp_path.glob(".*partial*"))


def _tone_levels(path: Path, freq: float, windows: list[tuple[float, float]]) -> list[float]:
    """Amplitude of one frequency in each time window of the file's audio (mono mix)."""
    with av.open(str(path)) as container:
        chunks = [frame.to_ndarray().mean(axis=0) for frame in container.decode(audio=0)]
        rate = container.streams.audio[0].rate
    samples = np.concatenate(chunks)
    levels = []
    for start, end in windows:
        part = samples[int(start * rate) : int(end * rate)]
        spectrum = np.abs(np.fft.rfft(part * np.hanning(len(part))))
        bins = np.fft.rfftfreq(len(part), 1 / rate)
        levels.append(float(spectrum[np.abs(bins - freq) < 15].max()))
    return levels


def test_music_ducks_under_speech(media_dir, tmp_path):
    # Clip audio is a 440 Hz tone for 1.5 s, then a silent clip; music is 220 Hz throughout.
    edl = edl_from({
        "clips": [
            {"id": "talk", "media": "a", "src_in": 0, "src_out": 1.5},
            {"id": "quiet", "media": "silent", "src_in": 0, "src_out": 1.5},
        ],
        "music": {"media": "music", "gain_db": -6, "fade_out": 0},
    })  # fmt: skip
    out = tmp_path / "ducked.mp4"
    render(edl, Path(media_dir), out)
    under_speech, alone = _tone_levels(out, 220, [(0.6, 1.4), (2.1, 2.9)])
    assert alone > 3 * under_speech, f"music not ducked: {under_speech:.1f} vs {alone:.1f}"

    undocked = edl.model_copy(update={"music": edl.music.model_copy(update={"duck": False})})
    render(undocked, Path(media_dir), tmp_path / "flat.mp4")
    flat_speech, flat_alone = _tone_levels(tmp_path / "flat.mp4", 220, [(0.6, 1.4), (2.1, 2.9)])
    assert flat_alone < 1.5 * flat_speech


def test_rotated_source_is_shown_upright_and_letterboxed(tmp_path):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    plain = make_video(tmp_path / "plain.mp4", duration=1, audio=False)
    rotated = tmp_path / "rotated.mp4"
    # ffmpeg 5.1 cannot write a display matrix; the bundled ffmpeg (7+) can.
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-display_rotation", "90", "-i", str(plain), "-c", "copy",
         str(rotated)],
        check=True,
    )  # fmt: skip
    info = probe(rotated)
    assert info.video.rotation in (90, 270) and info.video.display_size == (180, 320)
    edl = edl_from({"media": [{"id": "r", "path": "rotated.mp4"}], "clips": [{"id": "c", "media": "r", "src_in": 0, "src_out": 0.5}]})
    out = tmp_path / "upright.mp4"
    render(edl, tmp_path, out)
    with av.open(str(out)) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="gray")
    # Portrait picture in a landscape frame: black bars left and right, picture in the middle.
    assert frame[:, :60].mean() < 20 and frame[:, -60:].mean() < 20
    assert frame[:, 120:200].mean() > 40


@pytest.mark.parametrize("broken_pass", ["compile_mix", "compile_render"])
def test_failed_render_leaves_previous_output_and_no_partial(media_dir, tmp_path, monkeypatch, broken_pass):
    from clipagent.render import run as run_module

    compile_pass = getattr(run_module, broken_pass)
    monkeypatch.setattr(
        run_module,
        broken_pass,
        lambda *a, **k: dataclasses.replace(compile_pass(*a, **k), filtergraph=compile_pass(*a, **k).filtergraph + ",nosuchfilter"),
    )
    out = tmp_path / "cut.mp4"
    out.write_bytes(b"previous good render")
    job = plan_render(edl_from({}), Path(media_dir), out, encoder="libx264")
    with pytest.raises(RenderError) as caught:
        run_render(job)
    assert "nosuchfilter" in caught.value.stderr_tail or "No such filter" in caught.value.stderr_tail
    assert out.read_bytes() == b"previous good render"
    assert [p.name for p in tmp_path.iterdir()] == ["cut.mp4"]  # no partial output, no work folder


def test_killed_render_leaves_no_partial_file(media_dir, tmp_path):
    long_edl = tmp_path / "long.json"
    edl = edl_from({
        "output": {"width": 1280, "height": 720, "fps": 30},
        "clips": [{"id": f"c{i}", "media": "b", "src_in": 0, "src_out": 2.9} for i in range(6)],
    })  # fmt: skip
    long_edl.write_text(edl.model_dump_json())
    out = tmp_path / "out" / "cut.mp4"
    process = subprocess.Popen(
        [sys.executable, "-m", "clipagent", "render", str(long_edl), "-o", str(out), "--media-root", str(media_dir),
         "--encoder", "libx264"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not list(out.parent.glob(".*partial")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(out.parent.glob(".*partial")), "render never started writing"
    time.sleep(0.3)
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=30)
    assert code == 1
    assert list(out.parent.iterdir()) == []  # neither the output nor a partial file
    assert b"interrupted" in process.stderr.read()


def test_progress_reports_the_mix_then_the_render(media_dir, tmp_path):
    seen: list[tuple[str, float, float]] = []
    job = plan_render(edl_from({}), Path(media_dir), tmp_path / "cut.mp4", encoder="libx264")
    run_render(job, progress=lambda stage, done, total: seen.append((stage, done, total)))
    stages = [stage for stage, _, _ in seen]
    assert stages == sorted(stages, key=[MIXING, RENDERING].index)  # every mixing report comes first
    for stage in (MIXING, RENDERING):
        reports = [(done, total) for s, done, total in seen if s == stage]
        assert reports[-1] == (float(job.duration), float(job.duration))
        assert [done for done, _ in reports] == sorted(done for done, _ in reports)


def test_refuses_to_overwrite_an_input(media_dir, tmp_path):
    edl = edl_from({})
    before = (media_dir / "a.mp4").read_bytes()
    with pytest.raises(BadInputError, match="overwrite an input"):
        plan_render(edl, Path(media_dir), media_dir / "a.mp4")
    link = tmp_path / "link.mp4"
    os.symlink(media_dir / "a.mp4", link)
    with pytest.raises(BadInputError, match="overwrite an input"):
        plan_render(edl, Path(media_dir), link)
    with pytest.raises(BadInputError, match="overwrite an input"):
        plan_render(edl, Path(media_dir), tmp_path / "edl.mp4", protect=[tmp_path / "edl.mp4"])
    assert (media_dir / "a.mp4").read_bytes() == before


def test_output_must_be_mp4_or_mov(media_dir, tmp_path):
    with pytest.raises(BadInputError, match="must end in"):
        plan_render(edl_from({}), Path(media_dir), tmp_path / "cut.avi")


def test_long_filtergraph_goes_through_a_script_file(media_dir, tmp_path, monkeypatch):
    from clipagent.render import run as run_module

    monkeypatch.setattr(run_module, "INLINE_GRAPH_LIMIT", 200)
    cues = [{"start": i / 10, "end": (i + 1) / 10, "text": f"word {i}: it's, [x]"} for i in range(10)]
    edl = edl_from({"overlays": [{"kind": "captions", "cues": cues}]})
    job = plan_render(edl, Path(media_dir), tmp_path / "cut.mp4", encoder="libx264")
    job.work.mkdir()
    assert job.ffmpeg.filter_script_option in job.render_command(LoudnessGain(0.0, -20.0), tmp_path / "x.mp4")
    shutil.rmtree(job.work)
    run_render(job)
    assert ffprobe_facts(tmp_path / "cut.mp4")["frames"] == 30


def test_a_bare_noise_floor_is_not_boosted(media_dir, tmp_path, ffmpeg):
    """ebur128 reports -70 LUFS for anything under its gate; that is silence, not a mix to raise."""
    hiss = tmp_path / "hiss.m4a"
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "anoisesrc=a=0.00005:d=3", "-c:a", "aac", str(hiss)], check=True
    )
    edl = edl_from({
        "media": [{"id": "a", "path": "a.mp4"}, {"id": "hiss", "path": "hiss.m4a"}],
        "clips": [{"id": "c", "media": "a", "src_in": 0, "src_out": 1.5, "mute": True}],
        "music": {"media": "hiss", "gain_db": 0},
    })  # fmt: skip
    (tmp_path / "a.mp4").symlink_to(media_dir / "a.mp4")
    out = tmp_path / "quiet.mp4"
    render(edl, tmp_path, out)
    with av.open(str(out)) as container:
        samples = np.concatenate([frame.to_ndarray().ravel() for frame in container.decode(audio=0)])
    assert 20 * np.log10(np.sqrt(np.mean(samples**2)) + 1e-12) < -60


def test_peaky_quiet_mix_is_limited_and_still_lands_on_target(media_dir, tmp_path, ffmpeg):
    """A quiet tone with full-scale clicks: the gain that reaches the target would clip the clicks,
    so the limiter works, and the candidate-gain pass must still land the cut on the target."""
    clicks = tmp_path / "clicks.m4a"
    tone = "0.02*sin(2*PI*440*t)+0.9*lt(mod(t\\,0.25)\\,0.003)"
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", f"aevalsrc={tone}|{tone}:s=48000:d=4", "-c:a", "aac",
         "-b:a", "192k", str(clicks)],
        check=True,
    )  # fmt: skip
    edl = edl_from({
        "output": {"width": 320, "height": 180, "fps": 30, "loudness_lufs": -14, "true_peak_db": -1.5},
        "media": [{"id": "a", "path": "a.mp4"}, {"id": "clicks", "path": "clicks.m4a"}],
        "clips": [{"id": "c", "media": "a", "src_in": 0, "src_out": 3, "mute": True}],
        "music": {"media": "clicks", "gain_db": 0, "duck": False},
    })  # fmt: skip
    (tmp_path / "a.mp4").symlink_to(media_dir / "a.mp4")
    result = render(edl, tmp_path, tmp_path / "limited.mp4")
    assert result.loudness.gain_db > 15  # far more gain than the clicks' headroom
    assert abs(integrated_loudness(result.output) - (-14)) <= 1.0
    with av.open(str(result.output)) as container:
        samples = np.concatenate([frame.to_ndarray().ravel() for frame in container.decode(audio=0)])
    assert 20 * np.log10(np.abs(samples).max()) <= -1.5 + 1.0  # the ceiling, give or take AAC's overshoot


@pytest.mark.parametrize("kind, low, high", [("crossfade", 90, 170), ("dip", 0, 40)])
def test_transitions_blend_only_the_overlap(tmp_path, ffmpeg, kind, low, high):
    for name, color in (("white", "white"), ("black", "black")):
        subprocess.run(
            [ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", f"color=c={color}:s=320x180:r=30:d=2", "-c:v", "libx264",
             "-pix_fmt", "yuv420p", str(tmp_path / f"{name}.mp4")],
            check=True,
        )  # fmt: skip
    edl = edl_from({
        "media": [{"id": "w", "path": "white.mp4"}, {"id": "k", "path": "black.mp4"}],
        "clips": [
            {"id": "c1", "media": "w", "src_in": 0, "src_out": 1},
            {"id": "c2", "media": "k", "src_in": 0, "src_out": 1, "transition_in": {"kind": kind, "duration": 0.4}},
        ],
    })  # fmt: skip
    out = tmp_path / "t.mp4"
    render(edl, tmp_path, out)
    with av.open(str(out)) as container:
        lumas = [frame.to_ndarray(format="gray").mean() for frame in container.decode(video=0)]
    assert len(lumas) == 48  # 1 s + 1 s - 0.4 s at 30 fps
    assert lumas[10] > 230 and lumas[-5] < 25  # untouched white before, black after
    assert low <= lumas[24] <= high  # the middle of the 12-frame overlap (frames 18..29)
