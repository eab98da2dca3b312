"""The one rule for which config entries hold a credential, and their values masked wherever a
run shows or writes its config: error messages, ``config.yaml``, ``overrides.txt``, W&B's copy
of the command line. A leaf module: no torch.

A key holds a credential when one of its words is ``token``, ``secret``, ``password``,
``passwd``, ``credential(s)``, ``key`` or ``apikey``; words are split at ``_``, ``-``, ``.`` and
lower-to-upper case changes, so ``api_key``, ``apiKey``, ``WANDB_API_KEY``, ``access_token``,
``client_secret`` are masked and ``ckpt``, ``monkey``, ``keys``, ``tokenizer`` or
``keep_last`` are not. A few harmless names are masked too (``sort_key``): masking a value
never changes a run, only what is shown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

SECRET_WORDS = frozenset({"token", "secret", "password", "passwd", "credential", "credentials",
                          "key", "apikey"})
MASK = "<redacted>"

_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
# a `name: value` entry inside an override's {...} value (Hydra's dict syntax)
_ENTRY = re.compile(r"""([{,]\s*)([\w.-]+)(\s*:\s*)('[^']*'|"[^"]*"|[^,}\]]*)""")


def looks_secret(name: Any) -> bool:
    """Whether a config key's name (its last part: ``callbacks.x.api_token`` -> ``api_token``)
    names a credential."""
    last = str(name).rsplit(".", 1)[-1]
    return any(w.lower() in SECRET_WORDS for w in _WORD.findall(last))


def masked(obj: Any, name: Any = "") -> Any:
    """``obj`` (a config, a value) with every credential-named entry's value replaced by MASK;
    the whole of it when ``name`` is itself credential-named."""
    if name != "" and looks_secret(name) and obj is not None:
        return MASK
    if isinstance(obj, Mapping):
        return {k: masked(v, k) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [masked(v) for v in obj]
    return obj


def masked_override(arg: str) -> str:
    """A command-line override (``key=value``, ``+key=value``, ``key={a: 1, api_token: x}``)
    with a credential's value replaced by MASK."""
    key, sep, value = arg.partition("=")
    if not sep:
        return arg
    if looks_secret(key.lstrip("+~")):
        return f"{key}={MASK}"
    return key + sep + _ENTRY.sub(lambda m: m.group(1) + m.group(2) + m.group(3) + MASK
                                  if looks_secret(m.group(2)) else m.group(0), value)
