"""`cvis augment ...`: train and evaluate latent augmenters (a thin layer over the API)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .options import (
    AmpOpt,
    CodecOpt,
    ConfigOpt,
    CvisTyper,
    DeviceOpt,
    JsonOpt,
    OptionalCodecOpt,
    comma_list,
    given_fields,
    report_training,
    write_json,
)

augment_app = CvisTyper(
    help="Augment in latent space: train an augmenter for a codec, and measure it.",
    no_args_is_help=True,
)

DataOpt = Annotated[
    list[str] | None,
    typer.Option(help="A folder of videos (recursive) or 'synthetic'; repeat to mix."),
]
TYPES_HELP = "Comma-separated: flip, crop, brightness, saturation, contrast, rotation."


@augment_app.command("train")
def train_cmd(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Augmenter checkpoint to write (.safetensors).")],
    codec: OptionalCodecOpt = None,
    config: ConfigOpt = None,
    types: Annotated[
        str, typer.Option(help=TYPES_HELP)
    ] = "flip,crop,brightness,saturation,rotation",
    data: DataOpt = None,
    steps: int = 2000,
    batch: int = 8,
    frames: Annotated[
        int, typer.Option(help="Frames per training clip (the augmenter works per code step).")
    ] = 4,
    size: Annotated[int, typer.Option(help="Videos are centre-cropped to this size.")] = 64,
    crop: Annotated[int | None, typer.Option(help="Random crop size (default: size).")] = None,
    lr: float = 2e-3,
    width: Annotated[int, typer.Option(help="Channels of the correction network.")] = 48,
    blocks: Annotated[int, typer.Option(help="Residual blocks of the correction network.")] = 3,
    fine: Annotated[
        int, typer.Option(help="Also warp on a learned grid this many times finer (0: off).")
    ] = 0,
    per_type: Annotated[bool, typer.Option(help="One network per type, not one shared.")] = False,
    init: Annotated[
        str | None,
        typer.Option(
            help="Start from this augmenter (its architecture, a new schedule); one trained "
            "for another codec with latents of the same size will do."
        ),
    ] = None,
    specialise: Annotated[
        str | None,
        typer.Option(
            help="With --init: train this type's network on this type alone, the others "
            "staying as they are (a type the shared network serves gets a copy of it first)."
        ),
    ] = None,
    pixel_weight: Annotated[float, typer.Option(help="Weight of the decoded-pixel loss.")] = 1.0,
    checkpoint_every: Annotated[
        int, typer.Option(help="Save every N steps (0: at the end).")
    ] = 500,
    seed: int = 0,
    device: DeviceOpt = "auto",
    amp: AmpOpt = False,
    json_out: JsonOpt = None,
) -> None:
    """Train an augmenter for --codec: targets are the codec's latents of the transformed
    clips, plus a loss on the decoded pixels.

    The recipe (`augment.recipe.AugmenterRecipe`): the --config file's settings (the options'
    names with _ for -, but for out, config, checkpoint_every, device and json; types is a
    list), with the options given on top."""
    from ..augment.recipe import AugmenterRecipe, load_recipe, run_recipe

    fields = given_fields(ctx, AugmenterRecipe)
    if "types" in fields:
        fields["types"] = comma_list(types)
    recipe = load_recipe(config, **fields)
    _, history = run_recipe(recipe, out, device, checkpoint_every)
    last_step = "last step: decoded PSNR {psnr:.2f} dB, code agreement {agree:.3f}"
    report_training(out, history, last_step, json_out)


@augment_app.command("eval")
def eval_cmd(
    codec: CodecOpt,
    aug: Annotated[Path, typer.Option(help="Augmenter checkpoint trained for that codec.")],
    types: Annotated[str | None, typer.Option(help=f"{TYPES_HELP} Default: all trained.")] = None,
    data: DataOpt = None,
    clips: Annotated[int, typer.Option(help="Held-out clips per data source.")] = 64,
    frames: int = 8,
    size: int = 64,
    batch: int = 16,
    bins: Annotated[int, typer.Option(help="Parameter-strength bins per type.")] = 3,
    speed_batch: Annotated[
        list[int] | None, typer.Option(help="Batch sizes of the speed test (repeatable).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for the JSON, markdown and PNG.")] = Path(
        "results"
    ),
    name: Annotated[str, typer.Option(help="File name of the results.")] = "augment_eval",
    seed: int = 0,
    device: DeviceOpt = "auto",
    json_out: JsonOpt = None,
) -> None:
    """PSNR per type and strength against (a) encode(transform(x)), (b) nothing, (c) the
    naive latent-grid op, (d) decode -> transform -> encode; latent error, code agreement,
    speed. Writes NAME.json, NAME.md and NAME.png under --out."""

    from ..augment.evaluate import evaluate_augmenter, evaluation_clips, save_figure, table_sections
    from ..augment.network import load_augmenter
    from ..augment.params import parse_types
    from ..codec import load_codec
    from ..report import Run, markdown_table, write_results
    from ..runtime import resolve_device

    dev = resolve_device(device)
    model = load_codec(codec, dev)
    augmenter = load_augmenter(aug, model, dev)
    kinds = parse_types(types) if types else None
    videos = evaluation_clips(data or ["synthetic"], frames, size, clips, seed)
    result = evaluate_augmenter(
        model, augmenter, videos, dev, kinds, batch, bins, seed, tuple(speed_batch or (16, 64))
    )
    run = Run.here(dev)
    table = f"{len(videos)} clips\n\n" + "".join(
        f"{title}\n\n{markdown_table(rows)}\n" for title, rows in table_sections(result)
    )
    payload = {"codec": str(codec), "augmenter": str(aug)} | result
    paths = write_results(out, name, "Latent augmentation, evaluated", payload, table, run)
    png = save_figure(out / f"{name}.png", model, augmenter, videos, kinds)
    typer.echo(f"{run}\n\n{table}")
    typer.echo(f"written: {paths['json']}, {paths['md']}, {png}")
    write_json(json_out, {"command": run.command, "machine": run.machine} | payload)
