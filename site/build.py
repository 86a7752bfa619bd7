"""Build the course as a static site, in English and in Chinese: every notebook executed,
rendered by Sphinx with MyST-NB.

    python3 course.py site            # all notebooks, both languages, into build/site/ (and build/site/zh/)
    python3 course.py site 00 01      # only these notebooks (a quick look, or the tests)
    python3 course.py site --lang en  # one language only (each takes as long as the notebooks run)

Each notebook runs top to bottom in a fresh kernel (nbclient, as `jupyter nbconvert --execute`
does), from notebooks/ so its relative paths hold, and its widgets' final state is stored with it;
the Chinese site runs the Chinese notebooks (ganlib.translation: the same code, the markdown from
locale/zh/) in a kernel with GANLIB_LANG=zh. The executed copies, a home page, this folder's conf.py
and the JavaScript the pages need go into build/site-src/<lang>/; Sphinx turns that into
build/site/ (English) and build/site/zh/ (Chinese, the theme's own words in Chinese too).
The home page lists the notebooks in order: number, title, what you do (the README's column, or
README.zh-CN.md's) and its Binder link. Pages live under learn/ (learn-zh/), as the learner's copies
do, so a page's Binder link and launch button open the learner's copy (exercises with stubs); on
the page itself each solution is folded away behind a button. Each page, and the home page, links
to its twin in the other language. The repository the links name is pyproject.toml's
[tool.gan-course]; the Binder badge is served from the site (site/binder-badge.svg).
The JavaScript (the widgets' HTML manager, MathJax) comes from the npm registry at pinned versions,
checked against their published digests and kept in build/site-cache/, so a page needs no network
when it is viewed. Needs npm (Node.js) the first time.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import course  # noqa: E402  (the repository's settings and the learner's copies: one place for both)

SITE = ROOT / "site"
NOTEBOOKS = ROOT / "notebooks"
LEARN = "learn"  # pages live where the learner's copies do, so each page's Binder button opens that copy
BADGE = "https://mybinder.org/badge_logo.svg"  # the badge in each notebook; the site serves its own copy
CACHE = ROOT / "build" / "site-cache"  # the npm packages, fetched once
OUT = ROOT / "build" / "site"  # the site; its sources are staged beside it, in <out>-src
TIMEOUT = 900  # seconds a cell may run

# JavaScript from the npm registry: name -> (version, the registry's sha512 integrity of its tarball,
# what to copy from the package into _static/vendor/: (path in the package, folder there)).
NPM = {
    "@jupyter-widgets/html-manager": (  # for ipywidgets 8: draws the stored widget state, fonts beside it
        "1.0.15",
        "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
        [("dist", "html-manager")],
    ),
    "mathjax": (  # TeX to HTML, with its fonts and the TeX extensions it loads on demand
        "3.2.2",
        "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
        [("es5/tex-chtml.js", "mathjax"), ("es5/output/chtml/fonts/woff-v2", "mathjax/output/chtml/fonts/woff-v2"),
         ("es5/input/tex/extensions", "mathjax/input/tex/extensions"), ("LICENSE", "mathjax")],
    ),
}
# Not needed beside embed.js: source maps and the RequireJS builds.
SKIP = shutil.ignore_patterns("*.map", "embed-amd.js", "libembed-amd.js")


def say(message: str) -> None:
    print(f"[site] {message}", flush=True)


def npm_package(name: str, version: str, integrity: str) -> Path:
    """The unpacked package (build/site-cache/<name>-<version>/package), fetched with `npm pack` once."""
    folder = CACHE / f"{name.replace('/', '+')}-{version}"
    if (folder / "package" / "package.json").exists():
        return folder / "package"
    if shutil.which("npm") is None:
        raise SystemExit("[site] npm is needed once, to fetch the pages' JavaScript from the npm registry "
                         "(Debian: apt-get install npm); then it is kept in build/site-cache/.")
    with tempfile.TemporaryDirectory() as scratch:
        say(f"fetching {name}@{version} from the npm registry ...")
        subprocess.run(["npm", "pack", f"{name}@{version}", "--silent", "--pack-destination", scratch],
                       check=True, stdout=subprocess.DEVNULL)
        (tarball,) = Path(scratch).glob("*.tgz")
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        if digest != integrity:
            raise SystemExit(f"[site] {name}@{version}: the tarball's digest is {digest}, not the pinned {integrity}; "
                             "refusing to use it.")
        # Unpacked beside the cache, then renamed into place: a second build running at the same
        # time (the tests' two workers) sees either no package or all of it.
        CACHE.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=CACHE, prefix=".unpacking-"))
        with tarfile.open(tarball) as archive:
            archive.extractall(staging, filter="data")
        try:
            staging.rename(folder)
        except OSError:  # the other build got there first with the same verified package
            shutil.rmtree(staging, ignore_errors=True)
    return folder / "package"


def vendor(static: Path) -> None:
    for name, (version, integrity, parts) in NPM.items():
        package = npm_package(name, version, integrity)
        for source, target in parts:
            source, target = package / source, static / "vendor" / target
            if source.is_dir():
                shutil.copytree(source, target, dirs_exist_ok=True, ignore=SKIP)
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / source.name)


def binder() -> tuple[str, str, str]:
    """(owner/name, branch, the Binder URL before a learner's notebook's name), from pyproject.toml."""
    repo, branch = course.repository()
    return repo, branch, course.binder_url(f"{LEARN}/")


def what_you_do(readme: Path | None = None) -> dict[str, str]:
    """Notebook file name -> the README table's 'what you do' cell (README.zh-CN.md's for Chinese)."""
    found = {}
    for line in (readme or ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        link = re.search(r"\(notebooks/(\d\d_\w+\.ipynb)\)", line)
        if link and len(cells) >= 4 and re.fullmatch(r"\d\d", cells[0]):
            found[link[1]] = cells[-1]
    return found


def title(nb: nbformat.NotebookNode, path: Path) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            heading = re.search(r"^#\s+(.+)$", cell.source, re.M)
            if heading:
                return re.sub(r"^\d\d\s*[·:.-]\s*", "", heading[1]).strip()
    return path.stem


def for_the_page(nb: nbformat.NotebookNode, lang: str = "en", twin: str | None = None) -> nbformat.NotebookNode:
    """The executed notebook as its page shows it: each solution folded away behind a button
    (one deliberate click), the Binder badge drawn from the site's own copy, and a link to the
    same page in the other language (``twin``)."""
    show, hide = (text(t, lang) for t in ("Show the solution", "Hide the solution"))
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader"):
            cell.source = for_reading(cell.source)
        if cell.metadata.get("nbgrader", {}).get("solution"):
            tags = cell.metadata.setdefault("tags", [])
            if "hide-input" not in tags:
                tags.append("hide-input")
            cell.metadata["mystnb"] = {"code_prompt_show": show, "code_prompt_hide": hide}
        if cell.cell_type == "markdown" and BADGE in cell.source:
            cell.source = cell.source.replace(BADGE, "../_static/binder-badge.svg")
    if twin:
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(twin_link(twin, lang)))
    return nb


def text(english: str, lang: str) -> str:
    """One of the site's own sentences (TRANSLATED below) in ``lang``, from locale/<lang>/course.po."""
    if lang == "en":
        return english
    from ganlib import translation

    return translation.gettext(english, lang)


