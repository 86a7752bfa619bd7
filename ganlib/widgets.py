"""Interactive tools for the notebooks (ipywidgets).

``Playground`` is a GAN Lab in the notebook: choose the data, the loss, the learning rates,
k (discriminator steps per generator step) and the batch size; press *Step*, *Run* or
*Reset*; watch the discriminator's probability field, the real and generated samples, the
arrows along which the generator's loss pushes its samples, the loss curves and the modes
covered.

Where no widget front end is running (nbval, nbconvert, a rendered notebook on the web) the
same object displays as a static PNG of its current state: its MIME bundle carries both.
"""

from __future__ import annotations

import base64
import io

import ipywidgets as W
import torch
from matplotlib.figure import Figure

from . import data, metrics, models, training
from .losses import LOSSES
from .viz import generator_arrows, plot_discriminator_2d, plot_generator_arrows, plot_history

__all__ = ["LatentWalk", "PictureFallback", "Playground", "figure_png"]

_BOUNDS = {"ring": 1.6, "grid": 6.0, "moons": 1.8, "spiral": 1.5}
_MIXTURES = {"ring": data.RING, "grid": data.GRID}


def figure_png(fig: Figure, dpi: int = 80) -> bytes:
    """A matplotlib figure as PNG bytes, for an ``ipywidgets.Image``."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


class PictureFallback:
    """Mixed into a widget with an ``image`` (``ipywidgets.Image``): where no widget front end
    runs (nbval, nbconvert, a rendered notebook), the widget displays as that picture."""

    image: W.Image

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        bundle["image/png"] = base64.b64encode(self.image.value).decode("ascii")
        return bundle


class Playground(PictureFallback, W.VBox):
    """A GAN Lab for 2D data. ``Playground()`` in a cell shows it; ``step(n)`` trains from code.

    Changing the data, loss, k or batch size starts again (as *Reset* does); the learning
    rates change in place, mid-training, as in GAN Lab.
    """

    def __init__(
        self,
        dataset: str = "ring",
        loss: str = "non_saturating",
        lr_g: float = 1e-3,
        lr_d: float = 2e-3,
        k: int = 1,
        batch_size: int = 256,
        run_steps: int = 500,
        seed: int = 0,
    ):
        if dataset not in _BOUNDS:
            raise ValueError(f"dataset={dataset!r}: choose one of {', '.join(map(repr, _BOUNDS))}.")
        if loss not in LOSSES:
            raise ValueError(f"loss={loss!r}: choose one of {', '.join(map(repr, LOSSES))}.")
        if batch_size not in (64, 128, 256, 512):
            raise ValueError(f"batch_size={batch_size!r}: choose 64, 128, 256 or 512.")
        if not isinstance(k, int) or not 1 <= k <= 10:
            raise ValueError(f"k={k!r}: choose a whole number of discriminator steps from 1 to 10.")
        self.seed = seed
        style = {"description_width": "110px"}
        self.dataset = W.Dropdown(options=list(_BOUNDS), value=dataset, description="data", style=style)
        self.loss = W.Dropdown(options=list(LOSSES), value=loss, description="loss", style=style)
        self.lr_g = W.FloatLogSlider(value=lr_g, min=-5, max=-1, description="G learning rate", style=style)
        self.lr_d = W.FloatLogSlider(value=lr_d, min=-5, max=-1, description="D learning rate", style=style)
        self.k = W.IntSlider(value=k, min=1, max=10, description="k (D steps)", style=style)
        self.batch_size = W.Dropdown(options=[64, 128, 256, 512], value=batch_size, description="batch", style=style)
        self.run_steps = W.IntText(value=run_steps, description="steps per run", style=style)
        self.step_button = W.Button(description="Step", icon="step-forward", tooltip="one training step")
        self.run_button = W.Button(description="Run", icon="play", button_style="success", tooltip="run the steps")
        self.reset_button = W.Button(description="Reset", icon="refresh", tooltip="start again")
        self.status = W.HTML()
        self.image = W.Image(format="png", layout=W.Layout(width="100%", max_width="1100px"))
        self.step_button.on_click(lambda _: self.step(1))
        self.run_button.on_click(lambda _: self.run())
        self.reset_button.on_click(lambda _: self.reset())
        for control in (self.dataset, self.loss, self.k, self.batch_size):
            control.observe(lambda _: self.reset(), names="value")
        for control in (self.lr_g, self.lr_d):
            control.observe(lambda _: self.gan.set_learning_rates(self.lr_g.value, self.lr_d.value), names="value")
        controls = W.HBox([
            W.VBox([self.dataset, self.loss, self.batch_size]),
            W.VBox([self.lr_g, self.lr_d, self.k]),
            W.VBox([self.run_steps, W.HBox([self.step_button, self.run_button, self.reset_button]), self.status]),
        ])
        super().__init__([controls, self.image])
        self.reset()

    # --- the model ---------------------------------------------------------------------
    def reset(self) -> None:
        """New networks and a fresh history, with the current settings."""
        training.seed_everything(self.seed)
        G = models.MLPGenerator(latent_dim=8, hidden=64)
        D = models.MLPDiscriminator(hidden=64)
        self.gan = training.GAN(G, D, loss=self.loss.value, lr_g=self.lr_g.value, lr_d=self.lr_d.value,
                                n_critic=self.k.value, device="cpu")
        self.real = data.sample_toy(self.dataset.value, 50_000, seed=self.seed)
        self.loader = data.tensor_loader(self.real, batch_size=self.batch_size.value, seed=self.seed)
        self.coverage: list[tuple[int, int]] = []  # (step, modes covered)
        self.redraw()

    def step(self, n: int = 1, redraw_every: int = 100) -> None:
        """Train ``n`` steps, redrawing every ``redraw_every`` steps and at the end."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n={n!r}: expected a positive number of steps.")
        for start in range(0, n, redraw_every):
            training.train(self.gan, self.loader, min(redraw_every, n - start), progress=False)
            self.redraw()

    def run(self) -> None:
        """Train the number of steps in the *steps per run* box, with the buttons disabled meanwhile."""
        buttons = (self.step_button, self.run_button, self.reset_button)
        for button in buttons:
            button.disabled = True
        try:
            self.step(max(1, self.run_steps.value))
        finally:
            for button in buttons:
                button.disabled = False

    # --- the view ----------------------------------------------------------------------
    def generator_arrows(self, fake: torch.Tensor) -> torch.Tensor:
        """-d(generator loss)/d(sample) at each fake sample: where the loss pushes it."""
        return generator_arrows(self.gan.discriminator, self.gan.loss, fake)

    def figure(self) -> Figure:
        """The current state: field, samples and arrows; losses; D's outputs; modes covered."""
        fig = Figure(figsize=(16, 4), layout="constrained")
        fig.get_layout_engine().set(wspace=0.06)
        ax_field, ax_loss, ax_d, ax_modes = fig.subplots(1, 4, width_ratios=[1.3, 1, 1, 1])
        bound = _BOUNDS[self.dataset.value]
        fake = self.gan.sample(500)
        plot_discriminator_2d(self.gan.discriminator, self.real[:1000], fake, bounds=(-bound, bound, -bound, bound),
                              resolution=100, ax=ax_field)
        # Arrows are rescaled so the longest spans 6% of the frame; the title gives its true size.
        arrows = plot_generator_arrows(self.gan.discriminator, self.gan.loss, fake[:80], ax=ax_field, length=0.06)
        ax_field.set_title(f"step {self.gan.step} · longest arrow |∂loss/∂x| = {arrows.norm(dim=1).max():.2g}")
        if self.gan.step:
            plot_history(self.gan.history, smooth=min(25, self.gan.step), axes=(ax_loss, ax_d))
        else:
            for ax, title in ((ax_loss, "Losses"), (ax_d, "Discriminator outputs")):
                ax.text(0.5, 0.5, "press Step or Run", ha="center", va="center", transform=ax.transAxes)
                ax.set_title(title)
        self._draw_coverage(ax_modes)
        return fig

    def _draw_coverage(self, ax) -> None:
        mixture = _MIXTURES.get(self.dataset.value)
        if mixture is None:
            ax.text(0.5, 0.5, "modes are defined for\nring and grid", ha="center", va="center")
            ax.set_axis_off()
            return
        if not self.coverage or self.coverage[-1][0] != self.gan.step:
            result = metrics.mode_coverage(self.gan.sample(2500), mixture)
            self.coverage.append((self.gan.step, result.modes_covered))
        steps, covered = zip(*self.coverage, strict=True)
        ax.plot(steps, covered, marker="o", ms=3)
        ax.set(xlabel="step", ylabel="modes covered", ylim=(-0.5, mixture.n_modes + 0.5),
               title=f"Modes covered: {covered[-1]} of {mixture.n_modes}")

    def png(self) -> bytes:
        return figure_png(self.figure())

    def redraw(self) -> None:
        self.image.value = self.png()
        history = self.gan.history
        losses = f"D loss {history['d_loss'][-1]:.3f}, G loss {history['g_loss'][-1]:.3f}" if history["d_loss"] else ""
        self.status.value = f"<b>step {self.gan.step}</b> {losses}"


