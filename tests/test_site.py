"""The course's static site (site/build.py): the home page lists the notebooks with their Binder
links, each notebook page holds its figures and its widgets' final state, and no page loads code
from another site. Built for one fast notebook (tests/site_build.py); tests/test_browser.py opens
it in a real browser."""

import json
import re

import pytest
from site_build import NOTEBOOK, ROOT, builder, built_site


@pytest.fixture(scope="module")
def site():
    return built_site()


def _page(site):
    (page,) = (site / builder.LEARN).glob(f"{NOTEBOOK}_*.html")
    return page, page.read_text(encoding="utf-8")


def test_the_home_page_lists_the_notebook_with_what_you_do_and_its_binder_link(site):
    home = (site / "index.html").read_text(encoding="utf-8")
    page, _ = _page(site)
    name = page.stem + ".ipynb"
    assert f'href="learn/{page.name}"' in home
    readme_row = builder.what_you_do()[name]
    assert readme_row.split(";")[0] in home  # the README's "what you do", first clause
    owner_repo, branch, _ = builder.binder()
    # Binder opens the learner's copy (learn/), exercises before their answers.
    assert f"https://mybinder.org/v2/gh/{owner_repo}/{branch}?urlpath=lab/tree/learn/{name}" in home


def test_a_notebook_page_has_its_figures_its_outputs_and_its_widgets_final_state(site):
    page, html = _page(site)
    images = re.findall(r'<img[^>]+src="\.\./(_images/[^"]+\.png)"', html)
    assert len(images) >= 2 and all((site / image).stat().st_size > 1000 for image in images)
    state = json.loads(re.search(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>',
                                 html, re.S)[1])["state"]
    bars = [m["state"] for m in state.values() if m["model_name"] == "FloatProgressModel"]
    assert bars, "no progress bar's state was stored"
    assert all(bar["value"] == bar["max"] > 0 for bar in bars), bars  # finished, not 0 %
    views = re.findall(r'<script type="application/vnd.jupyter.widget-view\+json">(.*?)</script>', html, re.S)
    assert views and all(json.loads(v)["model_id"] in state for v in views)


def test_pages_link_home_and_load_nothing_from_other_sites(site):
    page, html = _page(site)
    # Previous/next: the home page leads to the first notebook, which leads back home.
    assert re.search(r'<a class="left-prev"\s+href="\.\./index\.html"', html)
    home = (site / "index.html").read_text(encoding="utf-8")
    assert re.search(rf'<a class="right-next"\s+href="learn/{page.name}"', home)
    for path in (site / "index.html", page):
        text = path.read_text(encoding="utf-8")
        scripts = re.findall(r'<script[^>]+src="([^"]+)"', text)
        styles = re.findall(r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', text)
        assert scripts and styles
        assert not [url for url in scripts + styles if re.match(r"(https?:)?//", url)], path.name
    assert "vendor/html-manager/embed.js" in html
    assert (site / "_static" / "vendor" / "html-manager" / "embed.js").stat().st_size > 1_000_000


def test_each_solution_is_folded_away_and_the_badge_is_the_sites_own(site):
    page, html = _page(site)
    import nbformat

    source = nbformat.read(next((ROOT / "notebooks").glob(f"{NOTEBOOK}_*.ipynb")), as_version=4)
    solutions = [c for c in source.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert solutions and html.count("Show the solution") == len(solutions)
    assert builder.BADGE not in html and re.search(r'<img[^>]+src="\.\./_images/binder-badge\.svg"', html)


def test_the_readme_table_and_badge_are_read():
    rows = builder.what_you_do()
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert sorted(rows) == notebooks and all(rows.values())
    owner_repo, branch, url = builder.binder()
    assert re.fullmatch(r"[\w.-]+/[\w.-]+", owner_repo) and branch and url.endswith("/learn/")


def _fake_npm_pack(monkeypatch, tmp_path):
    """`npm pack` answered by a tarball made here: a package.json and a file."""
    import base64
    import hashlib
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in (("package/package.json", b"{}"), ("package/dist/embed.js", b"// js")):
            info = tarfile.TarInfo(name)
            info.size = len(text)
            archive.addfile(info, io.BytesIO(text))
    tarball = buffer.getvalue()

    def pack(command, **kwargs):
        assert command[:2] == ["npm", "pack"]
        destination = command[command.index("--pack-destination") + 1]
        (builder.Path(destination) / "fake-1.0.0.tgz").write_bytes(tarball)

    monkeypatch.setattr(builder, "CACHE", tmp_path / "cache")
    monkeypatch.setattr(builder.shutil, "which", lambda name: "/usr/bin/npm")
    monkeypatch.setattr(builder.subprocess, "run", pack)
    return "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()


def test_npm_packages_are_used_only_with_their_pinned_digest(monkeypatch, tmp_path):
    digest = _fake_npm_pack(monkeypatch, tmp_path)
    with pytest.raises(SystemExit, match=r"fake@1.0.0: the tarball's digest is sha512-.*not the pinned sha512-AAAA.*"
                                         r"refusing to use it"):
        builder.npm_package("fake", "1.0.0", "sha512-AAAA")
    assert not (tmp_path / "cache" / "fake-1.0.0").exists()
    package = builder.npm_package("fake", "1.0.0", digest)
    assert (package / "dist" / "embed.js").read_text() == "// js"
    monkeypatch.setattr(builder.subprocess, "run", lambda *a, **k: pytest.fail("fetched twice"))
    assert builder.npm_package("fake", "1.0.0", digest) == package  # kept in the cache


def test_a_notebooks_title_is_its_first_heading_without_its_number():
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("[![Binder](x.svg)](y)"),
                nbformat.v4.new_markdown_cell("# 03 · Loss functions\n\nText.")]
    assert builder.title(nb, builder.Path("03_losses.ipynb")) == "Loss functions"
    nb.cells = []
    assert builder.title(nb, builder.Path("03_losses.ipynb")) == "03_losses"


def test_a_page_shows_the_solution_without_nbgraders_markers_and_hidden_tests():
    source = ("def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n"
              "result = check(f)\n### BEGIN HIDDEN TESTS\nassert result.passed\n### END HIDDEN TESTS\nprint(result)")
    assert builder.for_reading(source) == "def f(x):\n    return 2 * x\nresult = check(f)\nprint(result)"


def test_the_chinese_site_mirrors_the_english_one_page_for_page(site):
    zh = site / "zh"
    home = (zh / "index.html").read_text(encoding="utf-8")
    (page,) = (zh / "learn-zh").glob(f"{NOTEBOOK}_*.html")
    html = page.read_text(encoding="utf-8")
    assert re.search(r"[\u4e00-\u9fff]", home) and '<html lang="zh' in home  # the theme's words too
    assert f'href="learn-zh/{page.name}"' in home
    owner_repo, branch, _ = builder.binder()
    # Binder opens the Chinese learner's copy, exercises before their answers.
    assert f"https://mybinder.org/v2/gh/{owner_repo}/{branch}?urlpath=lab/tree/learn-zh/{page.stem}.ipynb" in home
    # Each page links to its twin in the other language, and the home pages to each other.
    assert f'href="../../learn/{page.name}"' in html
    english = (site / "learn" / page.name).read_text(encoding="utf-8")
    assert f'href="../zh/learn-zh/{page.name}"' in english
    assert 'href="zh/index.html"' in (site / "index.html").read_text(encoding="utf-8")
    assert 'href="../index.html"' in home
    images = re.findall(r'<img[^>]+src="\.\./(_images/[^"]+\.png)"', html)
    assert len(images) >= 2 and all((zh / image).stat().st_size > 1000 for image in images)
