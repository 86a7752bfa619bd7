"""course.py, the README's two commands: reuse an installed environment, reinstall on change."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def course(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("course_under_test", ROOT / "course.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "constraints.txt").write_text("torch==2.14.1\n")
    venv = tmp_path / ".venv"
    python = venv / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("")
    monkeypatch.setattr(module, "ROOT", tmp_path)
    monkeypatch.setattr(module, "VENV", venv)
    monkeypatch.setattr(module, "PYTHON", python)
    monkeypatch.setattr(module, "STAMP", venv / "course-install.json")
    monkeypatch.setattr(module, "CONSTRAINTS", tmp_path / "constraints.txt")
    monkeypatch.setattr(module, "free_bytes", lambda folder: 100 * 10**9)
    calls = []
    monkeypatch.setattr(module, "run", lambda *args, **kwargs: calls.append([str(a) for a in args]))
    module.calls = calls
    return module


def test_first_run_installs_pinned_and_registers_the_kernel_inside_the_venv(course):
    course.ensure("lab")
    pip, kernel, chinese = course.calls
    assert pip[1:4] == ["-m", "pip", "install"] and "-c" in pip and pip[-1].endswith("[lab]")
    assert pip[pip.index("-c") + 1] == str(course.CONSTRAINTS) and "-e" in pip
    assert kernel[1:4] == ["-m", "ipykernel", "install"] and "--sys-prefix" in kernel
    # The Chinese notebooks' kernel: the same Python, with GANLIB_LANG=zh for what code says.
    assert chinese[1:4] == ["-m", "ipykernel", "install"] and "--sys-prefix" in chinese
    assert chinese[chinese.index("--name") + 1] == "gan-course-zh" and chinese[-3:] == ["--env", "GANLIB_LANG", "zh"]


def test_second_run_installs_nothing(course):
    course.ensure("lab")
    course.calls.clear()
    course.ensure("lab")
    assert course.calls == []


def test_more_extras_or_new_pins_trigger_an_install(course):
    course.ensure("lab")
    course.calls.clear()
    course.ensure("lab", "test")
    assert course.calls[0][-1].endswith("[lab,test]")
    course.calls.clear()
    course.ensure("lab")  # lab and test are both installed now
    assert course.calls == []
    course.CONSTRAINTS.write_text("torch==2.14.2\n")
    course.ensure("lab")
    assert course.calls and course.calls[0][-1].endswith("[lab,test]")


def test_a_failed_install_records_nothing(course, monkeypatch):
    def fail(*args, **kwargs):
        raise subprocess.CalledProcessError(1, ["pip"])

    monkeypatch.setattr(course, "run", fail)
    assert course.main(["lab"]) == 1
    assert not course.STAMP.exists()


def test_an_install_that_cannot_fit_is_refused_before_pip_starts(course, monkeypatch, capsys):
    monkeypatch.setattr(course, "free_bytes", lambda folder: 2_400_000_000)
    assert course.main(["lab"]) == 1
    said = capsys.readouterr().out
    # An empty .venv: the whole measured install (7.0 GB) is needed, 2.4 GB is free.
    assert "about 7.0 GB more is needed" in said and "2.4 GB is free" in said and str(course.ROOT) in said
    assert "run the same command again" in said and "nothing was installed" in said
    assert course.calls == [] and not course.STAMP.exists()


def test_what_the_venv_already_holds_counts_towards_the_install(course, monkeypatch):
    monkeypatch.setattr(course, "INSTALL_BYTES", 3_000_000)
    monkeypatch.setattr(course, "SPARE_BYTES", 200_000)
    (course.VENV / "partial.bin").write_bytes(bytes(2_500_000))  # left by an interrupted install
    monkeypatch.setattr(course, "free_bytes", lambda folder: 499_000)  # 500,000 still to come: refused
    with pytest.raises(course.NotEnoughDisk, match="about 0.0 GB more"):
        course.ensure("lab")
    monkeypatch.setattr(course, "free_bytes", lambda folder: 501_000)
    course.ensure("lab")
    assert course.calls and course.STAMP.exists()
    # Over a complete .venv only the spare room is asked for, and never less.
    (course.VENV / "partial.bin").write_bytes(bytes(3_500_000))
    course.CONSTRAINTS.write_text("torch==2.14.2\n")
    monkeypatch.setattr(course, "free_bytes", lambda folder: 199_000)
    with pytest.raises(course.NotEnoughDisk):
        course.ensure("lab")
    monkeypatch.setattr(course, "free_bytes", lambda folder: 201_000)
    course.ensure("lab")


@pytest.mark.parametrize("argv, code", [([], 2), (["--help"], 0), (["dance"], 2)])
def test_usage_is_printed_for_unknown_commands(argv, code):
    result = subprocess.run([sys.executable, str(ROOT / "course.py"), *argv], capture_output=True, text=True)
    assert result.returncode == code
    assert "python3 course.py lab" in result.stdout and "python3 course.py test" in result.stdout


def test_site_installs_the_site_extra_and_runs_the_builder_with_the_arguments(course, monkeypatch):
    calls = []
    monkeypatch.setattr(course.subprocess, "call", lambda args, **kwargs: calls.append((args, kwargs)) or 0)
    assert course.main(["site", "00", "04"]) == 0
    assert course.calls[0][-1].endswith("[lab,site]")  # the pinned install, with the site extra
    (args, kwargs), = calls
    assert args[0] == str(course.PYTHON) and args[1].endswith("site/build.py") and args[2:] == ["00", "04"]
    course.calls.clear()
    assert course.main(["test", "tests/test_site.py"]) == 0
    assert course.calls[0][-1].endswith("[instructor,lab,site,test]")  # the tests build one notebook into the site


@pytest.mark.parametrize(("cpus", "args", "added"), [
    ({0, 1}, [], ["-n", "2", "--dist", "loadscope"]),
    ({0, 1, 2, 3}, ["tests/test_losses.py"], ["-n", "2", "--dist", "loadscope"]),
    ({0}, [], []),                                  # one CPU: the tests run in this process
    ({0, 1}, ["-n", "0"], []),                      # the caller chose
    ({0, 1}, ["-n0"], []),
    ({0, 1}, ["--numprocesses=4"], []),
    ({0, 1}, ["-p", "no:xdist"], []),
])
def test_the_test_command_runs_two_workers_where_two_cpus_are_free(course, monkeypatch, cpus, args, added):
    monkeypatch.setattr(course.os, "sched_getaffinity", lambda pid: cpus, raising=False)
    assert course.parallel_options(args) == added
    seen = []
    monkeypatch.setattr(course, "ensure", lambda *extras: None)
    monkeypatch.setattr(course.subprocess, "call", lambda command, cwd: seen.append(command) or 0)
    assert course.test(args) == 0
    assert seen[0][3:] == [*added, *args]


def _root_conftest():
    spec = importlib.util.spec_from_file_location("root_conftest_under_test", ROOT / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("worker", "count", "cpus", "pinned"), [
    ("gw0", "2", {0, 1}, {0}),
    ("gw1", "2", {0, 1}, {1}),
    ("gw1", "2", {4, 6, 7}, {6}),   # the CPUs this process may use, not 0 and 1
    ("gw1", "3", {0, 1}, None),     # more workers than CPUs: no pinning
    ("", "", {0, 1}, None),         # not an xdist worker
    ("gw0", "1", {0, 1}, None),     # one worker has the machine to itself
])
def test_each_worker_is_pinned_to_a_cpu_of_its_own(monkeypatch, worker, count, cpus, pinned):
    conftest = _root_conftest()
    monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", count)
    calls = []
    monkeypatch.setattr(conftest.os, "sched_getaffinity", lambda pid: cpus, raising=False)
    monkeypatch.setattr(conftest.os, "sched_setaffinity", lambda pid, mask: calls.append(mask), raising=False)
    conftest._pin_this_worker()
    assert calls == ([] if pinned is None else [pinned])


# The learner's path: `python3 course.py lab` opens learn/, copies of the notebooks without the solutions.

SOLVED = {
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "# 00 · Title\n\nIntro."},
        {"cell_type": "code", "metadata": {"nbgrader": {"solution": True, "grade": False, "grade_id": "ex",
                                                        "locked": False}},
         "source": "def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
         "outputs": [], "execution_count": None},
    ],
    "metadata": {"kernelspec": {"name": "gan-course"}}, "nbformat": 4, "nbformat_minor": 5,
}


@pytest.fixture
def sources(course, monkeypatch):
    """A course with one source notebook, its learner's copies to go into learn/."""
    notebooks = course.ROOT / "notebooks"
    notebooks.mkdir()
    (notebooks / "00_title.ipynb").write_text(json.dumps(SOLVED))
    monkeypatch.setattr(course, "NOTEBOOKS", notebooks)
    monkeypatch.setattr(course, "LEARN", course.ROOT / "learn")
    return notebooks / "00_title.ipynb"


