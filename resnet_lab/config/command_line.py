"""run.py's check of its overrides before Hydra starts. Every override must compose, each value
of a swept key too: a misspelt key or a wrong-typed value stops the command with one sentence,
exit status 2 and nothing written, instead of Hydra's traceback at the first job that has it.
Value ranges are left to each job's ``validate``, so in a multirun one bad job does not stop the
others."""

from __future__ import annotations

import sys
from collections.abc import Iterator

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException

from ..compose import compose
from ..credentials import masked_override
from ..errors import ConfigError
from .validation import conform


def _jobs(overrides: list[list[str]]) -> Iterator[list[str]]:
    """Every value of every override, the others at their first value."""
    first = [values[0] for values in overrides]
    yield first
    for i, values in enumerate(overrides):
        for value in values[1:]:
            yield [*first[:i], value, *first[i + 1:]]


def parse_error(argv: list[str]) -> str | None:
    """An override Hydra's grammar cannot read (``'optim.milestones=[1,'``), named in one
    sentence: Hydra's own message spans lines and names no option. Only ``key=value`` arguments
    are read here; a flag's value (``--cfg job``) is Hydra's."""
    parser = OverridesParser.create()
    for arg in argv:
        if arg.startswith("-") or "=" not in arg:
            continue
        try:
            parser.parse_overrides([arg])
        except HydraException as e:
            key = arg.partition("=")[0].lstrip("+~")
            reason = next((line for line in str(e).splitlines() if line and not line.startswith(
                ("See https", "Error parsing override"))), "unreadable")
            return (f"{key}: {masked_override(arg)!r} cannot be read ({reason}); write a list as "
                    f"{key}=[a,b], a string with spaces or brackets in quotes, and quote the whole "
                    f"override for the shell.")
    return None


def command_line_error(argv: list[str]) -> str | None:
    """The config error in run.py's arguments, or None. What Hydra cannot enumerate (a glob or
    interval sweep) is left to Hydra to report."""
    error = parse_error(argv)
    if error:
        return error
    try:
        parsed = OverridesParser.create().parse_overrides([a for a in argv if not a.startswith("-")])
        overrides = [[f"{o.get_key_element()}={v}" for v in o.sweep_string_iterator()]
                     if o.is_sweep_override() else [o.input_line] for o in parsed]
    except HydraException:
        return None
    try:
        for job in _jobs(overrides):
            conform(compose(job))
    except ConfigError as e:
        return str(e)
    return None


def output_error(argv: list[str]) -> str | None:
    """Why the run's (or the sweep's) directory cannot be written, or None: Hydra makes it
    before any job starts, and a read-only or full disk there is Hydra's traceback otherwise."""
    from ..disk import DiskError, check_writable

    try:
        parsed = OverridesParser.create().parse_overrides([a for a in argv if not a.startswith("-")])
        first = [f"{o.get_key_element()}={next(iter(o.sweep_string_iterator()))}"
                 if o.is_sweep_override() else o.input_line for o in parsed]
        hydra = compose(first, return_hydra_config=True).hydra
        check_writable(hydra.sweep.dir if {"-m", "--multirun"} & set(argv) else hydra.run.dir)
    except DiskError as e:
        return str(e)
    except Exception:  # noqa: BLE001 - a directory Hydra cannot name is Hydra's to report
        return None
    return None


def check_overrides(argv: list[str]) -> None:
    """Exit with one sentence and status 2 if run.py's arguments do not make a valid config,
    or name a directory that cannot be written."""
    error = command_line_error(argv) or output_error(argv)
    if error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
