"""Super-resolution with a GAN (notebook 06, §6.3 of the source document): SRGAN's recipe at a CPU's scale.

The task: given a low-resolution (LR) image, made from a high-resolution (HR) one by averaging
each ``factor`` x ``factor`` block of pixels, recover the HR image. The pieces:

* ``load_photo``, ``random_patches``: grey-level (luminance) patches of scikit-image's bundled
  photographs, in [0, 1]. They ship with scikit-image, so no download is needed.
* ``downsample`` (block averaging) and ``bicubic`` (the classical baseline).
* ``SRGenerator``: a small residual CNN that predicts a *correction* to the bicubic image
  (sub-pixel convolution, Shi et al., 2016); it starts at bicubic. ``PatchDiscriminator``:
  one logit per overlapping patch (PatchGAN, Isola et al., 2017).
* ``l1_plus_adversarial_loss`` and ``train_superres``: SRGAN's generator objective (Ledig et
  al., 2017), pixel loss plus a small adversarial term, with L1 as the pixel loss as in ESRGAN
  (Wang et al., 2018).
* ``evaluate``: PSNR and SSIM (``skimage.metrics``), and ``gradient_energy_ratio``, a simple
  no-reference proxy for sharpness (not a learned perceptual metric).

Images are tensors of shape N x 1 x H x W (a batch) or H x W (one photo), values in [0, 1].
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .losses import LOSSES
from .models import _positive_int

__all__ = [
    "PHOTOS",
    "TEST_PHOTO",
    "TRAIN_PHOTOS",
    "PatchDiscriminator",
    "SRGenerator",
    "bicubic",
    "downsample",
    "evaluate",
    "gradient_energy_ratio",
    "interpolate_generators",
    "l1_plus_adversarial_loss",
    "load_photo",
    "psnr",
    "random_patches",
    "super_resolve",
    "train_superres",
]

# scikit-image's bundled photographs (they ship inside the package: no download). The course
# trains on four and holds out ``camera``, the classic "cameraman" test image.
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "camera")
TRAIN_PHOTOS = PHOTOS[:4]
TEST_PHOTO = PHOTOS[4]



def load_photo(name: str) -> torch.Tensor:
    """The bundled photograph ``name`` as an H x W float32 tensor of luminance in [0, 1].

    Colour photos become grey levels with ``skimage.color.rgb2gray`` (ITU-R BT.709 luminance):
    most super-resolution papers measure on the luminance channel, where the detail is.
    """
    import skimage.color
    import skimage.data

    if name not in PHOTOS:
        raise ValueError(f"name={name!r} is not one of the bundled photographs; choose one of {', '.join(PHOTOS)}.")
    image = getattr(skimage.data, name)()
    grey = skimage.color.rgb2gray(image) if image.ndim == 3 else image / 255.0
    return torch.from_numpy(np.ascontiguousarray(grey)).float()


def _as_batch(images: object, name: str) -> torch.Tensor:
    if not isinstance(images, torch.Tensor) or not images.is_floating_point():
        raise ValueError(f"{name}: expected a float tensor of images, got {type(images).__name__}"
                         f"{' of dtype ' + str(images.dtype) if isinstance(images, torch.Tensor) else ''}.")
    if images.dim() == 2:
        return images[None, None]
    if images.dim() == 4 and images.shape[1] == 1:
        return images
    raise ValueError(f"{name}: expected one H x W image or an N x 1 x H x W batch, got shape {tuple(images.shape)}.")


def _like(result: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    return result[0, 0] if images.dim() == 2 else result


def random_patches(photos: list[torch.Tensor], n: int, size: int, generator: torch.Generator | None = None
                   ) -> torch.Tensor:
    """``n`` random ``size`` x ``size`` crops (N x 1 x size x size), each from a photo chosen at
    random in proportion to its area, at a random position, flipped left-right half the time."""
    _positive_int("n", n)
    _positive_int("size", size)
    if not photos or not all(isinstance(p, torch.Tensor) and p.dim() == 2 for p in photos):
        raise ValueError("photos: expected a non-empty list of H x W tensors, e.g. [load_photo('camera')].")
    small = [tuple(p.shape) for p in photos if min(p.shape) < size]
    if small:
        raise ValueError(f"size={size}: larger than a photo of shape {small[0]}; use smaller patches.")
    areas = torch.tensor([float(p.numel()) for p in photos])
    which = torch.multinomial(areas / areas.sum(), n, replacement=True, generator=generator)
    patches = torch.empty(n, 1, size, size)
    for i, k in enumerate(which.tolist()):
        height, width = photos[k].shape
        top = int(torch.randint(height - size + 1, (1,), generator=generator))
        left = int(torch.randint(width - size + 1, (1,), generator=generator))
        patch = photos[k][top:top + size, left:left + size]
        flip = bool(torch.rand(1, generator=generator) < 0.5)
        patches[i, 0] = patch.flip(-1) if flip else patch
    return patches


def downsample(images: torch.Tensor, factor: int = 4) -> torch.Tensor:
    """The low-resolution image: the mean of each ``factor`` x ``factor`` block of pixels.

    Block averaging is what a camera sensor with ``factor`` times larger pixels would record.
    Accepts an H x W image or an N x 1 x H x W batch; H and W must be multiples of ``factor``.
    """
    _positive_int("factor", factor)
    batch = _as_batch(images, "images")
    height, width = batch.shape[-2:]
    if height % factor or width % factor:
        raise ValueError(f"images: height and width {height} x {width} must be multiples of factor={factor}; "
                         f"crop them first, e.g. image[:{height - height % factor}, :{width - width % factor}].")
    return _like(F.avg_pool2d(batch, factor), images)


def bicubic(images: torch.Tensor, factor: int = 4) -> torch.Tensor:
    """Bicubic interpolation up by ``factor`` (the classical baseline), clipped to [0, 1]."""
    _positive_int("factor", factor)
    batch = _as_batch(images, "images")
    up = F.interpolate(batch, scale_factor=factor, mode="bicubic", align_corners=False)
    return _like(up.clamp(0, 1), images)


class _ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.LeakyReLU(0.2), nn.Conv2d(channels, channels, 3, padding=1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SRGenerator(nn.Module):
    """LR (N x 1 x h x w) -> SR (N x 1 x factor*h x factor*w) = bicubic(LR) + a learned correction.

    The network works at the low resolution (cheap) and produces ``factor``² values per LR pixel
    that ``nn.PixelShuffle`` rearranges into the HR grid (sub-pixel convolution, as in SRGAN).
    Its last layer starts at zero, so an untrained generator *is* bicubic interpolation, and
    training only has to learn what bicubic misses.
    """

    def __init__(self, factor: int = 4, channels: int = 16, blocks: int = 3):
        super().__init__()
        self.factor = _positive_int("factor", factor)
        channels = _positive_int("channels", channels)
        self.head = nn.Conv2d(1, channels, 3, padding=1)
        self.blocks = nn.Sequential(*[_ResidualBlock(channels) for _ in range(_positive_int("blocks", blocks))])
        self.tail = nn.Conv2d(channels, factor * factor, 3, padding=1)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        if lr.dim() != 4 or lr.shape[1] != 1:
            raise ValueError(f"lr: expected low-resolution images of shape (N, 1, h, w), got {tuple(lr.shape)}.")
        base = F.interpolate(lr, scale_factor=self.factor, mode="bicubic", align_corners=False)
        correction = F.pixel_shuffle(self.tail(self.blocks(F.leaky_relu(self.head(lr), 0.2))), self.factor)
        return base + correction


class PatchDiscriminator(nn.Module):
    """HR images (N x 1 x H x W) -> logits (N x H/8 x W/8), one per overlapping patch of the image.

    Three stride-2 convolutions and a 3 x 3 one: each logit sees a patch of 38 x 38 pixels (less at
    the border) and says whether *that patch* looks like a real photo's (PatchGAN). The losses of
    ``ganlib.losses`` average over all logits, so every patch counts. Judging texture locally is
    what super-resolution needs: the layout of the image is already given by the LR input.
    """

    def __init__(self, channels: int = 16):
        super().__init__()
        c = _positive_int("channels", channels)
        self.net = nn.Sequential(
            nn.Conv2d(1, c, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(c, 2 * c, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * c, 2 * c, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * c, 1, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 1:
            raise ValueError(f"x: expected images of shape (N, 1, H, W), got {tuple(x.shape)}.")
        return self.net(x)[:, 0]


def l1_plus_adversarial_loss(sr: torch.Tensor, hr: torch.Tensor, fake_logits: torch.Tensor,
                             adversarial_weight: float = 0.1) -> torch.Tensor:
    r"""SRGAN's generator objective with an L1 pixel loss:
    :math:`\mathbb{E}|G(x_{LR}) - x_{HR}| + \lambda\,\mathbb{E}[\mathrm{softplus}(-D(G(x_{LR})))]`,
    the mean absolute error plus ``adversarial_weight`` (λ) times the non-saturating generator loss
    on the discriminator's logits for the super-resolved images."""
    if sr.shape != hr.shape:
        raise ValueError(f"sr and hr: expected the same shape, got {tuple(sr.shape)} and {tuple(hr.shape)}.")
    return (sr - hr).abs().mean() + adversarial_weight * LOSSES["non_saturating"].generator(fake_logits)


