r"""Text to image on the 8x8 digits (notebook 07, §6.4 of the source document): GAN-CLS in miniature.

Every digit gets a caption made from the data: its word, plus two attributes *measured* on the image,

* thickness: the ink mass :math:`m = \sum_{ij} (x_{ij} + 1) / 2` (pixels in [-1, 1]), and
* slant: the shear :math:`\mu_{11} / \mu_{02}` of the ink's second-order central moments
  (x to the right, y upwards), positive when the top of the digit leans right,

each cut into tertiles *within its digit class* (a thin 8 has more ink than a thick 1), so that
a caption reads "a thick seven slanted right", "a thin two" or "a four" (middle tertiles get no word).

* ``captions`` / ``caption``: the captions; ``tokenize`` / ``encode``: a 15-word vocabulary.
* ``TextEncoder``: a bag of word embeddings (order-free, enough for these captions).
* ``TextToImageGenerator`` / ``TextToImageDiscriminator``: G(z, text) and D(image, text).
* ``matching_aware_discriminator_loss``: GAN-CLS's discriminator (Reed et al., 2016), which
  also calls a *real image with the wrong text* fake. (Reed et al.'s GAN-INT term, a generator
  loss on interpolated text embeddings, is not built here; ``interpolate_captions`` shows its
  premise on a trained generator.)
* ``train``: the training loop (R1 + TTUR + decay, the course's recommended recipe);
  ``generate``: prompt -> images; ``measure_control``: does the generator do what the text says?
  ``caption_spread``: how varied the images of one caption are.
* ``PromptBox``: a text box that turns a prompt into a grid of images (a PNG where no widget runs).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import ipywidgets as W
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

from .models import DCGANGenerator, _positive_int, dcgan_init
from .regularizers import r1_penalty
from .training import NonFiniteLossError, undo_buffers_on_failure
from .widgets import PictureFallback, figure_png

__all__ = [
    "DIGIT_WORDS",
    "VOCABULARY",
    "Captions",
    "Control",
    "PromptBox",
    "TextEncoder",
    "TextGAN",
    "TextToImageDiscriminator",
    "TextToImageGenerator",
    "caption",
    "caption_spread",
    "captions",
    "encode",
    "generate",
    "ink_mass",
    "interpolate_captions",
    "levels",
    "matching_aware_discriminator_loss",
    "measure_control",
    "slant",
    "tertile_thresholds",
    "tokenize",
    "train",
]

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
THICKNESS_WORDS = {-1: "thin", 0: "", 1: "thick"}
SLANT_WORDS = {-1: "slanted left", 0: "", 1: "slanted right"}
VOCABULARY = DIGIT_WORDS + ("thin", "thick", "slanted", "left", "right")
FILLERS = ("a", "an")  # allowed in prompts, carry no meaning
PAD = 0  # token id 0 pads short captions; word i of VOCABULARY has id i + 1


def _check_images(images: object, name: str = "images") -> torch.Tensor:
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[1] != 1:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"{name}: expected grey images of shape (N, 1, H, W) in [-1, 1], got {shape}.")
    return images


def _check_labels(labels: object, n: int, name: str = "labels") -> torch.Tensor:
    if not isinstance(labels, torch.Tensor) or labels.shape != (n,) or labels.dtype not in (torch.int64, torch.int32):
        shape = tuple(labels.shape) if isinstance(labels, torch.Tensor) else type(labels).__name__
        raise ValueError(f"{name}: expected {n} integer digits 0-9 (shape ({n},)), got {shape}.")
    if n and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"{name}: digits must lie in 0-9; got values from {labels.min()} to {labels.max()}.")
    return labels.long()


# --- Attributes measured on the images ---------------------------------------------------------
def ink_mass(images: torch.Tensor) -> torch.Tensor:
    r"""Ink per image, :math:`\sum_{ij} (x_{ij} + 1) / 2` for pixels in [-1, 1] (N values): thick strokes, more ink."""
    return ((_check_images(images).double() + 1) / 2).sum(dim=(1, 2, 3)).float()


def slant(images: torch.Tensor) -> torch.Tensor:
    r"""Shear of each image's ink, :math:`\mu_{11} / \mu_{02}` (N values).

    With ink :math:`w_{ij} = (x_{ij} + 1) / 2`, x the column (rightwards) and y the row counted
    *upwards*, the central moments are :math:`\mu_{11} = \sum w (x - \bar x)(y - \bar y)` and
    :math:`\mu_{02} = \sum w (y - \bar y)^2`; their ratio is the slope dx/dy of the ink's principal
    direction: 0 for an upright stroke, +1 for a 45° stroke leaning right (/), -1 for one leaning left (\).
    """
    w = (_check_images(images).double() + 1) / 2
    side_y, side_x = w.shape[2:]
    y = (side_y - 1 - torch.arange(side_y, dtype=torch.float64)).view(1, 1, side_y, 1)  # row 0 is the top
    x = torch.arange(side_x, dtype=torch.float64).view(1, 1, 1, side_x)
    mass = w.sum(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12)
    dx = x - (w * x).sum(dim=(1, 2, 3), keepdim=True) / mass
    dy = y - (w * y).sum(dim=(1, 2, 3), keepdim=True) / mass
    mu11 = (w * dx * dy).sum(dim=(1, 2, 3))
    mu02 = (w * dy * dy).sum(dim=(1, 2, 3))
    return (mu11 / mu02.clamp_min(1e-12)).float()


def tertile_thresholds(values: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per digit, the 1/3 and 2/3 quantiles of ``values`` (a 10 x 2 tensor), from the images of that digit."""
    labels = _check_labels(labels, len(values))
    thresholds = torch.empty(10, 2)
    for digit in range(10):
        of_digit = values[labels == digit].double()
        if len(of_digit) < 3:
            raise ValueError(
                f"labels: digit {digit} has {len(of_digit)} images; tertiles need at least 3 of every digit."
            )
        thresholds[digit] = torch.quantile(of_digit, torch.tensor([1 / 3, 2 / 3], dtype=torch.float64)).float()
    return thresholds


