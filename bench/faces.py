"""Face-detection benchmark: MTCNN (facenet-pytorch 2.6.0) at the analysis sizes, and why not Haar.

    .venv/bin/python bench/faces.py            # 3 repeats, print the table (markdown)
    .venv/bin/python bench/faces.py --render   # render time with a reframe / with a centre crop

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


if __name__ == "__main__":
    if "--render" in sys.argv:
        render_ratio()
    else:
        main()
