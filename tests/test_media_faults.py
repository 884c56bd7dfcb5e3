"""Odd media that used to crash or mislead the process (issue 10 kinds 5 and 10).

Multichannel audio is probed, decoded and measured in a child process, so a crash (an abort or a
segfault in the decoder, which no `except` can catch) fails one test instead of the whole run.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from clipagent.ffmpeg import find_ffmpeg

SINE = "sine=f=440:d=1:sample_rate=48000"  # amplitude 1/8 in every channel


def make_multichannel(path: Path, channels: int, codec: str, video: bool = False) -> Path:
    """`channels` copies of one sine (ffmpeg's default layout for the count, or none), optionally with
    a 1 s 320x180 picture."""
    labels = "".join(f"[c{i}]" for i in range(channels))
    command = [find_ffmpeg().path, "-v", "error", "-y", "-f", "lavfi", "-i", SINE]
    if video:
        command += ["-f", "lavfi", "-i", "testsrc2=s=320x180:r=30:d=1"]
    command += ["-filter_complex", f"[0:a]asplit={channels}{labels};{labels}amerge=inputs={channels}[a]", "-map", "[a]"]
    if video:
        command += ["-map", "1:v", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    subprocess.run([*command, "-c:a", codec, str(path)], check=True)
    return path


# ffmpeg's AAC encoder takes at most 8 channels in a standard layout, and 16 without one; it refuses
# 10 ("Error while opening encoder"), so 10 channels are tested in PCM only.
MULTICHANNEL = [
    ("aac", 6, "m4a", False),
    ("aac", 8, "mp4", True),  # 7.1 AAC: analyze and edit segfaulted in to_ndarray
    ("aac", 16, "m4a", False),
    ("pcm_s16le", 6, "wav", False),
    ("pcm_s16le", 8, "mov", True),  # a custom-order layout: probe and render aborted (double free)
    ("pcm_s16le", 10, "wav", False),
    ("pcm_s16le", 16, "mov", False),
]

_CHILD = """
import json, sys
import numpy as np
from pathlib import Path
from clipagent.media import probe
from clipagent.audio_decode import AudioDecoder, decode_mono
from clipagent.analysis.audio import AudioParams, analyse_audio, _channel_weight
for name in sys.argv[1:]:
    path = Path(name)
    info = probe(path)
    with AudioDecoder(path, info.audio.index, 48000) as decoder:
        weights = sum(_channel_weight(channel) for channel in decoder.channels)
        voices = sum(not channel.startswith("LFE") for channel in decoder.channels)
    mono = np.concatenate(list(decode_mono(path, info.audio.index, 16000)))
    sound = analyse_audio(path, info, AudioParams(), music=False)
    print(json.dumps({"path": name, "channels": info.audio.channels, "weights": weights, "voices": voices,
                      "lufs": sound.integrated_lufs,
                      "mono_seconds": len(mono) / 16000, "mono_rms": float(np.sqrt(np.mean(mono[4000:12000] ** 2)))}),
          flush=True)
"""


@pytest.fixture(scope="module")
def measured(tmp_path_factory) -> tuple[dict[str, dict], str]:
    """Every MULTICHANNEL file (and one channel alone) probed, decoded and measured by one child
    process, one line per file as it goes: a crash leaves the files from there on unmeasured."""
    folder = tmp_path_factory.mktemp("multichannel")
    paths = [make_multichannel(folder / "mono.wav", 1, "pcm_s16le")]
    for codec, n, suffix, video in MULTICHANNEL:
        paths.append(make_multichannel(folder / f"{codec}{n}.{suffix}", n, codec, video))
    command = [sys.executable, "-c", _CHILD, *map(str, paths)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    facts = {Path(line["path"]).name: line for line in map(json.loads, result.stdout.splitlines())}
    return facts, f"exit {result.returncode}\n{result.stderr[-2000:]}"


@pytest.mark.parametrize(("codec", "channels", "suffix", "video"), MULTICHANNEL)
def test_multichannel_audio_probes_decodes_and_measures(measured, codec, channels, suffix, video):
    from clipagent.media import integrated_loudness

    all_facts, child = measured
    name = f"{codec}{channels}.{suffix}"
    assert name in all_facts, f"{name} was not measured: {child}"
    facts, one_channel_lufs = all_facts[name], all_facts["mono.wav"]["lufs"]
    assert facts["channels"] == channels
    # BS.1770 sums the weighted channel powers: n equal channels read 10 log10(sum of weights) louder.
    assert facts["lufs"] == pytest.approx(one_channel_lufs + 10 * math.log10(facts["weights"]), abs=0.3)
    # The mono downmix sums the channels but the LFE over sqrt(their count): equal channels of the
    # sine (amplitude 1/8) add up to sqrt(count) times it.
    assert facts["mono_rms"] == pytest.approx(0.125 / math.sqrt(2) * math.sqrt(facts["voices"]), rel=0.05)
    assert facts["mono_seconds"] == pytest.approx(1.0, abs=0.05)
    # ffmpeg's ebur128 agrees (within 1 LU: for a layout nobody named, which channels are surrounds is a guess).
    path = Path(all_facts["mono.wav"]["path"]).with_name(name)
    assert integrated_loudness(path) == pytest.approx(facts["lufs"], abs=1.0)


def test_analyze_folder_with_multichannel_files_indexes_every_file(tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    make_multichannel(media / "surround.mov", 8, "pcm_s16le", video=True)
    make_multichannel(media / "many.wav", 16, "pcm_s16le")
    make_multichannel(media / "atmos.m4a", 8, "aac")
    result = subprocess.run(
        [sys.executable, "-m", "clipagent", "analyze", str(media), "--json", "--transcripts", "none",
         "--no-embeddings", "--cache-dir", str(tmp_path / "cache")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    index = json.loads(result.stdout)
    assert sorted(Path(f["path"]).name for f in index["files"]) == ["atmos.m4a", "many.wav", "surround.mov"]
    assert index["skipped"] == []
    assert all(f["audio"]["integrated_lufs"] > -20 for f in index["files"])


# --- durations at the exact end of a source (kind 10) ---------------------------------------------


def _frames(path: Path, count: int, rate: str, audio: bool = False, faststart: bool = False) -> Path:
    command = [find_ffmpeg().path, "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=s=320x180:r={rate}"]
    if audio:
        command += ["-f", "lavfi", "-i", "sine=f=440:sample_rate=48000", "-c:a", "aac", "-shortest"]
    command += ["-frames:v", str(count), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    subprocess.run([*command, *(["-movflags", "+faststart"] if faststart else []), str(path)], check=True)
    return path


def _range_violations(path: Path, src_out: str) -> list:
    from clipagent.validate import validate_edl

    from .conftest import edl_from

    clip = {"id": "c", "media": "v", "src_in": 0, "src_out": src_out}
    edl = edl_from({"media": [{"id": "v", "path": path.name}], "clips": [clip]})
    return [v for v in validate_edl(edl, path.parent).violations if v.code == "range_outside_source"]


@pytest.mark.parametrize(
    ("count", "rate", "end", "past"), [(1, "30", "1/30", "1/29"), (32, "30000/1001", "32032/30000", "32033/30000")]
)
def test_a_clip_ending_exactly_at_the_source_end_is_inside(tmp_path, count, rate, end, past):
    from fractions import Fraction

    from clipagent.media import probe

    path = _frames(tmp_path / "frames.mp4", count, rate)
    assert probe(path).duration == Fraction(end)  # exact, not rounded to microseconds
    assert _range_violations(path, end) == []
    assert [v.location for v in _range_violations(path, past)] == ["clips[0].src_out"]


def test_a_file_cut_short_with_its_index_in_front_validates_only_its_decodable_part(tmp_path):
    from fractions import Fraction

    from clipagent.media import probe

    whole = _frames(tmp_path / "whole.mp4", 90, "30", audio=True, faststart=True)  # 3 s, moov first
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 4 // 10])
    info = probe(cut)
    assert info.truncated_from == Fraction(3)
    assert Fraction(1, 2) < info.duration < Fraction(2)
    assert probe(whole).truncated_from is None and probe(whole).duration == 3
    # What probe calls decodable does decode: the picture reaches within a few frames of it.
    import av

    last = 0.0
    with av.open(str(cut)) as container:
        try:
            for frame in container.decode(video=0):
                last = frame.time
        except av.error.InvalidDataError:
            pass  # the packet the file cuts in half
    assert abs(last + 1 / 30 - float(info.duration)) < 0.2
    assert _range_violations(cut, f"{info.duration.numerator}/{info.duration.denominator}") == []
    (violation,) = _range_violations(cut, "3")
    assert "cut short" in violation.message and "3.000 s its index claims" in violation.message


@pytest.mark.parametrize("suffix", ["mkv", "mp3", "wav"])
def test_a_file_without_an_index_cut_short_is_measured_by_its_packets(tmp_path, suffix):
    from clipagent.media import probe

    whole = tmp_path / f"whole.{suffix}"
    command = [find_ffmpeg().path, "-v", "error", "-y", "-f", "lavfi", "-i", "sine=f=440:d=3"]
    if suffix == "mkv":
        command += ["-f", "lavfi", "-i", "testsrc2=s=320x180:r=30:d=3", "-c:v", "libx264", "-preset", "ultrafast"]
    subprocess.run([*command, str(whole)], check=True)
    cut = tmp_path / f"cut.{suffix}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 4 // 10])
    full, short = probe(whole), probe(cut)
    assert full.truncated_from is None and full.duration == pytest.approx(3, abs=0.05)
    assert short.duration == pytest.approx(1.2, abs=0.15)
    # A cut WAV already reads its real length: its duration comes from the data that is there.
    if suffix != "wav":
        assert short.truncated_from == pytest.approx(3, abs=0.05)


@pytest.mark.slow
def test_render_cuts_multichannel_sources_and_music_to_stereo(tmp_path):
    """8 channels in a custom order (aborted the probe), 10 (ffmpeg's resampler refuses the layout)
    and 16 (AAC, no layout): every clip is heard, in stereo, and the music bed of 10 channels too."""
    make_multichannel(tmp_path / "eight.mov", 8, "pcm_s16le", video=True)
    make_multichannel(tmp_path / "ten.mov", 10, "pcm_s16le", video=True)
    make_multichannel(tmp_path / "sixteen.mp4", 16, "aac", video=True)
    make_multichannel(tmp_path / "bed.wav", 10, "pcm_s16le")
    edl = {
        "schema_version": 1, "media_root": ".",
        "output": {"width": 320, "height": 180, "fps": "30"},
        "media": [{"id": name, "path": path} for name, path in
                  [("eight", "eight.mov"), ("ten", "ten.mov"), ("sixteen", "sixteen.mp4"), ("bed", "bed.wav")]],
        "clips": [{"id": f"c{k}", "media": name, "src_in": 0, "src_out": "0.9"}
                  for k, name in enumerate(["eight", "ten", "sixteen"])],
        "music": {"media": "bed", "gain_db": -10, "duck": False},
    }  # fmt: skip
    (tmp_path / "edl.json").write_text(json.dumps(edl))
    out = tmp_path / "cut.mp4"
    result = subprocess.run([sys.executable, "-m", "clipagent", "render", str(tmp_path / "edl.json"), "-o", str(out),
                             "--encoder", "libx264"], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    import av
    import numpy as np

    with av.open(str(out)) as container:
        assert container.streams.audio[0].codec_context.channels == 2
        resampler = av.AudioResampler(format="flt", layout="mono", rate=8000)
        samples = np.concatenate([o.to_ndarray().reshape(-1) for frame in container.decode(audio=0)
                                  for o in resampler.resample(frame)])  # fmt: skip
    # Each 0.9 s clip carries its tone: no third of the cut is silent.
    for third in np.array_split(samples[: 8000 * 27 // 10], 3):
        assert np.sqrt(np.mean(third**2)) > 0.05


def test_frames_in_a_custom_channel_order_are_safe_once_their_layouts_are_kept(tmp_path):
    """The second line of defence: a plain PyAV decode of an 8-channel PCM .mov (custom order)
    aborts with a double free, unless every such frame's layout is kept alive."""
    path = make_multichannel(tmp_path / "eight.mov", 8, "pcm_s16le")
    child = """
import sys, av
from clipagent.audio_decode import keep_layout_alive
keep = sys.argv[2] == "keep"
with av.open(sys.argv[1]) as container:
    for frame in container.decode(audio=0):
        if keep:
            keep_layout_alive(frame.layout)
print("decoded")
"""
    kept = subprocess.run([sys.executable, "-c", child, str(path), "keep"], capture_output=True, text=True, timeout=60)
    assert kept.returncode == 0 and "decoded" in kept.stdout, kept.stderr[-1000:]
    # The check is real: without keeping them, the same decode crashes (PyAV 18.1).
    bare = subprocess.run([sys.executable, "-c", child, str(path), "bare"], capture_output=True, text=True, timeout=60)
    if bare.returncode == 0:
        pytest.skip("this PyAV no longer frees a custom channel map twice: the workaround is no longer needed")


def test_render_of_a_range_past_where_a_file_is_cut_short_is_bad_input(tmp_path):
    """It used to validate for the claimed 3 s and render a frozen, silent tail with exit 0."""
    whole = _frames(tmp_path / "whole.mp4", 90, "30", audio=True, faststart=True)
    (tmp_path / "cut.mp4").write_bytes(whole.read_bytes()[: whole.stat().st_size * 4 // 10])
    edl = {"schema_version": 1, "media_root": ".", "output": {"width": 320, "height": 180, "fps": "30"},
           "media": [{"id": "cut", "path": "cut.mp4"}],
           "clips": [{"id": "c", "media": "cut", "src_in": 0, "src_out": 3}]}  # fmt: skip
    (tmp_path / "edl.json").write_text(json.dumps(edl))
    out = tmp_path / "out.mp4"
    result = subprocess.run([sys.executable, "-m", "clipagent", "render", str(tmp_path / "edl.json"), "-o", str(out)],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "clips[0].src_out" in result.stderr and "cut short" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


# --- music beds that start late or end early (issue 10 kind 4's leftover) --------------------------


def _beep_onsets(samples, rate: int, threshold: float = 0.05) -> list[float]:
    """Seconds where the sound rises past `threshold` after at least 0.2 s under it."""
    import numpy as np

    loud = np.nonzero(np.abs(samples) > threshold)[0]
    starts = [int(loud[0])] if len(loud) else []
    starts += [int(b) for a, b in zip(loud, loud[1:]) if b - a > rate // 5]
    return [s / rate for s in starts]


def _cut_audio(path: Path):
    import av
    import numpy as np

    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=8000)
        return np.concatenate([o.to_ndarray().reshape(-1) for frame in container.decode(audio=0)
                               for o in resampler.resample(frame)])  # fmt: skip


def _render_under_bed(tmp_path: Path, bed: str, music: dict, seconds: int = 3) -> Path:
    from clipagent.render.run import plan_render, run_render

    from .conftest import edl_from, make_video

    make_video(tmp_path / "picture.mp4", duration=seconds, audio=False)
    edl = edl_from({
        "media": [{"id": "p", "path": "picture.mp4"}, {"id": "bed", "path": bed}],
        # No sound of its own: the bed is all the cut's sound.
        "clips": [{"id": "c", "media": "p", "src_in": 0, "src_out": seconds}],
        "music": {"media": "bed", "gain_db": 0, "duck": False, "fade_in": 0, "fade_out": 0, **music},
    })  # fmt: skip
    out = tmp_path / "cut.mp4"
    run_render(plan_render(edl, tmp_path, out, encoder="libx264"))
    return out


def test_a_music_bed_whose_sound_starts_late_keeps_its_files_clock(tmp_path):
    """A music video as the bed: its sound starts 1.5 s after its picture, and beeps at 0.2 s of
    its own time, so at 1.7 s of the file, where the analysis (and the planner's beats) time it.
    The cut plays the bed's second T at T - src_in: the render used to pull the late sound to the
    cut's start (the beep at 0.2 s), 1.5 s off the beats the planner cut on."""
    from fractions import Fraction

    import numpy as np

    from clipagent.audio_decode import decode_mono
    from clipagent.media import probe

    ffmpeg, beep = find_ffmpeg().path, tmp_path / "beep.m4a"
    subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i",
                    "aevalsrc='0.5*sin(2*PI*1000*t)*between(t,0.2,0.3)':s=48000:d=1", "-c:a", "aac", str(beep)],
                   check=True)  # fmt: skip
    subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=black:s=320x180:r=30:d=4",
                    "-itsoffset", "1.5", "-i", str(beep), "-map", "0:v", "-map", "1:a", "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "copy", str(tmp_path / "video.mp4")],
                   check=True)  # fmt: skip
    info = probe(tmp_path / "video.mp4")
    assert 1.45 <= info.audio.start <= 1.55
    analysed = np.concatenate(list(decode_mono(tmp_path / "video.mp4", info.audio.index, 8000)))
    (heard,) = _beep_onsets(analysed, 8000)
    assert heard == pytest.approx(1.7, abs=0.02)  # the analysis's clock: the file's

    src_in = Fraction(1, 2)
    out = _render_under_bed(tmp_path, "video.mp4", {"src_in": str(src_in), "loop": False})
    onsets = _beep_onsets(_cut_audio(out), 8000)
    assert onsets == [pytest.approx(heard - float(src_in), abs=1 / 30)], onsets  # within a frame


def test_the_planner_plays_a_late_bed_from_its_sound_not_its_lead_in(tmp_path, offline_planner):
    """The brief's music is a music video whose sound starts 1.5 s after its picture: the planned
    bed starts there (Music.src_in = the sound's start), not on 1.5 s of silence."""
    from clipagent import api
    from clipagent.analysis.index import AnalyzeOptions
    from clipagent.edit import EditOptions

    from .conftest import make_video

    media = tmp_path / "media"
    media.mkdir()
    make_video(media / "broll.mp4", duration=6, audio=False)
    ffmpeg = find_ffmpeg().path
    subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "sine=f=330:d=6:sample_rate=48000", "-c:a", "aac",
                    str(tmp_path / "tone.m4a")], check=True)  # fmt: skip
    subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=black:s=320x180:r=30:d=8",
                    "-itsoffset", "1.5", "-i", str(tmp_path / "tone.m4a"), "-map", "0:v", "-map", "1:a", "-c:v",
                    "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "copy", str(media / "song.mp4")],
                   check=True)  # fmt: skip
    brief = tmp_path / "brief.md"
    brief.write_text("---\ntitle: late bed\nduration: 4\nmusic: song.mp4\n---\nA short b-roll cut.\n")
    options = EditOptions(planner="heuristic", candidates=1,
                          analyze=AnalyzeOptions(embeddings=False, transcribe=False))  # fmt: skip
    edl = api.plan(brief, media, options=options).edl
    assert edl.music is not None and edl.music.media == "song"
    assert 1.45 <= float(edl.music.src_in) <= 1.55


