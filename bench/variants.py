"""Variants benchmark (issue 12): one timeline, six cuts; the local pool against Ray.

    .venv/bin/python bench/variants.py                    # both parts, print the tables
    .venv/bin/python bench/variants.py --part shared      # one decode, six outputs, only
    .venv/bin/python bench/variants.py --part executors   # local pool vs Ray, only
    .venv/bin/python bench/variants.py --write-readme     # also rewrite the section in bench/README.md

Part 1, shared decoding. One timeline (the first three clips of bench/render.py's EDL: 13 s,
one crossfade, music ducked under speech, a logo) at three frames (720x1280 9:16, 720x720 1:1,
1280x720 16:9), each without and with burned-in captions: six EDLs. Ways:
  singles  six `clipagent render EDL -o OUT --encoder libx264`, one after another (the CLI,
           as a user runs it: each decodes every source, mixes the sound, encodes one output)
  batch    `render.multi.render_shared` of the six (one mix, one ffmpeg process decoding each
           clip once and `split`ting it to six encoders), as a fresh Python process
Target: batch wall time / the sum of the six singles' wall times <= 0.70. CPU seconds (user +
system of the process and its children) are shown too: on a shared machine wall time moves
with others' work, CPU time barely does. Peak RSS: the largest process (the one ffmpeg of the
batch) and the sampled sum over the process tree.

Part 2, the batch and its executors. `run_variants` on the samples (samples/brief.md, 10 s, hook
`question`) with a matrix of the three aspects by captions bold/off (six variants, one timeline),
`--jobs 2`: with the local process pool, the same without shared decoding (every variant its own
render: batch/jobs.py MAX_SHARED_OUTPUTS set to 1, as the batch was before it grouped variants),
and with a local Ray runtime of 2 CPUs; the analysis is cached by a warm-up run first (a preview
batch), so each measures planning and rendering. Reported: wall time, shared / unshared, the
pool/Ray ratio, peak RSS summed over the process tree (Ray's own processes included), and that
the manifests are identical (the unshared batch's too: the same cuts, byte for byte).

Media come from bench/render.py (bench/results/media/); outputs go to bench/results/variants/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import render as render_bench  # noqa: E402 (bench/render.py: media, measuring, machine facts)

REPO, RESULTS, PYTHON, CLIPAGENT = render_bench.REPO, render_bench.RESULTS, render_bench.PYTHON, render_bench.CLIPAGENT
WORK = RESULTS / "variants"
TITLE = "## Variants at scale (issue 12)"
TARGET_RATIO = 0.70
FRAMES = {"9:16": (720, 1280), "1:1": (720, 720), "16:9": (1280, 720)}
CAPTIONS = [  # speech-like lines over the 13 s timeline
    (0.2, 2.4, "Six cuts from one timeline"), (2.6, 4.8, "three frames, captions on and off"),
    (5.0, 7.6, "decoded once and split to every encoder"), (7.8, 10.4, "instead of six full renders"),
    (10.6, 12.8, "the batch renders them together"),
]  # fmt: skip


def timeline_edls() -> dict[str, object]:
    """The six EDLs, by name (`<aspect>-<captions|plain>`): the same clips, music and logo."""
    from clipagent.edl import EDL, timeline_duration

    base = render_bench.build_edl().model_dump(mode="json")
    base["clips"] = base["clips"][:3]
    total = timeline_duration(EDL.model_validate(base))
    edls = {}
    for aspect, (width, height) in FRAMES.items():
        for captioned in (False, True):
            data = json.loads(json.dumps(base))
            data["output"].update(width=width, height=height)
            data["overlays"] = [o for o in data["overlays"] if o["kind"] == "image"]
            data["overlays"][0]["end"] = str(total)
            for clip in data["clips"]:
                clip["fit"] = "cover"
            if captioned:
                cues = [{"start": a, "end": b, "text": text} for a, b, text in CAPTIONS]
                data["overlays"].append({"kind": "captions", "cues": cues})
            edls[f"{aspect.replace(':', 'x')}-{'captions' if captioned else 'plain'}"] = EDL.model_validate(data)
    return edls


def render_shared_child(out_dir: Path, edl_paths: list[Path]) -> None:
    """The batch way, in its own process: render_shared of the EDLs into out_dir."""
    from clipagent.edl import load_edl
    from clipagent.render.multi import render_shared

    edls = [load_edl(p) for p in edl_paths]
    media_root = edl_paths[0].parent / edls[0].media_root
    results = render_shared([(e, out_dir / f"{p.stem}.mp4") for e, p in zip(edls, edl_paths)], media_root,
                            encoder="libx264")  # fmt: skip
    print(json.dumps([str(r.output) for r in results]))


def run_shared() -> dict:
    render_bench.ensure_media()
    edl_dir = WORK / "edls"
    shutil.rmtree(WORK / "out", ignore_errors=True)
    (WORK / "out").mkdir(parents=True)
    edl_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, edl in timeline_edls().items():
        edl = edl.model_copy(update={"media_root": str(render_bench.MEDIA)})
        path = edl_dir / f"{name}.json"
        path.write_text(edl.model_dump_json(indent=2), encoding="utf-8")
        paths.append(path)
    singles = []
    for path in paths:
        out = WORK / "out" / f"single-{path.stem}.mp4"
        singles.append(render_bench.measure("single", ["--exec", str(CLIPAGENT), "render", str(path), "-o", str(out),
                                                       "--encoder", "libx264"]))  # fmt: skip
    batch = render_bench.measure("batch", ["--exec", str(PYTHON), str(Path(__file__)), "--render-shared",
                                           str(WORK / "out"), *map(str, paths)])  # fmt: skip
    identical = all(
        (WORK / "out" / f"single-{p.stem}.mp4").read_bytes() == (WORK / "out" / f"{p.stem}.mp4").read_bytes()
        for p in paths
    )
    return {"singles": singles, "batch": batch, "identical": identical}


def batch_child(executor: str, out_dir: Path, preview: bool, unshared: bool = False) -> None:
    """One `run_variants` of the samples' six-variant matrix with `executor`, jobs 2; `unshared`:
    every variant rendered alone (no shared decoding)."""
    from clipagent.batch import jobs
    from clipagent.batch.executors import LocalExecutor, VariantOptions
    from clipagent.batch.variants import run_variants

    if unshared:
        jobs.MAX_SHARED_OUTPUTS = 1

    if executor == "ray":
        from clipagent.batch.ray_executor import RayExecutor

        pool = RayExecutor(jobs=2)
    else:
        pool = LocalExecutor(jobs=2)
    matrix = out_dir.parent / "matrix.yaml"
    matrix.write_text('aspect: ["9:16", "1:1", "16:9"]\nduration: [10]\nhook: [question]\ncaptions: [bold, "off"]\n')
    result = run_variants(REPO / "samples" / "brief.md", REPO / "samples" / "media", out_dir, matrix_path=matrix,
                          options=VariantOptions(preview=preview, planner="heuristic"), executor=pool)  # fmt: skip
    print(json.dumps({"ok": result.ok, "statuses": [r.status for r in result.results],
                      "reasons": [r.reason for r in result.results if r.reason]}))  # fmt: skip


def run_executors() -> dict:
    shutil.rmtree(WORK / "batches", ignore_errors=True)
    (WORK / "batches").mkdir(parents=True)
    way = lambda name, executor, preview, unshared=False: render_bench.measure(name, [  # noqa: E731
        "--exec", str(PYTHON), str(Path(__file__)), "--batch", executor, str(WORK / "batches" / name),
        *(["--preview"] if preview else []), *(["--unshared"] if unshared else [])])  # fmt: skip
    warm = way("warmup", "local", True)
    local = way("local", "local", False)
    unshared = way("unshared", "local", False, True)
    ray = way("ray", "ray", False)
    manifest = lambda name: (WORK / "batches" / name / "manifest.json").read_bytes()  # noqa: E731
    return {"warmup": warm, "local": local, "unshared": unshared, "ray": ray,
            "manifests_identical": manifest("local") == manifest("ray") == manifest("unshared")}  # fmt: skip


def shared_table(part: dict) -> str:
    singles, batch = part["singles"], part["batch"]
    wall, cpu = sum(s["wall_s"] for s in singles), sum(s["cpu_s"] for s in singles)
    ratio = batch["wall_s"] / wall
    lines = [
        "| way | wall s | CPU s | largest process MB | tree sum MB |", "|---|---:|---:|---:|---:|",
        f"| 6 single `clipagent render` | {wall:.1f} | {cpu:.1f} | {max(s['peak_mb'] for s in singles):.0f} | "
        f"{max(s['tree_sum_mb'] for s in singles):.0f} |",
        f"| batch (`render_shared`, one decode) | {batch['wall_s']:.1f} | {batch['cpu_s']:.1f} | {batch['peak_mb']:.0f} | "
        f"{batch['tree_sum_mb']:.0f} |",
        "",
        f"- batch wall / sum of singles: **{ratio:.2f}** (target <= {TARGET_RATIO:.2f}: "
        f"{'met' if ratio <= TARGET_RATIO else 'NOT met'}); CPU: {batch['cpu_s'] / cpu:.2f}",
        f"- other processes' CPU during the runs (contention): singles {sum(s['other_cpu_s'] for s in singles):.0f} s, "
        f"batch {batch['other_cpu_s']:.0f} s",
        f"- the six shared outputs byte-identical to the singles': {'yes' if part['identical'] else 'no'}",
    ]  # fmt: skip
    return "\n".join(lines)


def executors_table(part: dict) -> str:
    local, ray, unshared = part["local"], part["ray"], part["unshared"]
    lines = [
        "| batch | wall s | tree sum MB (peak) |", "|---|---:|---:|",
        f"| local pool, 2 processes, shared decoding | {local['wall_s']:.1f} | {local['tree_sum_mb']:.0f} |",
        f"| local pool, 2 processes, each variant rendered alone | {unshared['wall_s']:.1f} | "
        f"{unshared['tree_sum_mb']:.0f} |",
        f"| Ray, local runtime of 2 CPUs, shared decoding | {ray['wall_s']:.1f} | {ray['tree_sum_mb']:.0f} |",
        "",
        f"- shared / unshared batch wall time: **{local['wall_s'] / unshared['wall_s']:.2f}**",
        f"- local pool / Ray wall time: **{local['wall_s'] / ray['wall_s']:.2f}**; the three manifests identical: "
        f"{'yes' if part['manifests_identical'] else 'no'}",
        f"- the preview batch (360p, x264 ultrafast; also the analysis warm-up): {part['warmup']['wall_s']:.1f} s",
        "- no CPU column: neither the pool's workers (children of the forkserver) nor Ray's raylet and "
        "workers are waited-for children of the measured process, so their CPU time is not counted.",
    ]  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["shared", "executors", "both"], default="both")
    parser.add_argument("--write-readme", action="store_true")
    parser.add_argument("--render-shared", nargs="+", metavar="PATH", help=argparse.SUPPRESS)
    parser.add_argument("--batch", nargs=2, metavar=("EXECUTOR", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--preview", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--unshared", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.render_shared:
        return render_shared_child(Path(args.render_shared[0]), [Path(p) for p in args.render_shared[1:]])
    if args.batch:
        return batch_child(args.batch[0], Path(args.batch[1]), args.preview, args.unshared)
    info = render_bench.machine()
    text = [TITLE, "", f"Run {dt.date.today()} on {info['nproc']} cores ({info['cpu']}), ffmpeg {info['ffmpeg']}, "
            f"clipagent {info['clipagent']}; `.venv/bin/python bench/variants.py`. What is measured: the docstring "
            "of bench/variants.py.", ""]  # fmt: skip
    if args.part in ("shared", "both"):
        text += ["### One decode, six outputs", "", shared_table(run_shared()), ""]
    if args.part in ("executors", "both"):
        text += ["### Local pool and Ray", "", executors_table(run_executors()), ""]
    print("\n".join(text))
    if args.write_readme:
        from _readme import replace_section

        replace_section(TITLE, "\n".join(text))


if __name__ == "__main__":
    main()
