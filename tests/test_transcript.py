"""Transcripts: subtitle sidecars parsed into timed words, and Whisper run on a tiny random checkpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from clipagent.analysis.models import Transcript, Word
from clipagent.analysis.transcript import (
    NoAudioError,
    SidecarError,
    WhisperTranscriber,
    decode_audio,
    find_sidecar,
    read_sidecar,
)
from clipagent.analysis.weights import WeightsUnavailable, WhisperSpec, resolve_whisper
from clipagent.errors import BadInputError, MediaError
from clipagent.media import probe

from .conftest import make_audio, make_video

pytestmark = pytest.mark.usefixtures("one_torch_thread")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """Never touch the network; an empty whisper cache so named models are missing."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# --- sidecars --------------------------------------------------------------------------------


def assert_spread(words: list[Word], start: Fraction, end: Fraction) -> None:
    """Words tile the cue: first at its start, last at its end, back to back, time ~ letters."""
    assert words[0].start == start and words[-1].end == end
    for before, after in zip(words, words[1:]):
        assert before.end == after.start
    per_letter = (end - start) / sum(len(w.text) for w in words)
    for word in words:
        assert word.start <= word.end
        assert abs((word.end - word.start) - per_letter * len(word.text)) <= Fraction(2, 1000)


def test_srt_with_bom_crlf_tags_and_multiline_cues(tmp_path):
    text = (
        "\ufeff1\r\n00:00:01,000 --> 00:00:04,000\r\n<i>Hello</i> there,\r\n<b>big</b> world!\r\n\r\n"
        "2\r\n00:00:05,000 --> 00:00:06,500 X1:10 X2:20\r\n{\\an8}Fish &amp; chips\r\n"
    )
    transcript = read_sidecar(write(tmp_path / "talk.srt", text))
    assert isinstance(transcript, Transcript)
    assert (transcript.source, transcript.model, transcript.language) == ("sidecar", "sidecar:talk.srt", None)
    first, second = transcript.segments
    assert (first.start, first.end, first.text) == (1, 4, "Hello there, big world!")
    assert [w.text for w in first.words] == ["Hello", "there,", "big", "world!"]
    assert_spread(first.words, Fraction(1), Fraction(4))
    assert second.text == "Fish & chips" and (second.start, second.end) == (5, Fraction(13, 2))
    assert_spread(second.words, Fraction(5), Fraction(13, 2))
    # "there," (6 letters) gets twice the time of "big" (3)
    assert first.words[1].end - first.words[1].start == 2 * (first.words[2].end - first.words[2].start)
    assert all(w.probability is None for w in transcript.words)


def test_vtt_header_note_style_cue_settings_and_inline_tags(tmp_path):
    text = (
        "WEBVTT - interview\nKind: captions\nLanguage: en\n\n"
        "NOTE written by hand\nover two lines\n\n"
        "STYLE\n::cue { color: yellow }\n\n"
        "intro\n00:01.000 --> 00:03.000 align:start position:10%\n"
        "<v Roger><c.yellow>Hi</c> <00:00:02.000>there\n\n"
        "01:00:03.500 --> 01:00:04.000\nbye\n"
    )
    transcript = read_sidecar(write(tmp_path / "talk.vtt", text))
    assert transcript.language == "en"
    assert [s.text for s in transcript.segments] == ["Hi there", "bye"]
    assert_spread(transcript.segments[0].words, Fraction(1), Fraction(3))
    assert transcript.segments[1].start == Fraction(7207, 2)