@pytest.mark.parametrize("loop", [False, True])
def test_a_music_bed_shorter_than_the_cut_ends_or_loops(tmp_path, loop):
    """A 1.2 s bed under a 3 s cut: once, then silence to the end (the cut keeps its length and its
    sound track); looped, heard to the end."""
    import numpy as np

    subprocess.run([find_ffmpeg().path, "-v", "error", "-y", "-f", "lavfi", "-i", "sine=f=440:d=1.2:sample_rate=48000",
                    "-c:a", "aac", str(tmp_path / "short.m4a")], check=True)  # fmt: skip
    out = _render_under_bed(tmp_path, "short.m4a", {"loop": loop})
    samples = _cut_audio(out)
    assert len(samples) / 8000 == pytest.approx(3, abs=0.05)  # the whole cut has sound, silent or not

    def level(a: float, b: float) -> float:
        return float(np.sqrt(np.mean(samples[int(a * 8000) : int(b * 8000)] ** 2)))

    assert level(0.1, 1.1) > 0.1
    if loop:
        assert level(1.3, 2.3) > 0.1 and level(2.5, 2.9) > 0.1
    else:
        assert level(1.3, 2.9) < 1e-3


def test_the_first_shot_of_a_picture_that_starts_late_starts_at_its_first_frame(tmp_path):
    """Video 1.5 s after the sound (Matroska keeps the offset): the render holds the first frame over
    the lead-in, so a shot from 0 offered the planner 1.5 s of frozen picture to open a cut on."""
    from clipagent.analysis.shots import ShotParams, detect_shots
    from clipagent.media import probe

    path = tmp_path / "late.mkv"
    subprocess.run([find_ffmpeg().path, "-v", "error", "-y", "-itsoffset", "1.5", "-f", "lavfi", "-i",
                    "testsrc2=s=320x180:r=30:d=2", "-f", "lavfi", "-i", "sine=d=3.5", "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)], check=True)  # fmt: skip
    info = probe(path)
    assert info.video.start == pytest.approx(1.5, abs=0.05) and info.duration == pytest.approx(3.5, abs=0.05)
    (shot,) = detect_shots(path, info, ShotParams(), lambda jpeg: "k.jpg").shots
    assert shot.start == info.video.start and shot.end == info.duration


def test_a_clip_past_the_end_of_its_picture_where_only_the_sound_runs_on_is_refused(tmp_path):
    """Sound 1.5 s longer than the picture: the file lasts 3.5 s, but a clip from 1.5 to 3.4 s used
    to render with exit 0 and 1.4 s of its last frame held (a frozen picture nobody asked for)."""
    from clipagent.media import probe

    path = tmp_path / "long_sound.mp4"
    subprocess.run([find_ffmpeg().path, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=30:d=2",
                    "-f", "lavfi", "-i", "sine=d=3.5:sample_rate=48000", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", str(path)], check=True)  # fmt: skip
    info = probe(path)
    assert info.video.end == 2 and info.duration == pytest.approx(3.5, abs=0.05)
    (violation,) = _range_violations(path, "3.4")
    assert violation.location == "clips[0].src_out" and "past the end of the picture" in violation.message
    assert "2.000 s" in violation.message
    assert _range_violations(path, "2") == [] and _range_violations(path, "2.05") == []  # AAC's tail: slack
