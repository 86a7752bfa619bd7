"""The repository is named in one place (pyproject.toml's [tool.gan-course]); every Binder badge and
repository link agrees with it, and `python3 course.py relink` moves them all and back."""

import importlib.util
import json
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _course(root: Path):
    spec = importlib.util.spec_from_file_location("course_for_links", ROOT / "course.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.ROOT, module.NOTEBOOKS = root, root / "notebooks"
    return module


course = _course(ROOT)
REPO, BRANCH = course.repository()
ANY_BINDER = re.compile(r"https://mybinder\.org/v2/gh/[^)\s\"'>]+")


def test_the_repository_is_set_once():
    assert re.fullmatch(r"[\w.-]+/[\w.-]+", REPO) and re.fullmatch(r"[\w.-]+", BRANCH)
    names = {p.name for p in course.linked_files()}
    assert {"README.md", "INSTRUCTORS.md", "00_introduction.ipynb"} <= names


def test_every_binder_link_names_the_repository_and_branch_set_there():
    for path in course.linked_files():
        for url in ANY_BINDER.findall(path.read_text(encoding="utf-8")):
            assert url.startswith(f"https://mybinder.org/v2/gh/{REPO}/{BRANCH}?urlpath=lab/tree/"), (path.name, url)


def test_each_notebooks_badge_opens_the_learners_copy_of_that_notebook():
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        title = "".join(json.loads(path.read_text(encoding="utf-8"))["cells"][0]["source"])
        assert f"({course.binder_url('learn/' + path.name)})" in title, path.name
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert course.binder_url("learn/00_introduction.ipynb") in readme


@pytest.fixture
def published_copy(tmp_path):
    """The files that name the repository, copied, with a course.py that works on the copy."""
    for path in course.linked_files() + [ROOT / "pyproject.toml"]:
        target = tmp_path / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return _course(tmp_path)


def _texts(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in root.rglob("*") if p.is_file()}


def test_relink_moves_every_link_and_back_again(published_copy, capsys):
    root = published_copy.ROOT
    before = _texts(root)
    assert published_copy.main(["relink", "someone-else/my-gan-course", "teaching"]) == 0
    assert "now points at someone-else/my-gan-course (teaching)" in capsys.readouterr().out
    assert published_copy.repository() == ("someone-else/my-gan-course", "teaching")
    moved = _texts(root)
    everything = "\n".join(moved.values())
    assert f"gh/{REPO}/" not in everything and f"github.com/{REPO}" not in everything
    links = ANY_BINDER.findall(everything)
    assert len(links) == len(ANY_BINDER.findall("\n".join(before.values())))
    assert all(u.startswith("https://mybinder.org/v2/gh/someone-else/my-gan-course/teaching?urlpath=") for u in links)
    assert published_copy.main(["relink", REPO, BRANCH]) == 0
    assert _texts(root) == before  # byte for byte


@pytest.mark.parametrize("argv", [[], ["not a repo"], ["a/b", "bad branch"], ["a/b", "c", "d"]])
def test_relink_refuses_what_is_not_a_repository_and_changes_nothing(published_copy, argv, capsys):
    before = _texts(published_copy.ROOT)
    assert published_copy.main(["relink", *argv]) == 2
    assert "relink:" in capsys.readouterr().out
    assert _texts(published_copy.ROOT) == before
