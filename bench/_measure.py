"""Run one benchmark way as a child and report its cost; used by bench/render.py.

    python bench/_measure.py RESULT.json --exec CMD ARGS...      run CMD as a subprocess
    python bench/_measure.py RESULT.json --script PATH ARGS...   run a Python script in this process

With BENCH_CLIPAGENT_SRC=DIR in the environment, `--script` imports the clipagent package from
DIR/clipagent instead of the installed (editable) one: a patched copy can be measured without
touching the working tree.

RESULT.json gets:
  rc              the exit status of the command or script
  wall_s          seconds spent in the command (`--exec`) or the script (`--script`), this
                  process's own interpreter start-up excluded
  self_maxrss_mb  peak RSS of this process: with --script, the Python side of the way
  child_maxrss_mb peak RSS of the largest process this one started and waited for, directly
                  or below (Linux folds waited-for grandchildren into ru_maxrss): ffmpeg
  self_cpu_s, child_cpu_s  user+system CPU seconds of this process and of its children:
                  unlike wall time, barely moved by other work on the machine

Kept tiny, importing nothing heavy, so `self_maxrss_mb` is the way's own Python cost.
"""

from __future__ import annotations

import json
import os
import resource
import runpy
import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    result_path, mode, *rest = argv
    started = time.perf_counter()
    if mode == "--exec":
        rc = subprocess.run(rest, stdin=subprocess.DEVNULL).returncode
    elif mode == "--script":
        source = os.environ.get("BENCH_CLIPAGENT_SRC")
        if source:
            # An editable install resolves `clipagent` through a meta-path finder ahead of sys.path.
            sys.meta_path[:] = [m for m in sys.meta_path if "editable" not in repr(m).lower()]
            sys.path.insert(0, source)
        sys.argv = list(rest)
        try:
            runpy.run_path(rest[0], run_name="__main__")
            rc = 0
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    wall = time.perf_counter() - started
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    record = {
        "rc": rc,
        "wall_s": wall,
        "self_maxrss_mb": own.ru_maxrss / 1024,  # ru_maxrss is in KiB on Linux
        "child_maxrss_mb": children.ru_maxrss / 1024,
        "self_cpu_s": own.ru_utime + own.ru_stime,
        "child_cpu_s": children.ru_utime + children.ru_stime,
    }
    with open(result_path, "w", encoding="utf-8") as out:
        json.dump(record, out)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