def twin_link(href: str, lang: str) -> str:
    """The link at the top of a page to the same page in the other language."""
    label = "English" if lang != "en" else "中文"
    return f'<p class="language-twin"><a href="{href}" hreflang="{"en" if lang != "en" else "zh"}">{label}</a></p>'


# Each language's site: where it goes under the output folder, where its pages live (the
# learner's copies' folder, so each page's Binder button opens that copy) and Sphinx's language.
SITES = {"en": {"under": "", "learn": "learn", "sphinx": "en", "readme": "README.md",
                "command": "python3 course.py lab"},
         "zh": {"under": "zh", "learn": "learn-zh", "sphinx": "zh_CN", "readme": "README.zh-CN.md",
                "command": "python3 course.py lab --lang zh"}}


def for_reading(source: str) -> str:
    """A graded cell's source without what only nbgrader reads: the solution markers and the hidden tests."""
    lines, hidden = [], False
    for line in source.split("\n"):
        marker = line.strip()
        if marker in ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"):
            hidden = marker.startswith("### BEGIN")
        elif not hidden and marker not in ("### BEGIN SOLUTION", "### END SOLUTION"):
            lines.append(line)
    return "\n".join(lines)


def execute(path: Path, lang: str = "en") -> tuple[nbformat.NotebookNode, float]:
    """The source notebook at ``path``, in ``lang``, executed top to bottom in a fresh kernel that
    speaks that language (GANLIB_LANG), from notebooks/ so relative paths hold."""
    nb = nbformat.reads(json.dumps(course.source_notebook(path, lang)), as_version=4)
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=TIMEOUT, store_widget_state=True, kernel_name="gan-course",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute(env={**os.environ, "GANLIB_LANG": lang})
    return nb, time.perf_counter() - start


