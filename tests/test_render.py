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

from clipagent import cancel
from clipagent.edl import timeline_duration
from clipagent.errors import BadInputError, RenderError
from clipagent.media import integrated_loudness, probe
from clipagent.render.graph import LoudnessGain
from clipagent.render.loudness import measure_file
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


def test_a_lost_interrupt_still_stops_the_render(media_dir, tmp_path):
    """SIGTERM's KeyboardInterrupt can be swallowed ("Exception ignored" in a finaliser); the stop
    it asked for must still end the render, leaving nothing behind and no previous output lost."""
    out = tmp_path / "cut.mp4"
    out.write_bytes(b"previous cut")
    job = plan_render(edl_from({}), Path(media_dir), out, encoder="libx264")
    cancel.request()  # what the handler records before raising the interrupt that gets lost
    try:
        with pytest.raises(KeyboardInterrupt):
            run_render(job)
    finally:
        cancel.reset()
    assert out.read_bytes() == b"previous cut"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.mp4"]


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


def test_filtergraphs_go_through_script_files_and_dry_run_shows_them(media_dir, tmp_path):
    """The graphs (with text that needs escaping) are written to the work folder and read with
    -filter_complex_script (or -/filter_complex), never put in argv; --dry-run shows them inline."""
    texts = [{"kind": "text", "start": i / 10, "end": (i + 1) / 10, "text": f"word {i}: it's, [x]"} for i in range(10)]
    cues = [{"start": i / 10, "end": (i + 1) / 10, "text": f"cue {i}: it's, [x]"} for i in range(10)]
    edl = edl_from({"overlays": [*texts, {"kind": "captions", "cues": cues}]})
    job = plan_render(edl, Path(media_dir), tmp_path / "cut.mp4", encoder="libx264")
    job.work.mkdir()
    command = job.render_pass(LoudnessGain(0.0, -20.0), tmp_path / "x.mp4").command
    assert job.ffmpeg.filter_script_option in command and "-filter_complex" not in command
    assert "text9.ass" in (job.work / "graph.txt").read_text()
    assert "word 9: it's, [x]" in (job.work / "text9.ass").read_text()  # text overlays: drawn by libass too
    assert "cue 9" in (job.work / "captions10.ass").read_text()  # captions: an ASS file the graph's `ass` filter reads
    shutil.rmtree(job.work)
    assert "text9.ass" in job.dry_run_text() and "captions10.ass" in job.dry_run_text() and not job.work.exists()
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
    so the limiter works, and the candidate-gain pass must still land the cut on the target, with
    the encoded cut's true peak under the ceiling."""
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
    cut = measure_file(ffmpeg, result.output)
    assert abs(cut.lufs - (-14)) <= 0.5  # within ±0.2 LU in bench/true_peak.py
    # The ceiling holds as a TRUE peak on the decoded cut (ITU-R BS.1770-4, 4x oversampled). With a
    # sample-peak limiter alone the AAC encoder put these clicks 0.5 to 1.25 dB over it, by where
    # they fell against its frames; without any limiter they would reach about +20 dBFS.
    assert cut.true_peak_db <= -1.5
    # The encoded sound measured before the render is the render's own (the AAC encoder is
    # deterministic): the same true peak, to the meter's precision.
    assert result.loudness.encoded_true_peak_db == pytest.approx(cut.true_peak_db, abs=0.01)
    assert result.loudness.limit_db <= -1.5
    with av.open(str(result.output)) as container:
        samples = np.concatenate([frame.to_ndarray().ravel() for frame in container.decode(audio=0)])
    assert 20 * np.log10(np.abs(samples).max()) <= -1.5  # a sample peak never exceeds the true peak


