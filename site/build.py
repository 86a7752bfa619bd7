"""Build the course as a static site: every notebook executed, rendered by Sphinx with MyST-NB.

    python3 course.py site            # all notebooks, into build/site/ (open build/site/index.html)
    python3 course.py site 00 01      # only these notebooks (a quick look, or the tests)

Each notebook runs top to bottom in a fresh kernel (nbclient, as `jupyter nbconvert --execute`
does), from notebooks/ so its relative paths hold, and its widgets' final state is stored with it.
The executed copies, a home page written from the README's notebook table, this folder's conf.py
and the JavaScript the pages need go into build/site-src/; Sphinx turns that into build/site/.
The home page lists the notebooks in order: number, title, what you do (the README's column) and
its Binder link. Pages live under learn/, as the learner's copies do, so a page's Binder link and
launch button open the learner's copy (exercises with stubs); on the page itself each solution is
folded away behind a "Show the solution" button. The repository the links name is pyproject.toml's
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


def what_you_do() -> dict[str, str]:
    """Notebook file name -> the README table's 'what you do' cell."""
    found = {}
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
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


def for_the_page(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The executed notebook as its page shows it: each solution folded away behind a button
    (one deliberate click), and the Binder badge drawn from the site's own copy."""
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader"):
            cell.source = for_reading(cell.source)
        if cell.metadata.get("nbgrader", {}).get("solution"):
            tags = cell.metadata.setdefault("tags", [])
            if "hide-input" not in tags:
                tags.append("hide-input")
            cell.metadata["mystnb"] = {"code_prompt_show": "Show the solution", "code_prompt_hide": "Hide the solution"}
        if cell.cell_type == "markdown" and BADGE in cell.source:
            cell.source = cell.source.replace(BADGE, "../_static/binder-badge.svg")
    return nb


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


def execute(path: Path) -> tuple[nbformat.NotebookNode, float]:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=TIMEOUT, store_widget_state=True,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return nb, time.perf_counter() - start


def home_page(rows: list[tuple[str, str, str, str]], owner_repo: str) -> str:
    table = ["| # | notebook | what you do | run it |", "|---|---|---|---|"]
    table += [f"| {name[:2]} | [{heading}]({LEARN}/{name}) | {doing} | [Binder]({url}) |"
              for name, heading, doing, url in rows]
    toctree = "\n".join(f"{LEARN}/{name[:-len('.ipynb')]}" for name, _, _, _ in rows)
    return f"""# Generative Adversarial Networks: a hands-on course

Numbered notebooks that teach GANs, from the minimax objective to applications and the hard
questions (mode collapse, evaluation, stability). Each page here is its notebook **executed top
to bottom**: figures, printed results and the widgets' final state, as a learner sees them after
*Run All*. The widgets are drawn as they were left, without a kernel behind them; to use them, or
to change and rerun anything, open the notebook on Binder (its link below, or the rocket at the
top of each page) or on your own machine (`python3 course.py lab`, see the
[repository](https://github.com/{owner_repo})).

{chr(10).join(table)}

```{{toctree}}
:hidden:
:maxdepth: 1

{toctree}
```
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", metavar="NN", help="only these notebooks, by number")
    parser.add_argument("--out", type=Path, default=OUT, help=f"where the site goes (default {OUT})")
    args = parser.parse_args(argv)
    paths = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if args.notebooks:
        unknown = set(args.notebooks) - {p.name[:2] for p in paths}
        if unknown:
            raise SystemExit(f"[site] no notebook numbered {', '.join(sorted(unknown))}")
        paths = [p for p in paths if p.name[:2] in args.notebooks]
    start = time.perf_counter()
    owner_repo, branch, binder_url = binder()
    doing = what_you_do()
    out = args.out.resolve()
    staging = out.with_name(out.name + "-src")

    if staging.exists():
        shutil.rmtree(staging)
    (staging / LEARN).mkdir(parents=True)
    vendor(staging / "_static")
    shutil.copy2(SITE / "binder-badge.svg", staging / "_static" / "binder-badge.svg")
    rows = []
    for path in paths:
        say(f"executing {path.name} ...")
        nb, seconds = execute(path)
        say(f"  {path.name}: {seconds:.1f} s")
        nbformat.write(for_the_page(nb), staging / LEARN / path.name)
        rows.append((path.name, title(nb, path), doing.get(path.name, ""), binder_url + path.name))
    (staging / "index.md").write_text(home_page(rows, owner_repo), encoding="utf-8")
    shutil.copy2(SITE / "conf.py", staging / "conf.py")
    (staging / "settings.json").write_text(json.dumps({"repository": owner_repo, "branch": branch}))

    say(f"rendering {len(rows)} notebook{'s' * (len(rows) != 1)} with Sphinx into {out} ...")
    if out.exists():
        shutil.rmtree(out)
    from sphinx.cmd.build import build_main

    code = build_main(["-b", "html", "-q", "-E", "-d", str(staging / ".doctrees"), str(staging), str(out)])
    if code:
        return code
    say(f"done in {time.perf_counter() - start:.0f} s: open {out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
