"""The CLI tells a user error (exit 2) from a failure (exit 1) from success (exit 0)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from clipagent.cli import main

from .conftest import edl_from


def write_edl(tmp_path: Path, media_dir: Path, data: dict) -> Path:
    path = tmp_path / "edl.json"
    edl = edl_from(data).model_copy(update={"media_root": str(media_dir)})
    path.write_text(edl.model_dump_json())
    return path


def test_dry_run_prints_the_command_and_writes_nothing(media_dir, tmp_path, capsys):
    edl = write_edl(tmp_path, media_dir, {"overlays": [{"kind": "text", "text": "hi", "start": 0, "end": 1}]})
    out = tmp_path / "out" / "cut.mp4"
    assert main(["render", str(edl), "-o", str(out), "--dry-run", "--encoder", "libx264"]) == 0
    printed = capsys.readouterr().out
    assert "-filter_complex" in printed and "text0.ass" in printed and "libx264" in printed  # drawn by libass
    assert not (tmp_path / "out").exists()


def test_render_success_exit_0(media_dir, tmp_path, capsys):
    edl = write_edl(tmp_path, media_dir, {})
    out = tmp_path / "cut.mp4"
    assert main(["render", str(edl), "-o", str(out)]) == 0
    assert out.stat().st_size > 0
    assert "wrote" in capsys.readouterr().out


def test_invalid_edl_lists_every_violation_exit_2(media_dir, tmp_path, capsys):
    edl = write_edl(tmp_path, media_dir, {"clips": [
        {"id": "c1", "media": "ghost", "src_in": 0, "src_out": 1},
        {"id": "c2", "media": "a", "src_in": 0, "src_out": 60},
    ]})  # fmt: skip
    assert main(["render", str(edl), "-o", str(tmp_path / "cut.mp4")]) == 2
    err = capsys.readouterr().err
    assert "clips[0].media" in err and "unknown_media" in err
    assert "clips[1].src_out" in err and "range_outside_source" in err
    assert not (tmp_path / "cut.mp4").exists()


def test_validate_json(media_dir, tmp_path, capsys):
    edl = write_edl(tmp_path, media_dir, {"clips": [{"id": "c", "media": "a", "src_in": 0, "src_out": 60}]})
    assert main(["validate", str(edl), "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert report["violations"][0]["code"] == "range_outside_source"


@pytest.mark.parametrize(
    "argv",
    [["render"], ["render", "/no/such/edl.json"], ["frobnicate"], ["render", "x.json", "--encoder", "vp9"]],
)
def test_usage_and_missing_input_exit_2(argv):
    assert main(argv) == 2


def test_malformed_edl_file_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"clips": "nope"')
    assert main(["render", str(bad)]) == 2
    assert "not a valid EDL" in capsys.readouterr().err


def test_schema_is_json_schema(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "clipagent EDL" and "Clip" in schema["$defs"]


@pytest.mark.parametrize("argv, code", [(["schema"], 0), (["validate", "nope.json"], 2)])
def test_a_closed_stdout_keeps_the_exit_code(tmp_path, argv, code):
    """`clipagent … | head`: the reader is gone before the command writes; the job's own exit code
    stands (click made any BrokenPipeError exit 1, silently), for every command (cli.main)."""
    read, write = os.pipe()
    os.close(read)  # no reader: every write to the pipe fails with EPIPE
    try:
        done = subprocess.run([sys.executable, "-m", "clipagent", *argv], stdout=write, stderr=write, cwd=tmp_path,
                              timeout=60)  # fmt: skip
    finally:
        os.close(write)
    assert done.returncode == code


def test_doctor_reports_ffmpeg_and_encoders(capsys):
    assert main(["doctor", "--json"]) == 0
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert checks["ffmpeg"]["ok"] and "ffmpeg" in checks["ffmpeg"]["detail"]
    assert "libx264" in checks["encoder"]["detail"]
    assert {"cuda", "nvdec", "whisper weights", "clip weights", "llm"} <= set(checks)


def test_doctor_never_prints_the_api_key(monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value-123")
    assert main(["doctor"]) == 0
    assert "sk-secret-value-123" not in capsys.readouterr().out


def test_entry_point_runs_as_a_module():
    result = subprocess.run([sys.executable, "-m", "clipagent", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("clipagent ")


def test_validate_missing_or_malformed_edl(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "missing.json")]) == 2
    assert "not found" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text('{"clips": []}')
    assert main(["validate", str(bad), "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and {v["code"] for v in report["violations"]} == {"schema"}


def test_unknown_media_names_the_real_media_not_the_edls_own_ids():
    """A planner's EDL (here one that declares only `intro`) naming an id that does not exist:
    the message lists the footage's ids, which are what the planner can use."""
    from clipagent.analysis.index import AnalyzeOptions, analyze_folder
    from clipagent.brief import parse_brief
    from clipagent.planning.base import PlanContext
    from clipagent.planning.review import review_edl

    media = Path(__file__).resolve().parents[1] / "samples" / "media"
    index = analyze_folder(media, AnalyzeOptions(embeddings=False, transcripts="sidecar"))
    context = PlanContext(brief=parse_brief("---\nduration: 4\n---\nA cut.\n").resolve(), index=index, media_root=media)
    edl = edl_from({
        "media": [{"id": "host-intro", "path": "host_intro.mp4"}],
        "clips": [
            {"id": "c1", "media": "host-intro", "src_in": 0, "src_out": 1},
            {"id": "c2", "media": "ghost", "src_in": 0, "src_out": 1},
            {"id": "c3", "media": "broll-city", "src_in": 0, "src_out": 1},
        ],
    })  # fmt: skip
    review = review_edl(edl, context)
    unknown = {v.location: v.message for v in review.violations if v.code == "unknown_media"}
    real = [f.id for f in index.files]
    assert len(real) > 2 and {"host-intro", "broll-city"} <= set(real)
    assert unknown == {
        "clips[1].media": f"no media with id 'ghost' (known: {', '.join(real)})",
        "clips[2].media": "media id 'broll-city' is not in the EDL's `media` list",
    }