def train_superres(generator: SRGenerator, hr_patches: torch.Tensor, steps: int, *,
                   discriminator: nn.Module | None = None, adversarial_weight: float = 0.1,
                   batch_size: int = 32, lr: float = 2e-3, lr_d: float = 2e-4, seed: int = 0,
                   progress: bool = True) -> dict[str, list[float]]:
    """Train ``generator`` for ``steps`` steps on random batches of ``hr_patches`` (N x 1 x H x W).

    Without ``discriminator``: minimise the L1 loss alone (the "PSNR-oriented" generator).
    With one: alternate the two updates of §3.1 on each batch: the discriminator learns to tell
    HR patches from super-resolved ones (binary cross-entropy on logits), then the generator
    minimises ``l1_plus_adversarial_loss``. Returns the history: ``l1`` per step, and with a
    discriminator also ``d_loss`` and ``d_real`` / ``d_fake`` (mean D(x) on each side).

    ``lr`` and ``lr_d`` are Adam's learning rates for G and D; ``seed`` fixes which patches make
    each batch. Training runs on the generator's device; the generator ends in evaluation mode.
    """
    _positive_int("steps", steps)
    _positive_int("batch_size", batch_size)
    patches = _as_batch(hr_patches, "hr_patches")
    if patches.dim() != 4 or len(patches) < 2:
        raise ValueError(f"hr_patches: expected a batch of at least 2 patches, got shape {tuple(hr_patches.shape)}.")
    for name, value in (("lr", lr), ("lr_d", lr_d), ("adversarial_weight", adversarial_weight)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
            raise ValueError(f"{name}={value!r}: expected a non-negative number.")
    factor = generator.factor
    device = next(generator.parameters()).device  # train where the generator lives (CPU, CUDA or MPS)
    if discriminator is not None:
        discriminator.to(device)
    patches = patches.to(device)
    lr_patches = downsample(patches, factor)
    g_opt = torch.optim.Adam(generator.parameters(), lr=lr, betas=(0.9, 0.999))
    adversarial = discriminator is not None
    if adversarial:
        d_opt = torch.optim.Adam(discriminator.parameters(), lr=lr_d, betas=(0.5, 0.999))
        gan_loss = LOSSES["non_saturating"]
    history: dict[str, list[float]] = {"l1": []} | ({"d_loss": [], "d_real": [], "d_fake": []} if adversarial else {})
    rng = torch.Generator().manual_seed(seed)
    generator.train()
    for _ in tqdm(range(steps), desc="GAN" if adversarial else "L1", disable=not progress, leave=False):
        index = torch.randint(len(patches), (batch_size,), generator=rng).to(device)
        hr, lr_batch = patches[index], lr_patches[index]
        sr = generator(lr_batch)
        if adversarial:
            # Steps 5-6 of §3.1: D scores real HR patches and (detached) SR ones, and is updated.
            real_logits, fake_logits = discriminator(hr), discriminator(sr.detach())
            d_loss = gan_loss.discriminator(real_logits, fake_logits)
            d_opt.zero_grad()
            d_loss.backward()
            d_opt.step()
            history["d_loss"].append(d_loss.item())
            history["d_real"].append(torch.sigmoid(real_logits).mean().item())
            history["d_fake"].append(torch.sigmoid(fake_logits).mean().item())
            # Step 7: with D fixed, G minimises pixel loss + λ x adversarial loss.
            g_loss = l1_plus_adversarial_loss(sr, hr, discriminator(sr), adversarial_weight)
        else:
            g_loss = (sr - hr).abs().mean()
        g_opt.zero_grad()
        g_loss.backward()
        g_opt.step()
        history["l1"].append((sr - hr).abs().mean().item())
    generator.eval()
    return history


def interpolate_generators(psnr_generator: SRGenerator, gan_generator: SRGenerator, alpha: float) -> SRGenerator:
    """ESRGAN's network interpolation (Wang et al., 2018): a generator whose every weight is
    ``(1 - alpha) * psnr_generator's + alpha * gan_generator's``.

    It works because the GAN generator was fine-tuned from the PSNR-oriented one, so their
    weights stay close; ``alpha`` then slides the output from faithful to sharp, without training.
    """
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
        raise ValueError(f"alpha={alpha!r}: expected a number in [0, 1] (0: the PSNR generator, 1: the GAN one).")
    a, b = psnr_generator.state_dict(), gan_generator.state_dict()
    if a.keys() != b.keys() or any(a[k].shape != b[k].shape for k in a):
        raise ValueError("psnr_generator and gan_generator: expected two generators of the same architecture; "
                         "build both with the same SRGenerator(...) arguments.")
    blended = copy.deepcopy(psnr_generator)
    blended.load_state_dict({k: (1 - alpha) * a[k] + alpha * b[k] for k in a})
    return blended


@torch.no_grad()
def super_resolve(generator: nn.Module, lr_image: torch.Tensor) -> torch.Tensor:
    """The generator's HR estimate of one LR image (h x w) or batch, clipped to [0, 1], on the CPU."""
    batch = _as_batch(lr_image, "lr_image").to(next(generator.parameters()).device)
    was_training = generator.training
    generator.eval()
    try:
        return _like(generator(batch).clamp(0, 1).cpu(), lr_image)
    finally:
        generator.train(was_training)


def psnr(estimate: torch.Tensor, target: torch.Tensor, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB, 10 log10(data_range² / MSE), by ``skimage.metrics``."""
    from skimage.metrics import peak_signal_noise_ratio

    if estimate.shape != target.shape:
        raise ValueError(f"estimate and target: expected the same shape, got {tuple(estimate.shape)} "
                         f"and {tuple(target.shape)}.")
    with np.errstate(divide="ignore"):  # a perfect estimate scores inf, without a warning
        return float(peak_signal_noise_ratio(target.double().numpy(), estimate.double().numpy(),
                                             data_range=data_range))


def _gradient_energy(image: torch.Tensor) -> float:
    image = image.double()
    dx, dy = image[..., :, 1:] - image[..., :, :-1], image[..., 1:, :] - image[..., :-1, :]
    return float((dx**2).mean() + (dy**2).mean())


def gradient_energy_ratio(estimate: torch.Tensor, target: torch.Tensor) -> float:
    """Mean squared finite-difference gradient of ``estimate`` over that of ``target``.

    A simple proxy for sharpness, *not* a perceptual metric: below 1 the estimate has less
    fine detail than the real image (blur), above 1 more (noise, halos, invented texture). It
    ignores *where* the detail is, which is why it does not need the pixels to match.
    """
    if estimate.shape != target.shape:
        raise ValueError(f"estimate and target: expected the same shape, got {tuple(estimate.shape)} "
                         f"and {tuple(target.shape)}.")
    return _gradient_energy(estimate) / _gradient_energy(target)


def evaluate(estimate: torch.Tensor, target: torch.Tensor, shave: int = 4) -> dict[str, float]:
    """PSNR (dB), SSIM and the gradient-energy ratio of one H x W estimate against its target.

    ``shave`` pixels are dropped at each border first, as is usual in super-resolution papers:
    near the border an upsampler has no neighbours to use. SSIM is ``skimage.metrics``'
    ``structural_similarity`` with its defaults (7 x 7 windows) and ``data_range=1``.
    """
    from skimage.metrics import structural_similarity

    if estimate.dim() != 2 or estimate.shape != target.shape:
        raise ValueError(f"estimate and target: expected two H x W images of the same shape, got "
                         f"{tuple(estimate.shape)} and {tuple(target.shape)}.")
    if not isinstance(shave, int) or shave < 0 or 2 * shave >= min(target.shape):
        raise ValueError(f"shave={shave!r}: expected a non-negative integer well below half the image size.")
    inner = (slice(shave, target.shape[0] - shave), slice(shave, target.shape[1] - shave))
    est, tgt = estimate[inner].clamp(0, 1), target[inner]
    return {
        "PSNR": psnr(est, tgt),
        "SSIM": float(structural_similarity(tgt.double().numpy(), est.double().numpy(), data_range=1.0)),
        "gradient energy": gradient_energy_ratio(est, tgt),
    }
