"""The `cvis` command: option types, one error handler and the sub-commands of each stage."""

from .main import app

__all__ = ["app"]
