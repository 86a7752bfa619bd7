"""Data augmentation for a small labelled set (notebook 05): classic and generated.

The setting of §6.2: few labelled digits (``labelled_subset``), a classifier trained on them
(``train_classifier``), and two ways to give it more: the classic one, random small shifts and
rotations (``shift_and_rotate``), and samples from a class-conditional GAN
(``train_conditional_gan``, ``generate_labelled``).
"""

from __future__ import annotations

import time
from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import nn

from . import data, recipes, training
from .classifier import accuracy
from .models import _positive_int

__all__ = [
    "affine",
    "generate_labelled",
    "held_out_accuracy",
    "label_fidelity",
    "labelled_subset",
    "shift_and_rotate",
    "small_classifier",
    "train_classifier",
    "train_conditional_gan",
]



def labelled_subset(
    images: torch.Tensor, labels: torch.Tensor, per_class: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``per_class`` images of each class, drawn at random (the same for the same ``seed``)."""
    _positive_int("per_class", per_class)
    gen = torch.Generator().manual_seed(seed)
    keep = []
    for c in labels.unique().tolist():
        (where,) = torch.nonzero(labels == c, as_tuple=True)
        if len(where) < per_class:
            raise ValueError(f"per_class={per_class}: class {c} has only {len(where)} images; ask for fewer.")
        keep.append(where[torch.randperm(len(where), generator=gen)[:per_class]])
    keep = torch.cat(keep)
    return images[keep], labels[keep]


def affine(images: torch.Tensor, degrees: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Each image (N x C x H x W, background -1) rotated by ``degrees[i]`` about its centre and
    moved by ``shift[i] = (dx, dy)`` pixels; pixels from outside the image are background."""
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        got = f"shape {tuple(images.shape)}" if isinstance(images, torch.Tensor) else f"a {type(images).__name__}"
        raise ValueError(f"images: expected a tensor of N x C x H x W images, got {got}.")
    n, _, h, w = images.shape
    if degrees.shape != (n,) or shift.shape != (n, 2):
        raise ValueError(f"degrees and shift: expected shapes ({n},) and ({n}, 2), got "
                         f"{tuple(degrees.shape)} and {tuple(shift.shape)}.")
    angle = torch.deg2rad(degrees.to(images.dtype))
    cos, sin = angle.cos(), angle.sin()
    theta = torch.zeros(n, 2, 3, dtype=images.dtype)
    theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 0], theta[:, 1, 1] = cos, -sin, sin, cos
    # the grid maps each output pixel to where it is read from: moving the content by +dx reads from -dx
    theta[:, 0, 2], theta[:, 1, 2] = -shift[:, 0] * 2 / w, -shift[:, 1] * 2 / h  # pixels -> [-1, 1] units
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    # sample (image + 1), which is 0 on the background, so zero padding means background
    return F.grid_sample(images + 1, grid, mode="bilinear", padding_mode="zeros", align_corners=False) - 1


