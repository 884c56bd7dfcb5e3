"""Cases for the other commands' inputs and outputs: `revise` (feedback it does not understand,
a folder `edit` did not write, a damaged cut), `analyze -o` and `search --contact-sheet` onto a
folder or a read-only place, `--media-root` that does not exist, and a malformed `--language`.

README: revise refuses feedback outside its forms with exit 2 and lists them; every output path
is checked before any work (issue 10 kind 4), for every command that writes one.
"""

from __future__ import annotations

import subprocess
import sys

from .cases_briefs import GOOD_FRONT, talk
from .cases_outputs import _locked
from .harness import EDIT_FAST, Case, Work, environment

ANALYZE = ["--transcripts", "sidecar", "--no-embeddings"]


def _edit_once(work: Work) -> None:
    """The talk, a brief and out/: the cut `edit --dry-run` wrote there (a cold run with the corpus'
    offline options), made once in the library for the revise cases."""
    talk(work)
    work.brief(GOOD_FRONT)
    command = [sys.executable, "-m", "clipagent", "edit", "brief.md", "media", "-o", "out", *EDIT_FAST, "--dry-run"]
    env = environment(work.lib.root.parent / "revise-cache")
    done = subprocess.run(command, cwd=work.root, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the edit the revise cases start from exited {done.returncode}:\n{done.stderr[-2000:]}")


def _edited(work: Work) -> None:
    """media/, brief.md and out/ (a cut `edit --dry-run` wrote) in the case folder: a copy of the
    one made by `_edit_once`, with report.json and cut.otio naming this folder's brief and media."""
    work.copy_folder("edited-talk", _edit_once, rewrite=("out/report.json", "out/cut.otio"))


def revise(feedback: str):
    def setup(work: Work) -> list[str]:
        _edited(work)
        return ["revise", "out", feedback, "--planner", "heuristic", "--dry-run"]

    return setup


def _not_an_edit_folder(work: Work) -> list[str]:
    work.copy("good.mp4", "a.mp4", into="footage")
    return ["revise", "footage", "make it shorter", "--planner", "heuristic"]


def _damaged_cut(work: Work) -> list[str]:
    _edited(work)
    work.write("out/edl.json", '{"clips": "half-written')
    return ["revise", "out", "make it 1 seconds shorter", "--planner", "heuristic", "--dry-run"]


def analyze_to(target: str, prepare=None, search: bool = False):
    def setup(work: Work) -> list[str]:
        talk(work)
        if prepare:
            prepare(work)
        if search:
            return ["search", "media", "welcome", "--contact-sheet", target, *ANALYZE]
        return ["analyze", "media", "-o", target, *ANALYZE]

    return setup


def _media_root_missing(work: Work) -> list[str]:
    work.copy("good.mp4", "a.mp4")
    work.edl()
    return ["validate", "edl.json", "--media-root", "elsewhere"]


def _long_query(work: Work) -> list[str]:
    talk(work)
    return ["search", "media", "b" * 50_000, *ANALYZE]


def _bad_language(work: Work) -> list[str]:
    talk(work)
    return ["analyze", "media", "--language", "english please", *ANALYZE]


C = "output"
CASES = [
    Case("revise-unknown-feedback", "brief", None, revise("make it purple"), 2, ("purple", "seconds shorter")),
    Case("revise-empty-feedback", "brief", None, revise("   "), 2, ("feedback",)),
    Case("revise-feedback-100k", "brief", None, revise("a" * 100_000), 2,
         ("does not understand the feedback 'aaaa", "(100000 characters)"), max_output=4_000),  # fmt: skip
    Case("search-query-50k", "media", None, _long_query, 0, ("no shot matches 'bbbb", "(50000 characters)"),
         max_output=4_000),  # fmt: skip
    Case("revise-not-an-edit-folder", "brief", None, _not_an_edit_folder, 2, ("footage",)),
    Case("revise-damaged-edl", "edl", None, _damaged_cut, 2, ("edl.json",)),
    Case("analyze-o-existing-directory", C, 4, analyze_to("index", lambda work: work.path("index").mkdir()), 2,
         ("index",)),  # fmt: skip
    Case("analyze-o-read-only-directory", C, 4, analyze_to("locked/index.json", _locked), 2, ("locked",)),
    Case("search-contact-sheet-is-a-directory", C, 4,
         analyze_to("sheet", lambda work: work.path("sheet").mkdir(), search=True), 2, ("sheet",)),  # fmt: skip
    Case("search-contact-sheet-under-a-file", C, 4, analyze_to("media/talk.srt/sheet.png", search=True), 2,
         ("talk.srt",)),  # fmt: skip
    Case("validate-media-root-missing", "edl", None, _media_root_missing, 2, ("elsewhere",)),
    Case("analyze-language-malformed", "media", None, _bad_language, 2, ("language",)),
]
