"""Training recipes for the 2D protocol (notebooks 08 and 10, ``benchmarks/protocol_2d.py``).

A ``Recipe`` is every choice that is not the data: loss, learning rates, batch size, steps,
the discriminator's constraint (penalty, weight clipping, spectral normalisation, packing)
and the learning-rate schedule. ``run_2d`` trains one recipe on ``"ring"`` or ``"grid"``
with one seed and measures it with the PacGAN protocol (2,500 samples, ``metrics.mode_coverage``).

The models are the same for every recipe (``MLPGenerator`` / ``MLPDiscriminator``, 3 hidden
layers of 128 units, latent size 8), so the table compares training, not architecture.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from . import data, metrics, models, regularizers, training

__all__ = [
    "DIGITS", "RECIPES", "Recipe", "StoredSamples", "build_2d", "build_digits", "evaluation_samples", "paired_change",
    "run_2d", "run_digits", "stored_samples", "train_2d", "train_recipe",
]


@dataclass(frozen=True)
class Recipe:
    name: str
    loss: str = "non_saturating"
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    batch_size: int = 512
    steps: int = 6000
    n_critic: int = 1
    gradient_penalty: float = 0.0  # WGAN-GP's lambda
    r1: float = 0.0  # R1's gamma
    penalty_every: int = 1  # >1: a lazy penalty (every k-th step, k times the weight)
    weight_clip: float | None = None
    spectral_norm: bool = False
    pack: int = 1
    decay: float = 0.0  # the last `decay` fraction of the steps lowers both learning rates linearly to 0
    hidden: int = 128
    latent_dim: int = 8

    def with_steps(self, steps: int) -> Recipe:
        return replace(self, steps=steps)

    @property
    def step_length(self) -> float:
        """The generator's learning rate times its steps, the decayed steps counted at their mean rate
        (half): about how far Adam, whose steps move each weight by about lr, can carry G's weights."""
        return self.lr_g * self.steps * (1 - self.decay / 2)


# The same models, batch and (about) the same time for every row; only the training choices differ.
RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe("GAN", lr_g=1e-3, lr_d=1e-3),
        Recipe("PacGAN2", lr_g=1e-3, lr_d=1e-3, pack=2),
        # n_critic = 5 makes a step ~3x dearer: 2,000 generator steps cost about what 6,000 cost the others.
        Recipe("WGAN (clipping)", loss="wasserstein", lr_g=5e-5, lr_d=5e-5, betas=(0.0, 0.9), steps=2000,
               n_critic=5, weight_clip=0.01),
        Recipe("WGAN-GP", loss="wasserstein", lr_g=1e-4, lr_d=1e-4, betas=(0.0, 0.9), steps=2000, n_critic=5,
               gradient_penalty=10.0),
        # The clipped WGAN at the same cost with a step length (lr x G steps) of 6, the plain GAN's: one change, lr.
        Recipe("WGAN (clipping, lr 3e-3)", loss="wasserstein", lr_g=3e-3, lr_d=3e-3, betas=(0.0, 0.9), steps=2000,
               n_critic=5, weight_clip=0.01),
        # WGAN-GP as published (lambda 10, betas 0, 0.9) at the plain GAN's step length: one change, lr.
        Recipe("WGAN-GP (lr 3e-3)", loss="wasserstein", lr_g=3e-3, lr_d=3e-3, betas=(0.0, 0.9), steps=2000,
               n_critic=5, gradient_penalty=10.0),
        # The WGAN-GP authors' toy script (gan_toy.py in igul222/improved_wgan_training): lambda 0.1, 3 layers
        # of 512 units, Adam(1e-4, betas 0.5, 0.9), batches of 256; they train for 100,000 generator steps.
        Recipe("WGAN-GP (gan_toy.py settings)", loss="wasserstein", lr_g=1e-4, lr_d=1e-4, betas=(0.5, 0.9),
               batch_size=256, steps=2000, n_critic=5, gradient_penalty=0.1, hidden=512),
        # Their lambda and betas on our networks and batch, at the step length of the plain GAN (6).
        Recipe("WGAN-GP (lambda 0.1, lr 3e-3)", loss="wasserstein", lr_g=3e-3, lr_d=3e-3, betas=(0.5, 0.9),
               steps=2000, n_critic=5, gradient_penalty=0.1),
        Recipe("SNGAN (hinge)", loss="hinge", lr_g=1e-3, lr_d=1e-3, spectral_norm=True),
        Recipe("R1", lr_g=1e-3, lr_d=1e-3, r1=0.1, penalty_every=4),
        Recipe("TTUR", lr_g=1e-3, lr_d=2e-3),
        Recipe("R1 + TTUR + decay (recommended)", lr_g=2e-3, lr_d=4e-3, r1=0.1, penalty_every=4, decay=0.5),
        # Ablations of the recommended recipe: each changes one thing (benchmarks/protocol_2d.py).
        Recipe("GAN + decay", lr_g=1e-3, lr_d=1e-3, decay=0.5),  # the plain GAN, decayed
        Recipe("R1 + decay", lr_g=1e-3, lr_d=1e-3, r1=0.1, penalty_every=4, decay=0.5),  # the R1 row, decayed
        Recipe("R1 + TTUR (no decay)", lr_g=2e-3, lr_d=4e-3, r1=0.1, penalty_every=4),  # the recommended, no decay
        Recipe("TTUR + decay (no R1)", lr_g=2e-3, lr_d=4e-3, decay=0.5),  # the recommended, no R1
        Recipe("R1 + decay (no TTUR)", lr_g=2e-3, lr_d=2e-3, r1=0.1, penalty_every=4, decay=0.5),  # D at G's rate
    )
}


