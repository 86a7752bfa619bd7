"""Training a GAN: the algorithm of §3.1 of the source document, step by step.

    1. Initialise the generator's and the discriminator's parameters.
    2. Sample a batch of real data.
    3. Sample a batch of noise vectors.
    4. Generate a batch of fake samples from the noise.
    5. Score the real and the fake samples with the discriminator.
    6. Compute the discriminator's loss and update the discriminator.
    7. With the discriminator fixed, compute the generator's loss and update the generator.
    8. Repeat steps 2-7 until done.

``train_step`` is steps 2-7 (with steps 2-6 repeated ``n_critic`` times, as WGAN does);
``train`` is step 8, with a progress bar, a history and checkpoints. Step 1 happens when
the models are built and handed to ``GAN``.
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ._paths import as_path
from .losses import GANLoss, get_loss
from .regularizers import clip_weights

__all__ = [
    "GAN",
    "NonFiniteLossError",
    "available_cpus",
    "forever",
    "load_checkpoint",
    "pick_device",
    "save_checkpoint",
    "seed_everything",
    "setup",
    "train",
    "train_step",
    "undo_buffers_on_failure",
]

HISTORY_KEYS = ("d_loss", "g_loss", "d_real", "d_fake", "d_grad_norm", "g_grad_norm")


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's random number generators (CPU and GPU)."""
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"seed={seed!r}: expected an integer.")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` if given; else CUDA, then Apple's MPS, then the CPU, whichever is present."""
    if device is not None:
        try:
            return torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(f"device={device!r} is not a device name; use 'cpu', 'cuda' or 'mps'.") from exc
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


# Where Linux states a CPU quota for this process's group, as seen inside a container (Binder's):
# cgroup v2's cpu.max ("<quota> <period>" in µs, or "max <period>"), then v1's pair of files.
# The same files joblib's loky reads for its cpu_count.
CGROUP_CPU_MAX = "/sys/fs/cgroup/cpu.max"
CGROUP_V1_CPU = ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_period_us")


def _cgroup_cpu_quota() -> float | None:
    """The CPUs a cgroup quota allows (e.g. 1.0 for "100000 100000"), or None where there is none."""
    try:
        quota, period = Path(CGROUP_CPU_MAX).read_text().split()[:2]
    except (OSError, ValueError):
        try:
            quota, period = (Path(path).read_text().strip() for path in CGROUP_V1_CPU)
        except OSError:
            return None
    try:
        quota, period = float(quota), float(period)  # "max" (v2) is no quota
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None  # -1 (v1) is no quota


def available_cpus() -> int:
    """The CPUs this process may use: those it may run on (its affinity, e.g. under ``taskset``),
    capped by its cgroup's CPU quota rounded up (a container limited to 1 CPU, as on Binder, on a
    machine with many)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS and Windows have no affinity call
        cpus = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    if quota is not None:
        cpus = min(cpus, math.ceil(quota))
    return max(1, cpus)


def setup(seed: int = 0, threads: int | None = None, device: str | torch.device | None = None) -> torch.device:
    """One call at the top of a notebook: seed everything, set the CPU threads, pick the device.

    ``threads`` defaults to the ``GANLIB_THREADS`` environment variable, else to 2 or the CPUs
    this process may use (``available_cpus``), whichever is fewer: the course's models are
    small, more threads mostly add overhead, and threads beyond the CPUs (Binder gives one)
    wait for each other. Results are still not bitwise identical across machines or thread
    counts; the notebooks' checks allow for that.
    """
    seed_everything(seed)
    if threads is None and os.environ.get("GANLIB_THREADS", "").strip():
        value = os.environ["GANLIB_THREADS"]
        try:
            threads = int(value)
        except ValueError:
            raise ValueError(f"GANLIB_THREADS={value!r}: expected a positive whole number of CPU threads "
                             "(or unset it for the default).") from None
        if threads < 1:
            raise ValueError(f"GANLIB_THREADS={value!r}: expected a positive whole number of CPU threads.")
    elif threads is None:
        threads = min(2, available_cpus())
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise ValueError(f"threads={threads!r}: expected a positive number of CPU threads.")
    torch.set_num_threads(threads)
    return pick_device(device)


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or inf; training stopped before the update that loss would have driven.

    The message says what the stopped step had already changed: nothing when the discriminator's
    loss failed on its first update; the discriminator's updates when the generator's loss failed
    (or a later one of ``n_critic`` > 1 discriminator updates). Buffers are put back either way.
    """


@contextmanager
def undo_buffers_on_failure(*models: nn.Module) -> Iterator[None]:
    """Put the models' buffers back as they were if a ``NonFiniteLossError`` leaves the block.

    A forward pass in training mode changes buffers before any loss is known: BatchNorm's running
    statistics (NaN after a batch with NaN in it) and spectral norm's power-iteration vectors.
    Without this, a stopped step would leave NaN statistics behind, and the model, though its
    weights were untouched, would draw NaN in eval mode.
    """
    saved = [(buffer, buffer.detach().clone()) for model in models for buffer in model.buffers()]
    try:
        yield
    except NonFiniteLossError:
        with torch.no_grad():
            for buffer, copy in saved:
                buffer.copy_(copy)
        raise


def _check_learning_rate(name: str, lr: object) -> None:
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < math.inf:
        raise ValueError(f"{name}={lr!r}: a learning rate must be a positive number, e.g. 2e-4.")


class GAN:
    """What is trained: the two networks, their optimizers (Adam), the loss and the history.

    ``loss`` is a name from ``ganlib.losses.LOSSES`` or a ``GANLoss``. ``n_critic`` is how
    many discriminator updates precede each generator update. ``penalty``, if given, is
    ``penalty(discriminator, real, fake, labels) -> tensor`` added to the discriminator's
    loss (a gradient penalty, for example). ``weight_clip=c`` clamps the discriminator's
    weights to [-c, c] after each of its updates (WGAN). The models move to ``device``.
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        *,
        loss: str | GANLoss = "non_saturating",
        lr_g: float = 2e-4,
        lr_d: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        n_critic: int = 1,
        latent_dim: int | None = None,
        penalty: Callable[..., torch.Tensor] | None = None,
        weight_clip: float | None = None,
        device: str | torch.device | None = None,
    ):
        _check_learning_rate("lr_g", lr_g)
        _check_learning_rate("lr_d", lr_d)
        if not isinstance(n_critic, int) or isinstance(n_critic, bool) or n_critic < 1:
            raise ValueError(f"n_critic={n_critic!r}: expected a positive integer (1 for a standard GAN, 5 for WGAN).")
        latent_dim = latent_dim if latent_dim is not None else getattr(generator, "latent_dim", None)
        if latent_dim is None:
            raise ValueError("latent_dim: the generator has no .latent_dim attribute; pass latent_dim=... to GAN.")
        self.device = pick_device(device)
        self.generator = generator.to(self.device)
        self.discriminator = discriminator.to(self.device)
        self.loss = get_loss(loss)
        self.latent_dim = latent_dim
        self.n_critic = n_critic
        self.penalty = penalty
        if weight_clip is not None and (
            isinstance(weight_clip, bool) or not isinstance(weight_clip, (int, float))
            or not math.isfinite(weight_clip) or weight_clip <= 0
        ):
            raise ValueError(f"weight_clip={weight_clip!r}: expected None or a positive bound, such as 0.01 (WGAN).")
        self.weight_clip = weight_clip
        self.generator_parameters = [p for p in generator.parameters() if p.requires_grad]
        self.g_optimizer = torch.optim.Adam(self.generator_parameters, lr=lr_g, betas=betas)
        self.d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=lr_d, betas=betas)
        self.step = 0
        self.history: dict[str, list[float]] = {key: [] for key in HISTORY_KEYS}

    def set_learning_rates(self, lr_g: float, lr_d: float) -> None:
        """Change both optimizers' learning rates, e.g. to cool down at the end of training."""
        for name, lr, optimizer in (("lr_g", lr_g, self.g_optimizer), ("lr_d", lr_d, self.d_optimizer)):
            _check_learning_rate(name, lr)
            for group in optimizer.param_groups:
                group["lr"] = lr

    @property
    def conditional(self) -> bool:
        return getattr(self.generator, "n_classes", None) is not None

    def noise(self, n: int) -> torch.Tensor:
        """z ~ N(0, I): ``n`` noise vectors of size ``latent_dim``."""
        return torch.randn(n, self.latent_dim, device=self.device)

    @torch.no_grad()
    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The generator's samples for the given noise ``z`` (on the CPU), in evaluation mode.

        The same ``z`` at different steps of training shows how the samples change ("fixed noise").
        """
        was_training = self.generator.training
        self.generator.eval()
        try:
            args = (z.to(self.device),) if labels is None else (z.to(self.device), labels.to(self.device))
            return self.generator(*args).cpu()
        finally:
            self.generator.train(was_training)

    def sample(self, n: int, labels: torch.Tensor | None = None) -> torch.Tensor:
        """``n`` generated samples (on the CPU), with the generator in evaluation mode."""
        return self.generate(self.noise(n), labels)

    def state_dict(self) -> dict:
        return {
            "format": "ganlib-checkpoint",
            "version": 1,
            "step": self.step,
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "g_optimizer": self.g_optimizer.state_dict(),
            "d_optimizer": self.d_optimizer.state_dict(),
            "history": self.history,
            "rng": torch.get_rng_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.g_optimizer.load_state_dict(state["g_optimizer"])
        self.d_optimizer.load_state_dict(state["d_optimizer"])
        self.step = state["step"]
        self.history = {key: list(state["history"][key]) for key in HISTORY_KEYS}
        torch.set_rng_state(state["rng"].cpu())


def _split_batch(batch: object) -> tuple[torch.Tensor, torch.Tensor | None]:
    if isinstance(batch, torch.Tensor):
        return batch, None
    if isinstance(batch, (tuple, list)) and len(batch) in (1, 2) and isinstance(batch[0], torch.Tensor):
        return batch[0], (batch[1] if len(batch) == 2 else None)
    raise TypeError(
        "the data must yield tensors or (samples,) / (samples, labels) tuples; "
        f"got a batch of type {type(batch).__name__}."
    )


def _check_finite(loss: torch.Tensor, which: str, gan: GAN, critic_updates: int = 0) -> float:
    """The loss as a float, after checking it is finite (before the update it would drive)."""
    value = loss.item()
    if not math.isfinite(value):
        kept = ("No weight was changed by this step." if not critic_updates else
                f"This step had already updated the discriminator ({critic_updates} of {gan.n_critic} "
                "updates); the generator was not updated.")
        raise NonFiniteLossError(
            f"Training stopped at step {gan.step + 1}: the {which} loss is {value} "
            f"({gan.loss.name} loss). {kept} Try lower learning "
            "rates, check the data for NaN or inf, or use a loss that cannot overflow."
        )
    return value


def _grad_norm(model: nn.Module) -> torch.Tensor:
    """The L2 norm of all the model's gradients together (one vector), as a tensor."""
    grads = [p.grad.reshape(-1) for p in model.parameters() if p.grad is not None]
    return torch.linalg.vector_norm(torch.cat(grads)) if grads else torch.zeros(())


def train_step(gan: GAN, real_batches: Iterator) -> dict[str, float]:
    """One iteration of the algorithm (steps 2-7); returns what the history records.

    ``real_batches`` is an iterator of real batches (tensors, or (samples, labels) tuples);
    the discriminator draws ``gan.n_critic`` of them. Step 1 happened when ``gan`` was built.
    """
    G, D, loss = gan.generator, gan.discriminator, gan.loss
    with undo_buffers_on_failure(G, D):  # a stopped step changes no buffer either
        for critic_updates in range(gan.n_critic):
            # Step 2: sample a batch of real data.
            real, labels = _split_batch(next(real_batches))
            real = real.to(gan.device)
            if gan.conditional and labels is None:
                raise ValueError(
                    "the generator is conditional, but the data yields no labels; use (samples, labels) batches."
                )
            labels = labels.to(gan.device) if gan.conditional else None
            condition = () if labels is None else (labels,)  # conditional GANs also see the label
            # Step 3: sample a batch of noise vectors.
            z = gan.noise(len(real))
            # Step 4: generate fakes. Detached: the discriminator's update must not reach G.
            fake = G(z, *condition).detach()
            # Step 5: the discriminator scores real and fake samples (as logits).
            real_logits, fake_logits = D(real, *condition), D(fake, *condition)
            # Step 6: the discriminator's loss, then its update.
            d_loss = loss.discriminator(real_logits, fake_logits)
            if gan.penalty is not None:
                d_loss = d_loss + gan.penalty(D, real, fake, labels)
            d_value = _check_finite(d_loss, "discriminator", gan, critic_updates)
            gan.d_optimizer.zero_grad(set_to_none=True)
            d_loss.backward()
            d_grad_norm = _grad_norm(D)
            gan.d_optimizer.step()
            if gan.weight_clip is not None:  # WGAN: keep the critic's weights in a box
                clip_weights(D, gan.weight_clip)

        # Step 7: with D fixed, the generator's loss and update. The loss flows back through D
        # to G's samples, but only G's weights receive gradients (backward's `inputs`).
        z = gan.noise(len(real))
        fake = G(z, *condition)
        g_loss = loss.generator(D(fake, *condition))
        g_value = _check_finite(g_loss, "generator", gan, gan.n_critic)
        gan.g_optimizer.zero_grad(set_to_none=True)
        g_loss.backward(inputs=gan.generator_parameters)
        g_grad_norm = _grad_norm(G)
        gan.g_optimizer.step()

    gan.step += 1
    with torch.no_grad():  # what the history records, as floats (one transfer, no graphs kept)
        d_real, d_fake, d_norm, g_norm = torch.stack([
            torch.sigmoid(real_logits).mean(),  # mean D(x)
            torch.sigmoid(fake_logits).mean(),  # mean D(G(z))
            d_grad_norm.to(d_loss.device), g_grad_norm.to(d_loss.device),
        ]).tolist()
    return {"d_loss": d_value, "g_loss": g_value, "d_real": d_real, "d_fake": d_fake,
            "d_grad_norm": d_norm, "g_grad_norm": g_norm}


def forever(data: Iterable) -> Iterator:
    """The batches of ``data`` (a loader or any iterable), epoch after epoch, without end.

    Passing the same ``forever(loader)`` to several ``train`` calls continues one stream of
    batches instead of starting a new epoch at each call.
    """
    if isinstance(data, torch.Tensor):
        raise TypeError(
            "data is a tensor; wrap it in a loader first, e.g. ganlib.data.tensor_loader(samples, batch_size=256)."
        )
    try:
        iter(data)
    except TypeError:
        raise TypeError(
            f"data must be a DataLoader or another iterable of batches; got {type(data).__name__}."
        ) from None
    while True:
        empty = True
        for batch in data:
            empty = False
            yield batch
        if empty:
            raise ValueError("data yielded no batches; is the dataset smaller than one batch?")


def train(
    gan: GAN,
    data: Iterable,
    steps: int,
    *,
    progress: bool = True,
    checkpoint: str | Path | None = None,
    checkpoint_every: int = 500,
) -> dict[str, list[float]]:
    """Step 8: repeat ``train_step`` ``steps`` more times, recording ``gan.history``.

    ``data`` is a loader of real batches, cycled as long as needed. ``progress`` shows a
    progress bar (a widget in JupyterLab). With ``checkpoint``, the state is saved there
    every ``checkpoint_every`` steps and at the end; a failed step leaves the last one intact.
    """
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps={steps!r}: expected a positive number of training steps.")
    if not isinstance(checkpoint_every, int) or isinstance(checkpoint_every, bool) or checkpoint_every < 1:
        raise ValueError(f"checkpoint_every={checkpoint_every!r}: expected a positive integer.")
    if checkpoint is not None:  # checked now, not at the first save 500 steps in
        checkpoint = as_path("checkpoint", checkpoint, "a file to save the training state to", "gan.pt")
    batches = forever(data)
    gan.generator.train()
    gan.discriminator.train()
    with tqdm(total=steps, disable=not progress, desc=f"{gan.loss.name} GAN", unit="step") as bar:
        for i in range(steps):
            record = train_step(gan, batches)
            for key, value in record.items():
                gan.history[key].append(value)
            if checkpoint is not None and gan.step % checkpoint_every == 0:
                save_checkpoint(gan, checkpoint)
            bar.update()
            if i % 50 == 0 or i == steps - 1:
                bar.set_postfix(d_loss=f"{record['d_loss']:.3f}", g_loss=f"{record['g_loss']:.3f}", refresh=False)
    if checkpoint is not None:
        save_checkpoint(gan, checkpoint)
    return gan.history


def save_checkpoint(gan: GAN, path: str | Path) -> Path:
    """Save ``gan`` to ``path`` atomically: write a temporary file, then rename it over."""
    path = as_path("path", path, "a file to save the training state to", "gan.pt")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(gan.state_dict(), tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(gan: GAN, path: str | Path) -> GAN:
    """Restore ``gan`` (same architectures) from a checkpoint written by ``save_checkpoint``."""
    path = as_path("checkpoint", path, "a checkpoint file", "gan.pt")
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint={str(path)!r}: no such file.")
    try:
        state = torch.load(path, map_location=gan.device, weights_only=True)
    except Exception as exc:
        raise ValueError(
            f"checkpoint={str(path)!r} is not a ganlib checkpoint (it could not be read: "
            f"{type(exc).__name__}). Use a file written by ganlib.training.save_checkpoint."
        ) from None
    if not isinstance(state, dict) or state.get("format") != "ganlib-checkpoint":
        raise ValueError(
            f"checkpoint={str(path)!r} is not a ganlib checkpoint; "
            "use a file written by ganlib.training.save_checkpoint."
        )
    gan.load_state_dict(state)
    return gan
