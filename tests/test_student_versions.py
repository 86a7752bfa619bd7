"""Student versions: what `python3 course.py student` writes equals nbgrader's own output."""

import importlib.util
import json
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

spec = importlib.util.spec_from_file_location("course_for_students", ROOT / "course.py")
course = importlib.util.module_from_spec(spec)
spec.loader.exec_module(course)


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    assert course.student([str(out)]) == 0
    return out


def _nbgrader_version(path: Path):
    """The student version as nbgrader 0.9 writes it: ClearSolutions, ClearHiddenTests, outputs cleared."""
    preprocessors = pytest.importorskip("nbgrader.preprocessors", reason="nbgrader (instructor extra) not installed")
    from nbconvert.preprocessors import ClearOutputPreprocessor

    nb = nbformat.read(path, as_version=4)
    for preprocessor in (preprocessors.ClearSolutions(), preprocessors.ClearHiddenTests(), ClearOutputPreprocessor()):
        nb, _ = preprocessor.preprocess(nb, {})
    return nb


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_student_version_equals_nbgraders(path, student_dir):
    ours = nbformat.read(student_dir / path.name, as_version=4)
    theirs = _nbgrader_version(path)
    assert len(ours.cells) == len(theirs.cells)
    for mine, reference in zip(ours.cells, theirs.cells, strict=True):
        assert mine.cell_type == reference.cell_type
        assert mine.source == reference.source
        if mine.cell_type == "code":
            assert mine.outputs == reference.outputs == [] and mine.execution_count is None
    assert ours.metadata == theirs.metadata


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_has_two_stubbed_exercises_and_no_solution_left(path, student_dir):
    text = (student_dir / path.name).read_text()
    cells = json.loads(text)["cells"]
    solutions = [c for c in cells if c["metadata"].get("nbgrader", {}).get("solution")]
    assert len(solutions) >= 2, f"{path.name} has {len(solutions)} exercises with solutions"
    assert all("raise NotImplementedError()" in c["source"] for c in solutions)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS"):
        assert marker not in text
    # Every stubbed exercise is followed by its self-check.
    for i, cell in enumerate(cells):
        if cell in solutions:
            assert "exercises.check_" in cells[i + 1]["source"], f"{path.name}: no check after cell {i}"


def _cell(source, kind="code", **nbgrader):
    meta = {"nbgrader": nbgrader} if nbgrader else {}
    return {"cell_type": kind, "metadata": meta, "source": source, "outputs": [{"x": 1}], "execution_count": 3}


def test_stub_keeps_indentation_and_whole_cell_solutions_become_stubs():
    source = "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n"
    cell = course.student_cell(_cell(source, solution=True))
    assert cell["source"] == "def f():\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
    assert cell["outputs"] == [] and cell["execution_count"] is None
    stub = "# YOUR CODE HERE\nraise NotImplementedError()"
    assert course.student_cell(_cell("x = 42", solution=True))["source"] == stub
    assert course.student_cell(_cell("An answer.", kind="markdown", solution=True))["source"] == "YOUR ANSWER HERE"


@pytest.mark.parametrize("cell, message", [
    (_cell("### BEGIN SOLUTION\nx = 1\n", solution=True), "not closed"),
    (_cell("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", solution=True), "nested"),
    (_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION"), "not marked as a solution cell"),
    (_cell("### BEGIN HIDDEN TESTS\nassert x\n### END HIDDEN TESTS"), "not marked as a grade cell"),
])
def test_malformed_markers_are_explained(cell, message):
    with pytest.raises(ValueError, match=message):
        course.student_cell(cell)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_stub_is_reported_by_its_check_and_nothing_raises(path, student_dir, capsys):
    """In a student version the stub raises only inside its check, which names it; no cell fails."""
    from ganlib import exercises

    cells = json.loads((student_dir / path.name).read_text())["cells"]
    for i, cell in enumerate(cells):
        if not cell["metadata"].get("nbgrader", {}).get("solution"):
            continue
        namespace = {"torch": __import__("torch"), "exercises": exercises}
        exec(cell["source"], namespace)  # defining the stub raises nothing
        exec(cells[i + 1]["source"], namespace)
        result = namespace["result"]
        assert not result.passed and "replace `raise NotImplementedError()`" in result.message
        assert result.message in capsys.readouterr().out


def _bound_names(source: str) -> set[str]:
    """Names a cell binds at top level: functions, classes, assignments, imports."""
    import ast

    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return names


def _learners_answers(cell) -> set[str]:
    """What the learner provides: names bound inside the solution markers, and stubbed functions."""
    import ast

    answers = _bound_names(cell.source) - _bound_names(course.student_cell(cell)["source"])
    for node in ast.parse(cell.source).body:
        if isinstance(node, ast.FunctionDef) and "### BEGIN SOLUTION" in ast.get_source_segment(cell.source, node):
            answers.add(node.name)
    return answers


def test_the_answers_are_what_the_learner_writes():
    source = "import math\ndef f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION"
    solution = nbformat.v4.new_code_cell(source)
    solution.metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": "f", "locked": False}
    assert _learners_answers(solution) == {"f"}
    whole = nbformat.v4.new_code_cell("### BEGIN SOLUTION\ny = 2\n### END SOLUTION")
    whole.metadata["nbgrader"] = solution.metadata["nbgrader"]
    assert _learners_answers(whole) == {"y"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_later_cell_needs_a_learners_answer(path):
    """A learner who skips an exercise loses nothing: only its check uses what the solution cell binds."""
    import ast

    cells = nbformat.read(path, as_version=4).cells
    for i, cell in enumerate(cells):
        if not cell.metadata.get("nbgrader", {}).get("solution"):
            continue
        answers = _learners_answers(cell)
        for later in cells[i + 2:]:  # i + 1 is the check
            if later.cell_type != "code" or later.metadata.get("nbgrader", {}).get("grade"):
                continue
            used = {n.id for n in ast.walk(ast.parse(later.source)) if isinstance(n, ast.Name)}
            rebound = _bound_names(later.source)
            assert not (answers & used) - rebound, f"{path.name}: a later cell uses {sorted(answers & used)}"


# The learner's copies (learn/, what `python3 course.py lab`, Binder and the site's buttons open).

@pytest.fixture(scope="module")
def learner_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("learn")
    course.write_learner_copies(out)
    return out


def test_the_learners_copies_hold_no_solution_and_link_to_the_sources(learner_dir):
    copies = sorted(learner_dir.glob("[0-9][0-9]_*.ipynb"))
    assert [p.name for p in copies] == [p.name for p in NOTEBOOKS]
    for copy in copies:
        text = copy.read_text(encoding="utf-8")
        assert "### BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, copy.name
        title = "".join(json.loads(text)["cells"][0]["source"])
        assert f"(../notebooks/{copy.name})" in title


def test_a_learners_copy_runs_top_to_bottom_with_its_stubs_reported(learner_dir):
    """Notebook 00 as a learner gets it, run as they would: every cell runs, each check says its stub
    is unfinished (the other notebooks: each stub with its check above, and no later cell uses an answer)."""
    from nbclient import NotebookClient

    nb = nbformat.read(learner_dir / "00_introduction.ipynb", as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(learner_dir)}}).execute()
    checks = [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]
    assert len(checks) >= 2
    for cell in checks:
        said = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
        assert "replace `raise NotImplementedError()`" in said, said
