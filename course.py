#!/usr/bin/env python3
"""Set up and run the GAN course in a project-local virtual environment (.venv).

    python3 course.py lab     install if needed, then open JupyterLab at learn/, your copies of the notebooks
    python3 course.py test    install if needed, then run every test and every notebook
    python3 course.py learn   write (or refresh) learn/: the notebooks with each exercise's solution left out
    python3 course.py translate  bring the translations' catalogs (locale/) in step with the notebooks (maintainers)
    python3 course.py site    execute every notebook and build the course as a static site in build/site/
    python3 course.py bench   measure notebook times, trainer overhead, time to quality (benchmarks/)
    python3 course.py student write student versions of the notebooks into build/student/ (instructors)
    python3 course.py lock    re-resolve the pinned versions into constraints.txt (maintainers)
    python3 course.py relink OWNER/NAME [BRANCH]   point every Binder badge and link at another repository

`python3 course.py lab --solutions` opens the sources in notebooks/ (the worked solutions), and
`python3 course.py lab FOLDER` any other folder (e.g. build/student). `--lang zh` (lab, learn,
student, site) gives the course in Chinese: learn-zh/, notebooks-zh/, build/student-zh/.
Extra arguments go to JupyterLab, pytest or the site's builder: `python3 course.py lab --no-browser`,
`python3 course.py test tests/test_losses.py`, `python3 course.py site 00 04` (only those notebooks).
Needs only Python 3.11+ to start (and, for `site`, npm the first time).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
NOTEBOOKS = ROOT / "notebooks"  # the sources: every exercise with its solution (instructors, maintainers)
LEARN = ROOT / "learn"  # the learner's copies, written from the sources with the solutions left out
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / "course-install.json"
CONSTRAINTS = ROOT / "constraints.txt"
KERNEL = ["--name", "gan-course", "--display-name", "Python (GAN course)"]
# The languages the course is translated into (locale/<lang>/, ganlib/translation.py): each one's
# notebooks ask for a kernel that sets GANLIB_LANG, so sentences rendered by code speak it too.
LANGUAGES = {"en": "English", "zh": "中文"}
TRANSLATED_KERNELS = [["--name", "gan-course-zh", "--display-name", "Python (GAN course, 中文)",
                       "--env", "GANLIB_LANG", "zh"]]
# Disk space an install takes, measured on Linux: a first install (PyTorch with its CUDA libraries
# is most of it) raised the disk's used space by 6.6 GB at its peak and left a 6.4 GB .venv.
INSTALL_BYTES = 7_000_000_000
# What any install, even one over a complete .venv, should have free: pip unpacks before replacing.
SPARE_BYTES = 500_000_000


def say(message: str) -> None:
    print(f"[course] {message}", flush=True)


def run(*args: object, **kwargs) -> None:
    subprocess.run([str(a) for a in args], check=True, **kwargs)


def fingerprint() -> str:
    files = (ROOT / "pyproject.toml", CONSTRAINTS)
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()


def read_stamp() -> dict:
    """What an earlier run installed: the extras, and the fingerprint of the files it followed."""
    try:
        stamp = json.loads(STAMP.read_text())
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) and PYTHON.exists() else {}


class NotEnoughDisk(Exception):
    pass


def folder_bytes(folder: Path) -> int:
    total = 0
    for path, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(path, name)).st_size
            except OSError:
                pass
    return total


def free_bytes(folder: Path) -> int:
    return shutil.disk_usage(folder).free


def check_disk() -> None:
    """Refuse to start an install that cannot fit, before pip fails half-way with 'No space left on device'.

    What .venv already holds (from an earlier or interrupted install) counts towards the total.
    """
    need = max(SPARE_BYTES, INSTALL_BYTES - folder_bytes(VENV))
    free = free_bytes(ROOT)
    if free < need:
        raise NotEnoughDisk(
            f"not enough disk space to install the course: about {need / 1e9:.1f} GB more is needed in {ROOT} "
            f"(PyTorch is most of it), and {free / 1e9:.1f} GB is free. Free some space on that disk, or move "
            "the course folder to one with more room, then run the same command again."
        )


def ensure(*extras: str) -> None:
    """Create .venv and install ganlib with ``extras`` at the pinned versions, unless already done.

    When pyproject.toml or the pins change, everything installed before is installed again.
    """
    stamp = read_stamp()
    have = set(stamp.get("extras", []))
    if stamp.get("fingerprint") == fingerprint() and set(extras) <= have:
        return
    check_disk()
    if not PYTHON.exists():
        say(f"creating the virtual environment in {VENV} ...")
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    wanted = sorted(have | set(extras))
    say(f"installing ganlib and its pinned dependencies ({', '.join(wanted)}); the first time takes a few minutes ...")
    run(PYTHON, "-m", "pip", "install", "--quiet", "-c", CONSTRAINTS, "-e", f"{ROOT}[{','.join(wanted)}]")
    # The kernel is registered inside .venv only (--sys-prefix): nothing outside it changes.
    run(PYTHON, "-m", "ipykernel", "install", "--sys-prefix", *KERNEL, stdout=subprocess.DEVNULL)
    for kernel in TRANSLATED_KERNELS:  # the same Python, speaking the notebook's language (GANLIB_LANG)
        run(PYTHON, "-m", "ipykernel", "install", "--sys-prefix", *kernel, stdout=subprocess.DEVNULL)
    STAMP.write_text(json.dumps({"fingerprint": fingerprint(), "extras": wanted}))
    say("environment ready.")


def lab(args: list[str]) -> int:
    """Open JupyterLab on the learner's copies (learn/), the sources (--solutions) or a folder.

    JupyterLab serves the whole repository, so links from a notebook to ganlib's files work,
    and opens its file browser at the folder chosen. A root folder given the JupyterLab way
    (--ServerApp.root_dir, --notebook-dir) is passed on untouched.
    """
    args, lang = _language(args)
    if lang is None:
        return 2
    solutions = "--solutions" in args
    args = [a for a in args if a != "--solutions"]
    folder = None
    if args and not args[0].startswith("-"):
        folder = Path(args.pop(0)).expanduser().resolve()
        if not folder.is_dir():
            say(f"lab {folder}: no such folder. Give a folder to open (e.g. build/student), "
                "--solutions for the notebooks with their solutions, or nothing for your copies in learn/.")
            return 2
    if solutions and folder is not None:
        say("lab: give either --solutions or a folder, not both.")
        return 2
    ensure("lab")
    if os.name != "nt" and os.geteuid() == 0 and "--allow-root" not in args:
        say("running as root (as in many containers): passing --allow-root to JupyterLab.")
        args = ["--allow-root", *args]
    if any(a.split("=")[0] in ROOT_OPTIONS for a in args):
        say("opening JupyterLab at the root folder you gave (Ctrl+C twice to stop) ...")
        return subprocess.call([str(PYTHON), "-m", "jupyterlab", *args])
    sources, copies = folders(lang)
    if folder is None:
        if lang == "en" and not solutions:
            for line in write_learner_copies():
                say(line)
        elif lang != "en" and subprocess.call([str(PYTHON), str(ROOT / "course.py"), "learn", "--lang", lang],
                                              cwd=ROOT):
            return 1
    root, start = ROOT, (folder or (sources if solutions else copies))
    if not start.is_relative_to(ROOT):
        root = start
    where = start.relative_to(root).as_posix()
    say(f"opening JupyterLab at {start} (Ctrl+C twice to stop) ...")
    url = "/lab/tree/" + where if where != "." else "/lab"
    return subprocess.call([str(PYTHON), "-m", "jupyterlab", f"--ServerApp.root_dir={root}",
                            f"--LabApp.default_url={url}", *args])


# JupyterLab's own ways to choose the folder it serves; course.py then adds none of its own.
ROOT_OPTIONS = {"--ServerApp.root_dir", "--ServerApp.notebook_dir", "--notebook-dir", "--NotebookApp.notebook_dir"}


def test(args: list[str]) -> int:
    # The instructor extra (nbgrader) is installed for the test comparing student versions
    # with nbgrader's, the site extra for the test that builds one notebook into the site;
    # `lab` alone, what learners use, installs neither.
    ensure("lab", "test", "instructor", "site")
    return subprocess.call([str(PYTHON), "-m", "pytest", *parallel_options(args), *args], cwd=ROOT)


def parallel_options(args: list[str]) -> list[str]:
    """Two pytest-xdist workers where two CPUs are free (each pinned to its own, conftest.py);
    each notebook stays in one worker, its cells in order. Nothing is added when the
    arguments already choose (-n, --numprocesses, -p no:xdist) or one CPU is all there is."""
    if any(a.startswith(("-n", "--numprocesses", "--dist")) or a in ("no:xdist", "-pno:xdist") for a in args):
        return []
    # ganlib's training.available_cpus counts the same way (and cgroup quotas), but course.py runs
    # on the system's python3, where torch, and so ganlib, may not be importable.
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows
        cpus = os.cpu_count() or 1
    return ["-n", "2", "--dist", "loadscope"] if cpus >= 2 else []


def site(args: list[str]) -> int:
    """Execute the notebooks and build the course as a static site (site/build.py); sources stay untouched."""
    ensure("lab", "site")
    return subprocess.call([str(PYTHON), str(ROOT / "site" / "build.py"), *args], cwd=ROOT)


def bench(args: list[str]) -> int:
    ensure("lab", "test")
    return subprocess.call([str(PYTHON), str(ROOT / "benchmarks" / "run.py"), *args], cwd=ROOT)


# Student versions: what nbgrader's ClearSolutions and ClearHiddenTests write, without nbgrader.
CODE_STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]
TEXT_STUB = ["YOUR ANSWER HERE"]


def _nbgrader(cell: dict, key: str) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get(key, False))


def student_cell(cell: dict) -> dict:
    """A cell as students get it: solution regions stubbed, hidden tests removed, outputs cleared."""
    cell = json.loads(json.dumps(cell))
    source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
    stub = CODE_STUB if cell["cell_type"] == "code" else TEXT_STUB
    lines, in_solution, in_hidden, replaced, removed = [], False, False, False, False
    for line in source.split("\n"):
        if line.strip() == "### BEGIN SOLUTION":
            if in_solution:
                raise ValueError("nested ### BEGIN SOLUTION")
            in_solution = replaced = True
            indent = line[: line.find("### BEGIN SOLUTION")]
            lines += [indent + s for s in stub]
        elif line.strip() == "### END SOLUTION":
            in_solution = False
        elif "BEGIN HIDDEN TESTS" in line:
            if in_hidden:
                raise ValueError("nested BEGIN HIDDEN TESTS")
            in_hidden = removed = True
        elif "END HIDDEN TESTS" in line:
            in_hidden = False
        elif not in_solution and not in_hidden:
            lines.append(line)
    if in_solution or in_hidden:
        raise ValueError("a solution or hidden-test region is not closed")
    if replaced and not _nbgrader(cell, "solution"):
        raise ValueError("a solution region lies in a cell not marked as a solution cell (nbgrader metadata)")
    if removed and not _nbgrader(cell, "grade"):
        raise ValueError("hidden tests lie in a cell not marked as a grade cell (nbgrader metadata)")
    if _nbgrader(cell, "solution") and not replaced:
        lines = list(stub)
    cell["source"] = "\n".join(lines)
    if cell["cell_type"] == "code":
        cell["outputs"], cell["execution_count"] = [], None
    return cell


def student(args: list[str]) -> int:
    """Write student versions of every notebook into build/student/ (or the folder given);
    with --lang zh, of the notebooks in that language, into build/student-zh/."""
    args, lang = _language(args)
    if lang is None:
        return 2
    if lang != "en" and not _can_translate():
        return _in_venv(["student", *args, "--lang", lang])
    out = Path(args[0]) if args else ROOT / "build" / ("student" if lang == "en" else f"student-{lang}")
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        nb = source_notebook(path, lang)
        try:
            nb["cells"] = [student_cell(cell) for cell in nb["cells"]]
        except ValueError as exc:
            say(f"{path.name}: {exc}")
            return 1
        nb["metadata"].pop("celltoolbar", None)
        (out / path.name).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    say(f"wrote student versions of the notebooks into {out}")
    return 0


def _language(args: list[str]) -> tuple[list[str], str | None]:
    """(the other arguments, the language --lang chose, "en" by default), or None after saying
    which languages there are when the one asked for is not among them."""
    args, lang = list(args), "en"
    for i, arg in enumerate(args):
        if arg == "--lang" or arg.startswith("--lang="):
            value = arg.split("=", 1)[1] if "=" in arg else (args[i + 1] if i + 1 < len(args) else "")
            del args[i: i + (1 if "=" in arg else 2)]
            lang = value
            break
    if lang not in LANGUAGES:
        say(f"--lang {lang!r}: the course is available in "
            + ", ".join(f"{code} ({name})" for code, name in LANGUAGES.items()) + ".")
        return args, None
    return args, lang


def _can_translate() -> bool:
    """Whether this Python can write translated notebooks (it needs Babel, which the course installs)."""
    try:
        import babel.messages.pofile  # noqa: F401
    except ImportError:
        return False
    return True


def _in_venv(argv: list[str]) -> int:
    """Run ``course.py argv`` with the course's Python, which has Babel to read the translations."""
    ensure("lab")
    return subprocess.call([str(PYTHON), str(ROOT / "course.py"), *argv], cwd=ROOT)


