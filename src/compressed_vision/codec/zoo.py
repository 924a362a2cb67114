"""The codecs shipped in the package: their files, the recipes that made them (`cvis codec
reproduce` and `make weights` rerun them) and their measured figures."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from ..errors import CVError
from .checkpoint import load_video_codec, save_codec
from .recipe import CodecRecipe, run_recipe

DATA = "{data}"  # in a recipe's paths: the project's shared data folder (`--data-root`)
DEFAULT_DATA_ROOT = Path("../shared/data")  # the project's convention, from the repo's root
SHIPPED_VALIDATION = (
    "cvis bench codec-validation --codec cr240 --codec cr30 --codec cr480 --threads 1 "
    "--name codec_validation_shipped"
)


@dataclass(frozen=True)
class ShippedCodec:
    """A shipped codec: its file in the package, the recipes of its training stages (each
    stage after the first starts from the one before), what it measured, and the file of the
    latent augmenter shipped for it, if any (`--latent-augment NAME`)."""

    name: str
    file: str
    stages: tuple[CodecRecipe, ...]
    figures: dict[str, float]
    measured_by: str
    augmenter: str | None = None


def _first_release(preset: str) -> CodecRecipe:
    """The recipe of the first shipped codecs: the synthetic set and the three sample clips."""
    return CodecRecipe(
        preset=preset,
        overrides={"channels": 32},
        data=(DATA, "synthetic"),
        steps=5000,
        batch=8,
        frames=8,
        size=128,
        crop=64,
        lr=6e-4,
    )


def _real_imagery(preset: str) -> CodecRecipe:
    """The second stage: real photographs filmed by the virtual camera (their training split)
    and two real clips beside the synthetic set; carphone and the held-out photos are never
    trained on."""
    return replace(
        _first_release(preset),
        data=(f"{DATA}/photos", f"{DATA}/bigbuckbunny.mp4", f"{DATA}/bikes.mp4", "synthetic"),
        val_data=(f"{DATA}/carphone_pristine.mp4",),
        steps=15000,
        lr=3e-4,
        amp=True,
    )


def _two_stages(name: str, figures: dict[str, float], augmenter: str | None = None) -> ShippedCodec:
    """A codec shipped after the two standard stages (`_first_release`, `_real_imagery`),
    its figures measured by `SHIPPED_VALIDATION`."""
    stages = (_first_release(name), _real_imagery(name))
    file = f"codec_{name}.safetensors"
    return ShippedCodec(name, file, stages, figures, SHIPPED_VALIDATION, augmenter)


ZOO: dict[str, ShippedCodec] = {
    "cr240": _two_stages(
        "cr240",
        {"CR": 256, "held-out PSNR (dB)": 24.7, "photos": 24.7, "carphone": 24.6},
        augmenter="augmenter_cr240.safetensors",
    ),
    "cr30": _two_stages(
        "cr30", {"CR": 32, "held-out PSNR (dB)": 29.8, "photos": 29.6, "carphone": 29.9}
    ),
    "cr480": _two_stages(
        "cr480", {"CR": 512, "held-out PSNR (dB)": 23.7, "photos": 23.4, "carphone": 24.1}
    ),
}


def resolve(recipe: CodecRecipe, data_root: str | Path) -> CodecRecipe:
    """The recipe with `{data}` in its paths replaced by `data_root`."""

    def fill(paths: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(p.replace(DATA, str(data_root)) for p in paths)

    return replace(recipe, data=fill(recipe.data), val_data=fill(recipe.val_data))


def reproduce(
    name: str,
    out_dir: str | Path,
    data_root: str | Path = DEFAULT_DATA_ROOT,
    device: torch.device | None = None,
    resume: bool = False,
    export: str | Path | None = None,
) -> Path:
    """Train shipped codec `name` again, stage by stage (checkpoints under `out_dir`; with
    `resume`, a killed stage continues). Each stage is kept as float16, as it ships, and the
    next stage starts from that; the last is copied into `export` (a folder) if given.
    Returns the last stage's float16 file."""
    if name not in ZOO:
        raise ValueError(f"no shipped codec {name!r}; choose from {sorted(ZOO)}")
    out = Path(out_dir)
    shipped: Path | None = None  # the previous stage as it ships: float16
    for i, stage in enumerate(ZOO[name].stages):
        recipe = resolve(stage, data_root)
        if shipped is not None:
            recipe = replace(recipe, init=str(shipped))
        path = out / f"{name}-stage{i + 1}.safetensors"
        run_recipe(recipe, path, device or torch.device("cpu"), resume or path.exists())
        shipped = save_codec(
            path.with_suffix(".f16.safetensors"), load_video_codec(path), half=True
        )
    if export is not None:
        Path(export).mkdir(parents=True, exist_ok=True)
        shutil.copy(shipped, Path(export) / ZOO[name].file)
    return shipped


def zoo_table() -> str:
    """The shipped codecs as a markdown table (what `cvis codec list` prints)."""
    lines = [
        "| codec | file | augmenter | training | figures | measured by |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for c in ZOO.values():
        stages = "; then ".join(
            f"{s.preset} {s.overrides}, {s.steps} steps on {', '.join(s.data)}" for s in c.stages
        )
        figures = ", ".join(f"{k} {v:g}" for k, v in c.figures.items())
        files = f"{c.name} | {c.file} | {c.augmenter or '-'}"
        lines.append(f"| {files} | {stages} | {figures} | `{c.measured_by}` |")
    return "\n".join(lines) + "\n"


README_MARKERS = (
    "<!-- zoo: generated by `cvis codec list --update-readme README.md` -->",
    "<!-- /zoo -->",
)


def update_readme(path: str | Path) -> None:
    """Rewrite the shipped codecs' table in a README between its two `README_MARKERS`."""
    path = Path(path)
    if not path.is_file():
        raise CVError("no such file", path)
    text = path.read_text()
    begin, end = README_MARKERS
    if begin not in text or end not in text:
        raise CVError(f"no zoo block (the lines {begin!r} ... {end!r})", path)
    head, rest = text.split(begin, 1)
    path.write_text(f"{head}{begin}\n{zoo_table()}{end}{rest.split(end, 1)[1]}")