def test_the_render_muxes_the_measured_sound_as_it_is(media_dir, tmp_path, ffmpeg, monkeypatch):
    """The sound encoded to measure its true peak is the cut's sound: the render copies its packets
    (-c:a copy) instead of encoding the sound again, and the cut's sound stays exactly as long as
    its picture (an ADTS file would round it up to a whole 1024-sample AAC frame: 1.1 s is 51.56
    frames) and in step with it (tests/test_render.py's flash-and-beep tests)."""
    from clipagent.render import run

    commands, kept = [], tmp_path / "measured.m4a"
    real = run._run_ffmpeg

    def spy(command, *args, **kwargs):
        commands.append(command)
        muxed = [arg.removeprefix("file:") for arg in command if arg.endswith("sound.m4a")]
        if muxed:  # the render pass: keep the file it muxes before its work folder goes
            shutil.copy(muxed[0], kept)
        return real(command, *args, **kwargs)

    monkeypatch.setattr(run, "_run_ffmpeg", spy)
    edl = edl_from({"clips": [{"id": "c", "media": "a", "src_in": 0, "src_out": 1.1}]})
    result = render(edl, media_dir, tmp_path / "cut.mp4")
    rendered = commands[-1]
    assert rendered[rendered.index("-c:a") + 1] == "copy" and "aac" not in rendered
    assert result.loudness.encoded_true_peak_db is not None

    def sound_hash(path: Path) -> str:
        return subprocess.run([ffmpeg, "-v", "error", "-i", str(path), "-map", "0:a", "-c", "copy", "-f", "streamhash", "-"],
                              capture_output=True, text=True, check=True).stdout  # fmt: skip

    assert sound_hash(result.output) == sound_hash(kept)
    with av.open(str(result.output)) as container:
        stream = container.streams.audio[0]
        packets = [packet for packet in container.demux(stream) if packet.size]
        samples = sum(packet.duration for packet in packets) * stream.time_base * stream.rate
    # 1.1 s at 48 kHz (the 1024 priming samples in place of the mix's first): the last packet
    # plays 576 of its 1024, as when the render encoded the sound itself
    assert (len(packets), samples) == (52, 52800)


def test_the_limiter_is_lowered_by_the_encoded_excess_in_small_steps():
    """The AAC encoder's overshoot is chaotic: a 20 s variant of the samples read +1.97 dBTP limited
    at -1.285 and -1.18 at -1.280. Lowering by such an outlier's whole excess cost that cut 1.5 LU;
    the limiter moves by the excess and a 0.2 dB margin, 0.5 dB at most. The meter's log is read
    to ~0.01 dB (linear true peak, three decimals), where ebur128's summary rounds to 0.1 dB."""
    from clipagent.render.loudness import TRUE_PEAK_MAX_STEP_DB, lowered_limit, read_file_loudness

    assert lowered_limit(-1.0, -0.915, -1.0) == pytest.approx(-1.285)  # 0.085 over, and the margin
    assert lowered_limit(-1.285, 1.966, -1.0) == pytest.approx(-1.285 - TRUE_PEAK_MAX_STEP_DB) == pytest.approx(-1.785)
    log = "frame:0\nlavfi.r128.I=-20.000\nlavfi.r128.true_peak=0.500\nframe:1\nlavfi.r128.I=-14.006\nlavfi.r128.true_peak=0.891\n"
    measured = read_file_loudness(log)
    assert measured.lufs == -14.006 and measured.true_peak_db == pytest.approx(-1.0024, abs=1e-4)  # under -1 dBTP
    assert read_file_loudness("") is None


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


# ---- issue 10: streams that start late, protocol-like names, HDR and interlaced pictures, room
# ---- tone, and long timelines ------------------------------------------------------------------


def _run(ffmpeg: str, *args: str) -> None:
    subprocess.run([ffmpeg, "-v", "error", "-y", *args], check=True)