def levels(values: torch.Tensor, labels: torch.Tensor, thresholds: torch.Tensor) -> torch.Tensor:
    """-1, 0 or +1 per image: below its digit's lower tertile, between, or above the upper one."""
    labels = _check_labels(labels, len(values))
    if thresholds.shape != (10, 2):
        raise ValueError(
            f"thresholds: expected a 10 x 2 tensor from tertile_thresholds, got {tuple(thresholds.shape)}."
        )
    low, high = thresholds[labels, 0], thresholds[labels, 1]
    return (values > high).long() - (values < low).long()


def caption(digit: int, thickness: int = 0, slant_level: int = 0) -> str:
    """A digit's caption from its thickness and slant levels (-1, 0, 1): (7, 1, 1) -> "a thick seven slanted right"."""
    if not isinstance(digit, int) or not 0 <= digit <= 9:
        raise ValueError(f"digit={digit!r}: expected an integer from 0 to 9.")
    for name, level in (("thickness", thickness), ("slant_level", slant_level)):
        if level not in (-1, 0, 1):
            raise ValueError(f"{name}={level!r}: expected -1, 0 or 1 (low, middle or high tertile).")
    words = [THICKNESS_WORDS[thickness], DIGIT_WORDS[digit], SLANT_WORDS[slant_level]]
    text = " ".join(w for w in words if w)
    return ("an " if text.startswith("eight") else "a ") + text  # "an eight", but "a one"


@dataclass(frozen=True)
class Captions:
    """Captions of a set of images, with the levels and thresholds they came from."""

    texts: list[str]
    thickness: torch.Tensor  # N levels in {-1, 0, 1}
    slant: torch.Tensor  # N levels in {-1, 0, 1}
    thickness_thresholds: torch.Tensor  # 10 x 2
    slant_thresholds: torch.Tensor  # 10 x 2


