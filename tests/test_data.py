import math
import socket
import struct

import numpy as np
import pytest
import sklearn.datasets
import torch

from ganlib import data


def test_ring_means_are_eight_points_on_the_unit_circle():
    means = data.RING.means
    assert means.shape == (8, 2)
    torch.testing.assert_close(means.norm(dim=1), torch.ones(8), atol=1e-6, rtol=0)
    # Neighbouring modes are 45 degrees apart: chord length 2 sin(22.5°).
    chords = (means - means.roll(1, dims=0)).norm(dim=1)
    torch.testing.assert_close(chords, torch.full((8,), 2 * math.sin(math.pi / 8)), atol=1e-6, rtol=0)
    assert data.RING.std == 0.01


def test_grid_means_are_the_25_points_of_minus4_to_4_in_steps_of_2():
    got = {tuple(p) for p in data.GRID.means.tolist()}
    expected = {(float(x), float(y)) for x in range(-4, 5, 2) for y in range(-4, 5, 2)}
    assert got == expected and len(data.GRID.means) == 25
    assert data.GRID.std == 0.05


@pytest.mark.parametrize("mixture", [data.RING, data.GRID])
def test_mixture_samples_have_the_protocol_spread_and_equal_weights(mixture):
    x = data.sample_toy(mixture.name, 40_000, seed=1)
    nearest = torch.cdist(x, mixture.means).argmin(dim=1)
    offsets = x - mixture.means[nearest]
    # Offsets are N(0, std^2) per coordinate: the sample std is within 3% of it (n = 80,000).
    assert abs(offsets.std().item() / mixture.std - 1) < 0.03
    assert offsets.mean(0).abs().max().item() < 0.05 * mixture.std
    # Each mode holds 1/K of the points: within 5 binomial standard deviations.
    k = mixture.n_modes
    counts = torch.bincount(nearest, minlength=k).double()
    sd = math.sqrt(40_000 * (1 / k) * (1 - 1 / k))
    assert (counts - 40_000 / k).abs().max().item() < 5 * sd


def test_moons_and_spiral_are_bounded_2d_clouds():
    moons = data.sample_toy("moons", 5_000, seed=0)
    spiral = data.sample_toy("spiral", 5_000, seed=0)
    for x in (moons, spiral):
        assert x.shape == (5_000, 2) and torch.isfinite(x).all()
        assert x.abs().max() < 2.0
    # The spiral's radius grows with its angle: points near the centre and near radius 1.
    r = spiral.norm(dim=1)
    assert r.min() < 0.1 and 0.9 < r.max() < 1.2


def test_sampling_is_reproducible_per_seed():
    a, b, c = (data.sample_toy("grid", 100, seed=s) for s in (3, 3, 4))
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("bad", ["rings", "", "MNIST"])
def test_unknown_toy_dataset_names_the_valid_ones(bad):
    with pytest.raises(ValueError, match=r"name=.*'ring', 'grid', 'moons', 'spiral'"):
        data.sample_toy(bad, 10)


@pytest.mark.parametrize("n", [0, -5, 2.5, True])
def test_bad_sample_count_is_named(n):
    with pytest.raises(ValueError, match=r"^n=.*positive integer"):
        data.sample_toy("ring", n)


def test_toy_loader_yields_full_batches_covering_the_data_once_per_epoch():
    loader = data.toy_loader("ring", n=1_000, batch_size=100, seed=0)
    batches = [b for (b,) in loader]
    assert len(batches) == 10 and all(b.shape == (100, 2) for b in batches)
    seen, expected = torch.cat(batches), data.sample_toy("ring", 1_000, seed=0)
    assert torch.equal(seen[seen[:, 0].argsort()], expected[expected[:, 0].argsort()])


@pytest.mark.parametrize("batch_size", [0, 2_000, 3.0])
def test_bad_batch_size_is_named(batch_size):
    with pytest.raises(ValueError, match=r"batch_size=.*1 to the dataset size \(1000\)"):
        data.toy_loader("ring", n=1_000, batch_size=batch_size)


def test_digits_match_scikit_learn_scaled_to_minus1_1():
    images, labels = data.load_digits()
    raw = sklearn.datasets.load_digits()
    assert images.shape == (1797, 1, 8, 8) and images.dtype == torch.float32
    np.testing.assert_allclose((images.squeeze(1).numpy() + 1) * 8, raw.images, atol=1e-5)
    assert torch.equal(labels, torch.as_tensor(raw.target))
    assert images.min().item() == -1.0 and images.max().item() == 1.0


