"""What every `cvis` sub-command shares: the error handling and the --device option."""

from __future__ import annotations

import functools
from typing import Annotated

import typer

from .errors import CVError

DeviceOpt = Annotated[str, typer.Option(help="cpu, cuda, cuda:N or auto (CUDA when available).")]


def friendly_errors(fn):
    """Our errors (bad path, corrupt video, wrong checkpoint) end the command with a clear
    message and exit code 2, not a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except CVError as e:
            typer.secho(f"error: {e}", fg="red", err=True)
            raise typer.Exit(code=2) from e

    return wrapper
