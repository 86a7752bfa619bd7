#!/usr/bin/env python3
"""Set up and run the GAN course in a project-local virtual environment (.venv).

    python3 course.py lab     install if needed, then open JupyterLab at notebooks/
    python3 course.py test    install if needed, then run every test and every notebook
    python3 course.py render  execute every notebook into HTML under build/notebooks/, for reading
    python3 course.py lock    re-resolve the pinned versions into constraints.txt (maintainers)

Extra arguments go to JupyterLab or pytest: `python3 course.py lab --no-browser`,
`python3 course.py test tests/test_losses.py`. Needs only Python 3.11+ to start.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / "course-install.json"
CONSTRAINTS = ROOT / "constraints.txt"
KERNEL = ["--name", "gan-course", "--display-name", "Python (GAN course)"]


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


def ensure(*extras: str) -> None:
    """Create .venv and install ganlib with ``extras`` at the pinned versions, unless already done.

    When pyproject.toml or the pins change, everything installed before is installed again.
    """
    stamp = read_stamp()
    have = set(stamp.get("extras", []))
    if stamp.get("fingerprint") == fingerprint() and set(extras) <= have:
        return
    if not PYTHON.exists():
        say(f"creating the virtual environment in {VENV} ...")
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    wanted = sorted(have | set(extras))
    say(f"installing ganlib and its pinned dependencies ({', '.join(wanted)}); the first time takes a few minutes ...")
    run(PYTHON, "-m", "pip", "install", "--quiet", "-c", CONSTRAINTS, "-e", f"{ROOT}[{','.join(wanted)}]")
    # The kernel is registered inside .venv only (--sys-prefix): nothing outside it changes.
    run(PYTHON, "-m", "ipykernel", "install", "--sys-prefix", *KERNEL, stdout=subprocess.DEVNULL)
    STAMP.write_text(json.dumps({"fingerprint": fingerprint(), "extras": wanted}))
    say("environment ready.")


def lab(args: list[str]) -> int:
    ensure("lab")
    if os.name != "nt" and os.geteuid() == 0 and "--allow-root" not in args:
        say("running as root (as in many containers): passing --allow-root to JupyterLab.")
        args = ["--allow-root", *args]
    say("opening JupyterLab at notebooks/ (Ctrl+C twice to stop) ...")
    return subprocess.call([str(PYTHON), "-m", "jupyterlab", f"--ServerApp.root_dir={ROOT / 'notebooks'}", *args])


def test(args: list[str]) -> int:
    ensure("lab", "test")
    return subprocess.call([str(PYTHON), "-m", "pytest", *args], cwd=ROOT)


def render(args: list[str]) -> int:
    """Execute each notebook with the course's kernel and write an HTML copy; sources stay untouched."""
    ensure("lab")
    out = ROOT / "build" / "notebooks"
    notebooks = [str(p) for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))]
    say(f"executing {len(notebooks)} notebooks into {out} ...")
    return subprocess.call([str(PYTHON), "-m", "nbconvert", "--to", "html", "--execute", f"--output-dir={out}",
                            "--ExecutePreprocessor.timeout=600", *notebooks, *args], cwd=ROOT / "notebooks")


def lock(args: list[str]) -> int:
    """Resolve everything afresh in a scratch environment and pin the result."""
    pins = [line for line in CONSTRAINTS.read_text().splitlines() if line.startswith(("torch==", "torchvision=="))]
    with tempfile.TemporaryDirectory() as scratch:
        python = Path(scratch) / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        venv.EnvBuilder(with_pip=True).create(scratch)
        run(python, "-m", "pip", "install", "--quiet", f"{ROOT}[lab,test,instructor]", *pins)
        frozen = subprocess.run(
            [str(python), "-m", "pip", "freeze", "--exclude", "ganlib"], check=True, capture_output=True, text=True
        ).stdout
    header = "# Exact versions for `python3 course.py lab|test`; regenerate with `python3 course.py lock`.\n"
    CONSTRAINTS.write_text(header + frozen)
    say(f"wrote {CONSTRAINTS.name} ({len(frozen.splitlines())} pins).")
    return 0


def main(argv: list[str]) -> int:
    commands = {"lab": lab, "test": test, "render": render, "lock": lock}
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
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
