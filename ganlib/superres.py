"""Super-resolution with a GAN (notebook 06, §6.3 of the source document): SRGAN's recipe at a CPU's scale.

The task: given a low-resolution (LR) image, made from a high-resolution (HR) one by averaging
each ``factor`` x ``factor`` block of pixels, recover the HR image. The pieces:

* ``load_photo``, ``random_patches``: grey-level (luminance) patches of scikit-image's bundled
  photographs and textures, in [0, 1]. They ship with scikit-image, so no download is needed.
* ``downsample`` (block averaging) and ``bicubic`` (the classical baseline).
* ``SRGenerator``: a small residual CNN that predicts a *correction* to the bicubic image; it
  starts at bicubic. It upsamples its features by resize-convolution (Odena et al., 2016) or,
  as SRGAN does, by sub-pixel convolution (Shi et al., 2016). ``PatchDiscriminator``: one
  logit per overlapping patch (PatchGAN, Isola et al., 2017).
* ``l1_plus_adversarial_loss`` and ``train_superres``: SRGAN's generator objective (Ledig et
  al., 2017), pixel loss plus a small adversarial term, with L1 as the pixel loss as in ESRGAN
  (Wang et al., 2018).
* Measures: ``evaluate`` (PSNR and SSIM by ``skimage.metrics``, and ``gradient_energy_ratio``,
  a sharpness proxy that noise fools); ``patch_swd``, a distance between the distributions of
  small patches of fine detail (the sliced Wasserstein distance of ProGAN, Karras et al., 2018);
  ``grid_share``, the share of the fine detail that repeats every ``factor`` pixels (the
  checkerboard or mesh artefact of upsampling layers); and ``matched_noise``, the control
  every sharpness claim needs: an estimate plus noise with the same gradient energy.

Images are tensors of shape N x 1 x H x W (a batch) or H x W (one photo), values in [0, 1].
"""

from __future__ import annotations

import copy
import math
import time

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
    "TEST_PHOTOS",
    "detail_layer",
    "evaluate",
    "gradient_energy_ratio",
    "grid_share",
    "interpolate_generators",
    "l1_plus_adversarial_loss",
    "load_photo",
    "matched_noise",
    "patch_swd",
    "psnr",
    "random_patches",
    "sliced_wasserstein",
    "super_resolve",
    "train_superres",
]