def captions(images: torch.Tensor, labels: torch.Tensor, reference: Captions | None = None) -> Captions:
    """Captions for labelled digits, from their ink mass and slant.

    The tertiles are those of ``images`` themselves, or of ``reference`` (e.g. the training
    split's captions) so that held-out or generated images are judged on the same scale.
    """
    labels = _check_labels(labels, len(_check_images(images)))
    ink, shear = ink_mass(images), slant(images)
    if reference is None:
        ink_t, shear_t = tertile_thresholds(ink, labels), tertile_thresholds(shear, labels)
    else:
        ink_t, shear_t = reference.thickness_thresholds, reference.slant_thresholds
    thick, lean = levels(ink, labels, ink_t), levels(shear, labels, shear_t)
    texts = [caption(d, t, s) for d, t, s in zip(labels.tolist(), thick.tolist(), lean.tolist(), strict=True)]
    return Captions(texts, thick, lean, ink_t, shear_t)


# --- Words to numbers ------------------------------------------------------------------------
def tokenize(prompt: str) -> list[int]:
    """A prompt's word ids (1-15; "a" and "an" are dropped): "a thick seven" -> [12, 8].

    Unknown words raise a ``ValueError`` that names them and lists the vocabulary.
    """
    if not isinstance(prompt, str):
        raise ValueError(f"prompt={prompt!r}: expected a string such as 'a thick seven slanted right'.")
    words = [w for w in re.findall(r"[a-z0-9]+", prompt.lower()) if w not in FILLERS]
    unknown = [w for w in words if w not in VOCABULARY]
    if unknown:
        raise ValueError(
            f"prompt={prompt!r}: unknown word{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}. "
            f"This model knows {len(VOCABULARY)} words: {' '.join(VOCABULARY)} (and 'a' / 'an'); "
            "write digits as words, e.g. 'a thin seven slanted left'."
        )
    if not words:
        raise ValueError(f"prompt={prompt!r} has no words; try 'a thick seven'.")
    return [VOCABULARY.index(w) + 1 for w in words]


def encode(prompts: Sequence[str]) -> torch.Tensor:
    """Prompts -> an N x L tensor of word ids, padded with 0 to the longest prompt."""
    if isinstance(prompts, str):
        raise ValueError(f"prompts={prompts!r}: expected a list of prompts; wrap a single one as [prompt].")
    ids = [tokenize(p) for p in prompts]
    if not ids:
        raise ValueError("prompts: expected at least one prompt, got an empty list.")
    tokens = torch.full((len(ids), max(map(len, ids))), PAD, dtype=torch.int64)
    for row, words in enumerate(ids):
        tokens[row, : len(words)] = torch.tensor(words)
    return tokens


# --- Networks ---------------------------------------------------------------------------------
class TextEncoder(nn.Module):
    """Word ids (N x L, 0 = padding) -> a text embedding (N x dim): the sum of word vectors, then a layer.

    A bag of words ignores order, which these captions never need ("slanted" and "left" only
    ever come together). Reed et al. used a character-level CNN-RNN, pre-trained on captions.
    """

    def __init__(self, dim: int = 32, vocabulary_size: int = len(VOCABULARY) + 1):
        super().__init__()
        self.dim = dim
        self.bag = nn.EmbeddingBag(vocabulary_size, dim, mode="sum", padding_idx=PAD)
        self.mix = nn.Sequential(nn.Linear(dim, dim), nn.LeakyReLU(0.2))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.dim() != 2 or tokens.dtype != torch.int64:
            raise ValueError(
                f"tokens: expected an N x L int64 tensor of word ids (from text.encode), "
                f"got shape {tuple(tokens.shape)} and dtype {tokens.dtype}."
            )
        return self.mix(self.bag(tokens))


