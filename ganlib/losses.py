r"""GAN losses as pure functions of the discriminator's **logits**.

Notation (as in the notebooks): :math:`r` are the discriminator's logits on real samples,
:math:`f` its logits on generated ones, :math:`\sigma` the logistic sigmoid, so
:math:`D(x) = \sigma(r)`. Every loss is a mean over the batch, and is *minimised* by the
player it belongs to. Written with ``softplus`` (:math:`\log(1 + e^t)`), since
:math:`-\log \sigma(t) = \mathrm{softplus}(-t)` and :math:`-\log(1 - \sigma(t)) = \mathrm{softplus}(t)`,
which stays finite where ``log(sigmoid(t))`` would underflow.

Pick a pair by name with ``get_loss("hinge")``: swap the loss, keep the model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = ["LOSSES", "GANLoss", "get_loss", "value_function"]


def value_function(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    r"""§4's objective on a batch, a Monte Carlo estimate of
    :math:`V(D, G) = \mathbb{E}_{x \sim p_{data}}[\log D(x)] + \mathbb{E}_{z \sim p_z}[\log(1 - D(G(z)))]`
    :math:`= -\mathbb{E}[\mathrm{softplus}(-r)] - \mathbb{E}[\mathrm{softplus}(f)]`.
    D maximises it; G minimises it. Its negative is the discriminator's minimax loss."""
    return -F.softplus(-real_logits).mean() - F.softplus(fake_logits).mean()


def minimax_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    r"""Binary cross-entropy, the negated inner objective of §4:
    :math:`-\mathbb{E}[\log D(x)] - \mathbb{E}[\log(1 - D(G(z)))]`
    :math:`= \mathbb{E}[\mathrm{softplus}(-r)] + \mathbb{E}[\mathrm{softplus}(f)]`."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def minimax_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    r"""The generator's side of §4's minimax game, :math:`\mathbb{E}[\log(1 - D(G(z)))]`
    :math:`= -\mathbb{E}[\mathrm{softplus}(f)]`. Saturates: its gradient vanishes when D
    confidently rejects the fakes (:math:`f \to -\infty`)."""
    return -F.softplus(fake_logits).mean()


def non_saturating_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    r"""Goodfellow et al.'s practical alternative, :math:`-\mathbb{E}[\log D(G(z))]`
    :math:`= \mathbb{E}[\mathrm{softplus}(-f)]`: same fixed point, strong gradients early."""
    return F.softplus(-fake_logits).mean()


def least_squares_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    r"""LSGAN (Mao et al., 2017), targets 1 for real and 0 for fake on the raw output:
    :math:`\tfrac12\mathbb{E}[(r - 1)^2] + \tfrac12\mathbb{E}[f^2]`."""
    return 0.5 * ((real_logits - 1) ** 2).mean() + 0.5 * (fake_logits**2).mean()


def least_squares_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    r"""LSGAN's generator loss: :math:`\tfrac12\mathbb{E}[(f - 1)^2]`."""
    return 0.5 * ((fake_logits - 1) ** 2).mean()


def wasserstein_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    r"""WGAN's critic (Arjovsky et al., 2017): :math:`\mathbb{E}[f] - \mathbb{E}[r]`.
    Needs a Lipschitz constraint (clipping, gradient penalty or spectral norm) to mean anything."""
    return fake_logits.mean() - real_logits.mean()


def wasserstein_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    r"""WGAN's generator loss: :math:`-\mathbb{E}[f]`."""
    return -fake_logits.mean()


def hinge_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    r"""Hinge loss (Lim & Ye, 2017; used by SNGAN, BigGAN):
    :math:`\mathbb{E}[\max(0, 1 - r)] + \mathbb{E}[\max(0, 1 + f)]`."""
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


@dataclass(frozen=True)
class GANLoss:
    """A named pair: ``discriminator(real_logits, fake_logits)`` and ``generator(fake_logits)``."""

    name: str
    discriminator: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    generator: Callable[[torch.Tensor], torch.Tensor]


LOSSES: dict[str, GANLoss] = {
    loss.name: loss
    for loss in (
        GANLoss("minimax", minimax_discriminator_loss, minimax_generator_loss),
        GANLoss("non_saturating", minimax_discriminator_loss, non_saturating_generator_loss),
        GANLoss("least_squares", least_squares_discriminator_loss, least_squares_generator_loss),
        GANLoss("wasserstein", wasserstein_discriminator_loss, wasserstein_generator_loss),
        # The hinge GAN's generator maximises the critic's score, as WGAN's does.
        GANLoss("hinge", hinge_discriminator_loss, wasserstein_generator_loss),
    )
}


def get_loss(name: str | GANLoss) -> GANLoss:
    """The loss pair called ``name`` (a ``GANLoss`` passes through unchanged)."""
    if isinstance(name, GANLoss):
        return name
    if not isinstance(name, str) or name not in LOSSES:
        valid = ", ".join(repr(n) for n in LOSSES)
        raise ValueError(f"loss={name!r} is not a known GAN loss; choose one of {valid}.")
    return LOSSES[name]