def test_a_folder_of_half_second_clips_is_bad_input_naming_the_folder(tmp_path, capsys):
    from .conftest import make_video

    media = tmp_path / "short"
    media.mkdir()
    for n in range(3):
        make_video(media / f"clip{n}.mp4", duration=0.5)
    brief = tmp_path / "brief.md"
    brief.write_text("---\nduration: 5\n---\nA cut.\n")
    out = tmp_path / "out"
    assert main(["edit", str(brief), str(media), "-o", str(out), "--dry-run", "--transcripts", "none", "--no-embeddings"]) == 2
    err = capsys.readouterr().err
    assert f"{media}: no usable footage" in err and "hint" in err and "Traceback" not in err
    flat = " ".join(err.split())
    assert "the longest shot here lasts 0.5" in flat and "pace: fast" not in flat  # 0.5 s fits no pace
    assert not out.exists()


# --- options that name files and devices: bad input, exit 2, before any work ---------------------


def _said(capsys) -> str:
    """stderr with rich's panel borders and line breaks folded into single spaces."""
    import re

    return re.sub(r"[\s│╭╮╰╯─]+", " ", capsys.readouterr().err)


@pytest.fixture
def empty_media(tmp_path, monkeypatch) -> Path:
    """An empty media folder (the checks come before any file is looked at); offline; a cache of its own."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("CLIPAGENT_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "media"
    folder.mkdir()
    return folder


@pytest.mark.parametrize("command", ["analyze", "search", "edit", "score"])
def test_an_unusable_cache_folder_is_bad_input_before_any_work(empty_media, tmp_path, monkeypatch, capsys, command):
    """--cache-dir (and CLIPAGENT_CACHE_DIR) must be a folder that exists or can be created and
    takes files: a file, a folder under a file, /proc are refused naming the option, no traceback,
    nothing created; for every command that takes the option."""
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    brief = tmp_path / "brief.md"
    brief.write_text("# a cut\n")
    argv = {"analyze": ["analyze", str(empty_media)], "search": ["search", str(empty_media), "city"],
            "edit": ["edit", str(brief), str(empty_media), "-o", str(tmp_path / "out"), "--dry-run"],
            "score": ["score", str(tmp_path / "out")]}[command]  # fmt: skip
    targets = [afile, afile / "sub"] + ([Path("/proc/clipagent-cache")] if Path("/proc/self").exists() else [])
    before = sorted(p.name for p in tmp_path.iterdir())
    for target in targets:
        assert main([*argv, "--cache-dir", str(target)]) == 2
        err = _said(capsys)
        assert "--cache-dir" in err and str(target) in err and "not a usable cache folder" in err
        assert "Traceback" not in err
    monkeypatch.setenv("CLIPAGENT_CACHE_DIR", str(afile))
    assert main(argv) == 2
    err = _said(capsys)
    assert "CLIPAGENT_CACHE_DIR" in err and str(afile) in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before and afile.read_text() == "not a folder"


def test_a_cache_folder_that_does_not_exist_yet_is_accepted(empty_media, tmp_path, capsys):
    cache = tmp_path / "new" / "cache"
    assert main(["analyze", str(empty_media), "--cache-dir", str(cache), "--no-faces"]) == 0
    assert str(cache) in _said(capsys)


def test_device_cuda_without_cuda_is_bad_input_before_any_work(empty_media, monkeypatch, capsys):
    """One check before any work (not a model's load deep inside), for Whisper, CLIP and faces alike."""
    from clipagent.analysis import weights
    from clipagent.analysis.index import AnalyzeOptions, analyze_folder, check_options
    from clipagent.errors import BadInputError

    monkeypatch.setattr(weights, "torch_sees_cuda", lambda: False)
    assert main(["analyze", str(empty_media), "--device", "cuda"]) == 2
    err = _said(capsys)
    assert "--device cuda" in err and "no CUDA" in err and "--device auto" in err and "Traceback" not in err
    faces_only = AnalyzeOptions(transcripts="none", embeddings=False, faces={"device": "cuda"})
    with pytest.raises(BadInputError, match="--device cuda"):
        analyze_folder(empty_media, faces_only)
    check_options(AnalyzeOptions(transcripts="none", embeddings=False, faces=None))  # "cpu"/"auto": fine
    monkeypatch.setattr(weights, "torch_sees_cuda", lambda: True)
    check_options(faces_only)


def test_without_nvidia_device_nodes_cuda_is_absent_without_importing_torch():
    if any(Path(p).exists() for p in ("/dev/nvidiactl", "/dev/nvidia0", "/dev/dxg", "/proc/driver/nvidia")):
        pytest.skip("an NVIDIA driver is here: torch is asked")
    if sys.platform != "linux":
        pytest.skip("the device nodes are Linux's")
    probe = ("import sys; from clipagent.analysis.weights import torch_sees_cuda; "
             "print(torch_sees_cuda(), 'torch' in sys.modules)")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]