class TextToImageGenerator(nn.Module):
    """G(z, text): the text embedding is concatenated to z and fed to ``models.DCGANGenerator``."""

    def __init__(self, latent_dim: int = 32, text_dim: int = 32, width: int = 32):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = TextEncoder(text_dim)
        self.body = DCGANGenerator(latent_dim=latent_dim + text_dim, image_size=8, width=width)

    def forward(self, z: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        if len(z) != len(tokens):
            raise ValueError(f"z and tokens: expected one prompt per noise vector, got {len(z)} and {len(tokens)}.")
        return self.body(torch.cat([z, self.encoder(tokens)], dim=1))


class TextToImageDiscriminator(nn.Module):
    """D(image, text) -> logit. As in GAN-CLS, the text embedding joins the image features
    (a stride-2 convolution, no BatchNorm, as R1 requires) before the last layers, so D can
    judge both "is this a digit?" and "is it *this* digit?"."""

    def __init__(self, text_dim: int = 32, width: int = 32, hidden: int = 128):
        super().__init__()
        self.encoder = TextEncoder(text_dim)
        self.features = nn.Sequential(nn.Conv2d(1, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2), nn.Flatten())
        self.head = nn.Sequential(nn.Linear(width * 16 + text_dim, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1))
        self.apply(dcgan_init)

    def forward(self, images: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        if images.dim() != 4 or tuple(images.shape[1:]) != (1, 8, 8):
            raise ValueError(f"images: expected 8x8 digits of shape (N, 1, 8, 8), got {tuple(images.shape)}.")
        if len(images) != len(tokens):
            raise ValueError(f"images and tokens: expected one text per image, got {len(images)} and {len(tokens)}.")
        return self.head(torch.cat([self.features(images), self.encoder(tokens)], dim=1)).squeeze(1)


# --- Losses ------------------------------------------------------------------------------------
def matching_aware_discriminator_loss(
    real_right: torch.Tensor, real_wrong: torch.Tensor, fake_right: torch.Tensor
) -> torch.Tensor:
    r"""GAN-CLS's discriminator loss (Reed et al., 2016, Algorithm 1), on logits:

    :math:`-\mathbb{E}[\log D(x, h)]
    - \tfrac12\big(\mathbb{E}[\log(1 - D(x, \hat h))] + \mathbb{E}[\log(1 - D(G(z, h), h))]\big)`

    :math:`= \mathbb{E}[\mathrm{sp}(-s_r)] + \tfrac12(\mathbb{E}[\mathrm{sp}(s_w)] + \mathbb{E}[\mathrm{sp}(s_f)])`
    (sp = softplus),

    with :math:`s_r` on real images with their own text h, :math:`s_w` on real images with
    mismatched text :math:`\hat h`, :math:`s_f` on generated images with the text they were made from.
    """
    return F.softplus(-real_right).mean() + 0.5 * (F.softplus(real_wrong).mean() + F.softplus(fake_right).mean())


# --- Training ------------------------------------------------------------------------------------
HISTORY_KEYS = ("d_loss", "g_loss", "d_real_right", "d_real_wrong", "d_fake")


@dataclass
class TextGAN:
    """The two networks, their optimizers and the history (mean D outputs per step)."""

    generator: TextToImageGenerator
    discriminator: TextToImageDiscriminator
    g_optimizer: torch.optim.Optimizer
    d_optimizer: torch.optim.Optimizer
    step: int = 0
    history: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in HISTORY_KEYS})



def _check_finite(loss: torch.Tensor, which: str, gan: TextGAN) -> None:
    value = loss.item()
    if not math.isfinite(value):
        G, D = gan.generator, gan.discriminator
        G.eval()
        D.eval()
        kept = ("No weight was changed by this step" if which == "discriminator" else
                "This step had updated the discriminator, not the generator")
        error = NonFiniteLossError(
            f"Training stopped at step {gan.step + 1}: the {which} loss is {value}. {kept}; the error's .gan "
            "holds the networks. Try lower learning rates (lr_g, lr_d) or a larger r1, and check the images "
            "for NaN or inf."
        )
        error.gan = gan
        raise error


