"""What every `cvis` sub-command shares: the error handling and the --device and --codec
options."""

from __future__ import annotations

import functools
import json
from typing import Annotated, Any

import typer

from ..errors import CVError

DeviceOpt = Annotated[str, typer.Option(help="cpu, cuda, cuda:N or auto (CUDA when available).")]

# Every command's --codec: whatever `codec.load_codec` opens.
CODEC_HELP = (
    "A codec: a shipped codec's name (see `cvis codec list`), one of our checkpoints "
    "(.safetensors), an official .pkl, or an official codec converted by `cvis official convert`."
)
CodecOpt = Annotated[str, typer.Option(help=CODEC_HELP)]
OptionalCodecOpt = Annotated[str | None, typer.Option(help=CODEC_HELP)]
CodecsOpt = Annotated[list[str], typer.Option("--codec", help=f"{CODEC_HELP} Repeatable.")]


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


def parse_options(pairs: list[str] | None) -> dict[str, Any] | None:
    """["width=0.5", "depth=2"] -> {"width": 0.5, "depth": 2} (values read as JSON if they
    parse, else kept as text)."""
    if not pairs:
        return None
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CVError(f"an option is key=value, got {pair!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out
