r"""Flow matching for 2D data (Lipman et al., 2023): the non-adversarial model notebook 11
measures beside the GAN.

A flow carries noise :math:`x_0 \sim \mathcal N(0, I)` to data along the ODE
:math:`\mathrm dx/\mathrm dt = v(x, t)`, from :math:`t = 0` to :math:`t = 1`. Conditional flow
matching with straight paths (rectified flow, Liu et al., 2023) pairs each data point
:math:`x_1` with independent noise :math:`x_0`, picks a time :math:`t \in [0, 1]`, and regresses
the network on the velocity of the straight line through them:

.. math::

    x_t = (1 - t)\,x_0 + t\,x_1, \qquad
    \mathcal L(v) = \mathbb E_{t, x_0, x_1} \big\| v(x_t, t) - (x_1 - x_0) \big\|^2 .

At every :math:`t` the minimiser is the *marginal* velocity
:math:`u(x, t) = \mathbb E[x_1 - x_0 \mid x_t = x]`, whose ODE carries :math:`\mathcal N(0, I)`
to the data. ``sample`` integrates it with Euler steps, one network evaluation each; that
count is the cost a GAN (one evaluation per sample) is compared with.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from tqdm.auto import tqdm

from .data import tensor_loader
from .models import _mlp, _positive_int
from .training import forever

__all__ = ["VelocityField", "flow_matching_loss", "sample", "train_flow_matching"]


class VelocityField(nn.Module):
    r"""v(x, t): points (N x dim) and times (N, or one number) -> velocities (N x dim).

    An MLP with ``depth`` hidden SiLU layers. It reads t as :math:`t` and
    :math:`\sin(k\pi t), \cos(k\pi t)` for :math:`k = 1..` ``frequencies``: the field changes
    fast near t = 1, where the paths reach the data's narrow modes, and raw t alone is too
    smooth an input to follow it."""

    def __init__(self, dim: int = 2, hidden: int = 128, depth: int = 3, frequencies: int = 8):
        super().__init__()
        self.dim = _positive_int("dim", dim)
        k = torch.arange(1, _positive_int("frequencies", frequencies) + 1, dtype=torch.float32)
        self.register_buffer("angular", math.pi * k)
        sizes = [dim + 1 + 2 * frequencies] + [_positive_int("hidden", hidden)] * _positive_int("depth", depth)
        self.net = _mlp(sizes + [dim], nn.SiLU)

    def forward(self, x: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
        t = torch.as_tensor(t, dtype=x.dtype, device=x.device).expand(len(x))[:, None]
        return self.net(torch.cat([x, t, torch.sin(self.angular * t), torch.cos(self.angular * t)], dim=1))


def _points(x: object, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or x.dim() != 2 or len(x) == 0:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name}: expected a non-empty N x dim tensor of points (N x 2 for 2D data), got {shape}.")
    return x


def flow_matching_loss(
    model, x1: torch.Tensor, x0: torch.Tensor | None = None, t: torch.Tensor | None = None
) -> torch.Tensor:
    r""":math:`\frac1N \sum_i \| v(x_{t_i}, t_i) - (x_{1,i} - x_{0,i}) \|^2`, with
    :math:`x_t = (1 - t)\,x_0 + t\,x_1`, for data ``x1`` (N x dim) and ``model(x, t) = v(x, t)``.
    ``x0`` (N x dim noise) is drawn from N(0, I) and ``t`` (N times) from U(0, 1) unless given."""
    x1 = _points(x1, "x1")
    x0 = torch.randn_like(x1) if x0 is None else x0
    t = torch.rand(len(x1), dtype=x1.dtype, device=x1.device) if t is None else t
    if x0.shape != x1.shape or t.shape != (len(x1),):
        raise ValueError(f"x0 must have x1's shape {tuple(x1.shape)} and t the shape ({len(x1)},); "
                         f"got {tuple(x0.shape)} and {tuple(t.shape)}.")
    xt = (1 - t[:, None]) * x0 + t[:, None] * x1
    return (model(xt, t) - (x1 - x0)).pow(2).sum(dim=1).mean()


def train_flow_matching(
    model: nn.Module, data, steps: int, lr: float = 5e-3, batch_size: int = 256, progress: bool = True
) -> list[float]:
    r"""Fit ``model`` to ``data`` with ``steps`` Adam steps on ``flow_matching_loss``; return every
    step's loss.

    ``data`` is an N x dim tensor of points (drawn in batches of ``batch_size``) or a loader of
    batches such as ``ganlib.data.toy_loader("ring")``. The learning rate falls linearly from
    ``lr`` to 0. Times are drawn as :math:`t = 1 - (1 - u)^2`, :math:`u \sim U(0, 1)`, which
    spends more of the training near t = 1, where the narrow modes are resolved; the minimiser
    at each t is unchanged (as with the non-uniform times of Esser et al., 2024).
    ``progress`` shows a progress bar.
    """
    steps = _positive_int("steps", steps)
    if not isinstance(lr, (int, float)) or isinstance(lr, bool) or not lr > 0:
        raise ValueError(f"lr={lr!r}: expected a positive learning rate, e.g. 5e-3.")
    if isinstance(data, torch.Tensor):
        data = tensor_loader(_points(data, "data"), batch_size=_positive_int("batch_size", batch_size))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=1.0, end_factor=0.0, total_iters=steps)
    batches, history = forever(data), []
    for _ in tqdm(range(steps), disable=not progress, desc="flow matching", unit="step"):
        batch = next(batches)
        x1 = _points(batch[0] if isinstance(batch, (tuple, list)) else batch, "a batch of data")
        if x1.shape[1] != getattr(model, "dim", x1.shape[1]):
            raise ValueError(f"the data has {x1.shape[1]} columns but the model's dim is {model.dim}; "
                             "build it with VelocityField(dim=...) to match.")
        t = 1 - (1 - torch.rand(len(x1), dtype=x1.dtype, device=x1.device)) ** 2
        loss = flow_matching_loss(model, x1, t=t)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        history.append(loss.item())
    return history


@torch.no_grad()
def sample(model, n: int, steps: int = 64, dim: int | None = None) -> torch.Tensor:
    r"""``n`` points from the flow: draw :math:`x \sim \mathcal N(0, I)` and take ``steps`` Euler
    steps :math:`x \leftarrow x + \Delta t\, v(x, t)` at :math:`t = 0, \Delta t, \ldots, 1 - \Delta t`,
    with :math:`\Delta t = 1 / \text{steps}`: exactly ``steps`` network evaluations.
    ``dim`` defaults to ``model.dim``."""
    n, steps = _positive_int("n", n), _positive_int("steps", steps)
    dim = _positive_int("dim", dim if dim is not None else getattr(model, "dim", 2))
    weights = next(iter(model.parameters()), None) if isinstance(model, nn.Module) else None
    x = torch.randn(n, dim, device=weights.device if weights is not None else None)
    for k in range(steps):
        x = x + model(x, k / steps) / steps
    return x