def _gan(recipe: Recipe, G: torch.nn.Module, D: torch.nn.Module, device) -> training.GAN:
    if recipe.spectral_norm:
        regularizers.spectral_norm(D)
    penalty = None
    if recipe.gradient_penalty and recipe.r1:
        raise ValueError(f"recipe {recipe.name!r}: choose one penalty, gradient_penalty or r1, not both.")
    if recipe.gradient_penalty:
        penalty = partial(regularizers.gradient_penalty, weight=recipe.gradient_penalty)
    elif recipe.r1:
        penalty = partial(regularizers.r1_penalty, gamma=recipe.r1)
    if penalty is not None and recipe.penalty_every > 1:
        penalty = regularizers.lazy(penalty, recipe.penalty_every)
    return training.GAN(G, D, loss=recipe.loss, lr_g=recipe.lr_g, lr_d=recipe.lr_d, betas=recipe.betas,
                        n_critic=recipe.n_critic, penalty=penalty, weight_clip=recipe.weight_clip, device=device)


def build_2d(recipe: Recipe, device: str | torch.device | None = "cpu") -> training.GAN:
    """The ``GAN`` a recipe trains on 2D data (fresh models, seeded by the caller)."""
    G = models.MLPGenerator(latent_dim=recipe.latent_dim, hidden=recipe.hidden)
    if recipe.pack > 1:
        D = models.PackedDiscriminator(pack=recipe.pack, hidden=recipe.hidden)
    else:
        D = models.MLPDiscriminator(hidden=recipe.hidden)
    return _gan(recipe, G, D, device)


# The digits' recipe (notebooks 04 and 05): the recommended one's R1, TTUR and decay at batches
# of 64 (the PyTorch DCGAN example's; the paper used 128), with half its learning rates.
DIGITS = Recipe("DCGAN on digits (R1 + TTUR + decay)", lr_g=1e-3, lr_d=2e-3, r1=0.1, penalty_every=4, decay=0.5,
                batch_size=64, steps=2000)


