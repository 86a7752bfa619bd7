"""Pictures of a GAN: sample grids, training curves, and 2D samples over the discriminator.

Every function draws into a matplotlib ``Axes`` (made for you when ``ax`` is None) and
returns it, so figures compose: ``fig, axes = plt.subplots(1, 2)`` then pass ``ax=axes[0]``.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn
from torchvision.utils import make_grid

__all__ = [
    "generator_arrows",
    "plot_discriminator_2d",
    "plot_generator_arrows",
    "plot_history",
    "plot_knn_balls",
    "plot_modes",
    "show_image_panels",
    "show_images",
]


def _axes(ax: plt.Axes | None, figsize: tuple[float, float] = (4, 4)) -> plt.Axes:
    return plt.subplots(figsize=figsize)[1] if ax is None else ax


IMAGE_INCHES = 0.45  # about how large each image is drawn when the figure is sized for the grid
LABEL_PIXELS = 13  # screen pixels of padding under each image that carries a label


def _grid(images: torch.Tensor, nrow: int, padding: int = 1) -> torch.Tensor:
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[1] not in (1, 3):
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images: expected N x C x H x W with C = 1 or 3, got shape {shape}.")
    if isinstance(nrow, bool) or not isinstance(nrow, int) or nrow < 1:
        raise ValueError(f"nrow={nrow!r}: expected a positive number of images per row.")
    return make_grid(images.detach().cpu(), nrow=nrow, padding=padding, normalize=True, value_range=(-1, 1),
                     pad_value=1)


def _scale(scale: int | None, side: int) -> int:
    """Screen pixels per image pixel: ``scale``, or about ``IMAGE_INCHES`` per image at the figure's dpi."""
    if scale is None:
        return max(1, round(IMAGE_INCHES * plt.rcParams["figure.dpi"] / side))
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale={scale!r}: expected a whole number of screen pixels per image pixel (1, 2, ...).")
    return scale


def _draw_grid(ax: plt.Axes, grid: torch.Tensor, title: str | None) -> None:
    ax.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)


def show_images(
    images: torch.Tensor,
    nrow: int = 8,
    title: str | None = None,
    ax: plt.Axes | None = None,
    *,
    scale: int | None = None,
    labels: list[str] | None = None,
    row_labels: list[str] | None = None,
) -> plt.Axes:
    """A grid of images in [-1, 1] (N x C x H x W), as ``torchvision.utils.make_grid`` lays it out.

    With ``ax=None`` the figure is made for the grid: each image pixel becomes a ``scale`` x
    ``scale`` block of screen pixels (by default about ``IMAGE_INCHES`` per image), so small
    images stay sharp and every pixel has the same size. ``labels`` (one short text per image)
    are written under the images; ``row_labels`` (one per row of the grid) to the left of the rows.
    """
    side = images.shape[-2] if isinstance(images, torch.Tensor) and images.dim() == 4 else 1
    scale = _scale(scale, side)
    padding = 1
    if labels is not None:
        if len(labels) != len(images):
            raise ValueError(f"labels: expected one per image ({len(images)}), got {len(labels)}.")
        padding = max(1, math.ceil(LABEL_PIXELS / scale))
    grid = _grid(images, nrow, padding)
    n_cols = min(nrow, len(images))
    n_rows = math.ceil(len(images) / nrow)
    if row_labels is not None and len(row_labels) != n_rows:
        raise ValueError(f"row_labels: expected one per row of the grid ({n_rows}), got {len(row_labels)}.")
    if ax is None:
        dpi = plt.rcParams["figure.dpi"]
        fig = plt.figure(figsize=(grid.shape[2] * scale / dpi, grid.shape[1] * scale / dpi))
        ax = fig.add_axes((0, 0, 1, 1))
    _draw_grid(ax, grid, title)
    height, width = images.shape[-2] + padding, images.shape[-1] + padding
    for i, label in enumerate(labels or []):
        row, col = divmod(i, n_cols)
        ax.text(col * width + padding + images.shape[-1] / 2 - 0.5, (row + 1) * height + padding / 2 - 0.5, label,
                ha="center", va="center", fontsize=7)
    for row, label in enumerate(row_labels or []):
        ax.text(-1, row * height + padding + images.shape[-2] / 2 - 0.5, label, ha="right", va="center", fontsize=9)
    return ax


