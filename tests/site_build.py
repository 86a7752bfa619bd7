"""One build of the course's site for the tests (tests/test_site.py, tests/test_browser.py): a single
fast notebook, since building all of them takes minutes (`python3 course.py site` does that).
Built once per test session, in a temporary folder."""

from __future__ import annotations

import atexit
import functools
import importlib.util
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "00"  # a fast one, with figures and training progress bars
SPEC = importlib.util.spec_from_file_location("site_builder", ROOT / "site" / "build.py")
builder = importlib.util.module_from_spec(SPEC)
sys.modules[SPEC.name] = builder
SPEC.loader.exec_module(builder)


def npm_ready() -> bool:
    cached = all((builder.CACHE / f"{name.replace('/', '+')}-{version}" / "package").exists()
                 for name, (version, _, _) in builder.NPM.items())
    return cached or shutil.which("npm") is not None


@functools.cache
def _build() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="gan-course-site-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    out = folder / "site"
    assert builder.main([NOTEBOOK, "--out", str(out)]) == 0, "the site's build failed (see its output above)"
    return out


def built_site() -> Path:
    """The site with notebook NOTEBOOK only; skips, saying why, where npm cannot fetch its JavaScript."""
    if not npm_ready():
        pytest.skip("no npm on this machine to fetch the site's JavaScript (Debian: apt-get install npm)")
    return _build()