def build_digits(
    recipe: Recipe, device: str | torch.device | None = "cpu", width: int = 32, n_classes: int | None = None,
    image_size: int = 8, *, d_hidden: int = 0, refine: bool = False,
) -> training.GAN:
    """The ``GAN`` a recipe trains on the 8x8 digits: a DCGAN whose discriminator has no BatchNorm
    (gradient penalties and spectral normalisation treat each sample on its own). With ``n_classes``
    both networks are conditioned on the label; ``image_size=28`` is for MNIST-sized images.

    At 8x8 each network has one strided layer. ``d_hidden`` puts a hidden layer of that many
    units (LeakyReLU) between the discriminator's features and its logit, as in notebook 07's
    discriminator; ``refine`` gives the generator one more layer at full size: its last transposed
    convolution keeps half its input channels (BatchNorm, ReLU), and a 3x3 convolution makes the image.
    """
    if isinstance(d_hidden, bool) or not isinstance(d_hidden, int) or d_hidden < 0:
        raise ValueError(f"d_hidden={d_hidden!r}: expected the units of D's hidden layer (0 for none).")
    G = models.DCGANGenerator(latent_dim=32, image_size=image_size, width=2 * width if refine else width,
                              n_classes=n_classes)
    if refine:
        last = G.upsample[-2]  # the transposed convolution to the image (then tanh)
        half = last.in_channels // 2
        tail = nn.Sequential(nn.ConvTranspose2d(last.in_channels, half, 4, stride=2, padding=1, bias=False),
                             nn.BatchNorm2d(half), nn.ReLU(), nn.Conv2d(half, G.channels, 3, padding=1), nn.Tanh())
        tail.apply(models.dcgan_init)
        G.upsample = nn.Sequential(*G.upsample[:-2], *tail)
    D = models.DCGANDiscriminator(image_size=image_size, width=width, batch_norm=False, n_classes=n_classes)
    if d_hidden:
        D.head = nn.Sequential(nn.Linear(D.head.in_features, d_hidden), nn.LeakyReLU(0.2), nn.Linear(d_hidden, 1))
        D.head.apply(models.dcgan_init)
    return _gan(recipe, G, D, device)


def train_recipe(
    gan: training.GAN,
    recipe: Recipe,
    loader,
    progress: bool = False,
    callback: Callable[[training.GAN], None] | None = None,
    every: int = 100,
) -> None:
    """Train ``gan`` for ``recipe.steps``, with the recipe's learning-rate decay at the end.

    ``progress`` shows one bar for the whole run. ``callback(gan)``, if given, is called after
    every ``every`` steps and at the end (to keep snapshots, for example); it does not change
    which batches, noise or learning rates the steps see.
    """
    if not isinstance(every, int) or isinstance(every, bool) or every < 1:
        raise ValueError(f"every={every!r}: expected a positive number of steps between callbacks.")
    constant = round(recipe.steps * (1 - recipe.decay))
    bar = tqdm(total=recipe.steps, disable=not progress, desc=recipe.name, unit="step")
    done = 0

    def advance(n: int, batches) -> None:
        """``n`` steps from ``batches``, stopping at each callback on the way."""
        nonlocal done
        while n:
            chunk = min(n, every - done % every) if callback is not None else n
            training.train(gan, batches, chunk, progress=False)
            done, n = done + chunk, n - chunk
            bar.update(chunk)
            bar.set_postfix(d_loss=f"{gan.history['d_loss'][-1]:.3f}", g_loss=f"{gan.history['g_loss'][-1]:.3f}",
                            refresh=False)
            if callback is not None and (done % every == 0 or done == recipe.steps):
                callback(gan)

    with bar:
        if constant:
            advance(constant, training.forever(loader))  # one stream of batches for the whole phase
        stair = 100  # the decay lowers the rates in 100-step stairs
        while done < recipe.steps:
            n = min(stair, recipe.steps - done)
            left = 1 - (done + n / 2 - constant) / (recipe.steps - constant)  # mid-stair fraction of the rates
            gan.set_learning_rates(recipe.lr_g * left, recipe.lr_d * left)
            advance(n, training.forever(loader))


def run_digits(recipe: Recipe, seed: int = 0, batch_size: int = 64) -> tuple[float, float]:
    """Train ``recipe`` (its steps, rates, loss and constraints; batches of ``batch_size``) on the
    digits' training split; return the FID of 360 samples against it (digits-classifier features)
    and the seconds training took."""
    from .classifier import load_digits_classifier

    training.seed_everything(seed)
    gan = build_digits(recipe)
    images, _ = data.load_digits(split="train")
    start = time.perf_counter()
    train_recipe(gan, recipe, data.tensor_loader(images, batch_size=batch_size, seed=seed))
    seconds = time.perf_counter() - start
    clf = load_digits_classifier()
    with torch.no_grad():
        fid = metrics.frechet_distance(clf.features(images), clf.features(gan.sample(360)))
    return fid, seconds