def show_image_panels(
    panels: dict[str, torch.Tensor], nrow: int = 8, *, scale: int | None = None, gap: float = 0.3,
    title: str | None = None, row_labels: list[str] | None = None,
) -> list[plt.Axes]:
    """Grids side by side in one figure, each titled by its key, all at the same integer ``scale``
    (as ``show_images`` draws one): e.g. ``{"real": real, "generated": fake}`` to compare them
    at the same size. ``gap`` is the space between panels, in inches; ``row_labels`` are written
    to the left of the first panel's rows."""
    if not isinstance(panels, dict) or not panels:
        raise ValueError("panels: expected a dict of title -> images (N x C x H x W), with at least one entry.")
    grids = {name: _grid(images, nrow) for name, images in panels.items()}
    scale = _scale(scale, max(images.shape[-2] for images in panels.values()))
    dpi = plt.rcParams["figure.dpi"]
    sizes = [(g.shape[2] * scale / dpi, g.shape[1] * scale / dpi) for g in grids.values()]
    width = sum(w for w, _ in sizes) + gap * (len(sizes) - 1)
    height = max(h for _, h in sizes)
    fig = plt.figure(figsize=(width, height))
    axes, left = [], 0.0
    for (name, grid), (w, h) in zip(grids.items(), sizes, strict=True):
        ax = fig.add_axes((left / width, 1 - h / height, w / width, h / height))
        _draw_grid(ax, grid, name)
        axes.append(ax)
        left += w + gap
    first = next(iter(panels.values()))
    n_rows = math.ceil(len(first) / nrow)
    if row_labels is not None and len(row_labels) != n_rows:
        raise ValueError(f"row_labels: expected one per row of the first grid ({n_rows}), got {len(row_labels)}.")
    for row, label in enumerate(row_labels or []):
        axes[0].text(-1, row * (first.shape[-2] + 1) + 1 + first.shape[-2] / 2 - 0.5, label, ha="right", va="center",
                     fontsize=9)
    if title:
        fig.suptitle(title, y=1 + 0.5 / height)
    return axes


def plot_modes(
    samples: torch.Tensor, mixture, ax: plt.Axes | None = None, n: int | None = 1000, color: str = "tab:red",
    title: str | None = None,
) -> plt.Axes:
    """2D ``samples`` (the first ``n``; all with ``n=None``) over each mode of ``mixture`` (a
    ``ganlib.data.GaussianMixture``) drawn as its 3σ circle: a sample inside one is high quality
    in the PacGAN protocol (``metrics.mode_coverage``)."""
    samples = torch.as_tensor(samples).detach().cpu()
    if samples.dim() != 2 or samples.shape[1] != 2:
        raise ValueError(f"samples: expected an N x 2 tensor, got shape {tuple(samples.shape)}.")
    ax = _axes(ax)
    for mean in mixture.means.tolist():
        ax.add_patch(plt.Circle(mean, 3 * mixture.std, fill=False, color="k", lw=0.8))
    shown = samples if n is None else samples[:n]
    ax.scatter(shown[:, 0], shown[:, 1], s=2, c=color, alpha=0.5, linewidths=0)
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    return ax


