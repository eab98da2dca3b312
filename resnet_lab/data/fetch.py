"""Downloads that fail cleanly: no internet means one clear sentence, and no empty folders left
behind where the user had none."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from ..errors import DataNotFoundError


def _folders(root: Path) -> set[str]:
    return {d for d, _, _ in os.walk(root)}


def one_line(e: BaseException) -> str:
    """An exception as one line: torchvision's download errors span several, one per mirror."""
    return " ".join(f"{type(e).__name__}: {e}".split())


def download_into(root: Path, fetch: Callable[[], object], failure: str) -> None:
    """Run ``fetch()`` (a torchvision download into ``root``); on any error remove the folders
    this call created (``root`` and above it, and torchvision's below it such as
    ``FashionMNIST/raw``), if still empty, and raise ``DataNotFoundError(failure + reason)``."""
    created = []
    p = root
    while not p.exists():
        created.append(p)
        p = p.parent
    before = _folders(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        fetch()
    except Exception as e:  # no network, proxy, DNS, HTTP: all end the same way for the user
        for d in sorted(_folders(root) - before, key=len, reverse=True):  # deepest first
            with contextlib.suppress(OSError):
                os.rmdir(d)
        for d in created:  # deepest first
            if d.exists():
                try:
                    d.rmdir()
                except OSError:
                    break
        raise DataNotFoundError(failure.format(reason=one_line(e))) from e