def test_digits_upsampled_to_16_keep_range_and_average():
    small, _ = data.load_digits()
    big, _ = data.load_digits(size=16)
    assert big.shape == (1797, 1, 16, 16)
    assert big.min() >= -1 and big.max() <= 1
    # Bilinear x2 upsampling with edge clamping: each 2x2 block's mean stays near the pixel.
    pooled = torch.nn.functional.avg_pool2d(big, 2)
    assert (pooled - small).abs().mean().item() < 0.15


def test_digits_split_is_disjoint_stratified_and_fixed():
    train_x, train_y = data.load_digits(split="train")
    test_x, test_y = data.load_digits(split="test")
    assert len(train_y) + len(test_y) == 1797
    assert abs(len(test_y) - 0.2 * 1797) <= 1
    for digit in range(10):
        share = (test_y == digit).sum().item() / ((test_y == digit).sum() + (train_y == digit).sum()).item()
        assert abs(share - 0.2) < 0.02
    flat_train = {tuple(x.flatten().tolist()) for x in train_x}
    overlap = sum(tuple(x.flatten().tolist()) in flat_train for x in test_x)
    assert overlap <= 5  # the dataset itself holds a few duplicate images
    again, _ = data.load_digits(split="test")
    assert torch.equal(again, test_x)


@pytest.mark.parametrize("kwargs, match", [({"size": 28}, r"size=28"), ({"split": "val"}, r"split='val'")])
def test_bad_digits_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        data.load_digits(**kwargs)


def test_digits_loader_yields_image_label_batches():
    images, labels = next(iter(data.digits_loader(batch_size=32)))
    assert images.shape == (32, 1, 8, 8) and labels.shape == (32,)


def _write_idx(path, array, magic_type=0x08):
    header = struct.pack(">HBB", 0, magic_type, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


@pytest.mark.parametrize("kind, folder", [("mnist", "MNIST"), ("fashion", "FashionMNIST")])
def test_mnist_loader_reads_idx_files(tmp_path, kind, folder):
    rng = np.random.default_rng(0)
    raw = tmp_path / folder / "raw"
    raw.mkdir(parents=True)
    pixels = {split: rng.integers(0, 256, size=(n, 28, 28)) for split, n in (("train", 5), ("t10k", 3))}
    targets = {split: rng.integers(0, 10, size=len(pixels[split])) for split in pixels}
    for split in pixels:
        _write_idx(raw / f"{split}-images-idx3-ubyte", pixels[split])
        _write_idx(raw / f"{split}-labels-idx1-ubyte", targets[split])
    images, labels = data.load_mnist(tmp_path, train=False, kind=kind, download=False)
    assert images.shape == (3, 1, 28, 28)
    np.testing.assert_allclose(images.squeeze(1).numpy(), pixels["t10k"] / 127.5 - 1, atol=1e-6)
    assert labels.tolist() == targets["t10k"].tolist()
    train_images, _ = data.load_mnist(tmp_path, train=True, kind=kind, download=False)
    assert train_images.shape == (5, 1, 28, 28)


@pytest.fixture
def offline(monkeypatch):
    """No network: every connection attempt fails, as on a plane or in CI."""

    def refuse(*args, **kwargs):
        raise OSError("[Errno 101] Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.mark.parametrize("kind", ["mnist", "fashion"])
def test_offline_mnist_gives_one_clear_error_naming_the_alternative(tmp_path, offline, kind):
    with pytest.raises(data.DatasetUnavailableError) as info:
        data.load_mnist(tmp_path, kind=kind, download=True)
    message = str(info.value)
    assert "could not be downloaded" in message and "load_digits()" in message
    assert len(message.splitlines()) == 1
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no chained traceback


def test_missing_mnist_without_download_names_the_alternative(tmp_path):
    with pytest.raises(data.DatasetUnavailableError, match=r"was not found.*load_digits\(\)"):
        data.load_mnist(tmp_path, download=False)


def test_unknown_online_dataset_kind_is_named():
    with pytest.raises(ValueError, match=r"kind='cifar'"):
        data.load_mnist(kind="cifar")