def plot_knn_balls(
    manifold: torch.Tensor, queries: torch.Tensor, k: int = 3, ax: plt.Axes | None = None, title: str | None = None,
    colors: tuple[str, str, str] = ("tab:blue", "tab:green", "tab:red"),
    bounds: tuple[float, float, float, float] | None = None,
) -> float:
    """The k-NN manifold of Kynkäänniemi et al. (2019) in 2D: a ball around each ``manifold`` point
    reaching its k-th nearest neighbour in ``manifold``, and the ``queries`` coloured by whether they
    fall inside some ball (distance <= radius, as ``metrics.precision_recall`` counts them).

    With real samples as the manifold and generated ones as queries, the share inside is the
    precision; the other way round, the recall. Returns that share, over all the queries.

    ``bounds`` (xmin, xmax, ymin, ymax) zooms in: the radii and the share are still those of the
    full sets, but only the balls and queries in that window are drawn. (Cropping the points
    before the call would instead measure every radius among the cropped points alone.)
    """
    from .metrics import kth_neighbour_radius

    # float64, as metrics.precision_recall computes: float32 distances blur radii as small as a jittered copy's
    manifold, queries = (torch.as_tensor(x).detach().to("cpu", torch.float64) for x in (manifold, queries))
    for name, x in (("manifold", manifold), ("queries", queries)):
        if x.dim() != 2 or x.shape[1] != 2:
            raise ValueError(f"{name}: expected an N x 2 tensor of 2D points, got shape {tuple(x.shape)}.")
    if bounds is not None and (len(bounds) != 4 or not (bounds[0] < bounds[1] and bounds[2] < bounds[3])):
        raise ValueError(f"bounds={bounds!r}: expected (xmin, xmax, ymin, ymax) with xmin < xmax and ymin < ymax.")
    radius = kth_neighbour_radius(manifold, k)
    inside = (torch.cdist(queries, manifold) <= radius[None, :]).any(dim=1)
    ball_shown = torch.ones(len(manifold), dtype=torch.bool)
    query_shown = torch.ones(len(queries), dtype=torch.bool)
    if bounds is not None:
        xmin, xmax, ymin, ymax = bounds
        # a ball is drawn when it reaches into the window; a query when it lies in it
        ball_shown = ((manifold[:, 0] + radius >= xmin) & (manifold[:, 0] - radius <= xmax)
                      & (manifold[:, 1] + radius >= ymin) & (manifold[:, 1] - radius <= ymax))
        query_shown = ((queries[:, 0] >= xmin) & (queries[:, 0] <= xmax)
                       & (queries[:, 1] >= ymin) & (queries[:, 1] <= ymax))
    ax = _axes(ax)
    ball, hit, miss = colors
    for centre, r in zip(manifold[ball_shown].tolist(), radius[ball_shown].tolist(), strict=True):
        ax.add_patch(plt.Circle(centre, r, color=ball, alpha=0.15, lw=0))
    shown = manifold[ball_shown]
    ax.scatter(shown[:, 0], shown[:, 1], s=3, c=ball,
               label=f"manifold points, each with its ball (out to its neighbour number k = {k})")
    for mask, color, label in ((inside & query_shown, hit, "inside a ball"),
                               (~inside & query_shown, miss, "outside every ball")):
        ax.scatter(queries[mask, 0], queries[mask, 1], s=6, c=color, marker="x", label=label)
    ax.set_aspect("equal")
    if bounds is not None:
        ax.set(xlim=bounds[:2], ylim=bounds[2:])
    if title:
        ax.set_title(title)
    return float(inside.double().mean())


def _curve(ax: plt.Axes, values: list[float], label: str, smooth: int) -> None:
    """The raw values, faint, under their moving average over ``smooth`` steps (if > 1)."""
    if smooth <= 1 or len(values) < smooth:
        ax.plot(values, label=label, lw=1)
        return
    (raw,) = ax.plot(values, lw=0.5, alpha=0.3)
    mean = np.convolve(values, np.ones(smooth) / smooth, mode="valid")
    ax.plot(np.arange(smooth - 1, len(values)), mean, color=raw.get_color(), lw=1.5, label=label)


# Each loss at the game's equilibrium, D(x) = 1/2 everywhere: (discriminator's, generator's).
# ganlib's binary cross-entropy is a sum of two means, so the discriminator reads 2 log 2 there.
EQUILIBRIUM_LOSSES = {
    "minimax": (2 * math.log(2), -math.log(2)),
    "non_saturating": (2 * math.log(2), math.log(2)),
}


