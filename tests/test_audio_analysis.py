"""Sound analysis: loudness against ffmpeg's EBU R128 meter, silences where they really are,
tempo and beats of a click track, and the edge cases (no audio, a truncated file)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from clipagent.analysis import audio
from clipagent.analysis.audio import AudioParams, NoAudioError, analyse_audio
from clipagent.errors import MediaError
from clipagent.ffmpeg import find_ffmpeg
from clipagent.media import integrated_loudness, probe

from .conftest import REALWORLD, REPO, make_video

SAMPLES = REPO / "samples" / "media"


def lavfi_audio(
    path: Path, expression: str, duration: float, channels: int = 1, codec: str = "pcm_s16le", extra: tuple = ()
) -> Path:
    """A file whose every channel is `expression` of t (ffmpeg aevalsrc) at 48 kHz."""
    exprs = "|".join([expression] * channels)
    subprocess.run(
        [find_ffmpeg().path, "-v", "error", "-y", "-f", "lavfi", "-i", f"aevalsrc=exprs='{exprs}':s=48000:d={duration}",
         "-c:a", codec, *extra, str(path)],
        check=True,
    )  # fmt: skip
    return path


def analyse(path: Path, music: bool = False, **params) -> audio.AudioAnalysis:
    return analyse_audio(path, probe(path), AudioParams(**params), music=music)


def ffmpeg_momentary(path: Path) -> dict[int, float]:
    """ffmpeg's ebur128 momentary loudness by our index: its value at t covers [t - 0.4, t), the
    window our `loudness[i]` centres on i * 0.1 s, so t maps to i = 10 t - 2."""
    result = subprocess.run(
        [find_ffmpeg().path, "-hide_banner", "-nostats", "-i", str(path), "-map", "0:a:0",
         "-af", "ebur128=framelog=info", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    pairs = re.findall(r"t:\s*([\d.]+)\s+TARGET.*?M:\s*(-?[\d.]+)", result.stderr)
    return {round(float(t) * 10) - 2: float(m) for t, m in pairs if float(t) > 0.35}


def assert_matches_ffmpeg(path: Path, result: audio.AudioAnalysis) -> None:
    theirs = ffmpeg_momentary(path)
    compared = [(result.loudness[i], m) for i, m in theirs.items() if i < len(result.loudness) and m > -70]
    assert len(compared) > 0.8 * len(theirs)
    worst = max(abs(ours - m) for ours, m in compared)
    assert worst < 1.0, f"momentary loudness differs from ffmpeg's by up to {worst:.2f} LU"
    assert result.integrated_lufs == pytest.approx(integrated_loudness(path), abs=0.5)


# --- loudness ------------------------------------------------------------------------------------


@pytest.mark.parametrize("channels, expected", [(1, -23.0), (2, -20.0)])
def test_a_1khz_tone_reads_its_bs1770_loudness(tmp_path, channels, expected):
    # BS.1770: a 0 dBFS 1 kHz sine in one channel reads -3.01 LKFS; channels add their powers.
    path = lavfi_audio(tmp_path / "tone.wav", "0.1*sin(2*PI*1000*t)", 3.0, channels)
    result = analyse(path)
    assert result.integrated_lufs == pytest.approx(expected, abs=0.1)
    assert result.step == Fraction(1, 10) and len(result.loudness) == 30
    assert all(value == pytest.approx(expected, abs=0.1) for value in result.loudness)
    assert_matches_ffmpeg(path, result)


@pytest.mark.skipif(not shutil.which("espeak-ng"), reason="espeak-ng is not installed")
def test_speech_loudness_matches_ffmpeg_ebur128(tmp_path):
    path = tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(path), "Cut the pause, keep the punch line, and end on the beat."], check=True)
    result = analyse(path)
    assert -35 < result.integrated_lufs < -10
    assert min(result.loudness) < result.integrated_lufs - 10 < max(result.loudness)  # it moves with the words
    assert_matches_ffmpeg(path, result)


def test_streaming_in_chunks_gives_the_one_shot_answer():
    noise = np.random.default_rng(1).standard_normal((2, 5 * audio.RATE)).astype(np.float32) * 0.1
    noise[:, 2 * audio.RATE :] *= 0.01  # a step down, so the filter's carried state matters
    one_shot, chunked = audio._Meter(np.ones(2), 10), audio._Meter(np.ones(2), 10)
    one_shot.push(noise)
    for start in range(0, noise.shape[1], 7 * audio.SUB):
        chunked.push(noise[:, start : start + 7 * audio.SUB])
    for meter in (one_shot, chunked):
        meter.finish()
    assert len(chunked.momentary) == len(one_shot.momentary) == 50
    np.testing.assert_allclose(chunked.momentary, one_shot.momentary, atol=1e-6)
    np.testing.assert_allclose(chunked.blocks, one_shot.blocks, rtol=1e-6)


def test_the_k_filter_is_the_bs1770_filter_at_48khz():
    # The coefficients printed in ITU-R BS.1770-4, table 1 and table 2.
    stages = [
        ((1.53512485958697, -2.69169618940638, 1.19839281085285), (-1.69065929318241, 0.73248077421585)),
        ((1.0, -2.0, 1.0), (-1.99004745483398, 0.99007225036621)),
    ]
    signal = [1.0] + [0.0] * 2999
    for (b0, b1, b2), (a1, a2) in stages:
        x1 = x2 = y1 = y2 = 0.0
        for n, x in enumerate(signal):
            y = b0 * x + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
            x2, x1, y2, y1, signal[n] = x1, x, y1, y, y
    np.testing.assert_allclose(audio._k_weighting()[:3000], signal, atol=1e-9)


# --- silences ------------------------------------------------------------------------------------

NOISE_FLOOR = "0.001*(2*random(0)-1)"  # about -65 dBFS of hiss: a room, not digital silence


def seconds_of(ranges) -> list[tuple[float, float]]:
    return [(float(r.start), float(r.end)) for r in ranges]


def test_a_two_second_gap_is_one_silence_at_its_place(tmp_path):
    path = lavfi_audio(tmp_path / "gap.wav", f"0.1*sin(2*PI*440*t)*(lt(t,1)+gte(t,3))+{NOISE_FLOOR}", 4.0)
    (silence,) = analyse(path).silences
    assert abs(silence.start - 1) <= Fraction(1, 10) and abs(silence.end - 3) <= Fraction(1, 10)
    assert isinstance(silence.start, Fraction)


def test_leading_and_trailing_silence_are_found(tmp_path):
    path = lavfi_audio(tmp_path / "middle.wav", f"0.1*sin(2*PI*440*t)*between(t,1,2)+{NOISE_FLOOR}", 3.5, channels=2)
    (lead, trail) = seconds_of(analyse(path).silences)
    assert lead[0] == 0 and lead[1] == pytest.approx(1, abs=0.1)
    assert trail[0] == pytest.approx(2, abs=0.1) and trail[1] == pytest.approx(3.5, abs=0.01)


def test_short_gaps_are_not_silences(tmp_path):
    # Gaps of 0.2 s and 0.45 s: the first is hidden by the 400 ms window, the second is under min_silence.
    tone = "0.1*sin(2*PI*440*t)*(lt(t,1)+between(t,1.2,2)+gte(t,2.45))"
    path = lavfi_audio(tmp_path / "short_gaps.wav", f"{tone}+{NOISE_FLOOR}", 3.5)
    assert analyse(path).silences == []
    assert seconds_of(analyse(path, min_silence=0.4).silences) == [pytest.approx((2.0, 2.45), abs=0.1)]


def test_the_deliberate_pause_in_host_tips_is_a_silence():
    manifest = json.loads((SAMPLES / "manifest.json").read_text())["files"]["host_tips.mp4"]
    result = analyse(SAMPLES / "host_tips.mp4")
    (pause,) = manifest["deliberate_pauses"]
    found = [s for s in seconds_of(result.silences) if s[0] < pause["end"] and s[1] > pause["start"]]
    assert found == [pytest.approx((pause["start"], pause["end"]), abs=0.1)]
    for sentence in manifest["sentences"]:  # and no silence cuts into a sentence
        assert all(end <= sentence["start"] + 0.1 or start >= sentence["end"] - 0.1 for start, end in seconds_of(result.silences))


# --- music ---------------------------------------------------------------------------------------

CLICKS_120 = f"0.5*gte(t,0.25)*sin(2*PI*1500*t)*exp(-150*mod(t-0.25,0.5))+0.1*sin(2*PI*110*t)+{NOISE_FLOOR}"


def f_measure(estimated: list[float], reference: list[float], window: float) -> float:
    hits = sum(1 for r in reference if any(abs(e - r) <= window for e in estimated))
    precision, recall = hits / max(len(estimated), 1), hits / len(reference)
    return 2 * precision * recall / (precision + recall) if hits else 0.0


@pytest.fixture(scope="module")
def click_track(tmp_path_factory) -> Path:
    return lavfi_audio(tmp_path_factory.mktemp("music") / "clicks.m4a", CLICKS_120, 12.0, channels=2, codec="aac")


def test_a_120_bpm_click_track_gives_its_tempo_beats_and_onsets(click_track):
    result = analyse(click_track, music=True)
    clicks = [0.25 + 0.5 * k for k in range(24)]
    assert result.tempo_bpm == pytest.approx(120, abs=2)
    beats = [float(b) for b in result.beats]
    assert f_measure(beats, clicks, 0.05) >= 0.9
    assert all(abs(b - min(clicks, key=lambda c: abs(c - b))) <= 0.05 for b in beats)
    assert f_measure([float(o) for o in result.onsets], clicks, 0.05) >= 0.9
    assert all(isinstance(b, Fraction) for b in result.beats)


def test_without_music_or_with_beats_off_there_is_no_tempo(click_track):
    for result in (analyse(click_track, music=False), analyse(click_track, music=True, beats=False)):
        assert result.tempo_bpm is None and result.beats == [] and result.onsets == []
        assert result.integrated_lufs is not None


def test_a_steady_tone_has_no_beat(tmp_path):
    path = lavfi_audio(tmp_path / "drone.wav", "0.1*sin(2*PI*220*t)+0.05*sin(2*PI*330*t)", 8.0)
    result = analyse(path, music=True)
    assert result.tempo_bpm is None and result.beats == []


def test_music_sample_beats_are_on_the_kicks():
    result = analyse(SAMPLES / "music.m4a", music=True)
    kicks = [0.5 * k for k in range(60)]
    assert result.tempo_bpm == pytest.approx(120, abs=1)
    assert f_measure([float(b) for b in result.beats], kicks, 0.05) >= 0.95


# --- edges ---------------------------------------------------------------------------------------


def test_a_file_without_audio_is_refused_with_a_media_error(tmp_path):
    path = make_video(tmp_path / "mute.mp4", duration=1, audio=False)
    with pytest.raises(NoAudioError, match="no audio stream") as caught:
        analyse(path)
    assert isinstance(caught.value, MediaError)


def test_a_truncated_file_gives_what_was_decoded(tmp_path):
    whole = lavfi_audio(tmp_path / "whole.m4a", "0.1*sin(2*PI*1000*t)", 6.0, codec="aac", extra=("-movflags", "+faststart"))
    info = probe(whole)
    data = whole.read_bytes()
    whole.write_bytes(data[: len(data) * 6 // 10])  # the mdat cut short: the index still says 6 s
    seen: list[float] = []
    result = analyse_audio(whole, info, AudioParams(), music=True, progress=seen.append)
    assert 20 <= len(result.loudness) <= 45
    assert result.integrated_lufs == pytest.approx(-23.0, abs=0.3)
    assert seen and seen == sorted(seen) and seen[-1] == pytest.approx(len(result.loudness) / 10, abs=0.15)


def test_a_file_that_is_not_media_is_a_media_error(tmp_path):
    path = lavfi_audio(tmp_path / "tone.wav", "0.1*sin(2*PI*440*t)", 1.0)
    info = probe(path)
    path.write_bytes(b"not audio at all" * 100)
    with pytest.raises(MediaError):
        analyse_audio(path, info, AudioParams(), music=False)


def test_params_are_checked_and_serialise_for_the_cache_key():
    with pytest.raises(ValidationError, match="multiple of 0.01"):
        AudioParams(step=0.033)
    with pytest.raises(ValidationError, match="400 ms"):
        AudioParams(min_silence=0.2)
    with pytest.raises(ValidationError):
        AudioParams(silence_threshold_lu=5)
    params = AudioParams(step="0.25")
    assert json.loads(params.model_dump_json())["step"] == "0.25"
    assert AudioParams.model_validate_json(params.model_dump_json()) == params
    json.dumps(params.model_dump())


# --- real-world media (skipped where ../shared/realworld is absent) ------------------------------


def realworld(name: str) -> Path:
    path = REALWORLD / name
    if not path.exists():
        pytest.skip(f"{path} is not here")
    return path


@pytest.mark.parametrize("name", ["jfk.flac", "ae_example.mp4", "mp_big_buck_bunny_0_30.webm", "ae_mono.mp3"])
def test_real_media_loudness_matches_ffmpeg(name):
    path = realworld(name)
    assert_matches_ffmpeg(path, analyse(path))


def test_auto_editors_example_has_its_long_silence():
    silences = analyse(realworld("ae_example.mp4")).silences
    assert any(s.end - s.start > 20 for s in silences)


def test_audio_that_fails_partway_still_gives_a_result():
    path = realworld("mp_video_with_failing_audio.mp4")
    result = analyse(path)
    assert result.loudness and result.integrated_lufs == pytest.approx(integrated_loudness(path), abs=0.5)
    assert all(s.end <= probe(path).duration for s in result.silences)