def folders(lang: str) -> tuple[Path, Path]:
    """(the sources, the learner's copies) in ``lang``: notebooks/ and learn/ in English, and
    notebooks-<lang>/ and learn-<lang>/, both written from the sources and locale/<lang>/, in another."""
    if lang == "en":
        return NOTEBOOKS, LEARN
    return ROOT / f"notebooks-{lang}", ROOT / f"learn-{lang}"


def source_notebook(path: Path, lang: str) -> dict:
    """The source notebook at ``path``, in ``lang`` (its markdown translated by the catalogs)."""
    if lang == "en":
        return json.loads(path.read_text(encoding="utf-8"))
    sys.path.insert(0, str(ROOT))
    from ganlib import translation

    return translation.translated_notebook(path, lang)


LEARNER_NOTE = (
    "> **Your copy.** Each exercise below has a stub for you to fill in and a self-check to run. "
    "When you have tried one, its worked solution is in the course's source of this notebook, "
    "[`{folder}/{name}`](../{folder}/{name})."
)
# course.py's own sentences that a translated edition says in its language (locale/<lang>/course.po).
TRANSLATED = (LEARNER_NOTE,)
COPIES = ".course-copies.json"  # in learn/: the cells' sources of each copy as written, to tell edits apart


def learner_notebook(path: Path, lang: str = "en") -> dict:
    """The notebook at ``path`` as a learner gets it, in ``lang``: the student version, with a note
    on where the solutions are."""
    nb = source_notebook(path, lang)
    nb["cells"] = [student_cell(cell) for cell in nb["cells"]]
    nb["metadata"].pop("celltoolbar", None)
    note = LEARNER_NOTE
    if lang != "en":
        from ganlib import translation

        note = translation.gettext(LEARNER_NOTE, lang)
    title = nb["cells"][0]
    title["source"] = "".join(title["source"]) + "\n\n" + note.format(folder=folders(lang)[0].name, name=path.name)
    return nb


