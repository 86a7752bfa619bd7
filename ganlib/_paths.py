"""Checking a file or folder argument before anything touches the disk."""

from __future__ import annotations

import os
from pathlib import Path


def as_path(name: str, value: object, what: str = "a folder", example: str = "data") -> Path:
    """``value`` as a Path, or a ValueError naming ``name``, what was given and what is expected.

    Only a non-empty str or path-like object is a path: ``None``, a number or a list would
    otherwise become a folder named "None", "0" or "[1, 2]" in the working directory.
    """
    if isinstance(value, (str, os.PathLike)) and not isinstance(value, bytes):
        path = Path(value)
        if str(value).strip():
            return path
    raise ValueError(f"{name}={value!r}: expected {what} as a str or pathlib.Path "
                     f"(e.g. {name}={example!r}), got {type(value).__name__}; nothing was written.")
