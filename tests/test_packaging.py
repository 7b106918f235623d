"""What installing the package asks for: nothing that would change Colab's runtime."""

from __future__ import annotations

import importlib.metadata as md
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
COLAB = ROOT.parent / "shared" / "colab" / "pip-freeze.txt"
# Colab's own packages that must not move (its widget display speaks the ipywidgets 7 protocol).
PINNED = ("ipywidgets", "widgetsnbextension", "jupyterlab_widgets", "ipykernel", "ipython", "notebook",
          "tornado", "jupyter_server", "jupyter_client", "pyzmq", "traitlets", "tensorflow", "keras",
          "numpy")
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
RUNTIME = [Requirement(text) for text in PROJECT["dependencies"]]


@pytest.fixture(scope="module")
def colab() -> dict[str, str]:
    if not COLAB.is_file():
        pytest.skip(f"Colab's package list is not at {COLAB}")
    versions = {}
    for line in COLAB.read_text().splitlines():
        name, sep, version = line.strip().partition("==")
        if sep and not line.startswith("#"):
            versions[canonicalize_name(name)] = version
    return versions


def test_colabs_package_list_holds_the_pinned_packages(colab):
    assert colab[canonicalize_name("ipywidgets")].startswith("7.")
    assert all(canonicalize_name(name) in colab for name in PINNED if name != "jupyter_server")


@pytest.mark.parametrize("requirement", RUNTIME, ids=str)
def test_each_runtime_dependency_accepts_what_colab_has(colab, requirement):
    have = colab.get(canonicalize_name(requirement.name))
    if have is not None:
        assert requirement.specifier.contains(have, prereleases=True), (
            f"{requirement} would replace Colab's {requirement.name} {have}")


def test_dependencies_colab_lacks_bring_nothing_that_touches_its_pinned_packages(colab):
    pinned = {canonicalize_name(name) for name in PINNED}
    for requirement in RUNTIME:
        if canonicalize_name(requirement.name) in colab:
            continue
        needs = [Requirement(text) for text in md.requires(requirement.name) or []]
        touching = [str(need) for need in needs if canonicalize_name(need.name) in pinned
                    and not need.marker]
        assert touching == [], f"{requirement.name} needs {touching}"


def test_the_notebook_tools_are_extras_not_runtime_dependencies():
    names = {canonicalize_name(r.name) for r in RUNTIME}
    assert names.isdisjoint({"jupyterlab", "ipykernel", "nbclient", "nbconvert", "nbformat", "notebook"})
    assert Requirement(next(r for r in PROJECT["dependencies"] if r.startswith("ipywidgets"))).specifier.contains("7.7.1")
    lab = [Requirement(text) for text in PROJECT["optional-dependencies"]["lab"]]
    assert any(r.name == "ipywidgets" and not r.specifier.contains("7.7.1") for r in lab)