def train(
    images: torch.Tensor,
    tokens: torch.Tensor,
    steps: int = 1500,
    *,
    batch_size: int = 64,
    lr_g: float = 1e-3,
    lr_d: float = 2e-3,
    r1: float = 0.1,
    r1_every: int = 4,
    decay: float = 0.5,
    matching_aware: bool = True,
    width: int = 32,
    seed: int = 0,
    progress: bool = True,
) -> TextGAN:
    """Train G(z, text) and D(image, text) on ``images`` (N x 1 x 8 x 8) and their captions' ``tokens``.

    Each step: a batch of real images with their captions h; the same images with the captions
    of other images in the batch (rolled by one, so mismatched unless two captions agree);
    fakes G(z, h). D minimises ``matching_aware_discriminator_loss`` plus R1 (every ``r1_every``-th
    step, times ``r1_every``); G minimises the non-saturating loss softplus(-D(G(z, h), h)).
    Adam (betas 0.5, 0.999) with D twice as fast as G (TTUR); over the last ``decay`` fraction of
    the steps both rates fall linearly to 0. ``matching_aware=False`` drops the mismatched pairs'
    term and keeps the rest as it is, softplus(-s_r) + ½ softplus(s_f): a conditional GAN whose
    only difference from GAN-CLS is the missing term, to see what it adds.

    A loss that becomes NaN or inf stops training with ``training.NonFiniteLossError`` before
    the update it would drive (BatchNorm's statistics are put back too); the error's ``gan``
    holds the networks, so the run so far is not lost.
    """
    from tqdm.auto import tqdm

    _check_images(images)
    steps, batch_size, r1_every = (_positive_int(n, v) for n, v in
                                   (("steps", steps), ("batch_size", batch_size), ("r1_every", r1_every)))
    if tokens.dim() != 2 or len(tokens) != len(images):
        raise ValueError(
            f"tokens: expected one encoded caption per image ({len(images)} x L, from text.encode), "
            f"got shape {tuple(tokens.shape)}."
        )
    if batch_size > len(images):
        raise ValueError(f"batch_size={batch_size}: larger than the {len(images)} images; use at most {len(images)}.")
    if not torch.isfinite(images).all():
        raise ValueError(f"images hold {int((~torch.isfinite(images)).sum()):,} pixel value(s) that are NaN or inf; "
                         "train on finite images in [-1, 1].")
    if not 0 <= decay <= 1:
        raise ValueError(f"decay={decay!r}: expected the fraction of steps (0 to 1) over which the rates fall to 0.")
    torch.manual_seed(seed)
    G, D = TextToImageGenerator(width=width), TextToImageDiscriminator(width=width)
    betas = (0.5, 0.999)
    gan = TextGAN(G, D, torch.optim.Adam(G.parameters(), lr=lr_g, betas=betas),
                  torch.optim.Adam(D.parameters(), lr=lr_d, betas=betas))
    order = torch.Generator().manual_seed(seed)
    batches: list[torch.Tensor] = []
    constant = round(steps * (1 - decay))
    for i in tqdm(range(steps), disable=not progress, desc="text-to-image GAN", unit="step"):
        if i >= constant:  # linear decay to 0, as in ganlib.recipes
            left = 1 - (i - constant) / max(1, steps - constant)
            for optimizer, lr in ((gan.g_optimizer, lr_g), (gan.d_optimizer, lr_d)):
                for group in optimizer.param_groups:
                    group["lr"] = lr * left
        if not batches:  # a new epoch: shuffled batches, the last incomplete one dropped
            batches = list(torch.randperm(len(images), generator=order).split(batch_size))
            batches = [b for b in batches if len(b) == batch_size][::-1]
        with undo_buffers_on_failure(G, D):  # a stopped step leaves BatchNorm's statistics as they were
            # Step 2 of §3.1: real images with their captions, and the captions of their neighbours.
            index = batches.pop()
            real, right = images[index], tokens[index]
            wrong = right.roll(1, dims=0)
            # Steps 3-4: noise, and fakes made from the right captions.
            fake = G(torch.randn(batch_size, G.latent_dim), right)
            # Step 5: D scores the three kinds of pair in one pass (no BatchNorm: each sample on its own).
            scores = D(torch.cat([real, real, fake.detach()]), torch.cat([right, wrong, right]))
            s_r, s_w, s_f = scores.split(batch_size)
            # Step 6: the matching-aware loss (+ R1), and D's update.
            if matching_aware:
                d_loss = matching_aware_discriminator_loss(s_r, s_w, s_f)
            else:  # the same loss without the mismatched pairs' term: one change, nothing else
                d_loss = F.softplus(-s_r).mean() + 0.5 * F.softplus(s_f).mean()
            if r1 and i % r1_every == 0:
                d_loss = d_loss + r1_every * r1_penalty(D, real, labels=right, gamma=r1)  # lazy R1, with the text
            _check_finite(d_loss, "discriminator", gan)
            gan.d_optimizer.zero_grad(set_to_none=True)
            d_loss.backward()
            gan.d_optimizer.step()
            # Step 7: with D fixed, G's non-saturating loss and update.
            g_loss = F.softplus(-D(fake, right)).mean()
            _check_finite(g_loss, "generator", gan)
            gan.g_optimizer.zero_grad(set_to_none=True)
            g_loss.backward(inputs=list(G.parameters()))
            gan.g_optimizer.step()
        gan.step += 1
        with torch.no_grad():
            record = torch.stack([d_loss, g_loss, *(torch.sigmoid(s).mean() for s in (s_r, s_w, s_f))]).tolist()
        for key, value in zip(HISTORY_KEYS, record, strict=True):
            gan.history[key].append(value)
    G.eval()
    D.eval()
    return gan


