"""Generators (noise -> sample) and discriminators (sample -> logit) for the course.

Discriminators return **logits**, one per sample (shape N): the probability "real" is
``torch.sigmoid(logit)``, and every loss in ``ganlib.losses`` takes logits, which is
numerically safer than taking probabilities.

* ``MLPGenerator`` / ``MLPDiscriminator``: small fully connected nets for 2D (or any vector) data.
* ``PackedDiscriminator``: PacGAN's discriminator (Lin et al., 2018), judging m samples at once.
* ``DCGANGenerator`` / ``DCGANDiscriminator``: DCGAN-style convolutional nets (Radford et al.,
  2016) for square images of side 8, 16, 28 or 32, with DCGAN's weight initialisation and an
  optional class-label condition (``n_classes``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

__all__ = [
    "IMAGE_SIZES",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "MLPDiscriminator",
    "MLPGenerator",
    "PackedDiscriminator",
    "dcgan_init",
]


def _positive_int(name: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name}={value!r}: expected a positive integer.")
    return value


# Where Linux states a memory limit for this process's group: cgroup v2, then v1.
CGROUP_MEMORY_FILES = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")


def _memory_bytes() -> int | None:
    """The memory this process may use: the machine's RAM, or a smaller cgroup limit (Binder caps
    memory that way); None where neither can be read."""
    limits = []
    try:
        limits.append(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        pass
    for path in CGROUP_MEMORY_FILES:
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit():  # "max" (v2) means no limit
            limits.append(int(text))
    return min(limits) if limits else None


def _check_size(model: str, n_parameters: int, arguments: str) -> None:
    """Refuse, before any allocation, a model whose weights and their gradients cannot fit in memory."""
    memory = _memory_bytes()
    n_bytes = n_parameters * torch.get_default_dtype().itemsize
    if memory is not None and 2 * n_bytes > memory:
        raise ValueError(
            f"{model} with {arguments} would hold {n_parameters:.3g} parameters ({n_bytes / 1e9:,.1f} GB), and with "
            f"their gradients more than the {memory / 1e9:,.1f} GB of memory this process may use; "
            "choose smaller sizes."
        )


def _mlp(sizes: list[int], activation: Callable[[], nn.Module], model: str = "an MLP",
         arguments: str | None = None) -> nn.Sequential:
    _check_size(model, sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True)),
                arguments or f"layer sizes {sizes}")
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class MLPGenerator(nn.Module):
    """z (N x latent_dim) -> samples (N x out_dim), through ``depth`` hidden ReLU layers."""

    def __init__(self, latent_dim: int = 2, out_dim: int = 2, hidden: int = 128, depth: int = 3):
        super().__init__()
        self.latent_dim = _positive_int("latent_dim", latent_dim)
        sizes = [latent_dim] + [_positive_int("hidden", hidden)] * _positive_int("depth", depth)
        self.net = _mlp(sizes + [_positive_int("out_dim", out_dim)], nn.ReLU, "MLPGenerator",
                        f"latent_dim={latent_dim}, out_dim={out_dim}, hidden={hidden}, depth={depth}")

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """x (N x in_dim) -> logits (N), through ``depth`` hidden LeakyReLU(0.2) layers."""

    def __init__(self, in_dim: int = 2, hidden: int = 128, depth: int = 3):
        super().__init__()
        sizes = [_positive_int("in_dim", in_dim)]
        sizes += [_positive_int("hidden", hidden)] * _positive_int("depth", depth)
        self.net = _mlp(sizes + [1], lambda: nn.LeakyReLU(0.2), "MLPDiscriminator",
                        f"in_dim={in_dim}, hidden={hidden}, depth={depth}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


class PackedDiscriminator(nn.Module):
    """PacGAN: one logit per *pack* of ``pack`` samples (N x in_dim -> N / pack logits).

    Consecutive samples of a batch are concatenated, so a batch of real samples becomes packs
    of independent real samples and a batch of fakes packs of fakes. A collapsed generator's
    packs look alike, which a packed discriminator can see and a one-sample one cannot.
    """

    def __init__(self, pack: int = 2, in_dim: int = 2, hidden: int = 128, depth: int = 3):
        super().__init__()
        self.pack = _positive_int("pack", pack)
        self.net = MLPDiscriminator(in_dim=_positive_int("in_dim", in_dim) * pack, hidden=hidden, depth=depth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or len(x) % self.pack:
            raise ValueError(
                f"x: expected an N x D batch with N a multiple of pack={self.pack}, got shape {tuple(x.shape)}; "
                f"choose a batch size divisible by {self.pack}."
            )
        return self.net(x.reshape(len(x) // self.pack, -1))


def dcgan_init(module: nn.Module) -> None:
    """DCGAN's initialisation: conv and linear weights ~ N(0, 0.02); BatchNorm scale ~ N(1, 0.02).

    Apply with ``model.apply(dcgan_init)``; biases start at zero.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if getattr(module, "bias", None) is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


# Side of the first (generator) / last (discriminator) feature map, and the number of
# stride-2 layers between it and the image: 8 = 4*2, 16 = 4*2^2, 28 = 7*2^2, 32 = 4*2^3.
IMAGE_SIZES = {8: (4, 1), 16: (4, 2), 28: (7, 2), 32: (4, 3)}


def _check_image_size(image_size: object) -> tuple[int, int]:
    if image_size not in IMAGE_SIZES:
        sizes = ", ".join(map(str, IMAGE_SIZES))
        raise ValueError(
            f"image_size={image_size!r} is not supported; use one of {sizes} "
            "(resize or pad your images to one of these)."
        )
    return IMAGE_SIZES[image_size]


