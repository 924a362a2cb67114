"""Import of the official Compressed Vision (Wiles et al., ACCV 2022) JAX/Haiku checkpoints.

`load_official(path)` reads a released `.pkl` (safely, see `unpickle.py`) or a file
converted by `convert_official` / `cvis official convert`, and returns an `OfficialModel`
with `encode(video)` -> codes, `quantize(codes)` -> latents, `decode(codes)`,
`decode_latents(latents)` and, for augmentation checkpoints, `augment(latents, params)`.
"""

from .load import convert_official, load_official
from .model import OfficialModel
from .unpickle import read_official_checkpoint

__all__ = ["OfficialModel", "convert_official", "load_official", "read_official_checkpoint"]
