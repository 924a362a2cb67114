"""A restricted unpickler for the official Compressed Vision checkpoints.

The released checkpoints are Python pickles holding numpy arrays and
`ml_collections.ConfigDict` objects. A plain `pickle.load` would run whatever code a
tampered file names, so this reader resolves only an allow-list of globals: numpy's array
and scalar reconstruction helpers, and ConfigDict / FieldReference, which map to the plain
classes below. Any other global is refused with a `CheckpointError` before it is called.
Neither JAX nor ml_collections is needed.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import CheckpointError

_NUMPY_MODULES = ("numpy._core.multiarray", "numpy.core.multiarray")
_CONFIG_MODULE = "ml_collections.config_dict.config_dict"

# numpy's array reconstructor, whichever module (numpy.core / numpy._core) holds it.
_RECONSTRUCT = np.zeros(0).__reduce__()[0]


class ConfigDictData(dict):
    """What a pickled `ml_collections.ConfigDict` becomes: a plain dict with attribute access."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setstate__(self, state: Any) -> None:
        # ConfigDict pickles its __dict__: the values are under `_fields`, the rest are flags.
        if not isinstance(state, dict) or not isinstance(state.get("_fields"), dict):
            raise pickle.UnpicklingError("ConfigDict state without a `_fields` dict")
        self.update(state["_fields"])


class FieldReferenceData:
    """What a pickled `ml_collections.FieldReference` becomes: just its (plain) value."""

    value: Any = None

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict) or "_value" not in state:
            raise pickle.UnpicklingError("FieldReference state without a `_value`")
        if state.get("_ops"):
            raise pickle.UnpicklingError("FieldReference with lazy operations is not supported")
        self.value = state["_value"]


def _dtype(*args: Any) -> np.dtype:
    """`numpy.dtype`, refusing object dtypes (which could carry arbitrary objects)."""
    dt = np.dtype(*args)
    if dt.hasobject:
        raise pickle.UnpicklingError(f"object dtype {dt} is not allowed")
    return dt


def _scalar(dtype: np.dtype, data: bytes = b"") -> np.generic:
    """numpy's scalar reconstruction, limited to non-object dtypes and raw bytes."""
    if not isinstance(dtype, np.dtype) or dtype.hasobject or not isinstance(data, bytes):
        raise pickle.UnpicklingError("numpy scalar of an object dtype is not allowed")
    return np.frombuffer(data, dtype=dtype, count=1)[0]


class _Guarded:
    """A callable handed to the pickle that a BUILD opcode cannot modify."""

    __slots__ = ("_fn",)

    def __init__(self, fn: Any) -> None:
        self._fn = fn

    def __call__(self, *args: Any) -> Any:
        return self._fn(*args)

    def __setstate__(self, state: Any) -> None:
        raise pickle.UnpicklingError("refused to modify an allow-listed function")


def _allowed_globals() -> dict[tuple[str, str], Any]:
    dtype, reconstruct, scalar = _Guarded(_dtype), _Guarded(_RECONSTRUCT), _Guarded(_scalar)
    table: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): dtype,
        (_CONFIG_MODULE, "ConfigDict"): ConfigDictData,
        (_CONFIG_MODULE, "FrozenConfigDict"): ConfigDictData,
        (_CONFIG_MODULE, "FieldReference"): FieldReferenceData,
    }
    for module in _NUMPY_MODULES:
        table[(module, "_reconstruct")] = reconstruct
        table[(module, "scalar")] = scalar
    # A FieldReference pickles its field type: allow the plain value types, nothing else.
    for t in (int, float, complex, bool, str, bytes, tuple, list, dict):
        table[("builtins", t.__name__)] = t
    return table


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the allow-listed globals; anything else is refused."""

    _ALLOWED = _allowed_globals()

    def __init__(self, file: Any, path: str | Path) -> None:
        super().__init__(file)
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise CheckpointError(
                f"refused to load global {module}.{name} from the pickle "
                "(only numpy arrays and ml_collections configs are allowed)",
                self._path,
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise CheckpointError("refused a persistent id in the pickle", self._path)


def _plain(obj: Any, path: str | Path, where: str = "checkpoint") -> Any:
    """Check the loaded tree holds only plain data, and resolve FieldReferences."""
    if isinstance(obj, FieldReferenceData):
        return _plain(obj.value, path, where)
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject or obj.dtype.kind not in "biufc":
            raise CheckpointError(f"{where}: array of unsupported dtype {obj.dtype}", path)
        return obj
    if obj is None or isinstance(obj, (bool, int, float, complex, str, bytes, np.generic)):
        return obj
    if isinstance(obj, ConfigDictData):
        return ConfigDictData({k: _plain(v, path, f"{where}.{k}") for k, v in obj.items()})
    if isinstance(obj, dict):
        return {k: _plain(v, path, f"{where}/{k}") for k, v in obj.items()}
    if isinstance(obj, (tuple, list)):
        return type(obj)(_plain(v, path, f"{where}[{i}]") for i, v in enumerate(obj))
    raise CheckpointError(f"{where}: unexpected object of type {type(obj).__name__}", path)


def read_official_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read an official `.pkl` checkpoint safely.

    Returns the checkpoint's dict: `params` / `state` (and `augm_params` / `augm_state`) as
    Haiku nested dicts `{module_path: {name: numpy array}}`, `config` / `augm_config` as
    `ConfigDictData` (or None). Raises `CheckpointError` for a missing, corrupt or tampered
    file; nothing in the file is executed.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError("no such checkpoint file", path)
    try:
        with path.open("rb") as f:
            data = RestrictedUnpickler(f, path).load()
    except CheckpointError:
        raise
    except Exception as e:  # a corrupt pickle can raise almost anything
        raise CheckpointError(f"not a readable official checkpoint ({e})", path) from e
    if not isinstance(data, dict):
        raise CheckpointError(f"expected a dict at the top level, got {type(data).__name__}", path)
    missing = [k for k in ("params", "state", "config") if k not in data]
    if missing:
        raise CheckpointError(f"official checkpoint is missing keys {missing}", path)
    data = _plain(data, path)
    for key in ("params", "state", "augm_params", "augm_state"):
        tree = data.get(key)
        if tree is None:
            continue
        ok = isinstance(tree, dict) and all(
            isinstance(m, dict) and all(isinstance(a, np.ndarray) for a in m.values())
            for m in tree.values()
        )
        if not ok:
            raise CheckpointError(f"`{key}` is not a Haiku {{module: {{name: array}}}} dict", path)
    return data