def _flash_and_beep(tmp_path: Path, ffmpeg: str, late: str) -> Path:
    """3.5 s where a white flash and a 1 kHz beep happen together at 1.0 s as a player plays the
    file, but one stream starts 0.5 s after the other (stream-copied with -itsoffset): the late
    stream carries its event at 0.5 s of its own time."""
    flash_at = 0.5 if late == "video" else 1.0
    beep_at = 0.5 if late == "audio" else 1.0
    video, audio = tmp_path / "v.mp4", tmp_path / "a.m4a"
    _run(ffmpeg, "-f", "lavfi", "-i", f"color=c=black:s=320x180:r=30:d=3,drawbox=c=white:t=fill:"
         f"enable='between(t,{flash_at},{flash_at + 0.1})'", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "15", str(video))  # fmt: skip
    _run(ffmpeg, "-f", "lavfi", "-i", f"aevalsrc='0.5*sin(2*PI*1000*t)*between(t,{beep_at},{beep_at + 0.1})':s=48000:d=3",
         "-c:a", "aac", str(audio))  # fmt: skip
    out = tmp_path / f"{late}_late.mp4"
    if late == "audio":
        _run(ffmpeg, "-i", str(video), "-itsoffset", "0.5", "-i", str(audio), "-map", "0:v", "-map", "1:a", "-c", "copy", str(out))
    else:
        _run(ffmpeg, "-itsoffset", "0.5", "-i", str(video), "-i", str(audio), "-map", "0:v", "-map", "1:a", "-c", "copy", str(out))
    return out


def _flash_and_beep_times(path: Path) -> tuple[float, float]:
    """When the picture first turns white, and when the sound first passes 0.05, in seconds."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        flash = next(
            float(frame.time) for frame in container.decode(stream) if frame.to_ndarray(format="gray").mean() > 128
        )
    with av.open(str(path)) as container:
        rate = container.streams.audio[0].rate
        samples = np.concatenate([frame.to_ndarray().mean(axis=0) for frame in container.decode(audio=0)])
    beep = float(np.argmax(np.abs(samples) > 0.05)) / rate
    return flash, beep


@pytest.mark.parametrize("late", ["audio", "video"])
@pytest.mark.parametrize("src_in", [0, 0.3])
def test_a_stream_that_starts_late_stays_in_sync(tmp_path, ffmpeg, late, src_in):
    source = _flash_and_beep(tmp_path, ffmpeg, late)
    info = probe(source)
    late_stream = info.audio if late == "audio" else info.video
    assert 0.45 <= late_stream.start <= 0.55  # MediaInfo carries the lead-in
    edl = edl_from({"media": [{"id": "s", "path": source.name}], "clips": [{"id": "c", "media": "s", "src_in": src_in, "src_out": 2.5}]})
    out = tmp_path / "cut.mp4"
    render(edl, tmp_path, out)
    flash, beep = _flash_and_beep_times(out)
    assert flash == pytest.approx(1.0 - src_in, abs=1 / 30)
    assert abs(beep - flash) <= 1 / 30, f"sound {1000 * (beep - flash):+.0f} ms off the picture"


@pytest.mark.parametrize("name", ["take:2.mp4", "2024-05-01T10:30:00.mp4", "-dash.mp4"])
def test_file_names_that_look_like_protocols_or_options_render(media_dir, tmp_path, name):
    """A relative EDL next to its media (`media_root: "."`), run from that folder."""
    shutil.copy(media_dir / "a.mp4", tmp_path / name)
    edl = edl_from({"media_root": ".", "media": [{"id": "t", "path": name}], "clips": [{"id": "c", "media": "t", "src_in": 0, "src_out": 1}]})
    (tmp_path / "edl.json").write_text(edl.model_dump_json())
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    for command in (["validate", "edl.json"], ["render", "edl.json", "-o", "cut:1.mp4", "--encoder", "libx264"]):
        done = subprocess.run([sys.executable, "-m", "clipagent", *command], cwd=tmp_path, capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
    assert ffprobe_facts(tmp_path / "cut:1.mp4")["frames"] == 30


def _rgb(path: Path, index: int = 0) -> np.ndarray:
    with av.open(str(path)) as container:
        for n, frame in enumerate(container.decode(video=0)):
            if n == index:
                return frame.to_ndarray(format="rgb24").astype(float)
    raise AssertionError(f"{path} has no frame {index}")


def test_hdr_clip_is_tone_mapped_to_bt709_and_tagged(tmp_path, ffmpeg):
    """An HLG/BT.2020 10-bit version of an SDR picture renders close to the SDR picture (passing
    it through as 8-bit, as before, is off by ~70 of 255 on average) and the cut is tagged BT.709."""
    sdr, hlg = tmp_path / "sdr.mp4", tmp_path / "hlg.mp4"
    _run(ffmpeg, "-f", "lavfi", "-i", "testsrc2=s=320x180:r=30:d=1", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(sdr))
    _run(ffmpeg, "-f", "lavfi", "-i", "testsrc2=s=320x180:r=30:d=1", "-vf",
         "zscale=tin=bt709:pin=bt709:min=bt709:t=arib-std-b67:p=bt2020:m=bt2020nc:npl=203,format=yuv420p10le",
         "-c:v", "libx264", "-pix_fmt", "yuv420p10le", "-color_primaries", "bt2020", "-color_trc", "arib-std-b67",
         "-colorspace", "bt2020nc", str(hlg))  # fmt: skip
    info = probe(hlg).video
    assert (info.hdr, info.color_transfer, info.color_primaries) == (True, "arib-std-b67", "bt2020")
    edl = edl_from({"media": [{"id": "h", "path": "hlg.mp4"}], "clips": [{"id": "c", "media": "h", "src_in": 0, "src_out": 0.5}]})
    result = render(edl, tmp_path, tmp_path / "cut.mp4")
    assert np.abs(_rgb(result.output) - _rgb(sdr)).mean() < 35
    with av.open(str(result.output)) as container:
        context = container.streams.video[0].codec_context
        assert (context.color_primaries, context.color_trc, context.colorspace) == (1, 1, 1)  # BT.709
    assert any("HDR (HLG) tone-mapped" in w for w in result.warnings)


def _idet(ffmpeg: str, path: Path) -> dict[str, int]:
    """ffmpeg's interlace detector over the whole file: frames judged TFF, BFF, progressive."""
    log = subprocess.run([ffmpeg, "-hide_banner", "-i", str(path), "-vf", "idet", "-f", "null", "-"],
                         capture_output=True, text=True).stderr  # fmt: skip
    import re

    line = re.findall(r"Multi frame detection: TFF:\s*(\d+) BFF:\s*(\d+) Progressive:\s*(\d+)", log)[-1]
    return dict(zip(("tff", "bff", "progressive"), map(int, line)))


