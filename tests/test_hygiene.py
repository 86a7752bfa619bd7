"""Standing rules of the repository: stripped notebooks, consistent badges, clean lint."""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# The learner's copy of each notebook (learn/), in the repository pyproject.toml names (tests/test_links.py).
_REPOSITORY = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["gan-course"]
BINDER = f"https://mybinder.org/v2/gh/{_REPOSITORY['repository']}/{_REPOSITORY['branch']}?urlpath=lab/tree/learn/"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(notebook):
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    dirty = [i for i, c in enumerate(cells) if c["cell_type"] == "code" and (c["outputs"] or c["execution_count"])]
    assert not dirty, f"{notebook.name}: cells {dirty} hold outputs; clear them before committing"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_numbered_titled_and_has_its_own_binder_badge(notebook):
    assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", notebook.name)
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    first = "".join(nb["cells"][0]["source"])
    assert first.startswith(f"# {notebook.name[:2]} · ")
    assert BINDER + notebook.name + ")" in first
    assert nb["metadata"]["kernelspec"]["name"] == "gan-course"


@pytest.mark.parametrize("name", ["README.md", "README.zh-CN.md"])
def test_readme_lists_every_notebook_with_the_same_binder_base(name):
    readme = (ROOT / name).read_text(encoding="utf-8")
    for notebook in NOTEBOOKS:
        assert f"notebooks/{notebook.name})" in readme, f"{name} does not list {notebook.name}"
    assert BINDER.split("?")[0] in readme


def test_ruff_finds_nothing():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "ganlib", "tests", "notebooks", "benchmarks",
         "course.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_importing_ganlib_loads_no_heavy_module():
    code = "import sys, ganlib; print(sorted(m for m in ('torch', 'matplotlib', 'torchvision') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
