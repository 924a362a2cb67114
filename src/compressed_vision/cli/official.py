"""`cvis official ...`: commands for the official Compressed Vision checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .options import CvisTyper

official_app = CvisTyper(
    help="Use the official Compressed Vision (Wiles et al. 2022) JAX/Haiku checkpoints.",
    no_args_is_help=True,
)


@official_app.callback()
def _group() -> None:
    """Use the official Compressed Vision (Wiles et al. 2022) JAX/Haiku checkpoints."""


@official_app.command("convert")
def convert(
    src: Annotated[Path, typer.Argument(metavar="FILE.pkl", help="An official checkpoint.")],
    out: Annotated[Path, typer.Argument(metavar="OUT.safetensors", help="Where to write.")],
) -> None:
    """Convert an official .pkl checkpoint to a safetensors checkpoint of ours.

    The pickle is read with a restricted unpickler: nothing in it is executed.
    """
    from ..codec.official.load import convert_official, load_official

    written = convert_official(src, out)
    model = load_official(written)
    aug = model.augmentation_type
    typer.echo(
        f"wrote {written} ({written.stat().st_size / 2**20:.1f} MiB): "
        f"{model.num_codebooks} codebooks x {model.codebook_size} entries, "
        f"latent dim {model.latent_dim}, "
        + (f"augmenter '{aug}'" if aug is not None else "no augmenter")
    )