def test_srt_without_numbers_or_blank_lines_and_in_windows_1252(tmp_path):
    text = "00:00:00,500 --> 00:00:01,000\nCaf\xe9\n2\n00:00:01,000 --> 00:00:02,000\nnext one\n\n\n"
    transcript = read_sidecar(write(tmp_path / "x.srt", text, encoding="cp1252"), language="fr")
    assert [s.text for s in transcript.segments] == ["Café", "next one"]
    assert transcript.language == "fr"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("1\n00:00:01,000 --> 00:00:0x,000\nHello\n", 2, "bad cue timing"),
        ("1\n00:00:01,000 --> 00:00:02,000\nHi\n\n2\nno timing here\n", 5, "no timing line"),
        ("1\n00:00:03,000 --> 00:00:02,000\nbackwards\n", 2, "ends before it starts"),
        ("just some text\nnot subtitles\n", 1, "expected a cue number"),
    ],
)
def test_malformed_sidecar_names_the_line(tmp_path, text, line, words):
    with pytest.raises(SidecarError) as caught:
        read_sidecar(write(tmp_path / "bad.srt", text))
    assert isinstance(caught.value, BadInputError)
    assert caught.value.line == line
    assert f"bad.srt line {line}:" in caught.value.message and words in caught.value.message
    assert caught.value.hint


def test_find_sidecar_naming_variants(tmp_path):
    media = tmp_path / "clip.mp4"
    media.touch()
    assert find_sidecar(media) is None
    tagged = write(tmp_path / "clip.en.vtt", "WEBVTT\n")
    assert find_sidecar(media) == tagged
    double = write(tmp_path / "clip.mp4.srt", "")
    assert find_sidecar(media) == double
    vtt = write(tmp_path / "clip.vtt", "WEBVTT\n")
    assert find_sidecar(media) == vtt
    srt = write(tmp_path / "clip.srt", "")
    assert find_sidecar(media) == srt
    write(tmp_path / "clipper.srt", "")  # another file's sidecar
    assert find_sidecar(tmp_path / "other.mov") is None


# --- whisper ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> Path:
    """About two seconds of espeak-ng speech, as AAC in an .m4a (resampled and decoded by PyAV)."""
    folder = tmp_path_factory.mktemp("speech")
    wav = folder / "hello.wav"
    subprocess.run(["espeak-ng", "-w", str(wav), "hello world, this is a test"], check=True)
    from clipagent.ffmpeg import find_ffmpeg

    out = folder / "hello.m4a"
    subprocess.run([find_ffmpeg().path, "-v", "error", "-y", "-i", str(wav), "-ar", "44100", "-ac", "2", str(out)],
                   check=True)  # fmt: skip
    return out


@pytest.fixture(scope="module")
def transcriber(tiny_whisper) -> WhisperTranscriber:
    return WhisperTranscriber(WhisperSpec(model=str(tiny_whisper), device="cpu"))


def test_decode_audio_gives_16khz_mono_float32(tmp_path):
    path = make_audio(tmp_path / "tone.m4a", duration=3.0)
    audio = decode_audio(path, probe(path))
    assert audio.dtype.name == "float32" and audio.ndim == 1
    assert abs(len(audio) - 3 * 16000) < 16000 * 0.05
    assert 0.05 < float(abs(audio).max()) <= 1.0  # the tone, not silence


def test_whisper_tiny_checkpoint_gives_typed_timed_words(transcriber, speech, tiny_whisper):
    info = probe(speech)
    seen: list[float] = []
    transcript = transcriber.transcribe(speech, info, progress=seen.append)
    assert isinstance(transcript, Transcript) and transcript.source == "whisper"
    assert transcript.model == f"whisper:{tiny_whisper}"
    assert isinstance(transcript.language, str) and transcript.language
    words = transcript.words
    assert words, "random weights still produce tokens, hence words"
    for word in words:
        assert isinstance(word, Word) and word.text == word.text.strip() and word.text
        assert 0 <= word.start <= word.end <= info.duration
        assert 0 <= word.probability <= 1
    for segment in transcript.segments:
        assert segment.start <= segment.end <= info.duration
        assert all(segment.start <= w.start and w.end <= segment.end for w in segment.words)
    assert seen[0] == 0 and seen[-1] == pytest.approx(float(info.duration))
    # JSON round trip keeps exact times
    assert Transcript.model_validate_json(transcript.model_dump_json()) == transcript


def test_whisper_language_is_passed_through(transcriber, speech):
    transcript = transcriber.transcribe(speech, probe(speech), language="en")
    assert transcript.language == "en"


