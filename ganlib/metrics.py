"""Measuring a GAN: for 2D mixtures, the PacGAN protocol (Lin et al., 2018); for any data,
distances between feature sets (Fréchet distance, KID, precision/recall, density/coverage)
and the Inception Score on class probabilities. For the digits, ``ganlib.classifier`` gives
the features and the probabilities (the offline stand-in for Inception).

Given generated samples and a Gaussian mixture with K modes and standard deviation sigma:

* a sample is **high quality** when its distance to the nearest mode's mean is under 3 sigma;
* a mode is **covered** when at least one high-quality sample lies nearest to it;
* **reverse KL** is KL(q || uniform) = log K - H(q), where q is the histogram of the
  high-quality samples over the modes: 0 when they spread evenly, log K when all fall on one.

The protocol evaluates 2,500 samples and reports the mean over 10 seeds.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import torch

from .data import GRID, RING, GaussianMixture

__all__ = [
    "ModeCoverage",
    "density_coverage",
    "frechet_distance",
    "inception_score",
    "kernel_inception_distance",
    "kth_neighbour_radius",
    "mode_coverage",
    "NearCopies",
    "near_copies",
    "nearest_neighbours",
    "NOISE_SQUARES",
    "noise_floor",
    "precision_recall",
]


@dataclass(frozen=True)
class ModeCoverage:
    """The PacGAN protocol's measurements of one sample set."""

    modes_covered: int
    n_modes: int
    high_quality: float  # fraction of samples within 3 sigma of a mode, 0..1
    reverse_kl: float
    counts: torch.Tensor  # high-quality samples per mode (K)
    mass: torch.Tensor  # share of *all* samples whose nearest mode is each mode (K, sums to 1)

    def __str__(self) -> str:
        return (
            f"{self.modes_covered}/{self.n_modes} modes covered, "
            f"{100 * self.high_quality:.1f}% high quality, reverse KL {self.reverse_kl:.3f}"
        )


def _mixture(mixture: str | GaussianMixture) -> GaussianMixture:
    if isinstance(mixture, GaussianMixture):
        return mixture
    known = {"ring": RING, "grid": GRID}
    if mixture not in known:
        raise ValueError(
            f"mixture={mixture!r}: the protocol is defined for 'ring' and 'grid' "
            "(or pass a ganlib.data.GaussianMixture)."
        )
    return known[mixture]


def mode_coverage(samples: torch.Tensor, mixture: str | GaussianMixture) -> ModeCoverage:
    """Modes covered, high-quality fraction and reverse KL of ``samples`` (N x 2) under
    ``mixture`` (``"ring"``, ``"grid"`` or a ``GaussianMixture``).

    ``counts`` holds the high-quality samples per mode, ``mass`` the share of all samples nearest
    to each mode: a dropped mode has no mass, an imprecise one mass but no high-quality samples.
    With no high-quality sample at all the histogram is empty; reverse KL is then reported
    as log K, its value when every sample falls on a single mode (the worst a histogram can do).
    """
    mixture = _mixture(mixture)
    samples = torch.as_tensor(samples).detach().to("cpu", torch.float32)
    if samples.dim() != 2 or samples.shape[1] != mixture.means.shape[1] or len(samples) == 0:
        raise ValueError(
            f"samples: expected a non-empty N x {mixture.means.shape[1]} tensor, got shape {tuple(samples.shape)}."
        )
    if not torch.isfinite(samples).all():
        raise ValueError("samples contain NaN or inf; the generator has diverged.")
    distances = torch.cdist(samples, mixture.means)
    nearest_distance, nearest_mode = distances.min(dim=1)
    good = nearest_distance < 3 * mixture.std
    counts = torch.bincount(nearest_mode[good], minlength=mixture.n_modes)
    k = mixture.n_modes
    n_good = int(counts.sum())
    if n_good == 0:
        reverse_kl = math.log(k)
    else:
        q = counts[counts > 0].double() / n_good
        reverse_kl = math.log(k) + float((q * q.log()).sum())
    return ModeCoverage(
        modes_covered=int((counts > 0).sum()),
        n_modes=k,
        high_quality=n_good / len(samples),
        reverse_kl=max(reverse_kl, 0.0),  # exact 0 for an even histogram despite rounding
        counts=counts,
        mass=torch.bincount(nearest_mode, minlength=k).double() / len(samples),
    )


