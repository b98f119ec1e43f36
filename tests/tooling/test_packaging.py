"""environment.yml (conda, Binder) and pyproject.toml declare the same packages."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli")


def _pyproject_requirements() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    texts = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        texts.extend(extra)
    return {Requirement(text).name.lower(): Requirement(text) for text in texts}


def _environment_requirements() -> dict[str, Requirement]:
    """The pip section of environment.yml (a tiny parser: the file is flat by design)."""
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = lines.index("  - pip:")
    requirements = {}
    for line in lines[start + 1 :]:
        if not line.startswith("      - "):
            break
        requirement = Requirement(line.removeprefix("      - ").strip().strip('"'))
        requirements[requirement.name.lower()] = requirement
    return requirements


def test_environment_yml_and_pyproject_list_the_same_packages_and_ranges() -> None:
    declared = {name: str(req) for name, req in _pyproject_requirements().items()}
    environment = {name: str(req) for name, req in _environment_requirements().items()}
    assert environment == declared


def test_environment_yml_has_no_local_references() -> None:
    text = (ROOT / "environment.yml").read_text()
    assert "-e ." not in text and "file:" not in text and "./" not in text


def test_postbuild_installs_the_package_without_dependencies() -> None:
    text = (ROOT / "postBuild").read_text()
    assert "set -e" in text and "pip install --no-deps -e ." in text
