"""The three environments (pip, conda, Binder) provide every module the course imports.

Imports are read from the source (ganlib's modules and the notebooks' code cells), mapped
to the distributions that provide them in this environment, and looked up in pyproject.toml,
constraints.txt, environment.yml and binder/environment.yml, so none can drift from the code.
"""

import ast
import importlib.metadata
import json
import re
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names that differ from the PyPI distribution's name.
CONDA_NAMES = {"torch": "pytorch"}


def _top_level_imports(source: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def _code_cells(notebook: Path) -> str:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    lines = []
    for cell in cells:
        if cell["cell_type"] == "code":
            # IPython magics (%matplotlib, !pip) are not Python; skip those lines.
            src = "".join(cell["source"])
            lines += [line for line in src.splitlines() if not line.lstrip().startswith(("%", "!"))]
    return "\n".join(lines)


def _third_party(modules: set[str]) -> set[str]:
    return {m for m in modules if m not in sys.stdlib_module_names and m not in {"ganlib", "__future__"}}


def _distributions(modules: set[str]) -> set[str]:
    provided = importlib.metadata.packages_distributions()
    missing = sorted(m for m in modules if m not in provided)
    assert not missing, f"modules imported but installed by no distribution here: {missing}"
    return {_normalise(provided[m][0]) for m in modules}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(spec: str) -> str:
    return _normalise(re.split(r"[<>=!~;\[ ]", spec.strip(), maxsplit=1)[0])


LIBRARY = _third_party(set().union(*(_top_level_imports(p.read_text()) for p in (ROOT / "ganlib").glob("*.py"))))
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
COURSE = LIBRARY | _third_party(set().union(set(), *(_top_level_imports(_code_cells(nb)) for nb in NOTEBOOKS)))
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_sources_were_read():
    assert {"torch", "torchvision", "matplotlib", "tqdm", "sklearn"} <= LIBRARY
    assert NOTEBOOKS, "no notebooks found"


def test_pip_dependencies_cover_ganlib_and_the_notebooks():
    core = {_requirement_name(r) for r in PYPROJECT["dependencies"]}
    lab = core | {_requirement_name(r) for r in PYPROJECT["optional-dependencies"]["lab"]}
    assert _distributions(LIBRARY) <= core, (
        f"ganlib imports what pyproject's dependencies lack: {sorted(_distributions(LIBRARY) - core)}"
    )
    assert _distributions(COURSE) <= lab, (
        f"notebooks import what the lab install lacks: {sorted(_distributions(COURSE) - lab)}"
    )


def test_constraints_pin_every_package_exactly():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not pinned with =="
            pins[_normalise(name)] = version
    wanted = _distributions(COURSE) | {
        _requirement_name(r) for extra in PYPROJECT["optional-dependencies"].values() for r in extra
    }
    assert wanted <= set(pins), f"not pinned: {sorted(wanted - set(pins))}"
    assert (pins["torch"], pins["torchvision"]) == ("2.14.1", "0.29.1")


@pytest.mark.parametrize("path", ["environment.yml", "binder/environment.yml"])
def test_conda_environments_cover_ganlib_and_the_notebooks(path):
    spec = yaml.safe_load((ROOT / path).read_text())
    assert spec["channels"] == ["conda-forge"]
    names = {_normalise(re.split(r"[=<> []", d, maxsplit=1)[0]) for d in spec["dependencies"] if isinstance(d, str)}
    needed = {CONDA_NAMES.get(d, d) for d in _distributions(COURSE)} | {"jupyterlab", "ipykernel", "nbval", "pytest"}
    assert needed <= names, f"{path} lacks {sorted(needed - names)}"


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[_normalise(name)] = version
    return pins


# conda-forge skips some of their patch releases and publishes new series late: these allow
# constraints.txt's minor series or the one before, CPU builds.
SERIES_ONLY = {"pytorch", "torchvision"}
SERIES_SPEC = re.compile(r"(?P<name>[a-z]+)\[version='>=(?P<low>[\d.]+),<(?P<high>[\d.]+)', build='cpu\*'\]")


@pytest.mark.parametrize("path", ["environment.yml", "binder/environment.yml"])
def test_conda_pins_are_the_versions_the_tests_ran(path):
    pins = _pins()
    pip_names = {conda: pip for pip, conda in CONDA_NAMES.items()}
    checked = set()
    for dependency in yaml.safe_load((ROOT / path).read_text())["dependencies"]:
        series = SERIES_SPEC.fullmatch(dependency)
        if series:
            name = series["name"]
            major, minor = (int(v) for v in pins[_normalise(pip_names.get(name, name))].split(".")[:2])
            assert name in SERIES_ONLY and (series["low"], series["high"]) == (f"{major}.{minor - 1}",
                                                                               f"{major}.{minor + 1}"), (
                f"{path}: {dependency!r} should allow {major}.{minor - 1} or {major}.{minor}, CPU builds")
            checked.add(name)
            continue
        name, _, rest = dependency.partition("=")
        if name in ("python", "pip"):
            continue
        version, _, build = rest.partition("=")
        pinned = pins[_normalise(pip_names.get(name, name))]
        assert name not in SERIES_ONLY, f"{path}: {dependency!r} should allow two minor series (see SERIES_SPEC)"
        assert version == pinned and not build, (
            f"{path}: {dependency!r} should be {name}={pinned}, the version constraints.txt pins")
        checked.add(name)
    assert {"pytorch", "torchvision", "numpy", "jupyterlab", "ipywidgets"} <= checked


def test_binder_matches_the_conda_environment_and_installs_ganlib():
    assert (ROOT / "binder/environment.yml").read_text() == (ROOT / "environment.yml").read_text()
    post_build = (ROOT / "binder/postBuild").read_text()
    assert post_build.startswith("#!") and "set -e" in post_build.splitlines()[1:3]
    assert re.search(r"pip install .*-e \.", post_build)
    assert "ipykernel install --sys-prefix --name gan-course" in post_build


def test_every_ganlib_package_is_listed_for_a_non_editable_install():
    # setuptools installs only the packages named in pyproject: a subpackage missing there works
    # in the editable install and is absent from a wheel.
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "ganlib").rglob("__init__.py")}
    assert "ganlib.exercises" in found and listed == found
