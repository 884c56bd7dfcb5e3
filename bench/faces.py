"""Face-detection benchmark: MTCNN (facenet-pytorch 2.6.0) at the analysis sizes, and why not Haar.

    .venv/bin/python bench/faces.py            # 3 repeats, print the table (markdown)
    .venv/bin/python bench/faces.py --render   # render time with a reframe / with a centre crop
    .venv/bin/python bench/faces.py --decode   # decode cost of the samples: one decode vs seeking (CPU s / min, RSS)

For each (analysis width, smallest face in px; FaceParams.min_face is that share of the width): seconds per frame of MTCNN on CPU, batched 8 at a time
(the analysis' batch), median of the repeats after one warm-up; how many of the 2-per-second
samples of ../shared/realworld/media/mp_chaplin.mp4 have a face (a 640x360 film whose faces are
22-40 px wide); and whether the face of `skimage.data.astronaut()` is found in a 16:9 frame whose
height is the photo's (the test footage of tests/test_reframe.py, at that width). Then the whole
`detect_faces` on chaplin (decode + detector + motion centres) and the cost of importing torch
and facenet-pytorch in a fresh process (paid once per cold analysis).

Render cost (`--render`): a 10 s 1280x720 30 fps clip of the astronaut sliding across, cut into
1080x1920 with the reframe planning/reframe.py computes from a real analysis, against the same
clip with the old fixed centre crop (`fit: cover`, no reframe); libx264, interleaved repeats,
median wall time of `run_render` each, and their ratio.

Decode cost (`--decode`): how the sampled frames are reached, each way in a fresh process, CPU
seconds (user + system, all threads and ffmpeg children: little moved by other load) per minute of
footage and peak RSS (the process's, or its largest ffmpeg child's), decode only (no detector):
PyAV decoding every frame (`never`, one decode), seeking to every sample (`always`), or seeking only
when a keyframe lies before the next sample (`auto`, what `detect_faces` does); one `ffmpeg`
with `fps` + `scale` filters piping raw RGB; one `ffmpeg -ss T -i FILE -frames:v 1` per sample. On a
generated 3 min 640x360 25 fps file (one minute each of chaplin looped, testsrc2 with the astronaut,
noisy `life`), encoded with x264's default keyframe interval (250 frames, 10 s) and with 2 s (a
camera's), sampled as 3 shots of 60 s (40 samples each, 1.5 s apart) and as one 3 min shot (40
samples, 4.5 s apart); and on mp_chaplin.mp4 (9.6 s, one keyframe). The generated files go to the
git-ignored bench/results/faces/.

OpenCV's Haar cascades are checked for, not measured: the installed opencv-python 5.0 has no
`cv2.data.haarcascades` files and no `cv2.CascadeClassifier`.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from clipagent.analysis.faces import FaceDetector, FaceParams, _decode, detect_faces, sample_times  # noqa: E402
from clipagent.media import probe  # noqa: E402

CHAPLIN = REPO.parent / "shared" / "realworld" / "media" / "mp_chaplin.mp4"
CONFIGS = [(640, 8), (640, 12), (640, 19), (320, 10)]


def _astronaut(width: int) -> np.ndarray:
    import cv2
    from skimage import data

    height = width * 9 // 16
    photo = cv2.resize(data.astronaut()[:400, 60:460], (height, height), interpolation=cv2.INTER_AREA)
    frame = np.full((height, width, 3), 128, np.uint8)
    frame[:, (width - height) // 2 : (width - height) // 2 + height] = photo
    return frame


def _haar() -> str:
    import cv2

    folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
    files = sorted(Path(folder).glob("*.xml")) if folder and Path(folder).is_dir() else []
    return (f"opencv-python {cv2.__version__}: CascadeClassifier {'present' if hasattr(cv2, 'CascadeClassifier') else 'absent'}, "
            f"{len(files)} cascade files")  # fmt: skip


def _import_seconds() -> float:
    code = "import time; t = time.perf_counter(); import facenet_pytorch; print(time.perf_counter() - t)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout.strip())


def render_ratio(repeats: int = 3) -> None:
    import subprocess
    import tempfile
    from fractions import Fraction

    from clipagent.analysis.cache import Cache
    from clipagent.analysis.index import AnalyzeOptions, analyze_folder
    from clipagent.edl import EDL, Clip, OutputSpec
    from clipagent.ffmpeg import find_ffmpeg
    from clipagent.planning.reframe import frame_clip
    from clipagent.render.run import plan_render, run_render

    work = Path(tempfile.mkdtemp(prefix="bench-reframe-"))
    media = work / "media"
    media.mkdir()
    import cv2

    cv2.imwrite(str(work / "face.png"), cv2.cvtColor(_astronaut(1280)[:, 280:1000], cv2.COLOR_RGB2BGR))
    subprocess.run([find_ffmpeg().path, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=1280x720:r=30:d=10",
                    "-loop", "1", "-i", str(work / "face.png"), "-filter_complex",
                    "[1:v]scale=360:360[f];[0:v][f]overlay=x='(W-w)*t/10':y=(H-h)/2:shortest=1,format=yuv420p",
                    "-t", "10", "-c:v", "libx264", "-preset", "veryfast", str(media / "talk.mp4")], check=True)  # fmt: skip
    index = analyze_folder(media, AnalyzeOptions(transcripts="none", embeddings=False), Cache(work / "cache"))
    file = index.file("talk")
    output = OutputSpec(width=1080, height=1920, fps=Fraction(30))
    clip = Clip(id="c1", media="talk", src_in=Fraction(0), src_out=file.info.duration, fit="cover")
    framed = frame_clip(clip, file, output)
    cuts = {"centre crop": clip, f"reframe ({framed.how}, {len(framed.clip.reframe.keyframes)} keyframes)": framed.clip}
    times: dict[str, list[float]] = {name: [] for name in cuts}
    for _ in range(repeats):
        for name, c in cuts.items():
            edl = EDL(output=output, media=[{"id": "talk", "path": "talk.mp4"}], clips=[c])
            started = time.perf_counter()
            run_render(plan_render(edl, media, work / "cut.mp4", encoder="libx264"))
            times[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(t) for name, t in times.items()}
    print("\n| 10 s, 1280x720 into 1080x1920 | render s (median of %d) |\n|---|---:|" % repeats)
    for name, value in medians.items():
        print(f"| {name} | {value:.2f} |")
    base, reframed = medians.values()
    print(f"\nreframe / centre crop: {reframed / base:.2f}x")


def main(repeats: int = 3) -> None:
    info = probe(CHAPLIN) if CHAPLIN.exists() else None
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {_haar()}")
    print(f"import torch + facenet-pytorch in a fresh process: {_import_seconds():.2f} s\n")
    print("| width | min face | s / frame | chaplin: samples with a face | astronaut found (face px) |")
    print("|---:|---:|---:|---:|---|")
    for width, min_face in CONFIGS:
        params = FaceParams(analysis_width=width, min_face=min_face / width)
        detector = FaceDetector(params)
        found, per_frame = "-", []
        if info is not None:
            pictures = np.stack([p for _, _, p in _decode(CHAPLIN, info, sample_times(info.duration, None, params), width)])
            detector.detect(pictures[:2])
            for _ in range(repeats):
                started = time.perf_counter()
                boxes = [b for i in range(0, len(pictures), 8) for b in detector.detect(pictures[i : i + 8])]
                per_frame.append((time.perf_counter() - started) / len(pictures))
            found = f"{sum(1 for b in boxes if b)} of {len(pictures)}"
        astro = detector.detect(_astronaut(width)[None])[0]
        face = f"yes ({round(astro[0].w * width)})" if astro else "no"
        print(f"| {width} | {min_face} | {statistics.median(per_frame):.3f} | {found} | {face} |" if per_frame
              else f"| {width} | {min_face} | - | - | {face} |")  # fmt: skip
    if info is not None:
        params = FaceParams()
        started = time.perf_counter()
        track = detect_faces(CHAPLIN, info, params, None, lambda: FaceDetector(params))
        seconds = time.perf_counter() - started
        print(f"\ndetect_faces on chaplin ({float(info.duration):.1f} s, defaults {params.describe()}): "
              f"{seconds:.2f} s for {len(track.frames)} samples, {seconds / float(info.duration):.3f} s per source second")  # fmt: skip


GENERATED = REPO / "bench" / "results" / "faces"
WAYS = ["pyav never", "pyav auto", "pyav always", "ffmpeg fps+scale", "ffmpeg -ss each", "detect_faces"]


def _long_clips() -> dict[str, Path]:
    """The 3 min 640x360 file, with x264's default keyframe interval and with 2 s (made once)."""
    from clipagent.ffmpeg import find_ffmpeg

    import cv2
    from skimage import data

    ffmpeg = find_ffmpeg().path
    GENERATED.mkdir(parents=True, exist_ok=True)
    g250, g50 = GENERATED / "long_g250.mp4", GENERATED / "long_g50.mp4"
    if not g250.exists():
        face = GENERATED / "face.png"
        cv2.imwrite(str(face), cv2.cvtColor(cv2.resize(data.astronaut()[:400, 60:460], (200, 200)), cv2.COLOR_RGB2BGR))
        graph = ("[0:v]trim=0:60,setpts=PTS-STARTPTS,fps=25,scale=640:360,setsar=1,format=yuv420p[a];"
                 "[1:v][2:v]overlay=x='(W-w)*t/60':y=80:shortest=1,setsar=1,format=yuv420p[b];"
                 "[3:v]trim=0:60,setpts=PTS-STARTPTS,setsar=1,format=yuv420p[c];[a][b][c]concat=n=3:v=1:a=0[v]")  # fmt: skip
        subprocess.run([ffmpeg, "-v", "error", "-y", "-stream_loop", "-1", "-i", str(CHAPLIN),
                        "-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=60", "-loop", "1", "-i", str(face),
                        "-f", "lavfi", "-i", "life=s=640x360:r=25:mold=10:ratio=0.1:death_color=#C83232:life_color=#00ff00,noise=alls=12:allf=t",
                        "-filter_complex", graph, "-map", "[v]", "-c:v", "libx264", "-preset", "fast", "-crf", "23",
                        str(g250)], check=True)  # fmt: skip
    if not g50.exists():
        subprocess.run([ffmpeg, "-v", "error", "-y", "-i", str(g250), "-c:v", "libx264", "-preset", "fast",
                        "-crf", "23", "-g", "50", "-keyint_min", "25", str(g50)], check=True)  # fmt: skip
    return {"3 min, keyframes <= 10 s": g250, "3 min, keyframes 2 s": g50}