def _copy(course):
    return json.loads((course.LEARN / "00_title.ipynb").read_text())


def test_the_learners_copy_has_the_stub_and_says_where_the_solution_is(course, sources):
    said = course.write_learner_copies()
    assert said and "wrote your copies of 1 notebook" in said[0]
    copy = _copy(course)
    assert "### BEGIN SOLUTION" not in json.dumps(copy) and "return 2 * x" not in json.dumps(copy)
    assert "raise NotImplementedError()" in copy["cells"][1]["source"]
    assert "[`notebooks/00_title.ipynb`](../notebooks/00_title.ipynb)" in copy["cells"][0]["source"]
    assert course.write_learner_copies() == []  # nothing changed: nothing written, nothing said


def test_a_copy_the_learner_only_ran_is_refreshed_when_the_course_changes(course, sources):
    course.write_learner_copies()
    ran = _copy(course)
    ran["cells"][1]["outputs"], ran["cells"][1]["execution_count"] = [{"output_type": "stream", "text": "x"}], 3
    (course.LEARN / "00_title.ipynb").write_text(json.dumps(ran))
    sources.write_text(sources.read_text().replace("Intro.", "A better intro."))
    said = course.write_learner_copies()
    assert said and "wrote" in said[0] and "A better intro." in _copy(course)["cells"][0]["source"]