# scikit-image's bundled photographs and textures (they ship inside the package: no download).
# The course trains on four photos and two textures, and holds out one of each: ``camera`` (a
# photographer at a camera on a tripod; scikit-image 0.18 replaced the classic cameraman with it)
# and ``gravel``.
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "grass", "brick", "camera", "gravel")
TRAIN_PHOTOS = PHOTOS[:6]
TEST_PHOTOS = PHOTOS[6:]
TEST_PHOTO = TEST_PHOTOS[0]



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

    The network works at the low resolution (cheap): a 3 x 3 convolution and ``blocks`` residual
    blocks of ``channels`` channels. It then goes up to the high resolution in one of two ways:

    * ``upsampler="resize"`` (the default): resize-convolution (Odena et al., 2016). The features
      are reduced to ``hr_channels``, enlarged ``factor`` times by bilinear interpolation, and
      two 3 x 3 convolutions at the high resolution write the correction. Every HR pixel is
      computed by the same filters, so nothing in the network repeats every ``factor`` pixels.
    * ``upsampler="subpixel"``: sub-pixel convolution, as SRGAN does (Shi et al., 2016). The last
      LR convolution outputs factor² values per LR pixel, which ``nn.PixelShuffle`` rearranges
      into the factor x factor block of HR pixels above it. Each position in the block has its
      own filter, so the network can write a pattern that repeats every ``factor`` pixels, and an
      adversarial loss readily pushes it to (notebook 06 measures it with ``grid_share``).

    The last layer starts at zero either way, so an untrained generator *is* bicubic
    interpolation, and training only has to learn what bicubic misses.
    """

    def __init__(self, factor: int = 4, channels: int = 16, blocks: int = 3, *, upsampler: str = "resize",
                 hr_channels: int = 8):
        super().__init__()
        self.factor = _positive_int("factor", factor)
        channels = _positive_int("channels", channels)
        if upsampler not in ("resize", "subpixel"):
            raise ValueError(f"upsampler={upsampler!r}: choose 'resize' (resize-convolution) or 'subpixel' "
                             "(sub-pixel convolution, SRGAN's).")
        self.upsampler = upsampler
        self.head = nn.Conv2d(1, channels, 3, padding=1)
        self.blocks = nn.Sequential(*[_ResidualBlock(channels) for _ in range(_positive_int("blocks", blocks))])
        if upsampler == "subpixel":
            self.tail = nn.Conv2d(channels, factor * factor, 3, padding=1)
            last = self.tail
        else:
            hr_channels = _positive_int("hr_channels", hr_channels)
            self.tail = nn.Conv2d(channels, hr_channels, 3, padding=1)
            self.hr = nn.Conv2d(hr_channels, hr_channels, 3, padding=1)
            self.out = nn.Conv2d(hr_channels, 1, 3, padding=1)
            last = self.out
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        if lr.dim() != 4 or lr.shape[1] != 1:
            raise ValueError(f"lr: expected low-resolution images of shape (N, 1, h, w), got {tuple(lr.shape)}.")
        base = F.interpolate(lr, scale_factor=self.factor, mode="bicubic", align_corners=False)
        features = self.tail(self.blocks(F.leaky_relu(self.head(lr), 0.2)))
        if self.upsampler == "subpixel":
            return base + F.pixel_shuffle(features, self.factor)
        up = F.interpolate(features, scale_factor=self.factor, mode="bilinear", align_corners=False)
        return base + self.out(F.leaky_relu(self.hr(F.leaky_relu(up, 0.2)), 0.2))


class PatchDiscriminator(nn.Module):
    """HR images (N x 1 x H x W) -> logits (N x H/8 x W/8), one per overlapping patch of the image.

    Three stride-2 convolutions and a 3 x 3 one: each logit sees a patch of 38 x 38 pixels (less at
    the border) and says whether *that patch* looks like a real photo's (PatchGAN). The losses of
    ``ganlib.losses`` average over all logits, so every patch counts. Judging texture locally is
    what super-resolution needs: the layout of the image is already given by the LR input.

    With ``high_pass`` = σ (in pixels), the discriminator sees only the image minus its Gaussian
    blur of width σ: the fine detail, which is what the generator adds and what a pixel loss
    leaves blurry (frequency separation, Fritsche et al., 2019). Brightness and layout, which the
    LR image fixes, are hidden from it, so its verdicts, and its gradient, are about detail. The
    blur is the same at every pixel, so the high-pass favours no position in a 4 x 4 block.
    """

    def __init__(self, channels: int = 16, high_pass: float | None = None):
        super().__init__()
        c = _positive_int("channels", channels)
        if high_pass is not None and (isinstance(high_pass, bool) or not isinstance(high_pass, (int, float))
                                      or not 0 < high_pass <= 8):
            raise ValueError(f"high_pass={high_pass!r}: expected None (the whole image) or the blur's σ in pixels, "
                             "between 0 and 8 (e.g. 1.5).")
        self.high_pass = high_pass
        if high_pass is not None:
            radius = math.ceil(3 * high_pass)
            taps = torch.exp(-torch.arange(-radius, radius + 1.0) ** 2 / (2 * high_pass**2))
            self.register_buffer("blur", taps / taps.sum())
        self.net = nn.Sequential(
            nn.Conv2d(1, c, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(c, 2 * c, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * c, 2 * c, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * c, 1, 3, padding=1),
        )

    def fine_detail(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` minus its separable Gaussian blur of σ = ``high_pass`` (edges mirrored)."""
        radius = len(self.blur) // 2
        if min(x.shape[-2:]) <= radius:
            raise ValueError(f"x: images of {tuple(x.shape[-2:])} pixels are too small for high_pass="
                             f"{self.high_pass} (the blur reaches {radius} pixels).")
        blurred = F.pad(x, (radius, radius, radius, radius), mode="reflect")
        blurred = F.conv2d(F.conv2d(blurred, self.blur.view(1, 1, 1, -1)), self.blur.view(1, 1, -1, 1))
        return x - blurred

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 1:
            raise ValueError(f"x: expected images of shape (N, 1, H, W), got {tuple(x.shape)}.")
        return self.net(self.fine_detail(x) if self.high_pass is not None else x)[:, 0]


