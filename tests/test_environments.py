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
CONDA_NAMES = {"torch": "pytorch", "matplotlib": "matplotlib-base"}


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


def _conda_specs(path: str) -> list[str]:
    return [d for d in yaml.safe_load((ROOT / path).read_text())["dependencies"] if isinstance(d, str)]


def _conda_name(spec: str) -> str:
    return _normalise(re.split(r"[=<> \[]", spec, maxsplit=1)[0])


# The test tools: in the root environment.yml (for conda users who run the notebooks as tests),
# never on Binder, where learners only work through the course.
TEST_TOOLS = {"nbval", "pytest", "ruff", "pyyaml"}


@pytest.mark.parametrize("path", ["environment.yml", "binder/environment.yml"])
def test_conda_environments_cover_ganlib_and_the_notebooks(path):
    spec = yaml.safe_load((ROOT / path).read_text())
    assert spec["channels"] == ["conda-forge"]
    names = {_conda_name(d) for d in _conda_specs(path)}
    needed = {CONDA_NAMES.get(d, d) for d in _distributions(COURSE)} | {"jupyterlab", "ipykernel"}
    assert needed <= names, f"{path} lacks {sorted(needed - names)}"
    assert "matplotlib" not in names  # conda-forge's matplotlib pulls in Qt; matplotlib-base does not
    if path.startswith("binder"):
        assert not names & TEST_TOOLS, f"{path} installs test tools a learner does not need: {names & TEST_TOOLS}"
    else:
        assert TEST_TOOLS <= names


def test_the_root_environment_is_binders_plus_the_test_tools():
    binder, root = _conda_specs("binder/environment.yml"), _conda_specs("environment.yml")
    assert [s for s in root if _conda_name(s) not in TEST_TOOLS] == binder


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[_normalise(name)] = version
    return pins


# Releases seen on conda-forge on 2026-12-07 (its feedstocks, and for those marked "newest seen",
# the newest in the snapshots available then): each range must admit it, so its lower bound is a
# release that exists. repo2docker's base environment (jupyterlab 4.4.9, notebook 7.4.7, which pins
# jupyterlab to 4.4) must stay a solution too.
ON_CONDA_FORGE = {
    "pytorch": "2.13.0", "torchvision": "0.28.0", "numpy": "2.4.6", "scipy": "1.17.1",
    "scikit-image": "0.26.0", "nbval": "0.11.0", "pyyaml": "6.0.3", "matplotlib-base": "3.11.2",
    "scikit-learn": "1.9.1", "tqdm": "4.70.1", "babel": "2.18.0",
    # newest seen
    "ipywidgets": "8.1.8", "jupyterlab": "4.6.0", "ipykernel": "7.3.0", "ipython": "9.13.0",
    "pytest": "9.1.1", "ruff": "0.16.2",
}
REPO2DOCKER_BASE = {"jupyterlab": "4.4.9"}
PIP_NAMES = {"pytorch": "torch", "matplotlib-base": "matplotlib"}


def _next_minor(version: str) -> str:
    major, minor = version.split(".")[:2]
    return f"{major}.{int(minor) + 1}.0"


@pytest.mark.parametrize("path", ["environment.yml", "binder/environment.yml"])
def test_each_conda_range_admits_what_pip_installs_and_what_conda_forge_has(path, capsys):
    """Every line parsed as conda parses it (py-rattler's MatchSpec); its range holds the version pip
    installs (constraints.txt) and the release found on conda-forge, and stops before the next
    minor series after the pip-tested one."""
    rattler = pytest.importorskip("rattler", reason="py-rattler (the test extra) parses conda's specs")
    pins, rows = _pins(), []
    for line in _conda_specs(path):
        spec = rattler.MatchSpec(line)
        name = spec.name.normalized
        if name in ("python", "pip"):  # not pip-installed; python 3.12 has conda-forge's PyTorch builds
            continue
        versions = rattler.VersionSpec(str(spec.version))
        pip = pins[_normalise(PIP_NAMES.get(name, name))]
        seen = ON_CONDA_FORGE[name]
        assert versions.matches(rattler.Version(pip)), f"{path}: {line!r} excludes {pip}, what pip installs"
        assert versions.matches(rattler.Version(seen)), f"{path}: {line!r} excludes {seen}, found on conda-forge"
        assert not versions.matches(rattler.Version(_next_minor(pip))), (
            f"{path}: {line!r} admits {_next_minor(pip)}, a series nobody has run the course on")
        if name in REPO2DOCKER_BASE:
            assert versions.matches(rattler.Version(REPO2DOCKER_BASE[name])), f"{line!r} excludes repo2docker's base"
        rows.append(f"  {line:50s} pip {pip:8s} conda-forge {seen:8s} next series {_next_minor(pip)}: excluded")
    assert {"pytorch", "torchvision", "numpy", "jupyterlab", "ipywidgets"} <= {r.split()[0].split("[")[0]
                                                                                 for r in rows}
    with capsys.disabled():
        print(f"\n{path}: every range admits pip's version and conda-forge's release\n" + "\n".join(rows))


def test_cpu_builds_of_pytorch_and_torchvision():
    rattler = pytest.importorskip("rattler", reason="py-rattler (the test extra) parses conda's specs")
    for path in ("environment.yml", "binder/environment.yml"):
        builds = {rattler.MatchSpec(s).name.normalized: str(rattler.MatchSpec(s).build)
                  for s in _conda_specs(path) if _conda_name(s) in ("pytorch", "torchvision")}
        assert builds == {"pytorch": "cpu*", "torchvision": "cpu*"}, (path, builds)


def test_binder_installs_ganlib_and_writes_the_learners_copies():
    post_build = (ROOT / "binder/postBuild").read_text()
    assert post_build.startswith("#!") and "set -e" in post_build.splitlines()[1:3]
    assert re.search(r"pip install .*-e \.", post_build)
    assert "ipykernel install --sys-prefix --name gan-course" in post_build
    assert "python course.py learn" in post_build


def test_every_ganlib_package_is_listed_for_a_non_editable_install():
    # setuptools installs only the packages named in pyproject: a subpackage missing there works
    # in the editable install and is absent from a wheel.
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "ganlib").rglob("__init__.py")}
    assert "ganlib.exercises" in found and listed == found