def shift_and_rotate(
    images: torch.Tensor, max_shift: float = 1.0, max_degrees: float = 10.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Classic augmentation: each image moved by up to ``max_shift`` pixels in each direction and
    rotated by up to ``max_degrees``, uniformly at random (``affine``)."""
    if max_shift < 0 or max_degrees < 0:
        raise ValueError(f"max_shift={max_shift!r}, max_degrees={max_degrees!r}: expected amounts >= 0.")
    n = len(images)  # affine checks the images
    degrees = (torch.rand(n, generator=generator) * 2 - 1) * max_degrees
    shift = (torch.rand(n, 2, generator=generator) * 2 - 1) * max_shift
    return affine(images, degrees, shift)


def small_classifier() -> nn.Sequential:
    """A small CNN for 8x8 digits (6,090 weights; notebook 09's classifier has 12 times more):
    two 3x3 convolutions, each followed by 2x2 max-pooling, then a linear layer to 10 logits."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 4x4
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 2x2
        nn.Flatten(), nn.Linear(32 * 2 * 2, 10),
    )


def train_classifier(
    images: torch.Tensor,
    labels: torch.Tensor,
    steps: int = 300,
    batch_size: int = 64,
    augment: bool = False,
    seed: int = 0,
    synthetic: tuple[torch.Tensor, torch.Tensor] | None = None,
    real_fraction: float = 1.0,
) -> nn.Sequential:
    """A fresh ``small_classifier`` trained on ``(images, labels)`` with Adam (lr 3e-3) for
    ``steps`` batches of ``batch_size`` of them; with ``augment``, every image of every batch is
    shifted and rotated (``shift_and_rotate``).

    With ``synthetic`` = (generated images, their labels) and ``real_fraction`` p < 1, each batch
    of real images is joined by round(batch_size (1 - p) / p) synthetic ones drawn at random from
    that pool, so real images are the fraction p of every batch. The real part of each batch (and
    its shifts, with ``augment``) is exactly what the classifier trained on the real images alone
    sees with the same ``seed``: adding synthetic data changes nothing else.
    """
    _positive_int("steps", steps)
    if isinstance(real_fraction, bool) or not isinstance(real_fraction, (int, float)) or not 0 < real_fraction <= 1:
        raise ValueError(f"real_fraction={real_fraction!r}: expected a number in (0, 1], the share of real "
                         "images in each batch (1: real images only).")
    if synthetic is None and real_fraction != 1:
        raise ValueError(f"real_fraction={real_fraction!r} without synthetic images: pass synthetic=(images, "
                         "labels), e.g. generate_labelled(gan, per_class=100), or leave real_fraction at 1.")
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[1:] != (1, 8, 8):
        got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images: expected 8x8 grey digits of shape (N, 1, 8, 8), got {got}.")
    if not isinstance(labels, torch.Tensor) or labels.shape != (len(images),):
        got = tuple(labels.shape) if isinstance(labels, torch.Tensor) else type(labels).__name__
        raise ValueError(f"labels: expected one digit per image, shape ({len(images)},), got {got}.")
    n_real = min(batch_size, len(images))
    if synthetic is not None:
        fake_images, fake_labels = synthetic if isinstance(synthetic, (tuple, list)) and len(synthetic) == 2 \
            else (None, None)
        if not isinstance(fake_images, torch.Tensor) or fake_images.shape[1:] != images.shape[1:] \
                or not isinstance(fake_labels, torch.Tensor) or fake_labels.shape != (len(fake_images),):
            raise ValueError("synthetic: expected (images, labels) shaped like the real ones, (M, 1, 8, 8) and (M,), "
                             "e.g. generate_labelled(gan, per_class=100).")
        n_fake = round(n_real * (1 - real_fraction) / real_fraction)
    torch.manual_seed(seed)
    model = small_classifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    batches = training.forever(data.tensor_loader(images, labels, batch_size=n_real, seed=seed))
    jitter = torch.Generator().manual_seed(seed)
    draws, fake_jitter = torch.Generator().manual_seed(seed + 1), torch.Generator().manual_seed(seed + 2)
    for _ in range(steps):
        x, y = next(batches)
        if augment:
            x = shift_and_rotate(x, generator=jitter)
        if synthetic is not None and n_fake:
            pick = torch.randint(len(fake_images), (n_fake,), generator=draws)
            extra = shift_and_rotate(fake_images[pick], generator=fake_jitter) if augment else fake_images[pick]
            x, y = torch.cat([x, extra]), torch.cat([y, fake_labels[pick]])  # nothing added when p = 1
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    model.eval()
    return model


def train_conditional_gan(
    images: torch.Tensor, labels: torch.Tensor, steps: int = 2000, seed: int = 0, progress: bool = False,
    batch_size: int | None = None,
) -> training.GAN:
    """A class-conditional DCGAN (``recipes.build_digits(..., n_classes=10)``) trained with the
    digits' recipe for ``steps`` on ``(images, labels)``, in batches of the recipe's size (64) or
    ``batch_size``. With ``progress``, a bar runs and one line sums up the training at the end
    (steps, seconds, the last 50 steps' losses)."""
    recipe = replace(recipes.DIGITS, name=f"conditional DCGAN on {len(images):,} digits",
                     steps=_positive_int("steps", steps))
    if batch_size is not None:
        recipe = replace(recipe, batch_size=_positive_int("batch_size", batch_size))
    training.seed_everything(seed)
    gan = recipes.build_digits(recipe, n_classes=10)
    loader = data.tensor_loader(images, labels, batch_size=min(recipe.batch_size, len(images)), seed=seed)
    start = time.perf_counter()
    recipes.train_recipe(gan, recipe, loader, progress=progress)
    if progress:
        last = {key: sum(gan.history[key][-50:]) / len(gan.history[key][-50:])
                for key in ("d_loss", "g_loss", "d_real", "d_fake")}
        print(f"{recipe.name}: {steps} steps in {time.perf_counter() - start:.1f} s; last 50 steps: "
              f"D loss {last['d_loss']:.3f}, G loss {last['g_loss']:.3f}, D(x) {last['d_real']:.3f}, "
              f"D(G(z)) {last['d_fake']:.3f}")
    return gan


def generate_labelled(gan: training.GAN, per_class: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``per_class`` samples of each of the 10 classes from a conditional ``gan``, with their labels."""
    if not isinstance(gan, training.GAN) or not gan.conditional:
        raise ValueError("gan: expected a class-conditional GAN (built with n_classes=10); this one takes no labels.")
    labels = torch.arange(10).repeat_interleave(_positive_int("per_class", per_class))
    return gan.sample(len(labels), labels), labels


def label_fidelity(images: torch.Tensor, labels: torch.Tensor, confidence: float = 0.9,
                   judge: nn.Module | None = None) -> dict[str, float]:
    """How often an independent classifier reads each image as its label: the share read as the
    label (its most likely class), and the share read as the label with probability >= ``confidence``.

    The judge defaults to the course's digits classifier (``classifier.load_digits_classifier``,
    99 % on the held-out digits), which never saw the generated images or the GANs' training.
    """
    from .classifier import load_digits_classifier

    if not isinstance(images, torch.Tensor) or images.dim() != 4 or not isinstance(labels, torch.Tensor) \
            or labels.shape != (len(images),):
        raise ValueError("images and labels: expected N x 1 x 8 x 8 images and N labels, e.g. "
                         "generate_labelled(gan, per_class=100).")
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 <= confidence < 1:
        raise ValueError(f"confidence={confidence!r}: expected a probability in [0, 1).")
    judge = load_digits_classifier() if judge is None else judge
    was_training = judge.training
    judge.eval()
    with torch.no_grad():
        probabilities = judge(images).softmax(dim=1)
    judge.train(was_training)
    p_label = probabilities.gather(1, labels[:, None])[:, 0]
    read = probabilities.argmax(dim=1) == labels
    return {"read as label": read.float().mean().item(),
            "read confidently": (read & (p_label >= confidence)).float().mean().item()}


def held_out_accuracy(model: nn.Module) -> float:
    """``model``'s accuracy on the digits' held-out split (360 images)."""
    images, labels = data.load_digits(split="test")
    return accuracy(model, images, labels)