def test_a_copy_the_learner_edited_is_never_overwritten(course, sources):
    course.write_learner_copies()
    mine = _copy(course)
    mine["cells"][1]["source"] = "def f(x):\n    return x + x  # my answer"
    (course.LEARN / "00_title.ipynb").write_text(json.dumps(mine))
    assert course.write_learner_copies() == []  # the course did not change: nothing to say
    sources.write_text(sources.read_text().replace("Intro.", "A better intro."))
    (said,) = course.write_learner_copies()
    assert "kept your copy of 00_title.ipynb" in said and "rename yours" in said
    assert _copy(course)["cells"][1]["source"].endswith("# my answer")


def test_the_learn_command_writes_the_copies_and_needs_no_install(course, sources, capsys):
    assert course.main(["learn"]) == 0
    assert (course.LEARN / "00_title.ipynb").exists() and course.calls == []  # no pip, no kernel
    assert course.main(["learn"]) == 0 and "up to date" in capsys.readouterr().out
    assert course.main(["learn", "extra"]) == 2


@pytest.fixture
def opened(course, sources, monkeypatch):
    """The JupyterLab command `course.py lab` would run, with the install skipped."""
    seen = []
    monkeypatch.setattr(course, "ensure", lambda *extras: None)
    monkeypatch.setattr(course.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(course.subprocess, "call", lambda command: seen.append(command[3:]) or 0)
    return seen


def test_lab_opens_the_learners_copies_with_the_whole_repository_served(course, opened):
    assert course.main(["lab", "--no-browser"]) == 0
    assert opened[-1] == [f"--ServerApp.root_dir={course.ROOT}", "--LabApp.default_url=/lab/tree/learn",
                          "--no-browser"]
    assert (course.LEARN / "00_title.ipynb").exists()


def test_lab_opens_the_solutions_or_a_folder_on_request(course, opened, tmp_path_factory):
    assert course.main(["lab", "--solutions"]) == 0
    assert opened[-1][1] == "--LabApp.default_url=/lab/tree/notebooks"
    (course.ROOT / "build" / "student").mkdir(parents=True)
    assert course.main(["lab", str(course.ROOT / "build" / "student"), "--port", "8890"]) == 0
    assert opened[-1][1:] == ["--LabApp.default_url=/lab/tree/build/student", "--port", "8890"]
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    assert course.main(["lab", str(elsewhere)]) == 0
    assert opened[-1][:2] == [f"--ServerApp.root_dir={elsewhere}", "--LabApp.default_url=/lab"]


def test_a_root_folder_given_the_jupyterlab_way_is_passed_on_alone(course, opened):
    assert course.main(["lab", "--ServerApp.root_dir=build/student"]) == 0
    assert opened[-1] == ["--ServerApp.root_dir=build/student"]  # no second root_dir: no clash


def test_lab_refuses_a_missing_folder_and_says_what_it_takes(course, opened, capsys):
    assert course.main(["lab", "no/such/folder"]) == 2
    said = capsys.readouterr().out
    assert "no such folder" in said and "--solutions" in said and "learn/" in said
    assert opened == []