# The squares uniform noise is drawn from for the protocol's noise floor: the modes and a margin,
# [-1.2, 1.2]^2 for the ring (radius 1), [-5, 5]^2 for the grid (modes at -4 ... 4).
NOISE_SQUARES = {"ring": 1.2, "grid": 5.0}


def noise_floor(
    mixture: str | GaussianMixture, n: int = 2500, draws: int = 10, seed: int = 0, half_width: float | None = None,
) -> list[ModeCoverage]:
    """The protocol's scores of ``draws`` sets of ``n`` points uniform on a square, a generator
    that has learned nothing about the modes: a mode count or high-quality share means something
    only well above these.

    The square is ``[-half_width, half_width]^2``, by default ``NOISE_SQUARES[mixture]``. In
    expectation a point lands in a given mode's 3-sigma disc with p = pi (3 sigma)^2 / (2 half_width)^2,
    so the high-quality share is K p and K (1 - (1 - p)^n) modes are covered: a stray sample covers a mode.
    """
    name = mixture.name if isinstance(mixture, GaussianMixture) else mixture
    mixture = _mixture(mixture)
    if half_width is None:
        if name not in NOISE_SQUARES:
            raise ValueError(f"half_width=None: no default square for the mixture {name!r}; pass half_width=.")
        half_width = NOISE_SQUARES[name]
    if not half_width > 0:
        raise ValueError(f"half_width={half_width!r}: expected the square's positive half-width.")
    if not isinstance(draws, int) or isinstance(draws, bool) or draws < 1:
        raise ValueError(f"draws={draws!r}: expected a positive number of noise sets.")
    generator = torch.Generator().manual_seed(seed)
    return [mode_coverage(half_width * (2 * torch.rand(n, 2, generator=generator) - 1), mixture)
            for _ in range(draws)]


# --- Feature-set metrics: the FID family (Fréchet distance, KID, IS, precision/recall, density/coverage) ---
def _features(x, name: str, min_rows: int = 2) -> torch.Tensor:
    if x is None or isinstance(x, (str, bytes)):
        raise TypeError(f"{name}={x!r}: expected an N x D matrix of features (a tensor or an array, one row per "
                        "sample), e.g. a feature extractor's output on the images.")
    try:
        x = torch.as_tensor(x).detach().to("cpu", torch.float64)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise TypeError(
            f"{name}: expected an N x D matrix of features (a tensor or an array), got a {type(x).__name__} "
            f"that torch cannot read as numbers ({exc})."
        ) from None
    if x.dim() != 2:
        raise ValueError(f"{name}: expected an N x D matrix of features, got shape {tuple(x.shape)}.")
    if len(x) < min_rows:
        raise ValueError(f"{name}: needs at least {min_rows} samples, got {len(x)}.")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf; check the feature extractor's input.")
    return x


def _same_width(a: torch.Tensor, b: torch.Tensor) -> None:
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"real and fake features differ in width: {a.shape[1]} vs {b.shape[1]}.")


def _covariance(x: torch.Tensor) -> torch.Tensor:
    """Unbiased (N - 1) covariance, D x D even for D = 1."""
    return torch.cov(x.T, correction=1).reshape(x.shape[1], x.shape[1])


def _sqrtm_psd(matrix: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * values.clamp_min(0).sqrt()) @ vectors.T


