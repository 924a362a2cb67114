"""The configuration of a downstream training run: one dataclass, from a JSON or TOML file
and/or command-line flags (flags win)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from .. import config_file
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


def load_config(path: str | Path | None = None, **overrides: Any) -> TaskConfig:
    """The file's settings (if any) with the non-None `overrides` on top."""
    return config_file.load_config(TaskConfig, path, **overrides)