def _layout(info, layout: str):
    """(shots or None, sample times) of a layout: "3 shots" of a third each, "one shot", "none"."""
    from fractions import Fraction

    from clipagent.analysis.models import Shot

    params = FaceParams()
    if layout == "3 shots":
        third = info.duration / 3
        shots = [Shot(index=k, start=third * k, end=third * (k + 1), keyframes=[], sharpness=1, brightness=0.5,
                      clipped=0, motion=0) for k in range(3)]  # fmt: skip
        return shots, sample_times(info.duration, shots, params)
    return None, (sample_times(info.duration, None, params) if layout == "one shot" else [(0, Fraction(0))])


def decode_one(way: str, path: Path, layout: str) -> None:
    """One way, in this (fresh) process: print its cost as JSON."""
    import json
    import resource

    from clipagent.analysis.faces import DecodeStats
    from clipagent.ffmpeg import find_ffmpeg

    info = probe(path)
    shots, samples = _layout(info, layout)
    ffmpeg = find_ffmpeg().path
    width, height = 640, round(640 * info.video.display_size[1] / info.video.display_size[0] / 2) * 2
    stats = DecodeStats()
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    started = time.perf_counter()
    pictures = 0
    if way.startswith("pyav"):
        for _ in _decode(path, info, samples, 640, seek=way.split()[1], stats=stats):
            pictures += 1
    elif way == "ffmpeg fps+scale":
        rate = len(samples) / float(info.duration)
        command = [ffmpeg, "-v", "error", "-i", str(path), "-an", "-vf", f"fps={rate:.6f},scale={width}:{height}",
                   "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]  # fmt: skip
        with subprocess.Popen(command, stdout=subprocess.PIPE) as pipe:
            while len(pipe.stdout.read(width * height * 3)) == width * height * 3:
                pictures += 1
    elif way == "detect_faces":  # the whole analysis step: decode (auto) + MTCNN + motion centres
        params = FaceParams()
        detector = FaceDetector(params)  # torch imported and weights loaded before the clock starts
        usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        started = time.perf_counter()
        pictures = len(detect_faces(path, info, params, shots, lambda: detector, stats=stats).frames)
    elif way == "ffmpeg -ss each":
        for _, at in samples:
            command = [ffmpeg, "-v", "error", "-ss", f"{float(at):.3f}", "-i", str(path), "-an", "-frames:v", "1",
                       "-vf", f"scale={width}:{height}", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]  # fmt: skip
            pictures += len(subprocess.run(command, capture_output=True, check=True).stdout) // (width * height * 3)
    wall = time.perf_counter() - started
    after = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    cpu = sum(a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime for a, b in zip(after, usage))
    print(json.dumps({"cpu_s": cpu, "wall_s": wall, "rss_mb": after[0].ru_maxrss / 1024,
                      "child_rss_mb": after[1].ru_maxrss / 1024, "pictures": pictures, "samples": len(samples),
                      "frames": stats.frames, "seeks": stats.seeks, "duration": float(info.duration)}))  # fmt: skip


def decode_table() -> None:
    import json

    files = {**_long_clips(), "mp_chaplin.mp4 (9.6 s, one keyframe)": CHAPLIN}
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    print("| file | samples | way | CPU s / min of footage | peak RSS MB | frames decoded | seeks |")
    print("|---|---|---|---:|---:|---:|---:|")
    for name, path in files.items():
        if not path.exists():
            continue
        layouts = ["3 shots", "one shot"] if "3 min" in name else ["one shot"]
        for layout in layouts:
            for way in WAYS:
                done = subprocess.run([sys.executable, __file__, "--decode-one", way, str(path), layout],
                                      capture_output=True, text=True, check=True)  # fmt: skip
                r = json.loads(done.stdout.strip().splitlines()[-1])
                ours = way.startswith("pyav") or way == "detect_faces"
                frames = r["frames"] if ours else "-"
                seeks = r["seeks"] if ours else ("-" if "fps" in way else r["samples"])
                print(f"| {name} | {layout} ({r['samples']}) | {way} | {r['cpu_s'] * 60 / r['duration']:.2f} | "
                      f"{max(r['rss_mb'], r['child_rss_mb']):.0f} | {frames} | {seeks} |", flush=True)  # fmt: skip
    baseline = subprocess.run([sys.executable, __file__, "--decode-one", "none", str(CHAPLIN), "none"],
                              capture_output=True, text=True, check=True)  # fmt: skip
    print(f"\n(the measuring process alone, clipagent + PyAV + numpy imported: "
          f"{json.loads(baseline.stdout.strip().splitlines()[-1])['rss_mb']:.0f} MB RSS)")


if __name__ == "__main__":
    if "--decode-one" in sys.argv:
        way, path, layout = sys.argv[sys.argv.index("--decode-one") + 1 :][:3]
        decode_one(way, Path(path), layout)
    elif "--decode" in sys.argv:
        decode_table()
    elif "--render" in sys.argv:
        render_ratio()
    else:
        main()
