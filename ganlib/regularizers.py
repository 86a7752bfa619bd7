r"""Keeping the discriminator in check: the stabilisers of §9.4 (notebook 10).

Each penalty has the signature of ``GAN(penalty=...)``, ``penalty(D, real, fake, labels)``,
and returns a scalar that is added to the discriminator's loss; choose its weight with
``functools.partial``, e.g. ``partial(gradient_penalty, weight=10.0)``.

- ``gradient_penalty`` (WGAN-GP, Gulrajani et al. 2017): :math:`\lambda\,\mathbb{E}_{\hat x}
  [(\lVert\nabla_{\hat x} D(\hat x)\rVert_2 - 1)^2]` on random points :math:`\hat x` between
  real and fake samples, a soft version of "the critic is 1-Lipschitz".
- ``r1_penalty`` (Mescheder et al. 2018): :math:`\frac{\gamma}{2}\,\mathbb{E}_{x \sim p_{data}}
  [\lVert\nabla_x D(x)\rVert_2^2]`, flattening the discriminator on the real data.
- ``clip_weights`` (WGAN, Arjovsky et al. 2017): clamp every discriminator weight to
  :math:`[-c, c]` after each update (``GAN(weight_clip=c)`` does it for you).
- ``spectral_norm`` (Miyato et al. 2018): divide each layer's weight by its largest singular
  value, through ``torch.nn.utils.parametrizations.spectral_norm``.
- ``lazy`` (Karras et al. 2020, StyleGAN2): apply a penalty every k-th discriminator step only,
  scaled by k, which keeps its average effect at a fraction of its cost.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from torch.nn.utils import parametrizations

__all__ = ["clip_weights", "gradient_penalty", "lazy", "r1_penalty", "spectral_norm"]


def _check_weight(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name}={value!r}: expected a finite number >= 0 (0 switches the penalty off).")
    return float(value)


def _input_gradient(discriminator: nn.Module, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """dD/dx for each sample, flattened to N x (features), kept in the graph so the penalty trains D."""
    x = x.detach().requires_grad_(True)
    logits = discriminator(x) if labels is None else discriminator(x, labels)
    (grad,) = torch.autograd.grad(logits.sum(), x, create_graph=True)
    return grad.reshape(len(x), -1)


def gradient_penalty(
    discriminator: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    labels: torch.Tensor | None = None,
    *,
    weight: float = 10.0,
) -> torch.Tensor:
    r"""WGAN-GP: :math:`\lambda\,\mathbb{E}[(\lVert\nabla D(\hat x)\rVert - 1)^2]`, with
    :math:`\hat x = \epsilon x + (1 - \epsilon)\tilde x`, :math:`\epsilon \sim U[0, 1]` per sample."""
    weight = _check_weight("weight", weight)
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must have the same shape; got {tuple(real.shape)} and {tuple(fake.shape)}.")
    eps = torch.rand(len(real), *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    between = eps * real.detach() + (1 - eps) * fake.detach()
    norms = torch.linalg.vector_norm(_input_gradient(discriminator, between, labels), dim=1)
    return weight * (norms - 1).pow(2).mean()


def r1_penalty(
    discriminator: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor | None = None,
    labels: torch.Tensor | None = None,
    *,
    gamma: float = 10.0,
) -> torch.Tensor:
    r"""R1: :math:`\frac{\gamma}{2}\,\mathbb{E}_{x \sim p_{data}}[\lVert\nabla_x D(x)\rVert^2]` (real samples only)."""
    gamma = _check_weight("gamma", gamma)
    grad = _input_gradient(discriminator, real, labels)
    return gamma / 2 * grad.pow(2).sum(dim=1).mean()


@torch.no_grad()
def clip_weights(discriminator: nn.Module, c: float = 0.01) -> None:
    """Clamp every parameter of ``discriminator`` to [-c, c], in place (WGAN's crude Lipschitz bound)."""
    if isinstance(c, bool) or not isinstance(c, (int, float)) or not math.isfinite(c) or c <= 0:
        raise ValueError(f"c={c!r}: expected a positive clipping bound, such as 0.01 (WGAN's value).")
    for p in discriminator.parameters():
        p.clamp_(-c, c)


def spectral_norm(model: nn.Module) -> nn.Module:
    """Spectrally normalise every linear and convolutional layer of ``model`` (in place; returns it).

    Each weight W is used as W / sigma(W), sigma estimated by one power iteration per
    forward pass in training mode, so each layer is (about) 1-Lipschitz.
    """
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d))]
    if not layers:
        raise ValueError(f"model: {type(model).__name__} has no linear or convolutional layer to normalise.")
    for layer in layers:
        parametrizations.spectral_norm(layer)
    return model


def lazy(penalty: Callable[..., torch.Tensor], every: int) -> Callable[..., torch.Tensor]:
    """``penalty`` on every ``every``-th call (the 1st, the (every+1)-th, ...), multiplied by ``every``; 0 otherwise.

    Gradient penalties need a second backward pass; computing one every 4 or 16 steps at 4 or
    16 times the weight costs a fraction and, on average, pushes as hard (StyleGAN2's "lazy
    regularisation").
    """
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"every={every!r}: expected a positive integer (1 applies the penalty at every step).")
    calls = 0

    def penalty_every(discriminator, real, fake, labels=None):
        nonlocal calls
        calls += 1
        if (calls - 1) % every:
            return torch.zeros((), device=real.device)
        return every * penalty(discriminator, real, fake, labels)

    penalty_every.every = every
    return penalty_every
