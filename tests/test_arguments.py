"""A file or folder argument that is not a path fails at once, naming the argument, and leaves
nothing behind: no folder named "None", "0" or "[1, 2]" in the working directory."""

import os

import pytest
import torch

from ganlib import classifier, data, models, training

NOT_PATHS = [None, 0, 1.5, [1, 2], "", "   ", b"data", True]


def _calls(bad):
    gan = training.GAN(models.MLPGenerator(latent_dim=2, hidden=8), models.MLPDiscriminator(hidden=8), device="cpu")
    batches = [(torch.randn(8, 2),)]
    return {
        "root": lambda: data.load_mnist(root=bad),
        "checkpoint": lambda: training.train(gan, batches, steps=1, progress=False, checkpoint=bad),
        "path": lambda: training.save_checkpoint(gan, bad),
        "checkpoint ": lambda: training.load_checkpoint(gan, bad),
        "path ": lambda: classifier.load_digits_classifier(bad),
    }


# train(checkpoint=None) means: save no checkpoint.
CASES = [(a, bad) for a in ("root", "checkpoint", "path", "checkpoint ", "path ") for bad in NOT_PATHS
         if not (a == "checkpoint" and bad is None)]


@pytest.mark.parametrize(("argument", "bad"), CASES, ids=[f"{a.strip()}={b!r}" for a, b in CASES])
def test_a_non_path_is_refused_before_anything_is_written(tmp_path, monkeypatch, argument, bad):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError) as error:
        _calls(bad)[argument]()
    message = str(error.value)
    assert message.startswith(f"{argument.strip()}={bad!r}: expected") and "str or pathlib.Path" in message
    assert os.listdir(tmp_path) == []


def test_a_training_run_with_a_bad_checkpoint_does_not_start(tmp_path, monkeypatch):
    gan = training.GAN(models.MLPGenerator(latent_dim=2, hidden=8), models.MLPDiscriminator(hidden=8), device="cpu")
    with pytest.raises(ValueError, match="checkpoint=0"):
        training.train(gan, [(torch.randn(8, 2),)], steps=3, progress=False, checkpoint=0)
    assert gan.step == 0 and not gan.history["d_loss"]


@pytest.mark.parametrize(("arguments", "named"), [
    ({"kind": None}, "kind=None"), ({"kind": "cifar"}, "kind='cifar'"),
    ({"train": "yes"}, "train='yes'"), ({"download": 1}, "download=1"),
])
def test_load_mnist_checks_its_other_arguments_before_creating_its_folder(tmp_path, monkeypatch, arguments, named):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=named):
        data.load_mnist(root="data", **arguments)
    assert os.listdir(tmp_path) == []


def test_a_real_path_still_works(tmp_path):
    gan = training.GAN(models.MLPGenerator(latent_dim=2, hidden=8), models.MLPDiscriminator(hidden=8), device="cpu")
    saved = training.save_checkpoint(gan, str(tmp_path / "runs" / "a.pt"))
    assert saved.is_file() and training.load_checkpoint(gan, saved) is gan