def plot_history(
    history: dict[str, list[float]],
    smooth: int = 25,
    axes: tuple[plt.Axes, plt.Axes] | None = None,
    *,
    loss: str | None = None,
    cool_down: int | None = None,
) -> tuple[plt.Axes, plt.Axes]:
    """Two panels from ``GAN.history``: the losses, and mean D(x) and D(G(z)) against 1/2.

    Each curve is drawn faintly as recorded and boldly as a moving average over ``smooth`` steps.
    With ``loss`` ("minimax" or "non_saturating"), dotted lines mark what each loss reads at the
    equilibrium (``EQUILIBRIUM_LOSSES``); with ``cool_down``, the steps from there on are shaded.
    """
    if not isinstance(smooth, int) or isinstance(smooth, bool) or smooth < 1:
        raise ValueError(f"smooth={smooth!r}: expected a window of at least 1 step (1 draws no average).")
    if loss is not None and loss not in EQUILIBRIUM_LOSSES:
        raise ValueError(f"loss={loss!r}: equilibrium values are known for {sorted(EQUILIBRIUM_LOSSES)}; "
                         "pass one of them, or None to draw no reference lines.")
    if axes is None:
        axes = plt.subplots(1, 2, figsize=(10, 3.2))[1]
    ax_loss, ax_d = axes
    _curve(ax_loss, history["d_loss"], "discriminator", smooth)
    _curve(ax_loss, history["g_loss"], "generator", smooth)
    # The reference lines and the cool-down are labelled where they are drawn, not in the legend,
    # so the legend stays small and hides less of the curves. Each line's label sits at the right
    # end, on the side of the line away from where its player's curve ends (the median of its last
    # quarter), so that it does not cover the curve it is compared with.
    if loss is not None:
        d_eq, g_eq = EQUILIBRIUM_LOSSES[loss]
        for value, colour, who, key in ((d_eq, "tab:blue", "D", "d_loss"), (g_eq, "tab:orange", "G", "g_loss")):
            ax_loss.axhline(value, color=colour, ls=":", lw=1)
            values = history[key]
            above = not values or float(np.median(values[-max(1, len(values) // 4):])) < value
            ax_loss.annotate(f"{who}'s loss at D = 1/2: {value:.3f}", (1, value), xycoords=("axes fraction", "data"),
                             xytext=(-3, 2 if above else -2), textcoords="offset points", ha="right",
                             va="bottom" if above else "top", fontsize="x-small", color=colour,
                             bbox={"facecolor": "white", "alpha": 0.6, "edgecolor": "none", "pad": 1})
    if cool_down is not None:
        end = len(history["d_loss"])
        for ax in axes:
            ax.axvspan(cool_down, end, color="gray", alpha=0.12, lw=0)
            # At the top of the band, where the curves rarely reach, so none of them crosses the label.
            ax.annotate("cool-down", (cool_down, 1), xycoords=("data", "axes fraction"), xytext=(3, -3),
                        textcoords="offset points", fontsize="x-small", color="dimgray", va="top",
                        bbox={"facecolor": "white", "alpha": 0.75, "edgecolor": "none", "pad": 1})
    ax_loss.set(xlabel="step", ylabel="loss", title="Losses")
    # With a cool-down, both legends sit at the lower right, clear of its label at the top of the band.
    corner = "best" if cool_down is None else "lower right"
    ax_loss.legend(fontsize="small", loc=corner)
    _curve(ax_d, history["d_real"], "mean D(x), real", smooth)
    _curve(ax_d, history["d_fake"], "mean D(G(z)), fake", smooth)
    ax_d.axhline(0.5, color="gray", ls="--", lw=1, label="1/2: cannot tell")
    ax_d.set(xlabel="step", ylabel="D output", ylim=(0, 1), title="Discriminator outputs")
    ax_d.legend(fontsize="small", loc=corner)
    return ax_loss, ax_d


@torch.no_grad()
def _probability(discriminator: nn.Module, points: torch.Tensor, logit: bool = False) -> torch.Tensor:
    """sigmoid(discriminator(points)) (or, with ``logit``, the raw output) on the CPU, in evaluation mode."""
    was_training = discriminator.training
    discriminator.eval()
    try:
        device = next(discriminator.parameters()).device
        out = discriminator(points.to(device)).flatten().cpu()
        return out if logit else torch.sigmoid(out)
    finally:
        discriminator.train(was_training)


@torch.no_grad()
def plot_discriminator_2d(
    discriminator: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor | None = None,
    bounds: tuple[float, float, float, float] | None = None,
    resolution: int = 150,
    ax: plt.Axes | None = None,
    title: str | None = None,
    colorbar: bool = True,
    relative_to: nn.Module | None = None,
    logit: bool = False,
) -> plt.Axes:
    """Real (and generated) 2D samples over the discriminator's probability field D(x) = sigmoid(logit).

    ``bounds`` is (xmin, xmax, ymin, ymax); by default it frames the real samples with a margin.
    ``colorbar=False`` leaves out the colour bar, for panels that share one: the field is the
    axes' first collection, so ``fig.colorbar(axes[0].collections[0], ax=axes)`` draws it once.
    With ``relative_to`` (another discriminator, e.g. a copy taken before an update) the field
    is the change D(x) - relative_to(x), on a colour scale symmetric about 0: red where D now
    says "real" more than before, blue where less. One update changes D(x) by far less than the
    probability scale's 0.1 steps, so only the change shows what it did.
    ``logit=True`` draws D's raw output instead, on a colour scale symmetric about 0: for a critic
    or a hinge-trained discriminator, whose output is not the logit of a probability.
    """
    real = real.detach().cpu()
    if bounds is None:
        lo, hi = real.min(0).values, real.max(0).values
        margin = 0.25 * (hi - lo).max().item() + 1e-3
        bounds = (lo[0].item() - margin, hi[0].item() + margin, lo[1].item() - margin, hi[1].item() + margin)
    xmin, xmax, ymin, ymax = bounds
    xs, ys = torch.linspace(xmin, xmax, resolution), torch.linspace(ymin, ymax, resolution)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")
    points = torch.stack([gx.flatten(), gy.flatten()], dim=1)
    prob = _probability(discriminator, points, logit).reshape(resolution, resolution)
    levels, label, number_format = [i / 10 for i in range(11)], "D(x): probability real", None
    if relative_to is not None:
        prob = prob - _probability(relative_to, points, logit).reshape(resolution, resolution)
    if relative_to is not None or logit:
        largest = max(prob.abs().max().item(), 1e-12)
        label = "D's output (logit)"
        if relative_to is not None:
            label = "change in D's output" if logit else "change in D(x)"
        levels, number_format = np.linspace(-largest, largest, 11).tolist(), "%.2g"
    ax = _axes(ax)
    field = ax.contourf(gx.numpy(), gy.numpy(), prob.numpy(), levels=levels, cmap="RdBu_r", alpha=0.6)
    if colorbar:
        ax.figure.colorbar(field, ax=ax, label=label, fraction=0.046, format=number_format)
    ax.scatter(real[:, 0], real[:, 1], s=4, c="black", alpha=0.5, label="real")
    if fake is not None:
        fake = fake.detach().cpu()
        ax.scatter(fake[:, 0], fake[:, 1], s=4, c="orange", alpha=0.6, label="generated")
    ax.set(xlim=(xmin, xmax), ylim=(ymin, ymax), aspect="equal")
    ax.legend(loc="upper right", markerscale=3, fontsize="small")
    if title:
        ax.set_title(title)
    return ax


def generator_arrows(discriminator: nn.Module, loss, fake: torch.Tensor) -> torch.Tensor:
    """-d(generator's loss)/d(sample) at each fake sample: the direction in which the generator's
    loss pushes it, through the discriminator as it is now. ``loss`` is a name from
    ``ganlib.losses.LOSSES`` or a ``GANLoss``."""
    from .losses import get_loss

    x = fake.detach().clone().to(next(discriminator.parameters()).device).requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(get_loss(loss).generator(discriminator(x)), x)
    return -grad.cpu()


def plot_generator_arrows(
    discriminator: nn.Module, loss, fake: torch.Tensor, ax: plt.Axes, length: float = 0.12,
    color: str = "forestgreen",
) -> torch.Tensor:
    """Draw ``generator_arrows`` at the ``fake`` samples, rescaled so that the longest spans
    ``length`` of the axes' width (their true sizes differ by orders of magnitude during
    training); return the arrows at their true size, e.g. to title the panel with the longest."""
    if not 0 < length <= 1:
        raise ValueError(f"length={length!r}: expected the longest arrow's share of the frame's width, in (0, 1].")
    fake = fake.detach().cpu()
    arrows = generator_arrows(discriminator, loss, fake)
    width = abs(ax.get_xlim()[1] - ax.get_xlim()[0])
    drawn = arrows / arrows.norm(dim=1).max().clamp_min(1e-12) * length * width
    ax.quiver(fake[:, 0], fake[:, 1], drawn[:, 0], drawn[:, 1], color=color, angles="xy", scale_units="xy", scale=1,
              width=0.004)
    return arrows
