"""The configuration of a downstream training run: one dataclass, from a JSON or TOML file
and/or command-line flags (flags win)."""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from types import UnionType
from typing import Any, get_args, get_origin, get_type_hints

from ..errors import CVError
from ..video.opencv_read import check_decoder

TASKS = ("video", "frames", "speed", "arrow")
INPUTS = ("codes", "rgb", "jpeg", "h264", "hevc", "decoded")
REORDERS_FRAMES = ("speed", "arrow")  # tasks that subsample or reverse a clip's frames


@dataclass(frozen=True)
class TaskConfig:
    """Every knob of `cvis train`; the README ("Training video networks on codes") says what
    each one does."""

    task: str = "video"  # video | frames | speed | arrow
    inputs: str = "codes"  # codes | rgb | jpeg | h264 | hevc | decoded (the codec's round trip)
    store: str | None = None  # code store (inputs = codes)
    videos: str | None = None  # folder, .csv or .json of videos (pixel inputs)
    root: str | None = None  # where a .csv/.json source's videos are
    codec: str | None = None  # codec checkpoint: codebooks, grid, target CR
    target_cr: float | None = None  # jpeg/h264/hevc (default: the codec's CR; decoded: always)
    recompressed: str | None = None  # cache of re-compressed copies (default: under out)
    size: int = 128  # frame size of the pixel pipeline (cover + centre crop)
    decoder: str = "pyav"  # pixel inputs: pyav | opencv (opencv-python-headless: ~2x faster)
    frames: int = 16  # frames per clip
    downsample: int | None = None  # pixel stem's spatial factor (None: the usual 8x)
    temporal_downsample: int | None = None  # pixel models: temporal factor (codec's)
    split_by: str = "video"  # video | time (last test_fraction of every video)
    train_split: str = "train"
    test_split: str = "test"
    test_fraction: float = 0.2  # when videos carry no split
    test_stride: int = 0  # code steps between held-out clip starts (0: one clip span, no overlap)
    backbone: str = "s3d"
    backbone_options: dict[str, Any] = field(default_factory=dict)
    code_input: str = "lookup"  # lookup (the codec's codebooks) | embed (learned)
    embed_dim: int = 16
    augment_types: tuple[str, ...] = ()  # pixel augmentation, and latent when enabled
    latent_augment: str | None = None  # augmenter checkpoint, or "naive" (grid op only)
    steps: int = 1000
    batch: int = 16  # global batch (split over processes under torchrun)
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup: int = 50
    grad_clip: float = 1.0
    amp: bool = False
    device: str = "auto"
    seed: int = 0
    workers: int = 0
    checkpoint_every: int = 0
    eval_batch: int = 32
    evaluate: bool = True  # score the held-out split after training
    out: str = "runs/train"
    resume: bool = False

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise CVError(f"unknown task {self.task!r}; choose from {', '.join(TASKS)}")
        if self.inputs not in INPUTS:
            raise CVError(f"unknown inputs {self.inputs!r}; choose from {', '.join(INPUTS)}")
        if self.inputs == "codes" and not (self.store and self.codec):
            raise CVError("training on codes needs a store and its codec (--store, --codec)")
        if self.inputs != "codes" and not self.videos:
            raise CVError(f"training on {self.inputs} needs videos (--videos)")
        check_decoder(self.decoder)
        if self.split_by not in ("video", "time") or not 0 < self.test_fraction < 1:
            raise CVError("split_by is video or time, and test_fraction lies in (0, 1)")
        if min(self.steps, self.batch, self.frames, self.eval_batch) < 1:
            raise CVError("steps, batch, frames and eval_batch must be positive")
        if self.test_stride < 0:
            raise CVError("test_stride is 0 (no overlap) or a positive number of code steps")
        if self.inputs == "decoded" and self.task in REORDERS_FRAMES:
            raise CVError(
                f"{self.task} reorders frames, and decoded frames show the codec's code steps "
                "(a shortcut, not motion): train it on codes or on rgb/jpeg/h264/hevc"
            )
        if self.latent_augment and self.inputs != "codes":
            raise CVError("latent augmentation applies to codes only (pixels: augment_types)")
        if self.latent_augment and not self.augment_types:
            raise CVError("latent augmentation needs augment_types (e.g. crop,brightness)")
        object.__setattr__(self, "augment_types", tuple(self.augment_types))

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "augment_types": list(self.augment_types)}

    def update(self, **overrides: Any) -> TaskConfig:
        """A copy with the overrides that are not None."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


FIELD_TYPES = {f.name: f.type for f in fields(TaskConfig)}  # as written: "str | None"


def read_config_file(path: str | Path) -> dict[str, Any]:
    """A JSON (.json) or TOML (.toml) file of TaskConfig fields."""
    path = Path(path)
    try:
        text = path.read_text()
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except FileNotFoundError as e:
        raise CVError("no such config file", path) from e
    except (OSError, ValueError) as e:  # JSONDecodeError and TOMLDecodeError are ValueErrors
        raise CVError(f"cannot read the config ({e})", path) from e
    if not isinstance(data, dict):
        raise CVError("a config file holds a table/object of settings", path)
    unknown = set(data) - set(FIELD_TYPES)
    if unknown:
        raise CVError(f"unknown settings {sorted(unknown)}", path)
    hints = get_type_hints(TaskConfig)
    for key, value in data.items():
        if not _fits(value, hints[key]):
            raise CVError(f"{key} = {value!r} is not of type {FIELD_TYPES[key]}", path)
    return data


def _fits(value: Any, hint: Any) -> bool:
    """Whether a value read from a config file has the field's type (an int passes as a
    float; a bool is not a number; a list passes as a tuple)."""
    if isinstance(hint, UnionType):
        return any(_fits(value, h) for h in get_args(hint))
    if hint is type(None):
        return value is None
    origin = get_origin(hint) or hint
    if isinstance(value, bool) and origin is not bool:
        return False
    if origin is tuple:
        return isinstance(value, (list, tuple)) and all(_fits(v, get_args(hint)[0]) for v in value)
    return isinstance(value, (int, float) if origin is float else origin)


def load_config(path: str | Path | None = None, **overrides: Any) -> TaskConfig:
    """The file's settings (if any) with the non-None `overrides` on top."""
    data = read_config_file(path) if path else {}
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return TaskConfig(**data)
    except TypeError as e:
        raise CVError(f"bad settings: {e}", path) from e
    except CVError as e:
        if path is None:
            raise
        raise CVError(e.reason, path) from e