def test_no_audio_stream_is_a_media_error_before_any_model_loads(tmp_path):
    path = make_video(tmp_path / "silent.mp4", duration=1, audio=False)
    transcriber = WhisperTranscriber(WhisperSpec(model="base"))  # not on this machine: must not matter
    with pytest.raises(NoAudioError, match="no audio stream") as caught:
        transcriber.transcribe(path, probe(path))
    assert isinstance(caught.value, MediaError)


def test_missing_checkpoint_file_is_weights_unavailable(tmp_path):
    transcriber = WhisperTranscriber(WhisperSpec(model=str(tmp_path / "nope.pt")))
    with pytest.raises(WeightsUnavailable, match="file not found") as caught:
        transcriber.load()
    assert "--whisper-model" in caught.value.hint


_OFFLINE_PROBE = """
import json, sys
from pathlib import Path
from clipagent.analysis.transcript import WhisperTranscriber
from clipagent.analysis.weights import WeightsUnavailable, WhisperSpec
from clipagent.media import probe
path = Path(sys.argv[1])
try:
    WhisperTranscriber(WhisperSpec(model="small")).transcribe(path, probe(path))
    outcome = {"error": None}
except WeightsUnavailable as exc:
    outcome = {"error": exc.message, "hint": exc.hint}
outcome["torch"] = "torch" in sys.modules
print(json.dumps(outcome))
"""


@pytest.mark.parametrize("flag", ["HF_HUB_OFFLINE", "CLIPAGENT_OFFLINE"])
def test_named_model_missing_offline_fails_fast_without_importing_torch(tmp_path, speech, flag):
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "CLIPAGENT_OFFLINE")}
    env.update({flag: "1", "XDG_CACHE_HOME": str(tmp_path / "xdg"), "PYTHONPATH": str(REPO)})
    result = subprocess.run([sys.executable, "-c", _OFFLINE_PROBE, str(speech)], env=env, capture_output=True,
                            text=True, check=True)  # fmt: skip
    outcome = json.loads(result.stdout)
    assert outcome["error"] and "small" in outcome["error"] and "downloads are off" in outcome["error"]
    assert "--whisper-model" in outcome["hint"] and "CLIPAGENT_WHISPER_MODEL" in outcome["hint"]
    assert outcome["torch"] is False


def test_resolve_whisper_finds_named_models_in_whispers_cache(tmp_path):
    spec = WhisperSpec(model="large")
    missing = resolve_whisper(spec)
    assert missing.available is False and missing.can_download is False and not missing.loadable
    cached = tmp_path / "xdg" / "whisper" / "large-v3.pt"  # "large" is large-v3's file
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"weights")
    found = resolve_whisper(spec)
    assert found.available and found.local_path == str(cached) and found.loadable
    assert found.cache_identity == "whisper:large"
    assert found.download_root == str(cached.parent)


def test_checkpoint_identity_follows_content(tmp_path):
    checkpoint = tmp_path / "mine.pt"
    checkpoint.write_bytes(b"one")
    first = resolve_whisper(WhisperSpec(model=str(checkpoint))).cache_identity
    checkpoint.write_bytes(b"two")
    second = resolve_whisper(WhisperSpec(model=str(checkpoint))).cache_identity
    assert first.startswith("whisper:mine.pt#") and first != second


def test_whisper_spec_from_env_and_flags(monkeypatch):
    monkeypatch.setenv("CLIPAGENT_WHISPER_MODEL", "small.en")
    assert WhisperSpec.from_env().model == "small.en"
    assert WhisperSpec.from_env(model="tiny", device=None).model == "tiny"
    with pytest.raises(BadInputError, match="unknown Whisper model 'huge'"):
        WhisperSpec.from_env(model="huge")


def test_whisper_on_cuda_when_present(tiny_whisper, speech):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU here")
    transcriber = WhisperTranscriber(WhisperSpec(model=str(tiny_whisper), device="auto"))
    info = probe(speech)
    transcript = transcriber.transcribe(speech, info, language="en")
    assert transcriber._device == "cuda" and transcript.language == "en"
    assert all(0 <= w.start <= w.end <= info.duration for w in transcript.words)