def frechet_distance(real, fake) -> float:
    r"""Fréchet distance between Gaussians fitted to two feature sets (FID on Inception features):
    :math:`\|\mu_r - \mu_f\|^2 + \mathrm{tr}(\Sigma_r + \Sigma_f - 2(\Sigma_r\Sigma_f)^{1/2})`,
    with unbiased covariances (N - 1). The trace term uses
    :math:`\mathrm{tr}(\Sigma_r\Sigma_f)^{1/2} = \mathrm{tr}(\Sigma_r^{1/2}\Sigma_f\Sigma_r^{1/2})^{1/2}`,
    a symmetric positive semi-definite root, which is numerically stable.
    Each set needs more samples than dimensions (else the covariance is singular: an error).
    """
    r, f = _features(real, "real"), _features(fake, "fake")
    _same_width(r, f)
    for name, x in (("real", r), ("fake", f)):
        if len(x) <= x.shape[1]:
            raise ValueError(
                f"{name}: {len(x)} samples in {x.shape[1]} dimensions make the covariance singular and the "
                f"distance meaningless; use more than {x.shape[1]} samples (thousands, ideally) or fewer features."
            )
    mu_r, mu_f = r.mean(0), f.mean(0)
    cov_r, cov_f = _covariance(r), _covariance(f)
    root_r = _sqrtm_psd(cov_r)
    cross = torch.linalg.eigvalsh(root_r @ cov_f @ root_r).clamp_min(0).sqrt().sum()
    value = (mu_r - mu_f).pow(2).sum() + cov_r.trace() + cov_f.trace() - 2 * cross
    return max(float(value), 0.0)


