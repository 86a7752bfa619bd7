"""Walking through a generator's latent space: straight (``lerp``) and great-circle (``slerp``) paths.

A standard normal z in d dimensions lies, with high probability, near the sphere of radius
sqrt(d). The straight line between two such points cuts inside it (the midpoint has norm
about sqrt(d/2) when z0 and z1 are nearly orthogonal), where the generator saw few samples
during training; ``slerp`` follows the sphere instead (Shoemake, 1985; White, 2016).
"""

from __future__ import annotations

import torch

__all__ = ["interpolate", "lerp", "slerp"]


def _pair(z0: torch.Tensor, z1: torch.Tensor) -> None:
    for name, z in (("z0", z0), ("z1", z1)):
        if not isinstance(z, torch.Tensor) or z.dim() != 1 or not z.is_floating_point():
            got = f"shape {tuple(z.shape)}, dtype {z.dtype}" if isinstance(z, torch.Tensor) else type(z).__name__
            raise ValueError(f"{name}: expected one latent vector (a 1-D float tensor), got {got}.")
    if z0.shape != z1.shape:
        raise ValueError(f"z0 and z1 differ in size: {z0.numel()} vs {z1.numel()}; take both from the same GAN.noise.")


def _t(t: float) -> float:
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 <= t <= 1:
        raise ValueError(f"t={t!r}: expected a number from 0 (at z0) to 1 (at z1).")
    return float(t)


def lerp(z0: torch.Tensor, z1: torch.Tensor, t: float) -> torch.Tensor:
    r"""The straight line: :math:`(1 - t) z_0 + t z_1`."""
    _pair(z0, z1)
    t = _t(t)
    return (1 - t) * z0 + t * z1


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: float) -> torch.Tensor:
    r"""Spherical interpolation, along the great circle through z0 and z1:
    :math:`\frac{\sin((1-t)\Omega)}{\sin\Omega} z_0 + \frac{\sin(t\Omega)}{\sin\Omega} z_1`, with :math:`\Omega`
    the angle between z0 and z1. Nearly parallel vectors (sin Ω < 1e-6) fall back to ``lerp``.
    """
    _pair(z0, z1)
    t = _t(t)
    cos = torch.dot(z0, z1) / (z0.norm() * z1.norm()).clamp_min(torch.finfo(z0.dtype).tiny)
    omega = torch.arccos(cos.clamp(-1, 1))
    if torch.sin(omega) < 1e-6:
        return (1 - t) * z0 + t * z1
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int = 9, method: str = "slerp") -> torch.Tensor:
    """``steps`` latent vectors from z0 to z1 (both included), as a steps x d tensor."""
    paths = {"slerp": slerp, "lerp": lerp}
    if method not in paths:
        raise ValueError(f"method={method!r}: choose 'slerp' or 'lerp'.")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise ValueError(f"steps={steps!r}: expected at least 2 points (the two ends).")
    return torch.stack([paths[method](z0, z1, i / (steps - 1)) for i in range(steps)])
