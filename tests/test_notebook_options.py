"""The notebooks' options that nbval's run does not take: each runs end to end here too.

Notebook 04's `DATASET = "mnist"` needs MNIST, which cannot be downloaded here: the test writes
MNIST's own file format (IDX) from the digits, upsampled to 28x28, where torchvision looks for
it, so the notebook takes the same path as with the real files, at 28x28. Only the number of
training steps is lowered (the path, not the quality, is under test).
"""

import json
import re
from pathlib import Path

import nbformat
import torch
import torch.nn.functional as F
from nbclient import NotebookClient
from test_data import _write_idx

from ganlib import data

ROOT = Path(__file__).resolve().parents[1]


def _mnist_files_from_the_digits(root: Path) -> None:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images, labels = data.load_digits(split=split)
        big = F.interpolate(images, size=28, mode="bilinear", align_corners=False)
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", ((big.squeeze(1) + 1) * 127.5).round().clamp(0, 255).numpy())
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels.numpy())


def test_notebook_04_runs_on_28x28_mnist_files(tmp_path):
    _mnist_files_from_the_digits(tmp_path / "data")  # load_mnist's default root, relative to the notebook
    nb = nbformat.read(ROOT / "notebooks" / "04_image_generation.ipynb", as_version=4)
    edits = {'DATASET = "digits"': 'DATASET = "mnist"', "steps=2000)": "steps=100)"}
    for old, new in edits.items():
        cells = [c for c in nb.cells if c.cell_type == "code" and old in c.source]
        assert len(cells) == 1, f"notebook 04 no longer has one cell with {old!r}"
        cells[0].source = cells[0].source.replace(old, new)
    nb.cells.append(nbformat.v4.new_code_cell(
        "import json\nprint('RESULT', json.dumps({'shape': list(train_images.shape), 'samples': list(samples.shape), "
        "'distances_in_bins': bool(torch.cat(list(memorisation['pixels'].values())).max() <= bins[-1]), "
        "'n': len(train_images)}))"
    ))
    NotebookClient(nb, timeout=600, resources={"metadata": {"path": str(tmp_path)}}).execute()  # the course's kernel
    printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("output_type") == "stream")
    result = json.loads(re.search(r"RESULT (\{.*\})", printed).group(1))
    assert result["shape"] == [1437, 1, 28, 28] and result["samples"] == [1437, 1, 28, 28]
    assert result["distances_in_bins"], "the memorisation histogram cuts off distances at 28x28"
    # The classifier's section is skipped at 28x28, as the notebook says: no digits table was printed.
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "correct on the held-out digits" not in text and "classifier features" not in text and "28, 28" in text


def test_the_mnist_files_written_here_read_back_as_the_digits(tmp_path):
    _mnist_files_from_the_digits(tmp_path)
    images, labels = data.load_mnist(tmp_path, train=False, kind="mnist", download=False)
    digits, digit_labels = data.load_digits(split="test")
    assert torch.equal(labels, digit_labels)
    upsampled = F.interpolate(digits, size=28, mode="bilinear", align_corners=False)
    # What torchvision read is the upsampled digits, quantised to MNIST's 256 grey levels.
    assert (images - upsampled).abs().max() <= 0.5 / 127.5 + 1e-6
    assert images.shape == (360, 1, 28, 28) and images.std() > 0.3
