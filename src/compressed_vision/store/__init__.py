"""The code store: a dataset encoded once into chunked, random-access codes on zarr v3
(layout in `store.layout`), built resumably from the manifests of `sources`, read by
PyTorch datasets of code windows."""

from .build import BuildSummary, build_store
from .datasets import RandomCodeWindows, SequentialCodeWindows
from .info import store_info, verify_store
from .reader import CodeStore, VideoEntry

__all__ = [
    "BuildSummary",
    "CodeStore",
    "RandomCodeWindows",
    "SequentialCodeWindows",
    "VideoEntry",
    "build_store",
    "store_info",
    "verify_store",
]
