"""Downloads that fail cleanly: no internet means one clear sentence, and no empty folders left
behind where the user had none."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import DataNotFoundError


def download_into(root: Path, fetch: Callable[[], object], failure: str) -> None:
    """Run ``fetch()`` (a torchvision download into ``root``); on any error remove the folders
    this call created, if still empty, and raise ``DataNotFoundError(failure + reason)``."""
    created = []
    p = root
    while not p.exists():
        created.append(p)
        p = p.parent
    try:
        root.mkdir(parents=True, exist_ok=True)
        fetch()
    except Exception as e:  # no network, proxy, DNS, HTTP: all end the same way for the user
        for d in created:  # deepest first
            try:
                d.rmdir()
            except OSError:
                break
        raise DataNotFoundError(failure.format(reason=f"{type(e).__name__}: {e}")) from e