class _Conditional(nn.Module):
    """Shared checks for models with an optional class-label condition."""

    n_classes: int | None

    def _check_labels(self, labels: torch.Tensor | None, n: int) -> None:
        name = type(self).__name__
        if self.n_classes is None:
            if labels is not None:
                raise ValueError(
                    f"{name} was built without n_classes, so it takes no labels; "
                    f"build it with n_classes=... to condition on labels."
                )
            return
        if labels is None:
            raise ValueError(
                f"{name} is conditional (n_classes={self.n_classes}); pass labels, a tensor of {n} class indices."
            )
        if labels.shape != (n,) or labels.dtype not in (torch.int64, torch.int32):
            raise ValueError(
                f"labels: expected {n} integer class indices (shape ({n},)), got shape "
                f"{tuple(labels.shape)} and dtype {labels.dtype}."
            )


class DCGANGenerator(_Conditional):
    """z (N x latent_dim) [and labels (N)] -> images (N x channels x image_size x image_size).

    A linear layer makes a ``width * 2^k``-channel 4x4 (7x7 for side 28) map; each
    stride-2 transposed convolution doubles the side and halves the channels, with
    BatchNorm and ReLU between; ``tanh`` puts the pixels in [-1, 1].
    With ``n_classes``, a learned label embedding is concatenated to z.
    """

    def __init__(
        self,
        latent_dim: int = 64,
        image_size: int = 8,
        channels: int = 1,
        width: int = 64,
        n_classes: int | None = None,
    ):
        super().__init__()
        start, n_up = _check_image_size(image_size)
        self.latent_dim = _positive_int("latent_dim", latent_dim)
        self.image_size, self.channels = image_size, _positive_int("channels", channels)
        self.n_classes = None if n_classes is None else _positive_int("n_classes", n_classes)
        width = _positive_int("width", width)
        in_dim = latent_dim
        top = width * 2 ** (n_up - 1)
        # Parameters, counted before any is allocated: embedding, projection, BatchNorms, convolutions.
        conditional = self.n_classes is not None
        n_parameters = (self.n_classes or 0) * latent_dim + (1 + conditional) * latent_dim * top * start**2 + 2 * top
        for i in range(n_up):
            c_in, last = top // 2**i, i == n_up - 1
            n_parameters += c_in * channels * 16 + channels if last else c_in * (c_in // 2) * 16 + c_in
        _check_size("DCGANGenerator", n_parameters, f"latent_dim={latent_dim}, image_size={image_size}, "
                    f"channels={channels}, width={width}, n_classes={n_classes}")
        if self.n_classes is not None:
            self.embed = nn.Embedding(self.n_classes, latent_dim)
            in_dim += latent_dim
        self.project = nn.Sequential(
            nn.Linear(in_dim, top * start * start, bias=False),
            nn.Unflatten(1, (top, start, start)),
            nn.BatchNorm2d(top),
            nn.ReLU(),
        )
        layers: list[nn.Module] = []
        for i in range(n_up):
            c_in = top // 2**i
            last = i == n_up - 1
            c_out = channels if last else c_in // 2
            layers.append(nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=last))
            layers += [nn.Tanh()] if last else [nn.BatchNorm2d(c_out), nn.ReLU()]
        self.upsample = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        self._check_labels(labels, len(z))
        if labels is not None:
            z = torch.cat([z, self.embed(labels)], dim=1)
        return self.upsample(self.project(z))


class DCGANDiscriminator(_Conditional):
    """images (N x channels x side x side) [and labels (N)] -> logits (N).

    Stride-2 convolutions with LeakyReLU(0.2) halve the side down to 4x4 (7x7 for side 28),
    BatchNorm after all but the first (``batch_norm=False`` removes it, as gradient
    penalties require), then a linear layer gives the logit. With ``n_classes`` the
    label enters as a projection (Miyato & Koyama, 2018): logit += <embed(label), features>.
    """

    def __init__(
        self,
        image_size: int = 8,
        channels: int = 1,
        width: int = 64,
        n_classes: int | None = None,
        batch_norm: bool = True,
    ):
        super().__init__()
        end, n_down = _check_image_size(image_size)
        self.image_size, self.channels = image_size, _positive_int("channels", channels)
        self.n_classes = None if n_classes is None else _positive_int("n_classes", n_classes)
        width = _positive_int("width", width)
        n_features = width * 2 ** (n_down - 1) * end * end
        n_parameters = n_features + 1 + (self.n_classes or 0) * n_features  # head and embedding
        for i in range(n_down):
            c_in, c_out = channels if i == 0 else width * 2 ** (i - 1), width * 2**i
            n_parameters += c_in * c_out * 16 + (c_out if i == 0 or not batch_norm else 2 * c_out)
        _check_size("DCGANDiscriminator", n_parameters, f"image_size={image_size}, channels={channels}, "
                    f"width={width}, n_classes={n_classes}")
        layers: list[nn.Module] = []
        c_in = channels
        for i in range(n_down):
            c_out = width * 2**i
            layers.append(nn.Conv2d(c_in, c_out, 4, stride=2, padding=1, bias=i == 0 or not batch_norm))
            if i > 0 and batch_norm:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2))
            c_in = c_out
        layers.append(nn.Flatten())
        self.features = nn.Sequential(*layers)
        n_features = c_in * end * end
        self.head = nn.Linear(n_features, 1)
        if self.n_classes is not None:
            self.embed = nn.Embedding(self.n_classes, n_features)
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        expected = (self.channels, self.image_size, self.image_size)
        if x.dim() != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"x: expected images of shape (N, {', '.join(map(str, expected))}), got {tuple(x.shape)}.")
        self._check_labels(labels, len(x))
        h = self.features(x)
        logits = self.head(h).squeeze(1)
        if labels is not None:
            logits = logits + (self.embed(labels) * h).sum(dim=1)
        return logits
