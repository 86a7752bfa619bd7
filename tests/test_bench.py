"""The bench's notebook rows: 2 threads, then the kernel pinned to one CPU with the threads left to
``training.setup``, and the kernel's peak memory, failing loudly above the limit. Run here on a
two-cell notebook that allocates a known amount, not on the course's notebooks (the bench itself
times those on an idle machine)."""

import importlib.util
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SPEC = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "run.py")
bench = importlib.util.module_from_spec(SPEC)
sys.modules[SPEC.name] = bench  # its dataclass looks its module up there
SPEC.loader.exec_module(bench)

pytestmark = pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="pinning a kernel needs Linux")


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A course of one notebook: setup() with its default threads, then 400 MB of float64 ones."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("from ganlib import training\ntraining.setup()"),
                nbformat.v4.new_code_cell("import numpy as np\nones = np.ones(50_000_000)\nassert ones.sum() == 5e7")]
    (tmp_path / "notebooks").mkdir()
    nbformat.write(nb, tmp_path / "notebooks" / "99_memory.ipynb")
    nbformat.write(nb, tmp_path / "notebooks" / "98_skipped.ipynb")
    monkeypatch.setattr(bench, "ROOT", tmp_path)
    monkeypatch.setenv("GANLIB_THREADS", "1")  # the bench's runs must not inherit it
    return tmp_path


def test_a_notebook_runs_at_two_threads_then_pinned_and_its_memory_fails_the_bench(course, monkeypatch, capsys):
    monkeypatch.setattr(bench, "MEMORY_LIMIT", 0.3e9)  # below the 400 MB the notebook holds
    runs, run_notebook = [], bench.run_notebook
    monkeypatch.setattr(bench, "run_notebook", lambda *a, **k: runs.append(run_notebook(*a, **k)) or runs[-1])
    with pytest.raises(SystemExit, match=r"FAILED: above 0.30 GB of memory: 99_memory.ipynb \((\d\.\d\d) GB\)"):
        bench.main(["--notebooks", "99"])
    two, one = runs  # 98 not run
    assert two.threads == 2 and two.cpus == sorted(os.sched_getaffinity(0))
    assert one.cpus == [min(os.sched_getaffinity(0))] and one.threads == 1  # pinned: training.setup chose 1
    assert min(two.peak_bytes, one.peak_bytes) > 0.4e9  # the array, plus Python, NumPy and ganlib's imports
    out = capsys.readouterr().out
    assert "98_skipped" not in out and re.search(r"^On .+, \d+ CPUs", out, re.M)
    assert (f"| `99_memory.ipynb` | {two.seconds:.1f} | {one.seconds:.1f} | 1 | "
            f"{max(two.peak_bytes, one.peak_bytes) / 1e9:.2f} GB |") in out
    assert "!!! 99_memory.ipynb: its kernel reached" in out
