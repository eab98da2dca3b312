"""The project's own metadata: what `make install` (pip install -e .) reads without a warning."""

import warnings

from .conftest import ROOT


def test_setuptools_reads_the_metadata_without_a_deprecation(monkeypatch):
    # a `project.license` TOML table is deprecated (builds refused from 2027-02-18); an SPDX
    # expression needs setuptools>=77 in the build, which the build requirement says
    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    monkeypatch.chdir(ROOT)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dist = apply_configuration(Distribution(), ROOT / "pyproject.toml")
    assert dist.metadata.license_expression == "MIT"
    assert 'requires = ["setuptools>=77"]' in (ROOT / "pyproject.toml").read_text()