class LatentWalk(PictureFallback, W.VBox):
    """A slider along a path in latent space, from z0 to z1, and what the generator makes there.

    The top strip shows the whole path (``steps`` images, the current point framed); below it,
    the image at the slider's point, large, and the norm of its z. *New ends* draws a fresh pair;
    the toggle switches between ``slerp`` and ``lerp``. A conditional generator takes a fixed
    ``label``. Without a widget front end the object displays as a PNG of its current state.
    """

    def __init__(self, generator: torch.nn.Module, latent_dim: int, steps: int = 9, seed: int = 0,
                 label: int | None = None):
        if isinstance(latent_dim, bool) or not isinstance(latent_dim, int) or latent_dim < 1:
            raise ValueError(f"latent_dim={latent_dim!r}: expected the generator's latent size, e.g. gan.latent_dim.")
        if getattr(generator, "latent_dim", latent_dim) != latent_dim:
            raise ValueError(f"latent_dim={latent_dim!r}: this generator takes {generator.latent_dim} noise "
                             "values per sample; pass gan.latent_dim.")
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
            raise ValueError(f"steps={steps!r}: expected at least 2 points (the two ends).")
        self.generator, self.latent_dim, self.steps, self.label = generator, latent_dim, steps, label
        self.rng = torch.Generator().manual_seed(seed)
        self.t = W.FloatSlider(value=0.5, min=0.0, max=1.0, step=1 / (steps - 1), description="t", readout_format=".2f")
        self.method = W.ToggleButtons(options=["slerp", "lerp"], value="slerp", description="path")
        self.new_button = W.Button(description="New ends", icon="random", tooltip="draw a new z0 and z1")
        self.image = W.Image(format="png", layout=W.Layout(width="100%", max_width="900px"))
        self.t.observe(lambda _: self.redraw(), names="value")
        self.method.observe(lambda _: self.redraw(), names="value")
        self.new_button.on_click(lambda _: self.new_ends())
        super().__init__([W.HBox([self.t, self.method, self.new_button]), self.image])
        self.new_ends()

    def new_ends(self) -> None:
        """Draw a new pair of ends from N(0, I)."""
        self.z0, self.z1 = torch.randn(2, self.latent_dim, generator=self.rng)
        self.redraw()

    @torch.no_grad()
    def images(self, z: torch.Tensor) -> torch.Tensor:
        was_training = self.generator.training
        self.generator.eval()
        try:
            device = next(self.generator.parameters()).device
            extra = () if self.label is None else (torch.full((len(z),), self.label, device=device),)
            return self.generator(z.to(device), *extra).cpu()
        finally:
            self.generator.train(was_training)

    def figure(self) -> Figure:
        from .latent import interpolate

        path = interpolate(self.z0, self.z1, self.steps, self.method.value)
        pictures = self.images(path)
        current = round(self.t.value * (self.steps - 1))
        fig = Figure(figsize=(12, 2.6), layout="constrained")
        axes = fig.subplots(1, self.steps + 1, width_ratios=[1] * self.steps + [2])
        for i, ax in enumerate(axes[:-1]):
            ax.imshow(pictures[i, 0].numpy(), cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_title(f"t={i / (self.steps - 1):.2f}", fontsize=8)
            for spine in ax.spines.values():
                spine.set(color="crimson" if i == current else "lightgray", linewidth=3 if i == current else 1)
        axes[-1].imshow(pictures[current, 0].numpy(), cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
        axes[-1].set_axis_off()
        ratio = path[current].norm() / (self.latent_dim ** 0.5)
        axes[-1].set_title(f"{self.method.value}, t={self.t.value:.2f}\n|z| = {ratio:.2f} √d", fontsize=9)
        return fig

    def redraw(self) -> None:
        self.image.value = figure_png(self.figure())