HOME_TITLE = "Generative Adversarial Networks: a hands-on course"
HOME_INTRO = (
    "Numbered notebooks that teach GANs, from the minimax objective to applications and the hard\n"
    "questions (mode collapse, evaluation, stability). Each page here is its notebook **executed top\n"
    "to bottom**: figures, printed results and the widgets' final state, as a learner sees them after\n"
    "*Run All*; each exercise's solution is folded away until you ask for it. The widgets are drawn as\n"
    "they were left, without a kernel behind them; to use them, or to change and rerun anything, open\n"
    "the notebook on Binder (its link below, or the rocket at the top of each page), where each\n"
    "exercise waits for your answer, or on your own machine (`{command}`, see the\n"
    "[repository](https://github.com/{repository}))."
)
HOME_COLUMNS = "| # | notebook | what you do | run it |"
# The site's own sentences, translated in locale/<lang>/course.po (python -m ganlib.translation update).
TRANSLATED = (HOME_TITLE, HOME_INTRO, HOME_COLUMNS, "Show the solution", "Hide the solution")


def home_page(rows: list[tuple[str, str, str, str]], owner_repo: str, lang: str = "en") -> str:
    folder = SITES[lang]["learn"]
    table = [text(HOME_COLUMNS, lang), "|---|---|---|---|"]
    table += [f"| {name[:2]} | [{heading}]({folder}/{name}) | {doing} | [Binder]({url}) |"
              for name, heading, doing, url in rows]
    toctree = "\n".join(f"{folder}/{name[:-len('.ipynb')]}" for name, _, _, _ in rows)
    twin = twin_link("zh/index.html" if lang == "en" else "../index.html", lang)
    return f"""# {text(HOME_TITLE, lang)}

{twin}

{text(HOME_INTRO, lang).format(repository=owner_repo, command=SITES[lang]["command"])}

{chr(10).join(table)}

```{{toctree}}
:hidden:
:maxdepth: 1

{toctree}
```
"""


def build(lang: str, paths: list[Path], out: Path, staging: Path) -> int:
    """One language's site into ``out``: its notebooks executed in that language, then Sphinx
    (its sources staged in ``staging``)."""
    site = SITES[lang]
    owner_repo, branch = course.repository()
    doing = what_you_do(ROOT / site["readme"])
    if staging.exists():
        shutil.rmtree(staging)
    (staging / site["learn"]).mkdir(parents=True)
    vendor(staging / "_static")
    shutil.copy2(SITE / "binder-badge.svg", staging / "_static" / "binder-badge.svg")
    other = "zh" if lang == "en" else "en"
    rows = []
    for path in paths:
        say(f"executing {path.name} ({lang}) ...")
        nb, seconds = execute(path, lang)
        say(f"  {path.name}: {seconds:.1f} s")
        twin = (f"../zh/{SITES['zh']['learn']}/" if lang == "en" else f"../../{SITES['en']['learn']}/") + \
            path.stem + ".html"
        nbformat.write(for_the_page(nb, lang, twin if other in SITES else None), staging / site["learn"] / path.name)
        rows.append((path.name, title(nb, path), doing.get(path.name, ""),
                     course.binder_url(f"{site['learn']}/{path.name}")))
    (staging / "index.md").write_text(home_page(rows, owner_repo, lang), encoding="utf-8")
    shutil.copy2(SITE / "conf.py", staging / "conf.py")
    (staging / "settings.json").write_text(json.dumps({"repository": owner_repo, "branch": branch,
                                                       "language": site["sphinx"]}))
    say(f"rendering {len(rows)} notebook{'s' * (len(rows) != 1)} ({lang}) with Sphinx into {out} ...")
    if out.exists():
        shutil.rmtree(out)
    from sphinx.cmd.build import build_main

    return build_main(["-b", "html", "-q", "-E", "-d", str(staging / ".doctrees"), str(staging), str(out)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", metavar="NN", help="only these notebooks, by number")
    parser.add_argument("--out", type=Path, default=OUT, help=f"where the site goes (default {OUT})")
    parser.add_argument("--lang", choices=["all", *SITES], default="all",
                        help="the English site, the Chinese one (under zh/), or both (the default)")
    args = parser.parse_args(argv)
    paths = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if args.notebooks:
        unknown = set(args.notebooks) - {p.name[:2] for p in paths}
        if unknown:
            raise SystemExit(f"[site] no notebook numbered {', '.join(sorted(unknown))}")
        paths = [p for p in paths if p.name[:2] in args.notebooks]
    start = time.perf_counter()
    out = args.out.resolve()
    for lang in (SITES if args.lang == "all" else [args.lang]):
        target = out / SITES[lang]["under"] if SITES[lang]["under"] else out
        code = build(lang, paths, target, out.with_name(out.name + "-src") / lang)
        if code:
            return code
    say(f"done in {time.perf_counter() - start:.0f} s: open {out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