# --- Using the generator ---------------------------------------------------------------------------
@torch.no_grad()
def generate(generator: TextToImageGenerator, prompts: str | Sequence[str], n: int = 16,
             seed: int | None = None) -> torch.Tensor:
    """Images for a prompt (``n`` of them) or for a list of prompts (one each), in evaluation mode."""
    if isinstance(prompts, str):
        prompts = [prompts] * _positive_int("n", n)
    tokens = encode(prompts)
    noise = torch.Generator().manual_seed(seed) if seed is not None else None
    z = torch.randn(len(tokens), generator.latent_dim, generator=noise)
    was_training = generator.training
    generator.eval()
    try:
        return generator(z, tokens)
    finally:
        generator.train(was_training)


@torch.no_grad()
def interpolate_captions(generator: TextToImageGenerator, first: str, second: str, betas: Sequence[float],
                         z: torch.Tensor) -> torch.Tensor:
    """GAN-INT's premise (Reed et al., 2016): images for text embeddings *between* two captions'.

    For each β in ``betas`` and each noise vector in ``z`` (n x latent_dim), the generator draws
    from h = (1 - β) h(first) + β h(second), h being its own text encoder's embedding. Returns
    len(betas) x n images (β down the rows, one noise vector per column, flattened), in evaluation mode.
    """
    if not isinstance(z, torch.Tensor) or z.dim() != 2 or z.shape[1] != generator.latent_dim:
        got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
        raise ValueError(f"z: expected n x {generator.latent_dim} noise vectors, got {got}.")
    if not betas or not all(isinstance(b, (int, float)) and not isinstance(b, bool) and 0 <= b <= 1 for b in betas):
        raise ValueError(f"betas={betas!r}: expected a non-empty list of numbers in [0, 1] (0: the first caption).")
    was_training = generator.training
    generator.eval()
    try:
        ends = generator.encoder(encode([first, second]))
        h = torch.stack([(1 - b) * ends[0] + b * ends[1] for b in betas])  # betas x text_dim
        h = h.repeat_interleave(len(z), dim=0)
        return generator.body(torch.cat([z.repeat(len(betas), 1), h], dim=1))
    finally:
        generator.train(was_training)


@dataclass(frozen=True)
class Control:
    """How well images follow their prompts (see ``measure_control``)."""

    read_rate: float  # share read as the prompted digit by the classifier
    confident_rate: float  # ... with confidence >= 0.9
    read_rate_by_digit: list[float]
    thickness_rho: float  # Spearman: prompted thickness level vs measured ink (standardised per digit)
    slant_rho: float  # Spearman: prompted slant level vs measured slant (standardised per digit)


def measure_control(images: torch.Tensor, digits: torch.Tensor, thickness: torch.Tensor, slant_levels: torch.Tensor,
                    classifier: nn.Module, reference: tuple[torch.Tensor, torch.Tensor]) -> Control:
    """Measure ``images`` against what was asked of them: ``digits`` and the levels in {-1, 0, 1}.

    ``reference`` is (real images, labels): per digit, the mean and spread of their ink and slant
    put every digit on one scale before the rank correlations (a thin 8 has more ink than a thick 1).
    """
    from scipy.stats import spearmanr

    digits = _check_labels(digits, len(_check_images(images)), "digits")
    predicted, confidence = classifier.predict(images)
    hit = predicted == digits
    real, real_labels = reference
    real_labels = _check_labels(real_labels, len(real), "reference labels")
    rhos = []
    for measure, asked in ((ink_mass, thickness), (slant, slant_levels)):
        values, real_values = measure(images), measure(real)
        mean = torch.stack([real_values[real_labels == d].mean() for d in range(10)])
        std = torch.stack([real_values[real_labels == d].std() for d in range(10)])
        standardised = (values - mean[digits]) / std[digits]
        rhos.append(float(spearmanr(asked.numpy(), standardised.numpy()).statistic))
    by_digit = [hit[digits == d].float().mean().item() if (digits == d).any() else math.nan for d in range(10)]
    return Control(hit.float().mean().item(), (hit & (confidence >= 0.9)).float().mean().item(), by_digit, *rhos)


