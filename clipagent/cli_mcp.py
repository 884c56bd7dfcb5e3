"""`clipagent mcp`: serve the editing agent to MCP clients (stdio, or streamable HTTP on loopback)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from .cli_analysis import CacheDirOption
from .cli_common import translate_errors
from .errors import BadInputError
from .listing import quoted

TOKEN_VARIABLE = "CLIPAGENT_MCP_TOKEN"
"""The environment variable that holds the bearer token `--http` requires."""
MIN_TOKEN_LENGTH = 16


@translate_errors
def mcp(
    root: Annotated[
        list[Path], typer.Option("--root", help="A folder clients may read (footage, briefs, EDLs); repeatable.")
    ],
    out_root: Annotated[
        Path, typer.Option("--out-root", help="The folder clients' outputs go in (created if missing).")
    ],
    http: Annotated[
        Optional[str],
        typer.Option("--http", metavar="127.0.0.1:PORT",
                     help=f"Serve streamable HTTP on a loopback address instead of stdio; needs ${TOKEN_VARIABLE}."),
    ] = None,
    cache_dir: CacheDirOption = None,
) -> None:
    """Serve clipagent's tools (analyze, search, plan, validate, render, edit, revise) over MCP.
    Every path a client gives must resolve inside a --root (read) or the --out-root (read and write)."""
    from .mcp_confine import Roots

    roots = Roots.of(root, out_root)
    if http is None:
        from .mcp_server import serve_stdio

        serve_stdio(roots, cache_dir=cache_dir)
        return
    host, port = parse_loopback(http)
    token = os.environ.get(TOKEN_VARIABLE, "")
    if len(token) < MIN_TOKEN_LENGTH:
        raise BadInputError(
            f"--http needs a bearer token of at least {MIN_TOKEN_LENGTH} characters in ${TOKEN_VARIABLE}"
            + (" (it is shorter)" if token else " (it is not set)"),
            hint=f'export {TOKEN_VARIABLE}="$(python3 -c "import secrets; print(secrets.token_urlsafe(32))")"; '
            "clients send it as `Authorization: Bearer <token>`",
        )
    from .mcp_server import serve_http

    serve_http(roots, host, port, token, cache_dir=cache_dir)


def parse_loopback(value: str) -> tuple[str, int]:
    """`HOST:PORT` with a loopback HOST (127.0.0.0/8, ::1 as [::1], or localhost); BadInputError otherwise."""
    import ipaddress

    host, _, port = value.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadInputError(f"--http {quoted(value)}: expected HOST:PORT, e.g. 127.0.0.1:8765")
    loopback = host == "localhost"
    if not loopback:
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
    if not loopback:
        raise BadInputError(
            f"--http {quoted(value)}: the server listens on loopback only (127.0.0.1, [::1] or localhost)",
            hint="reach it from elsewhere through an SSH tunnel or a reverse proxy that adds TLS",
        )
    return ("127.0.0.1" if host == "localhost" else host), int(port)