def _sources_digest(nb: dict) -> str:
    """What a learner writes: the cells' types and sources (not outputs, counts or metadata)."""
    cells = [(c["cell_type"], "".join(c["source"])) for c in nb.get("cells", [])]
    return hashlib.sha256(json.dumps(cells, ensure_ascii=False).encode()).hexdigest()


def write_learner_copies(out: Path | None = None, lang: str = "en") -> list[str]:
    """Write each source notebook's learner copy into ``out`` (learn/), or refresh it.

    A copy is written when it is missing, and rewritten when the course's version changed and
    the learner has not edited the copy (its cells are as written: running it, which adds
    outputs, is not editing). A copy the learner edited is never overwritten. Returns what it did,
    one line per notebook that needs a word.
    """
    sources, learn_folder = folders(lang)
    out = out or learn_folder
    out.mkdir(parents=True, exist_ok=True)
    if lang != "en":  # the sources in that language too, which the copies link to for the solutions
        sources.mkdir(exist_ok=True)
        for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
            text = json.dumps(source_notebook(path, lang), indent=1, ensure_ascii=False) + "\n"
            if not (sources / path.name).exists() or (sources / path.name).read_text(encoding="utf-8") != text:
                (sources / path.name).write_text(text, encoding="utf-8")
    record_path = out / COPIES
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = {}
    said, written = [], []
    for source in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        nb = learner_notebook(source, lang)
        target = out / source.name
        new = _sources_digest(nb)
        if target.exists():
            try:
                have = _sources_digest(json.loads(target.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                have = None
            if have == new:
                record[source.name] = new
                continue
            if new == record.get(source.name):  # the course has not changed since: the learner's edits stay
                continue
            if have != record.get(source.name):
                said.append(f"kept your copy of {source.name}: it has your changes, and the course's version "
                            f"changed since. To get the new one, rename yours (e.g. to mine_{source.name}) "
                            "and run this again.")
                continue
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, target)
        record[source.name] = new
        written.append(source.name)
    record_path.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    if written:
        said.insert(0, f"wrote your copies of {len(written)} notebook{'s' * (len(written) != 1)} into {out} "
                       f"(exercises with stubs; the solutions stay in {sources.name}/).")
    return said


def learn(args: list[str]) -> int:
    """Write or refresh the learner's copies in learn/ (learn-<lang>/ with --lang); English needs
    no install (Binder's postBuild uses it), another language needs Babel (the course's Python has it)."""
    args, lang = _language(args)
    if lang is None:
        return 2
    if args:
        say(f"learn takes only --lang (got {' '.join(args)}); it writes your copies into {folders(lang)[1]}.")
        return 2
    if lang != "en" and not _can_translate():
        return _in_venv(["learn", "--lang", lang])
    for line in write_learner_copies(lang=lang) or [f"your copies in {folders(lang)[1]} are up to date."]:
        say(line)
    return 0


def translate(args: list[str]) -> int:
    """Extract the notebooks' English text into locale/<lang>/*.po: new messages added, changed
    ones marked fuzzy with their old translation; prints what each catalog still needs."""
    ensure("lab")
    return subprocess.call([str(PYTHON), "-m", "ganlib.translation", "update", *args], cwd=ROOT)


def lock(args: list[str]) -> int:
    """Resolve everything afresh in a scratch environment and pin the result."""
    pins = [line for line in CONSTRAINTS.read_text().splitlines() if line.startswith(("torch==", "torchvision=="))]
    with tempfile.TemporaryDirectory() as scratch:
        python = Path(scratch) / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        venv.EnvBuilder(with_pip=True).create(scratch)
        run(python, "-m", "pip", "install", "--quiet", f"{ROOT}[lab,test,instructor,site]", *pins)
        frozen = subprocess.run(
            [str(python), "-m", "pip", "freeze", "--exclude", "ganlib"], check=True, capture_output=True, text=True
        ).stdout
    header = "# Exact versions for `python3 course.py lab|test`; regenerate with `python3 course.py lock`.\n"
    CONSTRAINTS.write_text(header + frozen)
    say(f"wrote {CONSTRAINTS.name} ({len(frozen.splitlines())} pins).")
    return 0


# Every link to the published course: Binder badges (to a learner's copy, or a folder) and the repository.
BINDER_LINK = re.compile(r"https://mybinder\.org/v2/gh/(?P<repo>[\w.-]+/[\w.-]+)/(?P<branch>[\w.-]+)\?urlpath=")
REPOSITORY_LINK = re.compile(r"https://github\.com/(?P<repo>[\w.-]+/[\w.-]+?)(?=[/)\s\"'#]|$)")
REPOSITORY_SETTING = re.compile(r'(\[tool\.gan-course\]\s*\nrepository = ")([^"]*)("\s*\nbranch = ")([^"]*)(")')


def repository() -> tuple[str, str]:
    """(owner/name, branch) where the course is published: pyproject.toml's [tool.gan-course]."""
    import tomllib

    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["gan-course"]
    return settings["repository"], settings["branch"]


def binder_url(path: str) -> str:
    """The Binder link that opens ``path`` (relative to the repository's root) in JupyterLab."""
    repo, branch = repository()
    return f"https://mybinder.org/v2/gh/{repo}/{branch}?urlpath=lab/tree/{path}"


def linked_files() -> list[Path]:
    """The files that spell out the repository: the READMEs, INSTRUCTORS.md and the source notebooks."""
    return sorted([*ROOT.glob("README*.md"), ROOT / "INSTRUCTORS.md", *NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")])


def relink(args: list[str]) -> int:
    """Point every Binder badge and repository link at OWNER/NAME (and BRANCH, default: unchanged)."""
    if not 1 <= len(args) <= 2 or not re.fullmatch(r"[\w.-]+/[\w.-]+", args[0]):
        say("relink: give the repository as OWNER/NAME, and optionally the branch: "
            "python3 course.py relink my-org/gan-course main")
        return 2
    old_repo, old_branch = repository()
    repo, branch = args[0], (args[1] if len(args) == 2 else old_branch)
    if not re.fullmatch(r"[\w.-]+", branch):
        say(f"relink: {branch!r} is not a branch name (letters, digits, '.', '_' and '-').")
        return 2
    changed = []
    for path in linked_files():
        text = path.read_text(encoding="utf-8")
        new = BINDER_LINK.sub(f"https://mybinder.org/v2/gh/{repo}/{branch}?urlpath=", text)
        new = REPOSITORY_LINK.sub(lambda m: f"https://github.com/{repo}" if m["repo"] == old_repo else m[0], new)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(path.relative_to(ROOT).as_posix())
    pyproject = ROOT / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(REPOSITORY_SETTING.sub(lambda m: f"{m[1]}{repo}{m[3]}{branch}{m[5]}", text), encoding="utf-8")
    say(f"the course now points at {repo} ({branch}); was {old_repo} ({old_branch}). "
        f"Rewrote the links in {len(changed)} file{'s' * (len(changed) != 1)} and pyproject.toml's [tool.gan-course].")
    return 0


def main(argv: list[str]) -> int:
    commands = {"lab": lab, "test": test, "learn": learn, "site": site, "bench": bench, "student": student,
                "lock": lock, "relink": relink,
                "translate": translate}
    if sys.version_info < (3, 11):  # noqa: UP036 (course.py may be started by an older python3)
        say(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}. Run course.py with a newer python3.")
        return 2
    if not argv or argv[0] not in commands:
        print(__doc__)
        return 0 if argv[:1] in (["-h"], ["--help"]) else 2
    try:
        return commands[argv[0]](argv[1:])
    except subprocess.CalledProcessError as exc:
        say(f"a set-up step failed (exit {exc.returncode}): {' '.join(map(str, exc.cmd))}")
        say("nothing was half-recorded: run the same command again to retry.")
        return exc.returncode or 1
    except NotEnoughDisk as exc:
        say(str(exc))
        say("nothing was installed or changed.")
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
