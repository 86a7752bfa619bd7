"""The course's datasets, as tensors and as loaders, scaled the way the models expect.

Offline by default, so everything runs anywhere:

* 2D toy distributions: ``ring`` (8 Gaussians on a circle of radius 1, sigma 0.01) and
  ``grid`` (25 Gaussians at {-4, -2, 0, 2, 4}^2, sigma 0.05), the parameters of the PacGAN
  protocol (Lin et al., 2018); ``moons`` and ``spiral``.
* scikit-learn's bundled 8x8 handwritten digits, scaled to [-1, 1] (the range of a ``tanh``
  generator), as N x 1 x 8 x 8 images with their labels.

Online (needs internet): MNIST and Fashion-MNIST through ``torchvision.datasets``.
"""

from __future__ import annotations

import math
import urllib.error
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset

from ._paths import as_path

__all__ = [
    "GRID",
    "RING",
    "TOY_DATASETS",
    "DatasetUnavailableError",
    "GaussianMixture",
    "digits_loader",
    "load_digits",
    "load_mnist",
    "sample_toy",
    "tensor_loader",
    "toy_loader",
]


@dataclass(frozen=True)
class GaussianMixture:
    """Equal-weight isotropic Gaussians with standard deviation ``std`` around ``means``."""

    name: str
    means: torch.Tensor  # K x 2
    std: float

    @property
    def n_modes(self) -> int:
        return len(self.means)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` points: pick a mode uniformly at random, then add Gaussian noise."""
        modes = torch.randint(self.n_modes, (n,), generator=generator)
        noise = torch.randn(n, 2, generator=generator)
        return self.means[modes] + self.std * noise


def _ring_means(n_modes: int = 8, radius: float = 1.0) -> torch.Tensor:
    angles = torch.arange(n_modes, dtype=torch.float64) * (2 * math.pi / n_modes)
    return (radius * torch.stack([angles.cos(), angles.sin()], dim=1)).float()


def _grid_means(values: tuple[float, ...] = (-4.0, -2.0, 0.0, 2.0, 4.0)) -> torch.Tensor:
    v = torch.tensor(values)
    return torch.cartesian_prod(v, v)


RING = GaussianMixture("ring", _ring_means(), std=0.01)
GRID = GaussianMixture("grid", _grid_means(), std=0.05)


def _sample_moons(n: int, generator: torch.Generator | None, noise: float = 0.05) -> torch.Tensor:
    # The two interleaving half-circles of scikit-learn's make_moons, centred on the origin.
    upper = torch.rand(n, generator=generator) < 0.5
    t = math.pi * torch.rand(n, generator=generator)
    x = torch.where(upper, t.cos(), 1 - t.cos())
    y = torch.where(upper, t.sin(), 0.5 - t.sin())
    points = torch.stack([x - 0.5, y - 0.25], dim=1)
    return points + noise * torch.randn(n, 2, generator=generator)


def _sample_spiral(n: int, generator: torch.Generator | None, noise: float = 0.03) -> torch.Tensor:
    # An Archimedean spiral of 1.5 turns reaching radius 1: one long curved manifold.
    t = torch.rand(n, generator=generator).sqrt()  # uniform along the arc, roughly
    angle = 3 * math.pi * t
    points = torch.stack([t * angle.cos(), t * angle.sin()], dim=1)
    return points + noise * torch.randn(n, 2, generator=generator)


TOY_DATASETS = ("ring", "grid", "moons", "spiral")


def sample_toy(name: str, n: int, seed: int | None = None) -> torch.Tensor:
    """``n`` points (an n x 2 float tensor) from the 2D toy distribution ``name``.

    ``name`` is one of ``TOY_DATASETS``: ``"ring"``, ``"grid"``, ``"moons"``, ``"spiral"``.
    """
    if name not in TOY_DATASETS:
        raise ValueError(f"name={name!r} is not a 2D toy dataset; choose one of {', '.join(map(repr, TOY_DATASETS))}.")
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n={n!r}: the number of points must be a positive integer.")
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    if name == "ring":
        return RING.sample(n, generator)
    if name == "grid":
        return GRID.sample(n, generator)
    if name == "moons":
        return _sample_moons(n, generator)
    return _sample_spiral(n, generator)


def _check_batch_size(batch_size: int, n: int) -> None:
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or not 1 <= batch_size <= n:
        raise ValueError(f"batch_size={batch_size!r}: expected an integer from 1 to the dataset size ({n}).")


def tensor_loader(*tensors: torch.Tensor, batch_size: int, seed: int = 0) -> DataLoader:
    """A shuffling ``DataLoader`` over tensors that slices whole batches at once.

    The default loader indexes one sample at a time and collates them, which costs more
    than a training step of a small 2D GAN; sampling batch indices and slicing does not.
    Incomplete last batches are dropped, so every batch has ``batch_size`` rows.
    """
    dataset = TensorDataset(*tensors)
    _check_batch_size(batch_size, len(dataset))
    sampler = BatchSampler(
        RandomSampler(dataset, generator=torch.Generator().manual_seed(seed)),
        batch_size=batch_size,
        drop_last=True,
    )
    return DataLoader(dataset, sampler=sampler, batch_size=None)


def toy_loader(name: str, n: int = 50_000, batch_size: int = 256, seed: int = 0) -> DataLoader:
    """A loader of ``batch_size``-point batches drawn from ``n`` samples of a 2D toy dataset.

    Each batch is a 1-tuple ``(points,)``, like every ``TensorDataset`` batch.
    """
    return tensor_loader(sample_toy(name, n, seed=seed), batch_size=batch_size, seed=seed)


def load_digits(
    size: int = 8, split: str = "all", test_fraction: float = 0.2, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's bundled handwritten digits: ``(images, labels)``.

    ``images`` is N x 1 x size x size in [-1, 1] (the pixel counts 0..16 mapped linearly);
    ``labels`` is N (int64, 0-9). ``size=16`` upsamples bilinearly, which stays in [-1, 1].
    ``split`` is ``"all"`` (1,797 images), or ``"train"`` / ``"test"``: a fixed stratified
    split with ``test_fraction`` of each digit held out (the same for the same ``seed``).
    """
    if size not in (8, 16):
        raise ValueError(f"size={size!r}: the digits come as 8x8 images; use size=8 or size=16.")
    if split not in ("all", "train", "test"):
        raise ValueError(f"split={split!r}: use 'all', 'train' or 'test'.")
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    images = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 8.0 - 1.0
    labels = torch.tensor(bunch.target, dtype=torch.int64)
    if split != "all":
        if not 0 < test_fraction < 1:
            raise ValueError(f"test_fraction={test_fraction!r}: expected a number between 0 and 1.")
        from sklearn.model_selection import train_test_split

        train_idx, test_idx = train_test_split(
            torch.arange(len(labels)).numpy(),
            test_size=test_fraction,
            random_state=seed,
            stratify=labels.numpy(),
        )
        keep = torch.as_tensor(train_idx if split == "train" else test_idx)
        images, labels = images[keep], labels[keep]
    if size == 16:
        images = F.interpolate(images, size=(16, 16), mode="bilinear", align_corners=False)
    return images, labels


def digits_loader(batch_size: int = 64, size: int = 8, split: str = "all", seed: int = 0) -> DataLoader:
    """A shuffling loader of ``(images, labels)`` batches of the digits (see ``load_digits``)."""
    images, labels = load_digits(size=size, split=split, seed=seed)
    return tensor_loader(images, labels, batch_size=batch_size, seed=seed)


class DatasetUnavailableError(RuntimeError):
    """An online dataset could not be downloaded; the message says what to use instead."""


_ONLINE = {"mnist": "MNIST", "fashion": "FashionMNIST"}


def load_mnist(
    root: str | Path = "data", train: bool = True, kind: str = "mnist", download: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST (``kind="mnist"``) or Fashion-MNIST (``kind="fashion"``): ``(images, labels)``.

    ``images`` is N x 1 x 28 x 28 in [-1, 1]. Needs the files under ``root`` or, with
    ``download=True``, internet. Offline this raises ``DatasetUnavailableError`` with one
    short message naming the offline alternative, ``load_digits``.
    """
    # Every argument is checked before torchvision creates folders under root.
    root = as_path("root", root, "the folder for the dataset's files")
    if not isinstance(kind, str) or kind not in _ONLINE:
        raise ValueError(f"kind={kind!r}: use 'mnist' or 'fashion' (Fashion-MNIST).")
    for name, value in (("train", train), ("download", download)):
        if not isinstance(value, bool):
            raise ValueError(f"{name}={value!r}: expected True or False.")
    from torchvision import datasets

    cls = getattr(datasets, _ONLINE[kind])
    try:
        dataset = cls(root=str(root), train=train, download=download)
    except (urllib.error.URLError, OSError, RuntimeError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = "could not be downloaded" if download else "was not found"
        raise DatasetUnavailableError(
            f"{_ONLINE[kind]} {where} into {str(root)!r} ({reason}). "
            "Offline, use the bundled digits instead: ganlib.data.load_digits() "
            "(1,797 8x8 images; size=16 upsamples). Online (e.g. on Binder), "
            "call load_mnist again with download=True."
        ) from None
    images = dataset.data.unsqueeze(1).float() / 127.5 - 1.0
    return images, dataset.targets.long()
