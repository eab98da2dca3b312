"""Signatures that configs are derived from (``config/schema.py``).

``takes(Options)`` gives a function or class ``f(own parameters, **options)`` the signature of its
own parameters followed by the fields of the dataclass ``Options`` (keyword-only, with their types
and defaults), so that tools reading signatures (hydra-zen's ``builds``, the config schemas,
``help``) see every parameter, while options shared by several constructors (the units of every
network family, the pipeline of every in-memory data set) are declared once.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)


def takes(options: type) -> Callable[[F], F]:
    def extend(f: F) -> F:
        target = f.__init__ if isinstance(f, type) else f
        own = inspect.signature(target)
        # `int | None` as typing.Optional[int]: the form hydra-zen keeps (it reads the other as Any)
        hints = {k: typing.Union[v.__args__] if isinstance(v, types.UnionType) else v  # noqa: UP007
                 for k, v in typing.get_type_hints(options).items()}
        shared = [inspect.Parameter(field.name, inspect.Parameter.KEYWORD_ONLY,
                                    annotation=hints[field.name], default=_default(field))
                  for field in dataclasses.fields(options)]
        params = [p for p in own.parameters.values() if p.kind is not p.VAR_KEYWORD]
        target.__signature__ = own.replace(parameters=[*params, *shared])
        target.__annotations__.update(hints)
        return f
    return extend


def _default(field: dataclasses.Field):
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return inspect.Parameter.empty


def parameters(f: Callable) -> dict[str, inspect.Parameter]:
    """The parameters of a function or of a class's constructor (without ``self``)."""
    return dict(inspect.signature(f).parameters)
