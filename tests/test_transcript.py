"""Transcripts: subtitle sidecars parsed into timed words (Whisper is tested in test_asr.py)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from clipagent.analysis.models import Transcript, Word
from clipagent.analysis.transcript import SidecarError, find_sidecar, read_sidecar
from clipagent.errors import BadInputError


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
        ("1\n9999999:00:00,000 --> 9999999:00:01,000\nhi\n", 2, "beyond any media"),
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


# --- sidecars as people save them (issue 10, kind 7) -------------------------------------------

TWO_CUES = "1\n00:00:01,000 --> 00:00:02,000\nCafé at noon.\n\n2\n00:00:02,500 --> 00:00:04,000\nSee you there!\n"


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"), ("utf-32-le", b"\xff\xfe\x00\x00"),
     ("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"")],
)  # fmt: skip
def test_sidecar_in_utf16_and_utf32_with_or_without_a_byte_order_mark(tmp_path, encoding, bom):
    path = tmp_path / "talk.srt"
    path.write_bytes(bom + TWO_CUES.replace("\n", "\r\n").encode(encoding))
    transcript = read_sidecar(path)
    assert [s.text for s in transcript.segments] == ["Café at noon.", "See you there!"]
    assert [w.text for w in transcript.words] == ["Café", "at", "noon.", "See", "you", "there!"]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_a_latin_sidecar_in_utf16_or_utf32_without_a_byte_order_mark_is_read(tmp_path, encoding):
    """Latin text in UTF-16 without a mark is valid UTF-8 (a NUL after each letter): it was read as
    UTF-8 and refused at line 1 ("expected a cue number or timing line, got '1\\x00'")."""
    path = tmp_path / "talk.srt"
    path.write_bytes(TWO_CUES.replace("é", "e").replace("\n", "\r\n").encode(encoding))
    assert [w.text for w in read_sidecar(path).words] == ["Cafe", "at", "noon.", "See", "you", "there!"]


@pytest.mark.parametrize(
    ("text", "encoding"),
    [("1\n00:00:01,000 --> 00:00:03,000\n大家好。我们今天谈谈视频剪辑。\n", "gbk"),
     ("1\n00:00:01,000 --> 00:00:03,000\nПривет, как дела? Всё хорошо.\n", "cp1251")],
)  # fmt: skip
def test_sidecar_in_a_legacy_encoding_is_detected(tmp_path, text, encoding):
    transcript = read_sidecar(write(tmp_path / "talk.srt", text, encoding=encoding))
    assert transcript.segments[0].text == text.splitlines()[2]


def test_overlapping_cues_keep_every_word_in_order_split_at_the_middle(tmp_path):
    # The second cue starts 0.3 s before the first one ends (a subtitle left up too long).
    srt = write(tmp_path / "x.srt", "1\n00:00:01,000 --> 00:00:03,300\nFirst sentence here.\n\n"
                                    "2\n00:00:03,000 --> 00:00:05,000\nSecond one now.\n")  # fmt: skip
    transcript = read_sidecar(srt)
    assert [w.text for w in transcript.words] == ["First", "sentence", "here.", "Second", "one", "now."]
    first, second = transcript.segments
    assert (first.start, first.end, second.start, second.end) == (1, Fraction(63, 20), Fraction(63, 20), 5)
    assert all(a.end <= b.start for a, b in zip(transcript.words, transcript.words[1:]))


def test_cues_inside_others_or_repeated_are_merged_without_losing_words(tmp_path):
    srt = write(tmp_path / "x.srt", "1\n00:00:01,000 --> 00:00:05,000\nWe talk together\n\n"
                                    "2\n00:00:02,000 --> 00:00:03,000\nyes indeed\n\n"
                                    "3\n00:00:06,000 --> 00:00:07,000\nAgain.\n\n"
                                    "4\n00:00:06,500 --> 00:00:07,500\nAgain.\n")  # fmt: skip
    transcript = read_sidecar(srt)
    assert [(s.start, s.end, s.text) for s in transcript.segments] == [
        (1, 5, "We talk together yes indeed"), (6, Fraction(15, 2), "Again.")]  # fmt: skip
    assert_spread(transcript.segments[0].words, Fraction(1), Fraction(5))


def test_cues_are_clamped_to_the_media(tmp_path):
    srt = write(tmp_path / "x.srt", "1\n00:00:01,000 --> 00:00:02,000\nEarly words.\n\n"
                                    "2\n00:00:02,500 --> 00:00:09,000\nThe last words run long.\n\n"
                                    "3\n00:00:10,000 --> 00:00:11,000\nNot in the media.\n")  # fmt: skip
    transcript = read_sidecar(srt, duration=Fraction(4))
    assert [s.text for s in transcript.segments] == ["Early words.", "The last words run long."]
    assert transcript.segments[-1].end == 4 and transcript.words[-1].end == 4
    assert_spread(transcript.segments[-1].words, Fraction(5, 2), Fraction(4))


def test_text_without_spaces_splits_into_sentences_at_full_width_marks(tmp_path):
    from clipagent.planning.segments import sentences

    srt = write(tmp_path / "zh.srt", "1\n00:00:01,000 --> 00:00:04,000\n大家好。我们今天谈谈视频剪辑，很简单！好吗？\n")
    words = read_sidecar(srt).words
    assert [w.text for w in words] == ["大家好。", "我们今天谈谈视频剪辑，", "很简单！", "好吗？"]
    assert [[words[k].text for k in group] for group in sentences(words)] == [
        ["大家好。"], ["我们今天谈谈视频剪辑，", "很简单！"], ["好吗？"]]  # fmt: skip


@pytest.mark.parametrize(
    ("word", "ends"),
    [("end.", True), ("why?", True), ("“Wow!”", True), ("好。", True), ("いいえ｡", True), ("نعم؟", True),
     ("है।", True), ("ደህና።", True), ("Պատ։", True), ("ok…", True), ("（好！）", True),
     ("mid,", False), ("3.5x", False), ("大家好，", False), ("word", False)],
)  # fmt: skip
def test_ends_sentence_in_every_script(word, ends):
    from clipagent.analysis.transcript import ends_sentence

    assert ends_sentence(word) is ends


def test_unreadable_sidecar_names_the_file_and_line(tmp_path):
    path = tmp_path / "clip.srt"
    path.write_bytes(b"\x00\x01\x02binary junk\xff\xfe\x00 not subtitles at all")
    with pytest.raises(SidecarError) as caught:
        read_sidecar(path)
    assert caught.value.message.startswith("clip.srt line 1:")


@pytest.fixture(scope="module")
def talk_folder(tmp_path_factory) -> Path:
    from .conftest import make_video

    folder = tmp_path_factory.mktemp("talk")
    make_video(folder / "talk.mp4", duration=2)
    return folder


def _analyse(folder: Path, mode: str, cache: Path):
    from clipagent.analysis.cache import Cache
    from clipagent.analysis.index import AnalyzeOptions, analyze_folder
    from clipagent.analysis.weights import WhisperSpec

    # A Whisper checkpoint that does not load (a missing one is refused up front, exit 2): auto's
    # fallback fails fast instead of transcribing.
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "broken.pt").write_bytes(b"not a checkpoint")
    whisper = WhisperSpec(model=str(cache / "broken.pt"))
    options = AnalyzeOptions(transcripts=mode, embeddings=False, whisper=whisper)
    return analyze_folder(folder, options, Cache(cache))


def test_analysis_reads_a_utf16_sidecar_clamped_to_the_media(talk_folder, tmp_path):
    text = "1\n00:00:00,200 --> 00:00:01,000\nHello there.\n\n2\n00:00:01,200 --> 00:00:09,000\nBye now.\n"
    (talk_folder / "talk.srt").write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    try:
        index = _analyse(talk_folder, "sidecar", tmp_path / "cache")
    finally:
        (talk_folder / "talk.srt").unlink()
    (file,) = index.files
    assert [w.text for w in file.transcript.words] == ["Hello", "there.", "Bye", "now."]
    assert file.transcript.words[-1].end == file.info.duration == 2


def test_a_broken_sidecar_is_bad_input_when_only_sidecars_are_asked_for(talk_folder, tmp_path):
    write(talk_folder / "talk.srt", "1\n00:00:01,000 --> 00:00:0x,000\nHello\n")
    try:
        with pytest.raises(SidecarError, match=r"talk\.srt line 2: bad cue timing"):
            _analyse(talk_folder, "sidecar", tmp_path / "cache")
        index = _analyse(talk_folder, "auto", tmp_path / "cache")  # auto: said, and Whisper is tried instead
    finally:
        (talk_folder / "talk.srt").unlink()
    assert any("talk.srt" in note and "line 2" in note and "not used" in note for note in index.notes)


def _srt_like():
    from hypothesis import strategies as st

    two = st.integers(0, 99)
    stamp = st.builds(lambda h, m, s, ms, sep: f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}",
                      two, two, two, st.integers(0, 999), st.sampled_from(",."))
    timing = st.builds(lambda a, b: f"{a} --> {b}", stamp, stamp)
    line = st.one_of(timing, st.text(max_size=30), st.integers(0, 99).map(str), st.just(""), st.just("WEBVTT"))
    return st.lists(line, max_size=12).map("\n".join)  # fmt: skip


def test_any_text_or_bytes_gives_a_transcript_or_a_sidecar_error(tmp_path_factory):
    """Whatever a file holds: a Transcript whose words are in order inside the media, or a
    SidecarError (exit 2) naming the file and line; never another exception."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    folder = tmp_path_factory.mktemp("fuzz")

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.one_of(_srt_like().map(str.encode), st.binary(max_size=200)), st.sampled_from(["utf-8", "utf-16"]))
    def check(data: bytes, encoding: str) -> None:
        path = folder / "fuzz.srt"
        path.write_bytes(data if encoding == "utf-8" else data.decode("utf-8", "replace").encode(encoding))
        try:
            transcript = read_sidecar(path, duration=Fraction(3600))
        except SidecarError as exc:
            assert exc.message.startswith("fuzz.srt line ")
            return
        words = transcript.words
        assert all(0 <= w.start <= w.end <= 3600 for w in words)
        assert all(a.end <= b.start for a, b in zip(words, words[1:]))

    check()


def test_analyze_with_only_sidecars_and_a_broken_one_exits_2_naming_it(talk_folder, tmp_path):
    import subprocess
    import sys

    write(talk_folder / "talk.srt", "1\n00:00:01,000 --> 00:00:0x,000\nHello\n")
    try:
        result = subprocess.run(
            [sys.executable, "-m", "clipagent", "analyze", str(talk_folder), "--transcripts", "sidecar",
             "--no-embeddings", "--cache-dir", str(tmp_path / "cache")],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        (talk_folder / "talk.srt").unlink()
    assert result.returncode == 2, result.stderr
    assert "talk.srt line 2" in result.stderr and "Traceback" not in result.stderr