def _combing(path: Path) -> float:
    """Mean distance of each row from the average of its neighbours (luma): large where the two
    fields of a frame show different moments."""
    with av.open(str(path)) as container:
        frames = [frame.to_ndarray(format="gray").astype(float) for frame in container.decode(video=0)]
    return float(np.mean([np.abs(y[1:-1] - (y[:-2] + y[2:]) / 2).mean() for y in frames]))


def test_interlaced_clip_is_deinterlaced(tmp_path, ffmpeg):
    source = tmp_path / "interlaced.mp4"
    # A white bar racing across black at 60 pictures a second, woven into 30 interlaced frames,
    # top field first: every frame's bar edges are combed.
    moving_bar = ("color=c=black:s=320x180:r=60:d=2[bg];color=c=white:s=40x180:r=60[bar];"
                  "[bg][bar]overlay=x='mod(t*480\\,280)':shortest=1,tinterlace=interleave_top,setfield=tff")  # fmt: skip
    _run(ffmpeg, "-f", "lavfi", "-i", moving_bar, "-c:v", "libx264", "-flags", "+ildct+ilme", "-x264opts", "tff=1",
         "-pix_fmt", "yuv420p", str(source))  # fmt: skip
    assert probe(source).video.field_order == "tt"
    assert _idet(ffmpeg, source)["tff"] > 50 and _combing(source) > 5  # the source really is combed
    edl = edl_from({"media": [{"id": "i", "path": source.name}], "clips": [{"id": "c", "media": "i", "src_in": 0, "src_out": 1.5}]})
    result = render(edl, tmp_path, tmp_path / "cut.mp4")
    judged = _idet(ffmpeg, result.output)
    assert judged["progressive"] > 3 * (judged["tff"] + judged["bff"]), judged
    assert _combing(result.output) < 1
    assert any("deinterlaced" in w for w in result.warnings)


