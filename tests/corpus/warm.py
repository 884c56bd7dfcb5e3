"""A warm CLI for the corpus: one Python process that imports `clipagent.cli` once and forks a
fresh process for each case, so the cases do not each pay the CLI's imports again.

`python -m clipagent` spends about 1 s of CPU importing (numpy, pydantic, typer, rich and the
clipagent modules: `python -X importtime -m clipagent validate`), while most corpus cases are
over in a fraction of that; 170 cold starts were about half of the corpus' CPU time. A forked
child is still a process of its own, started the way `python -m clipagent` starts:

- it runs `clipagent/__main__.py` with `runpy.run_module(..., run_name="__main__",
  alter_sys=True)`, the same call `python -m` makes, in the case folder (`sys.path[0]` is that
  folder, as with `-m`), with stdin from /dev/null and its own stdout and stderr pipes;
- it ends by leaving the interpreter: `SystemExit` gives its exit code, an uncaught exception
  prints Python's traceback and exits 1, atexit handlers and buffered output run as usual;
- it has its own session and process group (killed as a group on a timeout) and the case's
  address-space limit;
- its environment is the case's: the corpus' (`harness.environment`, which the warm process was
  started and imported with) plus what the case's setup sets (a broken ffmpeg, a scripted LLM
  endpoint). clipagent reads its variables when a command runs, not at import; the warm process
  refuses to serve if importing filled a `functools.cache` (`find_ffmpeg` keeps CLIPAGENT_FFMPEG's
  answer), so a case's variables are never hidden by the warm process' own.

A case that wraps the command (a mount namespace, signals from a shell) keeps a cold `python -m
clipagent`, and `CORPUS_COLD=1` runs every case cold. The warm process also refuses to serve (and
every case runs cold) if importing the CLI started a thread, since forking a process with threads
can deadlock the child. It freezes the imported objects (`gc.freeze()`) before it forks, so a
child's garbage collections and its exit do not walk, and so copy, the whole imported heap: 0.33
-> 0.10 s of CPU for a `validate` that exits 2.

Protocol: the parent sends one request per case over a Unix socket pair (JSON: cwd, argv,
environment, address-space limit) with three descriptors (a reply socket, the stdout and stderr pipes'
write ends, `socket.send_fds`). The warm process forks a handler, which forks the CLI process,
sends its pid on the reply socket, waits for it and sends its exit code (negative: killed by
that signal, as `Popen.returncode`) and the CPU seconds it used.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

WARM_IMPORTS = (
    "clipagent.cli", "clipagent.api", "clipagent.validate", "clipagent.edit", "clipagent.analysis.index",
    "clipagent.analysis.search", "clipagent.contact_sheet", "clipagent.planning.heuristic",
    "clipagent.planning.llm_client", "clipagent.render.run",
)  # fmt: skip
"""What the warm process imports before it forks: `clipagent.cli` (what `python -m clipagent`
imports) and the modules its commands import when they run (`python -X importtime -m clipagent
COMMAND` for validate, probe, render, analyze and edit). Torch is not among them (faces are off in
the corpus' environment, embeddings are off in its commands)."""


class WarmUnavailable(Exception):
    """The warm process could not start or refused to serve: the cases run cold."""


@dataclass
class Finished:
    code: int | None
    stdout: bytes
    stderr: bytes
    timed_out: bool
    cpu: float | None = None
    """CPU seconds (user + system) of the command and the children it waited for."""


class WarmCLI:
    """The parent's side: start the warm process, run commands in it, stop it."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        """Start the warm process with `env` in `cwd` (its own errors go to `cwd/warm-cli.log`);
        raises `WarmUnavailable` if it cannot serve."""
        self._control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._lock = threading.Lock()
        self._log = cwd / "warm-cli.log"
        with open(self._log, "wb") as log:
            self._proc = subprocess.Popen(
                [sys.executable, __file__, str(theirs.fileno())], cwd=cwd, env=env, pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            )  # fmt: skip
        theirs.close()
        ready = _read_line(self._control, time.monotonic() + 120)
        if ready != "ready":
            self.close()
            raise WarmUnavailable(f"the warm CLI did not start ({ready}): {self._log.read_text()[-2000:]}")

    def run(self, cwd: str, argv: list[str], env: dict[str, str], timeout: float, memory_mb: int | None) -> Finished:
        """`python -m clipagent ARGV` in `cwd` with the environment `env`, forked from the warm process;
        killed with its process group after `timeout` seconds, like a cold run."""
        deadline = time.monotonic() + timeout
        reply, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            request = json.dumps({"cwd": cwd, "argv": argv, "env": env, "memory_mb": memory_mb}).encode()
            with self._lock:
                socket.send_fds(self._control, [len(request).to_bytes(4, "big") + request],
                                [theirs.fileno(), out_w, err_w])  # fmt: skip
        finally:
            theirs.close()
            os.close(out_w)
            os.close(err_w)
        answer = reply.fileno()
        streams = {out_r: bytearray(), err_r: bytearray(), answer: bytearray()}
        timed_out = False
        pid: int | None = None
        with selectors.DefaultSelector() as selector:
            for fd in streams:
                selector.register(fd, selectors.EVENT_READ)
            while selector.get_map():
                if pid is None and b"\n" in streams[answer]:
                    pid = int(streams[answer].split(b"\n")[0])
                    if timed_out:
                        _kill_group(pid)
                if not timed_out and deadline <= time.monotonic():
                    timed_out = True
                    if pid is not None:
                        _kill_group(pid)
                left = None if timed_out else max(0.0, deadline - time.monotonic())
                for key, _ in selector.select(left):
                    data = os.read(key.fd, 65536)
                    if data:
                        streams[key.fd] += data
                    else:
                        selector.unregister(key.fd)
        for fd in (out_r, err_r):
            os.close(fd)
        reply.close()
        lines = bytes(streams[answer]).decode().split()
        code = int(lines[1]) if len(lines) > 1 else None
        cpu = float(lines[2]) if len(lines) > 2 else None
        return Finished(code, bytes(streams[out_r]), bytes(streams[err_r]), timed_out, cpu)

    def close(self) -> None:
        self._control.close()  # the warm process reads end of file and exits
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait()


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _read_line(sock: socket.socket, deadline: float) -> str:
    data = b""
    while not data.endswith(b"\n"):
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            return "timed out"
        if not chunk:
            return data.decode() or "closed"
        data += chunk
    sock.settimeout(None)
    return data.decode().strip()


# The warm process ---------------------------------------------------------------------------------


def _serve(control: socket.socket) -> None:
    """Import the CLI once, then fork a handler for each request until the parent closes."""
    import gc
    import importlib

    for name in WARM_IMPORTS:
        importlib.import_module(name)
    threads = len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else threading.active_count()
    if threads != 1:
        control.sendall(f"refused: importing the CLI started {threads - 1} thread(s)\n".encode())
        return
    filled = _filled_caches()
    if filled:
        control.sendall(f"refused: importing the CLI filled the cache of {', '.join(filled)}\n".encode())
        return
    gc.freeze()  # the imported objects are not the children's garbage: no collection walks (and copies) them
    control.sendall(b"ready\n")
    while True:
        size, fds, _, _ = socket.recv_fds(control, 4, 3, socket.MSG_WAITALL)  # the descriptors come with it
        if len(size) < 4:  # the parent closed: wait for the handlers still running, then leave
            while True:
                try:
                    os.wait()
                except ChildProcessError:
                    return
        request = control.recv(int.from_bytes(size, "big"), socket.MSG_WAITALL)
        sys.stdout.flush()
        sys.stderr.flush()
        if os.fork() == 0:
            control.close()
            _handle(json.loads(request), *fds)  # the handler exits; its CLI child returns here
            return
        for fd in fds:
            os.close(fd)
        while True:  # reap the handlers that have finished
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break


def _filled_caches() -> list[str]:
    """The `functools.cache` functions of clipagent that importing already called: a value kept
    from the warm process' environment (`find_ffmpeg` reads CLIPAGENT_FFMPEG) would hide a case's."""
    filled = []
    for name, module in list(sys.modules.items()):
        if name == "clipagent" or name.startswith("clipagent."):
            for attr, value in vars(module).items():
                info = getattr(value, "cache_info", None)
                if callable(info) and info().currsize:
                    filled.append(f"{name}.{attr}")
    return filled


def _handle(request: dict, reply_fd: int, out_fd: int, err_fd: int) -> None:
    """In the handler: fork the CLI process, report its pid and then its exit code; the CLI process
    returns from here (to run `python -m clipagent` and leave the interpreter)."""
    grouped_r, grouped_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(reply_fd)
        os.close(grouped_r)
        os.setsid()  # its own session and process group, as Popen(start_new_session=True)
        os.close(grouped_w)
        _become_cli(request, out_fd, err_fd)
        return
    os.close(out_fd)
    os.close(err_fd)
    os.close(grouped_w)
    os.read(grouped_r, 1)  # end of file once the child leads its group: the parent may kill the group
    os.close(grouped_r)
    os.write(reply_fd, f"{pid}\n".encode())
    _, status, usage = os.wait4(pid, 0)
    cpu = usage.ru_utime + usage.ru_stime  # the CLI's and the children it waited for (ffmpeg)
    os.write(reply_fd, f"{os.waitstatus_to_exitcode(status)} {cpu:.3f}\n".encode())
    os._exit(0)


def _become_cli(request: dict, out_fd: int, err_fd: int) -> None:
    import resource
    import runpy

    if request["memory_mb"]:
        size = request["memory_mb"] * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out_fd, 1)
    os.dup2(err_fd, 2)
    for fd in (null, out_fd, err_fd):
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.path[0] = os.getcwd()
    sys.argv = ["-m", *request["argv"]]  # runpy puts clipagent/__main__.py in argv[0], as -m does
    runpy.run_module("clipagent", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    _serve(socket.socket(fileno=int(sys.argv[1])))