def train_2d(recipe: Recipe, dataset: str, seed: int, device: str | torch.device | None = "cpu") -> training.GAN:
    """A fresh ``GAN`` trained with ``recipe`` on ``dataset`` from ``seed``."""
    training.seed_everything(seed)
    gan = build_2d(recipe, device=device)
    train_recipe(gan, recipe, data.toy_loader(dataset, batch_size=recipe.batch_size, seed=seed))
    return gan


def evaluation_samples(gan: training.GAN, seed: int, n_samples: int = 2500) -> torch.Tensor:
    """The ``n_samples`` the protocol measures for the run trained from ``seed``."""
    torch.manual_seed(10_000 + seed)  # evaluation noise apart from the training stream
    return gan.sample(n_samples)


def run_2d(recipe: Recipe, dataset: str, seed: int, n_samples: int = 2500) -> tuple[metrics.ModeCoverage, float]:
    """Train ``recipe`` on ``dataset`` from ``seed``; return its PacGAN measurements and the seconds it took."""
    start = time.perf_counter()
    gan = train_2d(recipe, dataset, seed)
    seconds = time.perf_counter() - start
    return metrics.mode_coverage(evaluation_samples(gan, seed, n_samples), dataset), seconds


# The benchmark's final samples, one seed per recipe and dataset (benchmarks/protocol_2d.py writes them).
SAMPLES_FILE = Path(__file__).resolve().parent / "samples" / "protocol_2d.pt"


@dataclass(frozen=True)
class StoredSamples:
    samples: torch.Tensor  # the 2,500 samples the protocol measured (N x 2, float32; stored as float16)
    seed: int
    command: str  # what reproduces them


def stored_samples(name: str, dataset: str) -> StoredSamples:
    """The final samples of the benchmark run of recipe ``name`` on ``dataset`` (one seed), as
    ``benchmarks/protocol_2d.py`` stored them, so a notebook can show the full budget without training."""
    if not SAMPLES_FILE.exists():
        raise FileNotFoundError(f"{SAMPLES_FILE} is missing; `python3 benchmarks/protocol_2d.py` writes it.")
    stored = torch.load(SAMPLES_FILE, weights_only=True)
    key = f"{name} | {dataset}"
    if key not in stored:
        have = sorted({k.rsplit(" | ", 1)[0] for k in stored})
        raise KeyError(f"name={name!r}, dataset={dataset!r}: no stored samples; stored recipes: {have}. "
                       f"`python3 benchmarks/protocol_2d.py --recipes {name!r} --seeds 1` stores them.")
    run = stored[key]
    command = f"python3 benchmarks/protocol_2d.py --recipes {name!r} --datasets {dataset}"
    command += f" --first-seed {run['seed']} --seeds {run['seed'] + 1}" if run["seed"] else " --seeds 1"
    return StoredSamples(run["samples"].float(), int(run["seed"]), command)


def paired_change(runs: list[dict], a: str, b: str, dataset: str, key: str) -> tuple[float, float, list[int]]:
    """How ``key`` changes from recipe ``a`` to recipe ``b`` on ``dataset``, paired by seed over the seeds
    both ran (benchmarks/protocol_2d.json rows): the mean of b - a, its standard error, and the seeds."""
    by_seed = [{r["seed"]: r[key] for r in runs if r["recipe"] == name and r["dataset"] == dataset} for name in (a, b)]
    seeds = sorted(by_seed[0].keys() & by_seed[1].keys())
    if len(seeds) < 2:
        raise ValueError(f"recipes {a!r} and {b!r} share {len(seeds)} seed(s) on {dataset!r}; a paired change needs 2 "
                         "or more: add seeds with benchmarks/protocol_2d.py --first-seed.")
    diff = torch.tensor([by_seed[1][s] - by_seed[0][s] for s in seeds], dtype=torch.float64)
    return float(diff.mean()), float(diff.std() / len(seeds) ** 0.5), seeds