def test_room_tone_make_up_gain_is_capped(media_dir, tmp_path, ffmpeg):
    """Faint room tone (about -65 LUFS) is raised by the +12 dB cap, not the ~51 dB that -14 LUFS
    asks for, and the render says so."""
    from clipagent.render.loudness import ROOM_TONE_MAX_GAIN_DB, gain_limit

    assert gain_limit(-45.0) == 40.0 and gain_limit(-63.0) == ROOM_TONE_MAX_GAIN_DB == 12.0
    tone = tmp_path / "room.m4a"
    _run(ffmpeg, "-f", "lavfi", "-i", "anoisesrc=a=0.003:c=pink:seed=3:d=3", "-c:a", "aac", "-b:a", "128k", str(tone))
    before = integrated_loudness(tone)
    assert -68 < before < -62
    edl = edl_from({
        "output": {"width": 320, "height": 180, "fps": 30, "loudness_lufs": -14},
        "media": [{"id": "a", "path": "a.mp4"}, {"id": "room", "path": "room.m4a"}],
        "clips": [{"id": "c", "media": "a", "src_in": 0, "src_out": 2, "mute": True}],
        "music": {"media": "room", "gain_db": 0, "duck": False, "fade_in": 0, "fade_out": 0},
    })  # fmt: skip
    (tmp_path / "a.mp4").symlink_to(media_dir / "a.mp4")
    result = render(edl, tmp_path, tmp_path / "cut.mp4")
    assert result.loudness.gain_db == pytest.approx(12.0)
    assert result.loudness.capped_from_db > 40
    assert integrated_loudness(result.output) == pytest.approx(before + 12, abs=1.5)
    assert any("room tone" in w and "+12 dB" in w for w in result.warnings)


def _alternating_edl(count: int, transitions: bool = False):
    """`count` clips of 1-3 frames, alternately from a white and a black source, with a
    crossfade into clip 7 when asked."""
    clips = []
    for k in range(count):
        frames = 1 + k % 3
        clip = {"id": f"c{k}", "media": "w" if k % 2 == 0 else "k", "src_in": f"{k % 5}/30", "src_out": f"{k % 5 + frames}/30"}
        if transitions and k in (6, 7):
            clip["src_out"] = f"{k % 5 + 6}/30"
        if transitions and k == 7:
            clip["transition_in"] = {"kind": "crossfade", "duration": "2/30"}
        clips.append(clip)
    return edl_from({"media": [{"id": "w", "path": "white.mp4"}, {"id": "k", "path": "black.mp4"}], "clips": clips})


