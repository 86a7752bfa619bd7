"""The Dirac-GAN (Mescheder, Geiger & Nowozin, 2018): the smallest GAN, whose training you can draw (§9.4).

The real data are a single point at 0; the generator is a single point θ (p_g = δ_θ); the
discriminator is linear, logit D_ψ(x) = ψ·x. The unique equilibrium is θ = ψ = 0. Training is
a flow in the (θ, ψ) plane; for the course's losses on logits:

- the minimax GAN of §4 (D maximises V = log σ(D(0)) + log(1 − σ(D(θ))) = log σ(0) + log σ(−ψθ),
  G minimises it):
      θ' = σ(ψθ)·ψ,             ψ' = −σ(ψθ)·θ,
  so θ² + ψ² is constant along the flow: circles around the equilibrium;
- the non-saturating generator (G minimises −log σ(ψθ) instead):
      θ' = σ(−ψθ)·ψ,            ψ' = −σ(ψθ)·θ;
- Wasserstein (D maximises D(0) − D(θ) = −ψθ; G minimises −D(θ)):
      θ' = ψ,                   ψ' = −θ;
- a penalty the discriminator subtracts from its objective adds −∂penalty/∂ψ to ψ':
  R1 = (γ/2)‖∇ₓD(0)‖² = (γ/2)ψ², so ψ' gains −γψ;
  WGAN-GP's λ(‖∇ₓD(x̂)‖ − 1)² = λ(|ψ| − 1)², so ψ' gains −2λ(|ψ| − 1)·sign ψ.

Near the equilibrium the unregularised fields are the rotation (θ', ψ') ∝ (ψ, −θ): the x·y game
of notebook 01. Gradient steps on a rotation spiral outwards when both players move at once, and
orbit when they alternate; R1 adds damping, and the path converges. ``field`` gives the vector
field, ``trajectory`` follows it with gradient steps
(simultaneous or alternating, as ``training.train_step`` does: D first, then G).
"""

from __future__ import annotations

import numpy as np

__all__ = ["LOSSES", "REGULARIZERS", "field", "trajectory"]

LOSSES = ("minimax", "non_saturating", "wasserstein")
REGULARIZERS = ("none", "r1", "gradient_penalty")


def _sigmoid(t):
    return 0.5 * (1 + np.tanh(0.5 * t))  # stable for large |t|


def _check(loss: str, regularizer: str, weight: float) -> None:
    if loss not in LOSSES:
        raise ValueError(f"loss={loss!r}: expected one of {LOSSES}.")
    if regularizer not in REGULARIZERS:
        raise ValueError(f"regularizer={regularizer!r}: expected one of {REGULARIZERS}.")
    if not np.isfinite(weight) or weight < 0:
        raise ValueError(f"weight={weight!r}: expected a penalty weight >= 0 (R1's γ or WGAN-GP's λ).")


def _generator_velocity(theta, psi, loss: str):
    """−∂(G's loss)/∂θ."""
    if loss == "wasserstein":
        return psi + 0 * theta
    if loss == "minimax":
        return _sigmoid(psi * theta) * psi
    return _sigmoid(-psi * theta) * psi


def _discriminator_velocity(theta, psi, loss: str, regularizer: str, weight: float):
    """+∂(D's objective − penalty)/∂ψ."""
    velocity = -theta + 0 * psi if loss == "wasserstein" else -_sigmoid(psi * theta) * theta
    if regularizer == "r1":
        velocity = velocity - weight * psi
    elif regularizer == "gradient_penalty":
        velocity = velocity - 2 * weight * (np.abs(psi) - 1) * np.sign(psi)
    return velocity


def field(theta, psi, loss: str = "minimax", regularizer: str = "none", weight: float = 1.0):
    """The training vector field (θ', ψ') at the points (θ, ψ) (NumPy arrays or floats).

    ``weight`` is R1's γ or WGAN-GP's λ (ignored without a regularizer).
    """
    _check(loss, regularizer, weight)
    theta, psi = np.asarray(theta, dtype=float), np.asarray(psi, dtype=float)
    return _generator_velocity(theta, psi, loss), _discriminator_velocity(theta, psi, loss, regularizer, weight)


def trajectory(
    theta: float = 1.0,
    psi: float = 1.0,
    steps: int = 500,
    lr: float = 0.1,
    loss: str = "minimax",
    regularizer: str = "none",
    weight: float = 1.0,
    alternating: bool = True,
) -> np.ndarray:
    """The (θ, ψ) visited by ``steps`` gradient steps of size ``lr`` from (``theta``, ``psi``): a
    (steps + 1) x 2 array. ``alternating`` updates D first and G against the new D, as the course's
    ``train_step`` does; otherwise both move at once (simultaneous gradient descent)."""
    _check(loss, regularizer, weight)
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps={steps!r}: expected a positive number of gradient steps.")
    if not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr={lr!r}: expected a positive learning rate.")
    path = np.empty((steps + 1, 2))
    path[0] = theta, psi
    for k in range(steps):
        new_psi = psi + lr * _discriminator_velocity(theta, psi, loss, regularizer, weight)
        theta = theta + lr * _generator_velocity(theta, new_psi if alternating else psi, loss)
        psi = new_psi
        path[k + 1] = theta, psi
    return path