def caption_spread(features: torch.Tensor, texts: Sequence[str]) -> dict[str, float]:
    """Per caption, the mean distance between two *different* images with that caption, in
    ``features`` (N x F: the digits classifier's features, or flattened pixels): how varied the
    images of one caption are. A generator that draws one picture per caption scores 0.
    Captions with fewer than two images are left out (no pair to measure)."""
    if not isinstance(features, torch.Tensor) or features.dim() != 2 or len(features) != len(texts):
        shape = tuple(features.shape) if isinstance(features, torch.Tensor) else type(features).__name__
        raise ValueError(f"features: expected one row per caption ({len(texts)} x F), got {shape}.")
    groups: dict[str, list[int]] = {}
    for i, t in enumerate(texts):
        groups.setdefault(t, []).append(i)
    spread = {}
    for t, rows in groups.items():
        if len(rows) > 1:
            x = features[rows].double()
            spread[t] = float(torch.cdist(x, x).sum() / (len(rows) * (len(rows) - 1)))  # the diagonal is 0
    return spread


# --- The prompt box -------------------------------------------------------------------------------
class PromptBox(PictureFallback, W.VBox):
    """Type a prompt, press Enter or *Generate*: a grid of ``n`` images for it.

    Where no widget front end runs (nbval, a rendered notebook), the box displays as a PNG of
    its current grid.
    """

    SCALE, DPI, TITLE = 6, 80, 24  # pixels per image pixel, the PNG's dots per inch, pixels for the title

    def __init__(self, generator: TextToImageGenerator, prompt: str = "a thick seven slanted right", n: int = 24,
                 seed: int = 0):
        self.generator, self.n, self.seed = generator, _positive_int("n", n), seed
        self.prompt = W.Text(value=prompt, description="prompt", continuous_update=False,
                             placeholder="e.g. a thin two slanted left", layout=W.Layout(width="420px"))
        self.button = W.Button(description="Generate", icon="magic", button_style="success")
        self.status = W.HTML()
        self.image = W.Image(format="png", layout=W.Layout(width=f"{(min(8, n) * 9 + 1) * self.SCALE}px"))
        self.button.on_click(lambda _: self.show())
        self.prompt.observe(lambda _: self.show(), names="value")
        super().__init__([W.HBox([self.prompt, self.button]), self.status, self.image])
        self.show()

    def figure(self, prompt: str) -> Figure:
        images = generate(self.generator, prompt, self.n, seed=self.seed)
        from torchvision.utils import make_grid

        grid = make_grid(images, nrow=8, padding=1, normalize=True, value_range=(-1, 1), pad_value=1)
        # Each image pixel a SCALE x SCALE block of the PNG's pixels (figure_png's dpi), the title above.
        height, width = grid.shape[1] * self.SCALE, grid.shape[2] * self.SCALE
        fig = Figure(figsize=(width / self.DPI, (height + self.TITLE) / self.DPI))
        ax = fig.add_axes((0, 0, 1, height / (height + self.TITLE)))
        ax.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")
        ax.set_axis_off()
        ax.set_title(f"“{prompt}”")
        return fig

    def show(self) -> None:
        """Draw the grid for the prompt in the box, or say which words are not in the vocabulary."""
        try:
            fig = self.figure(self.prompt.value)
        except ValueError as error:
            self.status.value = f"<span style='color:#b00'>{error}</span>"
            return
        self.image.value = figure_png(fig)
        self.status.value = f"{self.n} samples, noise seed {self.seed}"