def test_a_language_whisper_does_not_know_is_bad_input_up_front(empty_media, capsys):
    from clipagent.analysis.index import AnalyzeOptions, analyze_folder
    from clipagent.errors import BadInputError

    assert main(["analyze", str(empty_media), "--language", "zz"]) == 2
    err = _said(capsys)
    assert "--language" in err and "'zz' is not a language Whisper knows" in err and "tokenizer.py" in err
    assert "Traceback" not in err
    with pytest.raises(BadInputError, match="'xx' is not a language Whisper knows") as caught:
        analyze_folder(empty_media, AnalyzeOptions(language="xx"))  # the library (API, MCP, a brief's language)
    assert "LANGUAGES" in caught.value.hint
    analyze_folder(empty_media, AnalyzeOptions(language="xx", transcripts="none", faces=None))  # Whisper not run
    assert main(["analyze", str(empty_media), "--language", "pt-BR", "--no-faces"]) == 0


def test_the_language_table_is_whispers():
    """The copy in languages.py is openai-whisper's LANGUAGES, read from its source (no torch import)."""
    import ast
    import importlib.util

    from clipagent.analysis.languages import WHISPER_LANGUAGES

    spec = importlib.util.find_spec("whisper")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("openai-whisper is not installed")
    source = Path(next(iter(spec.submodule_search_locations))) / "tokenizer.py"
    for node in ast.parse(source.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "LANGUAGES":
            assert ast.literal_eval(node.value) == WHISPER_LANGUAGES
            return
    pytest.fail("whisper/tokenizer.py has no LANGUAGES table")


def test_a_model_file_option_naming_a_missing_file_is_bad_input(empty_media, tmp_path, capsys):
    """A path is bad input when missing (exit 2 naming it, no download promised); a name (a
    pretrained tag) keeps being the loader's business; an option whose analyser is off is inert."""
    gone = tmp_path / "nonexistent.pt"
    for option in ("--clip-checkpoint", "--whisper-model"):
        assert main(["analyze", str(empty_media), option, str(gone)]) == 2
        err = _said(capsys)
        assert option in err and str(gone) in err and "does not exist" in err and "download" not in err
    text = tmp_path / "afile"
    text.write_text("hello\n")
    assert main(["search", str(empty_media), "city", "--clip-checkpoint", str(text)]) == 2
    assert "not an open_clip checkpoint (text)" in _said(capsys)
    assert main(["analyze", str(empty_media), "--clip-checkpoint", str(gone), "--no-embeddings", "--no-faces"]) == 0


def test_the_api_checks_its_cache_dir_too(empty_media, tmp_path):
    from clipagent import api
    from clipagent.errors import BadInputError

    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(BadInputError, match="cache_dir .*afile: not a usable cache folder"):
        api.analyze(empty_media, cache_dir=afile)


def test_the_library_edit_checks_its_cache_dir_too(empty_media, tmp_path):
    from clipagent import edit as edit_module
    from clipagent.errors import BadInputError

    afile = tmp_path / "afile"
    afile.write_text("x")
    brief = tmp_path / "brief.md"
    brief.write_text("# a cut\n")
    options = edit_module.EditOptions(cache_dir=afile)
    with pytest.raises(BadInputError, match="cache_dir .*afile: not a usable cache folder"):
        edit_module.run_edit(brief, empty_media, tmp_path / "out", options)
    assert not (tmp_path / "out").exists()
