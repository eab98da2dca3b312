"""Configs that build objects: the model, the data module and the logger are built with
``hydra.utils.instantiate`` from ``_target_`` configs whose keys are their constructors'
parameters, and a default lives in the constructor's signature or in the option's YAML, never in
both."""

import dataclasses
import inspect

import pytest
import yaml
from hydra.utils import get_object

from resnet_lab.compose import CONF_DIR, compose
from resnet_lab.config.schema import OPTIONS, target_schema
from resnet_lab.models.families import FAMILY_FUNCTIONS, UnitOptions, defaults
from resnet_lab.signatures import takes
from resnet_lab.train import resolved

TARGETS = [(group, name, target) for group, options in OPTIONS.items()
           for name, target in options.items() if target]


def signature(target: str) -> dict[str, inspect.Parameter]:
    obj = get_object(target)
    runtime = set(getattr(obj, "runtime_args", ()))
    return {n: p for n, p in inspect.signature(obj).parameters.items() if n not in runtime}


@pytest.mark.parametrize("group,name,target", TARGETS, ids=lambda x: str(x))
def test_an_options_keys_are_its_constructors_parameters(group, name, target):
    """Every parameter is a key (with its type and default), and nothing else is; the run's own
    arguments (a data module's order seed, a logger's run directory) are given when it is built."""
    fields = {f.name for f in dataclasses.fields(target_schema(target))} - {"_target_"}
    assert fields == set(signature(target))
    c = resolved(compose([f"{group}={name}"] + (["model=imagenet"] if name == "imagenet" else [])))
    assert c[group]["_target_"] == target and set(c[group]) - {"_target_"} == fields


@pytest.mark.parametrize("group,name,target", TARGETS, ids=lambda x: str(x))
def test_a_default_lives_in_the_signature_or_the_yaml_never_both(group, name, target):
    """A key the option's YAML sets (other than wiring to another group, ``${...}``) has no
    default in the signature."""
    node = yaml.safe_load((CONF_DIR / group / f"{name}.yaml").read_text())
    params = signature(target)
    own = [k for k, v in node.items() if k != "defaults" and not str(v).startswith("${")]
    both = [k for k in own if params[k].default is not inspect.Parameter.empty]
    assert both == [], f"conf/{group}/{name}.yaml sets {both}, which {target} defaults too"


def test_every_family_shares_its_unit_options_from_one_declaration():
    shared = {f.name: f.default for f in dataclasses.fields(UnitOptions)}
    for family in FAMILY_FUNCTIONS:
        assert {k: defaults(family)[k] for k in shared} == shared
    assert "width" in defaults("cifar") and "width" not in defaults("imagenet")


def test_takes_adds_a_dataclasss_fields_to_a_signature():
    @dataclasses.dataclass(frozen=True)
    class Options:
        size: int
        flip: bool = True
        subset: int | None = None

    @takes(Options)
    def build(name: str, **options):
        return name, Options(**options)

    params = inspect.signature(build).parameters
    assert list(params) == ["name", "size", "flip", "subset"]
    assert params["flip"].default is True and params["size"].default is inspect.Parameter.empty
    assert params["subset"].kind is inspect.Parameter.KEYWORD_ONLY
    assert build("x", size=3) == ("x", Options(3))
