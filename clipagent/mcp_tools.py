"""The MCP server's tools and resources (`mcp_server.build_server` registers them): each one
confines its paths (`mcp_confine.Roots`), then calls `clipagent.api` through the server's job
runner, and returns the library's own model as the structured result."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from pydantic import Field

from . import api
from .analysis.models import LanguageCode, MediaIndex
from .analysis.search import SearchHit
from .edit import EditOptions, EditResult
from .errors import BadInputError, ClipAgentError, EDLError
from .mcp_server import Encoder, ModelName, PathArg, PlannerChoice, Transcripts
from .planning.base import Plan
from .render.run import RenderResult

if TYPE_CHECKING:
    from .mcp_server import _Jobs

Language = Annotated[LanguageCode, Field(max_length=35, description='e.g. "en", "pt-BR"; omit to detect')]
Feedback = Annotated[str, Field(min_length=1, max_length=10_000, description='e.g. "make it 5 seconds shorter"')]
Query = Annotated[str, Field(min_length=1, max_length=1000, description="words said or things seen")]
Limit = Annotated[int, Field(ge=1, le=100)]
Faces = Annotated[bool, Field(description="look for faces (reframing to another aspect follows them); loads a model")]

ANALYSIS = {"analysis": (0.0, 100.0)}
RENDER = {"render": (0.0, 100.0)}
EDIT = {"analysis": (0.0, 50.0), "render": (50.0, 100.0)}
MAX_RESOURCE_BYTES = 10 << 20


def register_tools(server: MCPServer, jobs: _Jobs) -> None:
    roots = jobs.roots

    def edit_paths(brief: str, folder: str, out_dir: str) -> tuple[Path, Path, Path]:
        """The brief, the footage and the output folder, each confined; the files the brief names
        (music, the brand's logo) resolve inside the roots too."""
        paths = roots.input_path(brief, "brief"), footage(folder), roots.output_path(out_dir, "out_dir")
        brief_files(*paths[:2])
        return paths

    def brief_files(brief: Path, media: Path) -> None:
        from .brief import load_brief
        from .validate import resolve_media_path

        resolved = load_brief(brief).resolve()
        named = [resolved.music, resolved.brand.logo.path if resolved.brand and resolved.brand.logo else None]
        for name in filter(None, named):
            path = resolve_media_path(media, name)
            if path is not None:
                roots.check_inside(path, f"{name!r}, which the brief names,")

    def footage(folder: str) -> Path:
        path = roots.input_path(folder, "footage folder")
        if path.is_dir():
            roots.check_tree(path)
        return path

    def edit_options(  # noqa: ANN001 (the tools' own arguments)
        planner, llm_model, encoder, dry_run, accept, transcripts, language, embeddings, faces
    ) -> EditOptions:
        analysis = jobs.analyze_options(transcripts, language, embeddings, faces)
        return EditOptions(planner=planner, llm_model=llm_model, encoder=encoder, dry_run=dry_run,
                           accept_failed_checks=accept, analyze=analysis, cache_dir=jobs.cache_dir)  # fmt: skip

    @server.tool()
    async def analyze(
        folder: PathArg, ctx: Context, transcripts: Transcripts = "auto", language: Language | None = None,
        embeddings: bool = True, faces: Faces = True,
    ) -> MediaIndex:  # fmt: skip
        """Analyse every media file in a footage folder (shots, words with times, loudness, silences,
        beats, speech regions; CLIP embeddings when the server has weights), through the cache.
        Returns the media index; embedding vectors are left out (they stay in the server's cache).
        Progress: per file. Transcripts and file names in the result are data from the media."""
        media = jobs.guard(lambda: footage(folder))
        options = jobs.analyze_options(transcripts, language, embeddings, faces)
        index = await jobs.run(
            ctx, lambda p: api.analyze(media, options, cache_dir=jobs.cache_dir, progress=p), ANALYSIS
        )
        jobs.indexes[media] = index
        return without_vectors(index)

    @server.tool()
    async def search(
        folder: PathArg, query: Query, ctx: Context, limit: Limit = 10, transcripts: Transcripts = "auto",
        language: Language | None = None, embeddings: bool = True, faces: Faces = True,
    ) -> list[SearchHit]:  # fmt: skip
        """Rank the shots of a footage folder for a text query: words said (BM25), CLIP similarity of
        keyframes, the file's name; fused by reciprocal rank, best first. Analyses first (cached)."""
        media = jobs.guard(lambda: footage(folder))
        options = jobs.analyze_options(transcripts, language, embeddings, faces)
        return await jobs.run(
            ctx, lambda p: api.search(media, query, limit=limit, options=options, cache_dir=jobs.cache_dir, progress=p),
            ANALYSIS,
        )  # fmt: skip

    @server.tool()
    async def plan(
        brief: PathArg, folder: PathArg, out_dir: PathArg, ctx: Context, planner: PlannerChoice = "auto",
        llm_model: ModelName | None = None, transcripts: Transcripts = "auto", language: Language | None = None,
        embeddings: bool = True, faces: Faces = True,
    ) -> Plan:  # fmt: skip
        """Plan a cut of the footage that follows the brief (a brief.md), without rendering: returns
        the EDL, each decision with its reason, and the review (every check, passed or not). The
        plan's files (edl.json, plan.md, captions.srt, storyboard.png, report.json) are written to
        out_dir (inside the server's --out-root), where render, revise and the resources find them."""
        paths = jobs.guard(lambda: edit_paths(brief, folder, out_dir))
        options = edit_options(planner, llm_model, "auto", True, True, transcripts, language, embeddings, faces)
        return await jobs.run(ctx, lambda p: api.plan(*paths, options, progress=p), ANALYSIS)

    @server.tool()
    async def validate(edl: PathArg, ctx: Context, media_root: PathArg | None = None) -> api.Validation:
        """Check an EDL file against its media: every violation with its code, location (such as
        clips[2].src_out) and reason; ok is true when there is none."""
        checked = jobs.guard(lambda: edl_paths(edl, media_root))
        if isinstance(checked, api.Validation):
            return checked  # malformed: its schema violations are the report
        return await jobs.run(ctx, lambda p: api.validate(*checked), {})

    @server.tool()
    async def render(
        edl: PathArg, output: PathArg, ctx: Context, media_root: PathArg | None = None, encoder: Encoder = "auto",
        accept_failed_checks: bool = False,
    ) -> RenderResult:  # fmt: skip
        """Render an EDL file (e.g. a plan's out_dir/edl.json) into output (.mp4, .m4v or .mov, inside
        the --out-root): validate, mix the sound, render the picture with one ffmpeg process, to the
        EDL's loudness target. An EDL that names its platform is checked against the preset's
        upload rules (a broken rule is an error, the cut kept, unless accept_failed_checks).
        Progress: percent of the two passes. A cancelled or failed render leaves no partial file."""
        if Path(edl).suffix.lower() in api.TIMELINE_SUFFIXES:  # its media are absolute URLs: reads anywhere
            raise jobs_error(BadInputError(f"{edl}: render takes an EDL file here, not an NLE timeline",
                                           hint="import the timeline with `clipagent import` inside the roots"))  # fmt: skip
        checked = jobs.guard(lambda: edl_paths(edl, media_root))
        if isinstance(checked, api.Validation):
            raise jobs_error(EDLError(f"{edl} is not a valid EDL ({len(checked.violations)} problem(s))",
                                      violations=checked.violations))  # fmt: skip
        target = jobs.guard(lambda: roots.output_path(output, "output"))
        return await jobs.run(
            ctx,
            lambda p: api.render(checked[0], target, media_root=checked[1], encoder=encoder,
                                 accept_failed_checks=accept_failed_checks, progress=p),
            RENDER,
        )  # fmt: skip

    @server.tool()
    async def edit(
        brief: PathArg, folder: PathArg, out_dir: PathArg, ctx: Context, planner: PlannerChoice = "auto",
        llm_model: ModelName | None = None, encoder: Encoder = "auto", dry_run: bool = False,
        accept_failed_checks: bool = False, transcripts: Transcripts = "auto", language: Language | None = None,
        embeddings: bool = True, faces: Faces = True,
    ) -> EditResult:  # fmt: skip
        """Plan, check and render a cut of the footage that follows the brief into out_dir (inside the
        --out-root): edl.json, plan.md, captions.srt, storyboard.png, report.json, cut.mp4. A failed
        review check of the brief is an error (the cut is kept) unless accept_failed_checks."""
        paths = jobs.guard(lambda: edit_paths(brief, folder, out_dir))
        options = edit_options(planner, llm_model, encoder, dry_run, accept_failed_checks, transcripts, language,
                               embeddings, faces)  # fmt: skip
        return await jobs.run(ctx, lambda p: api.edit(*paths, options, progress=p), EDIT)

    @server.tool()
    async def revise(
        out_dir: PathArg, feedback: Feedback, ctx: Context, planner: PlannerChoice = "auto",
        llm_model: ModelName | None = None, encoder: Encoder = "auto", dry_run: bool = False,
        accept_failed_checks: bool = False,
    ) -> api.Revision:  # fmt: skip
        """Change the cut in out_dir (written by edit or plan) as the feedback asks in plain words; the
        previous version is kept in out_dir/history/vN/. With dry_run, the revision is planned and
        checked and nothing is written (history is null)."""
        folder = jobs.guard(lambda: revisable(out_dir))
        options = EditOptions(planner=planner, llm_model=llm_model, encoder=encoder, dry_run=dry_run,
                              accept_failed_checks=accept_failed_checks, cache_dir=jobs.cache_dir)  # fmt: skip
        return await jobs.run(ctx, lambda p: api.revise(folder, feedback, options, progress=p), EDIT)

    @server.tool()
    async def export(
        edl: PathArg, ctx: Context, format: api.ExportFormat = "otio", output: PathArg | None = None,
        media_root: PathArg | None = None,
    ) -> api.Exported:  # fmt: skip
        """Export an EDL file (or an output folder's edl.json) as an NLE timeline through
        OpenTimelineIO: otio (Resolve), fcpxml (Final Cut Pro), fcp7xml (Premiere), cmx3600 (any
        NLE), mlt (Kdenlive, Shotcut). output (inside the --out-root) defaults to cut.<suffix>
        beside an EDL in the --out-root. Returns the file written and what the format leaves out."""

        def confined() -> tuple[Path, Path, Path]:
            from .interchange.formats import FORMATS

            source = roots.input_path(edl, "edl")
            if source.is_dir():
                roots.check_inside(source / "report.json", "report.json")
            checked = edl_paths(str(source / "edl.json") if source.is_dir() else str(source), media_root)
            if isinstance(checked, api.Validation):
                raise EDLError(f"{edl} is not a valid EDL ({len(checked.violations)} problem(s))",
                               violations=checked.violations)  # fmt: skip
            default = checked[0].parent / (("cut" if source.is_dir() else checked[0].stem) + FORMATS[format].suffix)
            return source, roots.output_path(output if output is not None else str(default), "output"), checked[1]

        source, target, root = jobs.guard(confined)
        return await jobs.run(ctx, lambda p: api.export(source, format, target, media_root=root), {})

    def edl_paths(edl: str, media_root: str | None) -> tuple[Path, Path] | api.Validation:
        """The EDL file and its media root, both inside the roots, and every media file it names
        resolving inside them; a malformed EDL's schema violations as a Validation."""
        from .edl import load_edl
        from .validate import resolve_media_path

        path = roots.input_path(edl, "edl")
        try:
            loaded = load_edl(path)
        except EDLError as exc:
            if not exc.violations:
                raise
            return api.Validation(ok=False, violations=list(exc.violations), notes=[])
        if media_root is not None:
            root = roots.input_path(media_root, "media_root")
        else:
            root = roots.check_inside(path.parent / loaded.media_root, "the EDL's media_root")
        for ref in loaded.media:
            source = resolve_media_path(root, ref.path)
            if source is not None:  # None: the validator reports path_escapes_root, and nothing is read
                roots.check_inside(source, f"media {ref.id!r}")
        return path, root

    def revisable(out_dir: str) -> Path:
        """An output folder whose report.json names a brief and footage inside the roots."""
        from .outputs import read_report

        folder = roots.output_path(out_dir, "out_dir")
        for name in ("report.json", "edl.json"):
            roots.check_inside(folder / name, name)
        report = read_report(folder)
        brief = roots.check_inside(Path(report.brief), "the brief report.json names")
        media = roots.check_inside(Path(report.media_dir), "the footage folder report.json names")
        roots.check_tree(media)
        brief_files(brief, media)
        return folder

    def jobs_error(exc: ClipAgentError):  # noqa: ANN202
        from .mcp_server import _tool_error

        return _tool_error(exc)


def register_resources(server: MCPServer, jobs: _Jobs) -> None:
    roots = jobs.roots

    @server.resource("clipagent://index/{+folder}", mime_type="application/json",
                     description="The media index of a footage folder (relative to a --root): as the analyze tool "
                     "last made it, else analysed now with the default options (cached); embedding vectors left "
                     "out.")  # fmt: skip
    async def media_index(folder: str) -> str:
        try:
            path = next((root / folder for root in roots.inputs if (root / folder).is_dir()), roots.inputs[0] / folder)
            media = roots.input_path(str(path), "footage folder")
            roots.check_tree(media)
        except ClipAgentError as exc:
            raise ResourceError(exc.message) from None
        if media in jobs.indexes:
            return without_vectors(jobs.indexes[media]).model_dump_json(indent=1)
        options = jobs.analyze_options()
        try:
            index = await jobs.run(None, lambda p: api.analyze(media, options, cache_dir=jobs.cache_dir), {})
        except Exception as exc:  # noqa: BLE001 (a ToolError from the job runner)
            raise ResourceError(str(exc)) from None
        return without_vectors(index).model_dump_json(indent=1)

    def output_file(folder: str, name: str) -> str:
        try:
            path = roots.output_path(folder, "output folder") / name
            real = roots.output_path(str(path), name)
        except ClipAgentError as exc:
            raise ResourceError(exc.message) from None
        if not real.is_file():
            raise ResourceError(f"{folder}/{name}: no such file in the output folder (written by plan or edit)")
        if real.stat().st_size > MAX_RESOURCE_BYTES:
            raise ResourceError(f"{folder}/{name} is over {MAX_RESOURCE_BYTES >> 20} MB")
        return real.read_text(encoding="utf-8", errors="replace")

    @server.resource("clipagent://out/{+folder}/edl.json", mime_type="application/json",
                     description="The EDL of an output folder (relative to the --out-root).")  # fmt: skip
    def edl_json(folder: str) -> str:
        return output_file(folder, "edl.json")

    @server.resource("clipagent://out/{+folder}/plan.md", mime_type="text/markdown",
                     description="plan.md: each decision of the cut with its reason, and the checks.")  # fmt: skip
    def plan_md(folder: str) -> str:
        return output_file(folder, "plan.md")

    @server.resource("clipagent://out/{+folder}/report.json", mime_type="application/json",
                     description="report.json: analyses, planner, every check, timings.")  # fmt: skip
    def report_json(folder: str) -> str:
        return output_file(folder, "report.json")


def without_vectors(index: MediaIndex) -> MediaIndex:
    """The index with each file's embedding vectors left out (hundreds of floats a shot; the
    server's cache keeps them), noted once."""
    if not any(f.embeddings for f in index.files):
        return index
    files = [f.model_copy(update={"embeddings": None}) for f in index.files]
    note = "CLIP embedding vectors are left out of this result; the server's cache keeps them for search and planning"
    return index.model_copy(update={"files": files, "notes": [*index.notes, note]})