def l1_plus_adversarial_loss(sr: torch.Tensor, hr: torch.Tensor, fake_logits: torch.Tensor,
                             adversarial_weight: float = 0.03) -> torch.Tensor:
    r"""SRGAN's generator objective with an L1 pixel loss:
    :math:`\mathbb{E}|G(x_{LR}) - x_{HR}| + \lambda\,\mathbb{E}[\mathrm{softplus}(-D(G(x_{LR})))]`,
    the mean absolute error plus ``adversarial_weight`` (λ) times the non-saturating generator loss
    on the discriminator's logits for the super-resolved images."""
    if sr.shape != hr.shape:
        raise ValueError(f"sr and hr: expected the same shape, got {tuple(sr.shape)} and {tuple(hr.shape)}.")
    return (sr - hr).abs().mean() + adversarial_weight * LOSSES["non_saturating"].generator(fake_logits)


def train_superres(generator: SRGenerator, hr_patches: torch.Tensor, steps: int, *,
                   discriminator: nn.Module | None = None, adversarial_weight: float = 0.03,
                   batch_size: int = 32, lr: float = 2e-3, lr_d: float = 2e-3, seed: int = 0,
                   validation: tuple[torch.Tensor, torch.Tensor] | None = None, validate_every: int = 50,
                   progress: bool = True) -> dict[str, list[float]]:
    """Train ``generator`` for ``steps`` steps on random batches of ``hr_patches`` (N x 1 x H x W).

    Without ``discriminator``: minimise the L1 loss alone (the "PSNR-oriented" generator).
    With one: alternate the two updates of §3.1 on each batch: the discriminator learns to tell
    HR patches from super-resolved ones (binary cross-entropy on logits), then the generator
    minimises ``l1_plus_adversarial_loss``. Returns the history: ``l1`` per step, and with a
    discriminator also ``adversarial`` (the generator's non-saturating loss, before λ),
    ``d_loss`` and ``d_real`` / ``d_fake`` (mean D(x) on each side).

    ``validation`` = (an LR image, its HR truth), both H x W: every ``validate_every`` steps (and
    before the first) the generator's PSNR on it is recorded in ``val_psnr``, at the steps in
    ``val_step``. ``lr`` and ``lr_d`` are Adam's learning rates for G and D; ``seed`` fixes which
    patches make each batch. With ``progress``, a bar runs and one line sums up the training at
    the end (steps, seconds, the last 50 steps' losses). Training runs on the generator's
    device; the generator ends in evaluation mode.
    """
    _positive_int("steps", steps)
    _positive_int("batch_size", batch_size)
    _positive_int("validate_every", validate_every)
    patches = _as_batch(hr_patches, "hr_patches")
    if patches.dim() != 4 or len(patches) < 2:
        raise ValueError(f"hr_patches: expected a batch of at least 2 patches, got shape {tuple(hr_patches.shape)}.")
    for name, value in (("lr", lr), ("lr_d", lr_d), ("adversarial_weight", adversarial_weight)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
            raise ValueError(f"{name}={value!r}: expected a non-negative number.")
    if validation is not None:
        if not (isinstance(validation, (tuple, list)) and len(validation) == 2
                and all(isinstance(v, torch.Tensor) and v.dim() == 2 for v in validation)
                and validation[1].shape == tuple(generator.factor * n for n in validation[0].shape)):
            raise ValueError(f"validation: expected (an h x w LR image, its {generator.factor}h x "
                             f"{generator.factor}w HR truth), e.g. (downsample(photo), photo).")
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
    history: dict[str, list[float]] = {"l1": []} | (
        {"adversarial": [], "d_loss": [], "d_real": [], "d_fake": []} if adversarial else {})
    if validation is not None:
        history |= {"val_step": [], "val_psnr": []}

    def validate(step: int) -> None:
        history["val_step"].append(step)
        history["val_psnr"].append(psnr(super_resolve(generator, validation[0]), validation[1].cpu()))

    rng = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    generator.train()
    for step in tqdm(range(steps), desc="GAN" if adversarial else "L1", disable=not progress, leave=False):
        if validation is not None and step % validate_every == 0:
            validate(step)
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
            fake_logits = discriminator(sr)
            g_loss = l1_plus_adversarial_loss(sr, hr, fake_logits, adversarial_weight)
            history["adversarial"].append(gan_loss.generator(fake_logits).item())
        else:
            g_loss = (sr - hr).abs().mean()
        g_opt.zero_grad()
        g_loss.backward()
        g_opt.step()
        history["l1"].append((sr - hr).abs().mean().item())
    if validation is not None:
        validate(steps)
    generator.eval()
    if progress:
        last = {key: sum(values[-50:]) / len(values[-50:]) for key, values in history.items() if key != "val_step"}
        what = (f"L1 + {adversarial_weight:g} x adversarial: {steps} steps in {time.perf_counter() - start:.1f} s; "
                f"last 50 steps: L1 {last['l1']:.4f}, λ x adversarial {adversarial_weight * last['adversarial']:.4f}, "
                f"D loss {last['d_loss']:.3f}, D(HR) {last['d_real']:.3f}, D(G(LR)) {last['d_fake']:.3f}"
                if adversarial else
                f"L1: {steps} steps in {time.perf_counter() - start:.1f} s; last 50 steps: L1 {last['l1']:.4f}")
        print(what + (f"; held-out PSNR {history['val_psnr'][-1]:.2f} dB" if validation is not None else ""))
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
    """Every measure of notebook 06 for one H x W estimate against its target.

    * ``PSNR`` (dB) and ``SSIM``: distortion. ``shave`` pixels are dropped at each border first,
      as is usual in super-resolution papers: near the border an upsampler has no neighbours to
      use. SSIM is ``skimage.metrics``' ``structural_similarity`` with its defaults (7 x 7
      windows; papers mostly use Wang et al.'s 11 x 11 Gaussian window) and ``data_range=1``.
    * ``gradient energy``: ``gradient_energy_ratio`` on the same pixels, a sharpness proxy.
    * ``patch SWD``: ``patch_swd``, the distance between the distributions of small patches of
      fine detail (lower is closer to the target's).
    * ``grid share``: ``grid_share``, the share of the fine detail that repeats every 4 pixels.

    The last two work on the 4 x 4 blocks of a x4 task: the sides must be multiples of 4.
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
        "patch SWD": patch_swd(estimate, target, shave=shave),
        "grid share": grid_share(estimate, shave=shave),
    }


def _image(x: object, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.dim() != 2:
        got = f"shape {tuple(x.shape)}, dtype {x.dtype}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name}: expected one H x W float image, got {got}.")
    return x


def detail_layer(images: torch.Tensor, factor: int = 4) -> torch.Tensor:
    """What the low-resolution image cannot tell: ``images - bicubic(downsample(images))``.

    Two images with the same LR version differ only here; for a super-resolved image it is what
    the model added beyond the LR pixels (up to the small change its own block means make).
    Accepts an H x W image or an N x 1 x H x W batch, sides multiples of ``factor``.
    """
    batch = _as_batch(images, "images")
    return _like(batch - F.interpolate(downsample(batch, factor), scale_factor=factor, mode="bicubic",
                                       align_corners=False), images)


def patch_swd(estimate: torch.Tensor, target: torch.Tensor, size: int = 7, n_patches: int = 4096,
              n_directions: int = 256, factor: int = 4, shave: int = 4, seed: int = 0) -> float:
    r"""The sliced Wasserstein distance between the fine detail of two images, patch by patch.

    Both images go through ``detail_layer`` (so what the LR input already fixes does not count)
    and lose a ``shave``-pixel border; ``n_patches`` ``size`` x ``size`` patches are cut from
    each at random positions, drawn independently for the two images. The distance between the
    two sets of patches, as points in :math:`\mathbb{R}^{size^2}`, is the sliced Wasserstein
    distance (the patch measure of ProGAN, Karras et al., 2018, at one scale): for each of
    ``n_directions`` random unit vectors, the 1-D Wasserstein-1 distance between the two sets'
    projections (the mean absolute difference of their sorted values), averaged over directions.

    It compares *distributions*: where the detail is does not matter, only whether the output's
    patches look like the target's. Two sets of patches of the same image at independent
    positions score above 0 (sampling noise): compare with ``patch_swd(target, target)``.
    Units: grey levels (images in [0, 1]). ``seed`` fixes positions and directions.
    """
    estimate, target = _image(estimate, "estimate"), _image(target, "target")
    if estimate.shape != target.shape:
        raise ValueError(f"estimate and target: expected the same shape, got {tuple(estimate.shape)} "
                         f"and {tuple(target.shape)}.")
    for name, value in (("size", size), ("n_patches", n_patches), ("n_directions", n_directions)):
        _positive_int(name, value)
    if not isinstance(shave, int) or shave < 0 or 2 * shave + size > min(target.shape):
        raise ValueError(f"shave={shave!r}: expected a non-negative integer that leaves room for {size} x {size} "
                         f"patches in a {tuple(target.shape)} image.")
    sets = []
    for k, image in enumerate((estimate, target)):
        detail = detail_layer(image.clamp(0, 1), factor).double()
        detail = detail[shave:detail.shape[0] - shave, shave:detail.shape[1] - shave]
        gen = torch.Generator().manual_seed(seed + 1 + k)
        top = torch.randint(detail.shape[0] - size + 1, (n_patches,), generator=gen)
        left = torch.randint(detail.shape[1] - size + 1, (n_patches,), generator=gen)
        offsets = torch.arange(size)
        rows, cols = (top[:, None] + offsets)[:, :, None], (left[:, None] + offsets)[:, None, :]
        sets.append(detail[rows, cols].reshape(n_patches, size * size))
    return sliced_wasserstein(*sets, n_directions=n_directions, seed=seed)


def sliced_wasserstein(points_a: torch.Tensor, points_b: torch.Tensor, n_directions: int = 256, seed: int = 0
                       ) -> float:
    """The sliced Wasserstein-1 distance between two equal-sized point sets (N x d each): the
    mean, over ``n_directions`` random unit vectors u (seeded), of the 1-D Wasserstein-1 distance
    between the projections {a·u} and {b·u}, which for equal sizes is the mean absolute
    difference of their sorted values."""
    if not isinstance(points_a, torch.Tensor) or not isinstance(points_b, torch.Tensor) or points_a.dim() != 2 \
            or points_a.shape != points_b.shape:
        got = [tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__ for x in (points_a, points_b)]
        raise ValueError(f"points_a and points_b: expected two N x d tensors of the same shape, got {got[0]} "
                         f"and {got[1]}.")
    _positive_int("n_directions", n_directions)
    directions = torch.randn(points_a.shape[1], n_directions, dtype=torch.float64,
                             generator=torch.Generator().manual_seed(seed))
    directions /= directions.norm(dim=0, keepdim=True)
    a, b = ((points.double() @ directions).sort(dim=0).values for points in (points_a, points_b))
    return float((a - b).abs().mean())


def grid_share(image: torch.Tensor, factor: int = 4, shave: int = 4) -> float:
    """The share of an image's fine detail that repeats every ``factor`` pixels: 0 to 1.

    The ``detail_layer`` (after a ``shave``-pixel border) is cut into ``factor`` x ``factor``
    blocks aligned with the LR pixels; their average block is the part of the detail that is the
    same in every block, a periodic pattern. The share is that pattern's mean square over the
    detail's mean square. A photo's detail has no preferred position inside the blocks, so its
    average block is nearly flat (share near 0); an upsampler that writes the same pattern into
    every block (the mesh or checkerboard artefact of sub-pixel and transposed convolutions)
    scores high. ``shave`` must keep the blocks aligned: a multiple of ``factor``.
    """
    image = _image(image, "image")
    _positive_int("factor", factor)
    if not isinstance(shave, int) or shave < 0 or shave % factor or 2 * shave + factor > min(image.shape):
        raise ValueError(f"shave={shave!r}: expected a non-negative multiple of factor={factor}, small enough to "
                         "leave blocks to compare (it keeps the blocks aligned with the LR pixels).")
    detail = detail_layer(image.clamp(0, 1), factor).double()
    detail = detail[shave:detail.shape[0] - shave, shave:detail.shape[1] - shave]
    height, width = (side - side % factor for side in detail.shape)
    detail = detail[:height, :width]
    average_block = detail.reshape(height // factor, factor, width // factor, factor).mean(dim=(0, 2))
    energy = (detail**2).mean()
    return float((average_block**2).mean() / energy) if energy > 0 else 0.0


def matched_noise(estimate: torch.Tensor, target: torch.Tensor, gradient_energy: float, seed: int = 0,
                  noise: torch.Tensor | None = None) -> tuple[torch.Tensor, float]:
    """The noise control: ``estimate`` plus σ times noise, with the σ that brings its
    ``evaluate(...)["gradient energy"]`` against ``target`` to ``gradient_energy`` (clipped to
    [0, 1] like every output). Returns the noisy image and σ.

    A sharpness proxy cannot tell texture from noise; an output that beats this control on a
    measure that can has added something that noise does not. The noise is Gaussian (drawn
    with ``seed``) unless ``noise`` gives another pattern to scale, e.g. a 4 x 4 block repeated
    over the image (a mesh). σ is found by bisection; if the estimate already has that much
    energy, σ is 0.
    """
    estimate, target = _image(estimate, "estimate"), _image(target, "target")
    if estimate.shape != target.shape:
        raise ValueError(f"estimate and target: expected the same shape, got {tuple(estimate.shape)} "
                         f"and {tuple(target.shape)}.")
    if isinstance(gradient_energy, bool) or not isinstance(gradient_energy, (int, float)) or not gradient_energy > 0:
        raise ValueError(f"gradient_energy={gradient_energy!r}: expected a positive ratio, e.g. "
                         "evaluate(output, target)['gradient energy'] of the output to match.")
    if noise is None:
        noise = torch.randn(estimate.shape, generator=torch.Generator().manual_seed(seed))
    elif not isinstance(noise, torch.Tensor) or noise.shape != estimate.shape or not noise.abs().max() > 0:
        got = tuple(noise.shape) if isinstance(noise, torch.Tensor) else type(noise).__name__
        raise ValueError(f"noise: expected a non-zero pattern of the estimate's shape {tuple(estimate.shape)}, "
                         f"got {got}.")
    inner = (slice(4, target.shape[0] - 4), slice(4, target.shape[1] - 4))  # as evaluate's default shave

    def energy(sigma: float) -> float:
        return gradient_energy_ratio((estimate + sigma * noise).clamp(0, 1)[inner], target[inner])

    if energy(0.0) >= gradient_energy:
        return estimate.clamp(0, 1), 0.0
    low, high = 0.0, 1.0
    if energy(high) < gradient_energy:
        raise ValueError(f"gradient_energy={gradient_energy!r}: more than noise of σ = 1 gives this image; "
                         "expected a ratio an output could have (the photo's own is 1).")
    for _ in range(50):  # 50 halvings: σ to about 1e-15
        middle = (low + high) / 2
        low, high = (middle, high) if energy(middle) < gradient_energy else (low, middle)
    return (estimate + high * noise).clamp(0, 1), high