def _white_and_black(tmp_path: Path, ffmpeg: str) -> None:
    for name, color, tone in (("white", "white", 440), ("black", "black", 0)):
        audio = ["-f", "lavfi", "-i", f"sine=f={tone}:d=1:sample_rate=48000"] if tone else []
        _run(ffmpeg, "-f", "lavfi", "-i", f"color=c={color}:s=320x180:r=30:d=1", *audio, "-c:v", "libx264",
             "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(tmp_path / f"{name}.mp4"))  # fmt: skip


def test_a_long_timeline_renders_in_segments_frame_exact(tmp_path, ffmpeg, monkeypatch):
    """Segments of at most 4 clips per process, piped into one encoder: the cut has exactly the
    EDL's frames, each clip's picture in its place, and the sound exactly as long."""
    from clipagent.edl import place_clips
    from clipagent.render import run as run_module

    monkeypatch.setattr(run_module, "video_clips_per_segment", lambda *a: 4)
    monkeypatch.setattr(run_module, "MAX_AUDIO_CLIPS", 4)
    _white_and_black(tmp_path, ffmpeg)
    edl = _alternating_edl(30, transitions=True)
    job = plan_render(edl, tmp_path, tmp_path / "cut.mp4", encoder="libx264")
    assert len(job.segments(video=True)) >= 7 and len(job.segments(video=False)) >= 7
    result = run_render(job)
    with av.open(str(result.output)) as container:
        lumas = [frame.to_ndarray(format="gray").mean() for frame in container.decode(video=0)]
    placements = place_clips(edl)
    assert len(lumas) == placements[-1].end_frame
    for k, p in enumerate(placements):
        if k in (6, 7):
            continue  # the crossfade between them
        seen = [round(lumas[i]) for i in range(p.start_frame, p.end_frame)]
        assert all(luma > 200 if p.clip.media == "w" else luma < 50 for luma in seen), (p.clip.id, seen)
    samples = ffprobe_facts(result.output)
    assert abs(samples["duration"] - placements[-1].end_frame / 30) <= 1 / 30


def test_a_huge_timeline_compiles_to_commands_of_bounded_size(tmp_path, ffmpeg):
    """5,000 clips: every command stays short whatever the clip count (one input per clip in one
    command took ~130 bytes of command line per clip: 100,000 clips were 13 MB, past Linux's
    ~2 MB), its graph is in a script file, and no process opens more than a segment's clips."""
    _white_and_black(tmp_path, ffmpeg)
    clips = [{"id": f"c{k}", "media": "w" if k % 2 else "k", "src_in": "0", "src_out": "0.1"} for k in range(5_000)]
    edl = edl_from({"media": [{"id": "w", "path": "white.mp4"}, {"id": "k", "path": "black.mp4"}], "clips": clips})
    job = plan_render(edl, tmp_path, tmp_path / "cut.mp4", encoder="libx264")
    job.work.mkdir()
    for one_pass in (job.mix_pass(), job.render_pass(LoudnessGain(0.0, -20.0), tmp_path / "x.mp4")):
        for command in [one_pass.command, *one_pass.feeders]:
            assert sum(len(arg) + 1 for arg in command) < 32_000
            assert "-filter_complex" not in command and job.ffmpeg.filter_script_option in command
            assert command.count("-i") <= 65
        assert len(one_pass.feeders) >= 5_000 // 64
    shutil.rmtree(job.work)


def test_dry_run_shows_segment_processes_piped_into_the_pass(tmp_path, ffmpeg, monkeypatch):
    from clipagent.render import run as run_module

    monkeypatch.setattr(run_module, "video_clips_per_segment", lambda *a: 4)
    _white_and_black(tmp_path, ffmpeg)
    job = plan_render(_alternating_edl(10), tmp_path, tmp_path / "cut.mp4", encoder="libx264")
    text = job.dry_run_text()
    render_pass = text.split("# pass 2")[1]
    assert render_pass.count("-f rawvideo -pix_fmt yuv420p pipe:1") == 3  # 10 clips in segments of 4, 4, 2
    assert "} | " in render_pass and "-i pipe:0" in render_pass
    assert "-filter_complex_script" not in text and not job.work.exists()  # graphs inline; nothing written


def test_a_failing_segment_fails_the_render_and_leaves_nothing(tmp_path, ffmpeg, monkeypatch):
    from clipagent.render import run as run_module

    monkeypatch.setattr(run_module, "video_clips_per_segment", lambda *a: 4)
    monkeypatch.setattr(run_module, "MAX_AUDIO_CLIPS", 4)
    compile_segment = run_module.compile_segment

    def broken_third(edl, sources, placements, segment, **options):
        graph = compile_segment(edl, sources, placements, segment, **options)
        return dataclasses.replace(graph, filtergraph=graph.filtergraph + ",nosuchfilter") if segment.first == 8 else graph

    monkeypatch.setattr(run_module, "compile_segment", broken_third)
    _white_and_black(tmp_path, ffmpeg)
    out = tmp_path / "out" / "cut.mp4"
    with pytest.raises(RenderError, match="segment 3 of 3") as caught:
        run_render(plan_render(_alternating_edl(10), tmp_path, out, encoder="libx264"))
    assert "nosuchfilter" in caught.value.stderr_tail or "No such filter" in caught.value.stderr_tail
    assert not out.parent.exists() or list(out.parent.iterdir()) == []