def kernel_inception_distance(
    real, fake, subsets: int = 100, subset_size: int = 1000, seed: int = 0, return_std: bool = False
) -> float | tuple[float, float]:
    r"""KID (Bińkowski et al., 2018): the unbiased MMD² with the cubic kernel
    :math:`k(x, y) = (x \cdot y / d + 1)^3`, averaged over ``subsets`` random subsets of
    m = min(``subset_size``, len(real), len(fake)) samples from each set (subset i draws a
    ``torch.randperm`` of the real rows, then of the fake rows, from one generator seeded with ``seed``).
    Unbiased: near 0 (and possibly negative) for equal distributions.

    With ``return_std=True``, returns ``(mean, std)``: the standard deviation (over the ``subsets``
    values, dividing by their number) of one subset's estimate, as torch-fidelity reports it. It is
    not the standard error of the mean (the subsets overlap). A set with no more than m samples
    enters every subset whole, so choose ``subset_size`` below the smaller set's size for a spread
    that reflects both sets.

    The value is in the kernel's units: the cubic kernel makes KID scale like (feature scale)^6,
    so KIDs are comparable only on the same features (published ones use Inception's, often x 1000).
    """
    for name, value, least in (("subsets", subsets, 1), ("subset_size", subset_size, 2)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name}={value!r}: expected an integer of at least {least}.")
    r, f = _features(real, "real"), _features(fake, "fake")
    _same_width(r, f)
    d = r.shape[1]
    m = min(subset_size, len(r), len(f))
    gen = torch.Generator().manual_seed(seed)
    values = []
    for _ in range(subsets):
        x = r[torch.randperm(len(r), generator=gen)[:m]]
        y = f[torch.randperm(len(f), generator=gen)[:m]]
        k_xx, k_yy, k_xy = ((a @ b.T / d + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
        off = m * (m - 1)
        values.append(float((k_xx.sum() - k_xx.trace()) / off + (k_yy.sum() - k_yy.trace()) / off - 2 * k_xy.mean()))
    mean = sum(values) / subsets
    if return_std:
        return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / subsets)
    return mean


def _check_k(k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k={k!r}: expected a positive integer, the neighbour whose distance sets each ball's radius "
                         "(3 for precision/recall, 5 for density/coverage).")
    return int(k)


def kth_neighbour_radius(x: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each point of ``x`` to its k-th nearest other point of ``x``: the radius of
    each point's ball in precision/recall (k = 3) and density/coverage (k = 5)."""
    k = _check_k(k)
    if len(x) <= k:
        raise ValueError(f"needs more than k={k} samples per set, got {len(x)}.")
    distances = torch.cdist(x, x)
    return distances.kthvalue(k + 1, dim=1).values  # +1: the point itself is at distance 0


def precision_recall(real, fake, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al., 2019), with k = 3 by default.

    Precision: the share of fake samples inside the real manifold (within the k-NN radius of some
    real sample, distance <= radius). Recall: the share of real samples inside the fake manifold.
    """
    k = _check_k(k)
    r, f = _features(real, "real"), _features(fake, "fake")
    _same_width(r, f)
    radius_r, radius_f = kth_neighbour_radius(r, k), kth_neighbour_radius(f, k)
    precision = (torch.cdist(f, r) <= radius_r[None, :]).any(dim=1).double().mean()
    recall = (torch.cdist(r, f) <= radius_f[None, :]).any(dim=1).double().mean()
    return float(precision), float(recall)


def density_coverage(real, fake, k: int = 5) -> tuple[float, float]:
    """Density and coverage (Naeem et al., 2020), with k = 5 by default.

    Density: how many real k-NN balls contain each fake sample (distance < radius), averaged and
    divided by k (1 on average for matching distributions; it can exceed 1). Coverage: the share
    of real samples whose k-NN ball contains at least one fake sample.
    """
    k = _check_k(k)
    r, f = _features(real, "real"), _features(fake, "fake", min_rows=1)
    _same_width(r, f)
    radius = kth_neighbour_radius(r, k)
    inside = torch.cdist(f, r) < radius[None, :]  # fake x real
    density = inside.double().sum() / (k * len(f))
    coverage = inside.any(dim=0).double().mean()
    return float(density), float(coverage)


NEIGHBOUR_BLOCK_BYTES = 2**27  # memory for one block of float64 distances in nearest_neighbours (128 MiB)


def nearest_neighbours(samples: torch.Tensor, reference: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For each of ``samples`` (N x ...), the Euclidean distance to its nearest row of ``reference``
    (M x ..., the same shape per row) and that row's index: ``(distances, indices)``, each of length N.

    The memorisation check: a generator that copies its training set puts its samples at
    distance ~0 from it; new real images sit as far from the training set as held-out data does.
    """
    for name, x in (("samples", samples), ("reference", reference)):
        if not isinstance(x, torch.Tensor) or x.dim() < 2 or len(x) == 0:
            got = f"shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"{name}: expected a non-empty batch (N x ...), got {got}.")
    if samples.shape[1:] != reference.shape[1:]:
        raise ValueError(
            f"samples and reference differ in shape per item: {tuple(samples.shape[1:])} vs "
            f"{tuple(reference.shape[1:])}; compare images of the same size."
        )
    # Blocks of at most block x block distances, in float64, so memory stays near NEIGHBOUR_BLOCK_BYTES
    # however large the sets (all 10,000 x 60,000 of MNIST's at once would take 4.8 GB).
    block = max(1, math.isqrt(NEIGHBOUR_BLOCK_BYTES // 8))
    rows, references = samples.flatten(1), reference.flatten(1)
    nearest = torch.full((len(rows),), math.inf, dtype=torch.float64, device=rows.device)
    indices = torch.zeros(len(rows), dtype=torch.int64, device=rows.device)
    for start in range(0, len(references), block):
        chunk = references[start:start + block].double()
        for first in range(0, len(rows), block):
            distance, index = torch.cdist(rows[first:first + block].double(), chunk).min(dim=1)
            closer = distance < nearest[first:first + block]  # ties keep the earlier reference row
            nearest[first:first + block][closer] = distance[closer]
            indices[first:first + block][closer] = index[closer] + start
    return nearest.to(samples.dtype if samples.is_floating_point() else torch.float64), indices


@dataclass(frozen=True)
class NearCopies:
    """The memorisation check's result (``near_copies``) for one set of generated samples."""

    count: int  # samples closer to the training set than the threshold
    n: int  # samples checked
    share: float  # count / n
    expected: float  # the share new data has: the held-out quantile that sets the threshold (0.01)
    threshold: float  # that quantile of the held-out distances
    p_value: float  # one-sided binomial test: the chance of count or more near-copies at the share expected
    detected: bool  # p_value < alpha: significantly more near-copies than new data has

    def __str__(self) -> str:
        return f"near-copies {self.share:.1%} (new data {self.expected:.0%}; binomial p = {self.p_value:.1g})"


def _probability(value: object, name: str, example: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < float(value) < 1:
        raise ValueError(f"{name}={value!r}: expected a probability strictly between 0 and 1, e.g. {example}.")
    return float(value)


def near_copies(distances, held_out, quantile: float = 0.01, alpha: float = 1e-3) -> NearCopies:
    """Does a generator copy its training set? Count its **near-copies** against new data's.

    ``distances``: each generated sample's distance to its nearest training image;
    ``held_out``: the same for real images the generator never saw (``nearest_neighbours`` gives
    both). A near-copy is a sample closer than the ``quantile`` of the held-out distances (0.01:
    closer than 99 % of new data), so new data has that share of near-copies. A one-sided binomial
    test (``scipy.stats.binomtest``, ``alternative="greater"``) asks whether the generated set has
    significantly more; ``detected`` when its p-value is under ``alpha``.

    It catches what a median or a fixed cut-off misses (notebook 04): a generator that copies 3 %
    of the time keeps the median of an honest one and stays under "5 % near-copies", but 3 % of
    1,437 samples against 1 % gives p ~ 1e-9. The threshold is itself estimated from the held-out
    set; with a few hundred held-out images its own noise is not in the p-value, so keep ``alpha`` small.
    """
    from scipy import stats

    quantile = _probability(quantile, "quantile", "0.01 (closer than 99 % of new data)")
    alpha = _probability(alpha, "alpha", "0.001")
    generated = _distances(distances, "distances")
    reference = _distances(held_out, "held_out")
    threshold = float(torch.quantile(reference.double(), quantile))
    count = int((generated.double() < threshold).sum())
    p_value = float(stats.binomtest(count, len(generated), quantile, alternative="greater").pvalue)
    return NearCopies(count=count, n=len(generated), share=count / len(generated), expected=quantile,
                      threshold=threshold, p_value=p_value, detected=p_value < alpha)


def _distances(x: object, name: str) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        t = x.detach().cpu()
    else:
        try:
            t = torch.as_tensor(x)
        except (TypeError, ValueError, RuntimeError):
            raise ValueError(f"{name}: expected a 1-D tensor of distances, got {type(x).__name__}.") from None
    if t.dtype == torch.bool or t.is_complex():
        raise ValueError(f"{name}: expected real distances, got a {t.dtype} tensor.")
    t = t.double()
    if t.dim() != 1 or len(t) == 0 or not torch.isfinite(t).all() or (t < 0).any():
        raise ValueError(f"{name}: expected a non-empty 1-D tensor of finite distances >= 0, got shape "
                         f"{tuple(t.shape)}; pass metrics.nearest_neighbours(samples, training)[0].")
    return t


def inception_score(probabilities, splits: int = 10) -> tuple[float, float]:
    r"""Inception Score (Salimans et al., 2016) from class probabilities p(y|x), N x C:
    :math:`\exp(\mathbb{E}_x[\mathrm{KL}(p(y|x) \,\|\, p(y))])`, with p(y) the mean over the split.
    High when each sample is classified confidently *and* the classes are used evenly: at most C,
    at least 1. Returns the mean and standard deviation over ``splits`` equal parts (in order).
    """
    p = _features(probabilities, "probabilities", min_rows=1)
    if (p < 0).any() or not torch.allclose(p.sum(1), torch.ones(len(p), dtype=p.dtype), atol=1e-4):
        raise ValueError("probabilities: each row must be a probability distribution (>= 0, summing to 1); "
                         "pass softmax(logits), not the logits.")
    if isinstance(splits, bool) or not isinstance(splits, int) or not 1 <= splits <= len(p):
        raise ValueError(f"splits={splits!r}: expected an integer between 1 and the number of samples ({len(p)}).")
    scores = []
    for part in torch.tensor_split(p, splits):
        marginal = part.mean(0, keepdim=True)
        kl = torch.where(part > 0, part * (part.log() - marginal.log()), torch.zeros_like(part)).sum(1)
        scores.append(kl.mean().exp())
    scores = torch.stack(scores)
    return float(scores.mean()), float(scores.std(correction=0)) if splits > 1 else 0.0
