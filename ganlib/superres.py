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
    "STRIPE_PRIOR",
    "STRIPE_TILES",
    "PairDiscriminator",
    "StochasticUpsampler",
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
    "local_contrast",
    "matched_noise",
    "patch_swd",
    "posterior_sample",
    "psnr",
    "random_patches",
    "sliced_wasserstein",
    "stripe_phase_difference",
    "stripe_phase_share",
    "stripe_posterior",
    "stripe_statistics",
    "striped_digits",
    "super_resolve",
    "train_stochastic",
    "train_superres",
    "upsample_stochastic",
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


# The striped digits: a x4 task whose posterior is known exactly (notebook 06, section 1). Blau &
# Michaeli (2018) show the perception-distortion trade-off on toy distributions where every estimator
# can be computed; this is one where the detail finer than an LR pixel is genuinely undetermined.

STRIPE_TILES = torch.stack([
    torch.zeros(4, 4),                                        # black
    (torch.arange(4) % 2 == 0).float().expand(4, 4).clone(),  # vertical pinstripes, phase 0: columns 0 and 2 lit
    (torch.arange(4) % 2 == 1).float().expand(4, 4).clone(),  # phase 1: columns 1 and 3 lit
])
# The prior's weight on each tile within a striped block: the two phases equally likely. Black is the
# only tile that averages to 0, so its weight never matters in the posterior.
STRIPE_PRIOR = torch.tensor([1.0, 0.5, 0.5])


def striped_digits(split: str = "train", seed: int = 0, threshold: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    """HR images (N x 1 x 32 x 32, every pixel 0 or 1) and their x4 LR images (N x 1 x 8 x 8, block means).

    Each pixel of a scikit-learn digit (``ganlib.data.load_digits(split=split)``) with an ink count of
    at least ``threshold`` (of 16) becomes a 4 x 4 block of vertical pinstripes one pixel wide, at a
    phase (lit columns 0 and 2, or 1 and 3) drawn by a fair coin for that block; the other pixels
    become black blocks. A striped block averages to 1/2 whichever its phase, so the LR image tells
    where the stripes are and nothing about their phases: ``stripe_posterior`` computes what it
    leaves open. ``seed`` fixes the phases.
    """
    from .data import load_digits

    if isinstance(threshold, bool) or not isinstance(threshold, int) or not 1 <= threshold <= 16:
        raise ValueError(f"threshold={threshold!r}: expected a whole ink count from 1 to 16 (e.g. 6).")
    digits, _ = load_digits(split=split)
    striped = ((digits[:, 0] + 1) * 8).round() >= threshold  # N x 8 x 8, the ink counts 0..16
    phase = torch.randint(2, striped.shape, generator=torch.Generator().manual_seed(seed))
    tiles = STRIPE_TILES[torch.where(striped, 1 + phase, 0)]  # N x 8 x 8 x 4 x 4
    hr = tiles.permute(0, 1, 3, 2, 4).reshape(len(digits), 1, 32, 32)
    return hr, downsample(hr, 4)


def stripe_posterior(lr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The exact posterior of a striped digit's HR image given its LR image, by enumeration.

    For each LR pixel, every tile of the prior (``STRIPE_TILES``: black, or pinstripes at phase 0 or 1)
    is a candidate; block averaging is exact, so a tile's likelihood is 1 if its mean is the LR pixel
    and 0 if not. The posterior of the block is the prior's weights (``STRIPE_PRIOR``) on the tiles
    that remain, normalised; the blocks are independent, so the image's posterior is their product:
    a striped block is phase 0 or phase 1 with probability 1/2 each. Returns the posterior mean and
    the posterior variance of every HR pixel (N x 1 x 4h x 4w each): the mean is the estimate with
    the least expected squared error, and the variance's average is that error, the MMSE.
    """
    lr = _as_batch(lr, "lr")
    means = STRIPE_TILES.mean(dim=(1, 2))  # 0, 1/2, 1/2
    likelihood = (lr[:, 0, :, :, None] - means).abs() < 1e-6  # N x h x w x tiles
    if not likelihood.any(-1).all():
        bad = lr[:, 0][~likelihood.any(-1)][0].item()
        raise ValueError(f"lr: a pixel of {bad:.4g} is not the mean of any tile of the prior (0 or 1/2); "
                         "expected the LR images of striped_digits.")
    weights = likelihood * STRIPE_PRIOR
    weights = weights / weights.sum(-1, keepdim=True)
    tiles = STRIPE_TILES.flatten(1)  # tiles x 16
    mean = weights @ tiles
    variance = weights @ tiles**2 - mean**2

    def image(blocks: torch.Tensor) -> torch.Tensor:  # N x h x w x 16 -> N x 1 x 4h x 4w
        return F.pixel_shuffle(blocks.permute(0, 3, 1, 2), 4)

    return image(mean), image(variance)


def posterior_sample(lr: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One draw from the exact posterior of ``stripe_posterior``: each striped block's phase by a fair
    coin. What an ideal stochastic super-resolver would output (N x 1 x 4h x 4w)."""
    mean, variance = stripe_posterior(lr)
    striped = variance > 0  # the pixels whose value the LR image leaves open
    lr = _as_batch(lr, "lr")
    # A coin per block (drawn as uniforms, so that a seed shared with striped_digits gives other phases).
    phase = (torch.rand(lr.shape, generator=generator) < 0.5).long().repeat_interleave(4, -2).repeat_interleave(4, -1)
    column = torch.arange(mean.shape[-1]) % 2
    return torch.where(striped, (column == phase).float(), mean)


class StochasticUpsampler(nn.Module):
    """LR (N x 1 x h x w) and noise (N x noise_channels x h x w) -> HR (N x 1 x 4h x 4w).

    Two 3 x 3 convolutions at the low resolution read each LR pixel with its neighbours and its
    noise; a 1 x 1 convolution then writes the 16 values of the 4 x 4 block above it, which
    ``nn.PixelShuffle`` lays out (sub-pixel convolution, Shi et al., 2016): every position in a block
    has its own filter, which is what drawing a pattern finer than an LR pixel needs. The noise is a
    random sign per channel and LR pixel (``noise``); ``noise=None`` sets it to 0, a deterministic
    upsampler: the network trained with the L2 loss.
    """

    def __init__(self, noise_channels: int = 4, channels: int = 32):
        super().__init__()
        self.noise_channels = _positive_int("noise_channels", noise_channels)
        c = _positive_int("channels", channels)
        self.net = nn.Sequential(
            nn.Conv2d(1 + noise_channels, c, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(c, c, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(c, 16, 1),
        )

    def noise(self, lr: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Random signs, +1 or -1 with probability 1/2, one per channel and LR pixel of ``lr``."""
        shape = (len(lr), self.noise_channels, *lr.shape[2:])
        return torch.randint(2, shape, generator=generator).to(lr) * 2 - 1

    def forward(self, lr: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        if lr.dim() != 4 or lr.shape[1] != 1:
            raise ValueError(f"lr: expected low-resolution images of shape (N, 1, h, w), got {tuple(lr.shape)}.")
        if noise is None:
            noise = lr.new_zeros(len(lr), self.noise_channels, *lr.shape[2:])
        elif noise.shape != (len(lr), self.noise_channels, *lr.shape[2:]):
            raise ValueError(f"noise: expected shape {(len(lr), self.noise_channels, *lr.shape[2:])} (one value per "
                             f"channel and LR pixel), got {tuple(noise.shape)}; use generator.noise(lr).")
        return F.pixel_shuffle(self.net(torch.cat([lr, noise], 1)), 4)


class PairDiscriminator(nn.Module):
    """(HR N x 1 x 4h x 4w, LR N x 1 x h x w) -> logits N x h x w: is this HR image real, *for this LR image*?

    A conditional discriminator (as pix2pix's, Isola et al., 2017): the HR image and the LR image,
    each LR pixel repeated over its block, enter as two channels; two stride-2 convolutions and a
    3 x 3 one give one logit per LR pixel, each seeing a patch of 18 x 18 HR pixels.
    """

    def __init__(self, channels: int = 16):
        super().__init__()
        c = _positive_int("channels", channels)
        self.net = nn.Sequential(
            nn.Conv2d(2, c, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(c, c, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(c, 1, 3, padding=1),
        )

    def forward(self, hr: torch.Tensor, lr: torch.Tensor) -> torch.Tensor:
        if hr.dim() != 4 or lr.dim() != 4 or hr.shape[1] != 1 or hr.shape != (*lr.shape[:2], 4 * lr.shape[2],
                                                                              4 * lr.shape[3]):
            raise ValueError(f"hr and lr: expected (N, 1, 4h, 4w) and (N, 1, h, w), got {tuple(hr.shape)} and "
                             f"{tuple(lr.shape)}.")
        return self.net(torch.cat([hr, lr.repeat_interleave(4, -2).repeat_interleave(4, -1)], 1))[:, 0]


def train_stochastic(generator: StochasticUpsampler, hr: torch.Tensor, steps: int, *,
                     discriminator: PairDiscriminator | None = None, batch_size: int = 32, lr: float = 4e-3,
                     consistency: float = 10.0, seed: int = 0, progress: bool = True) -> dict[str, list[float]]:
    r"""Train ``generator`` on random batches of the HR images ``hr`` (N x 1 x 4h x 4w) and their block means.

    Without ``discriminator``: minimise the mean squared error to the truth, with the noise off. The
    minimiser of the expected squared error is the posterior mean (notebook 06), so this is the
    "L2 network". With one: a conditional GAN, the two updates of §3.1 on each batch. D minimises
    the binary cross-entropy on (HR, LR) pairs against (G(LR, noise), LR) pairs; G minimises the
    non-saturating loss plus ``consistency`` times :math:`\mathbb{E}\,\|\mathrm{downsample}(G) -
    x_{LR}\|^2`, a pixel loss on the block means only: the part of the image the LR input fixes,
    which every posterior sample satisfies exactly, so it does not pull towards the blur.

    Adam (β₁ = 0.5 for the GAN, as DCGAN's) at learning rate ``lr`` for both players, falling
    linearly to 0 over the second half. Returns the history (``l2`` per step; with a discriminator,
    ``d_loss``, ``g_loss``, ``d_real``, ``d_fake``). With ``progress``, a bar and a one-line summary.
    """
    _positive_int("steps", steps)
    _positive_int("batch_size", batch_size)
    for name, value in (("lr", lr), ("consistency", consistency)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
            raise ValueError(f"{name}={value!r}: expected a non-negative number.")
    hr = _as_batch(hr, "hr")
    if hr.shape[-1] % 4 or hr.shape[-2] % 4 or len(hr) < 2:
        raise ValueError(f"hr: expected at least 2 images whose sides are multiples of 4, got shape {tuple(hr.shape)}.")
    device = next(generator.parameters()).device  # train where the generator lives (CPU, CUDA or MPS)
    if discriminator is not None:
        discriminator.to(device)
    hr = hr.to(device)
    lr_images = downsample(hr, 4)
    rng = torch.Generator().manual_seed(seed)
    adversarial = discriminator is not None
    betas = (0.5, 0.999) if adversarial else (0.9, 0.999)
    optimisers = [torch.optim.Adam(generator.parameters(), lr=lr, betas=betas)]
    if adversarial:
        optimisers.append(torch.optim.Adam(discriminator.parameters(), lr=lr, betas=betas))
        history: dict[str, list[float]] = {"l2": [], "d_loss": [], "g_loss": [], "d_real": [], "d_fake": []}
    else:
        history = {"l2": []}
    start = time.perf_counter()
    generator.train()
    for step in tqdm(range(steps), desc="GAN" if adversarial else "L2", disable=not progress, leave=False):
        for optimiser in optimisers:  # linear decay to 0 over the second half
            optimiser.param_groups[0]["lr"] = lr * min(1.0, 2 * (1 - step / steps))
        index = torch.randint(len(hr), (batch_size,), generator=rng).to(device)
        x, y = hr[index], lr_images[index]
        if not adversarial:
            loss = F.mse_loss(generator(y), x)
            optimisers[0].zero_grad()
            loss.backward()
            optimisers[0].step()
            history["l2"].append(loss.item())
            continue
        fake = generator(y, generator.noise(y, rng))
        # Steps 5-6 of §3.1: D scores real and (detached) generated pairs, and is updated.
        real_logits, fake_logits = discriminator(x, y), discriminator(fake.detach(), y)
        d_loss = LOSSES["non_saturating"].discriminator(real_logits, fake_logits)
        optimisers[1].zero_grad()
        d_loss.backward()
        optimisers[1].step()
        # Step 7: with D fixed, G's adversarial loss plus the consistency term.
        g_loss = LOSSES["non_saturating"].generator(discriminator(fake, y)) + consistency * F.mse_loss(
            downsample(fake, 4), y)
        optimisers[0].zero_grad()
        g_loss.backward()
        optimisers[0].step()
        for key, value in (("l2", F.mse_loss(fake, x)), ("d_loss", d_loss), ("g_loss", g_loss),
                           ("d_real", torch.sigmoid(real_logits).mean()),
                           ("d_fake", torch.sigmoid(fake_logits).mean())):
            history[key].append(value.item())
    generator.eval()
    if progress:
        last = {key: sum(values[-50:]) / len(values[-50:]) for key, values in history.items()}
        print(f"{'conditional GAN' if adversarial else 'L2'}: {steps} steps in {time.perf_counter() - start:.1f} s; "
              f"last 50 steps: " + (f"D loss {last['d_loss']:.3f}, D(real pair) {last['d_real']:.3f}, "
                                    f"D(generated pair) {last['d_fake']:.3f}" if adversarial else
                                    f"squared error {last['l2']:.4f}"))
    return history


@torch.no_grad()
def upsample_stochastic(generator: StochasticUpsampler, lr: torch.Tensor, seed: int | None = None) -> torch.Tensor:
    """The generator's HR images for ``lr`` (N x 1 x h x w), clipped to [0, 1], on the CPU: with noise drawn
    from ``seed``, or with the noise off (``seed=None``, the L2 network's way)."""
    lr = _as_batch(lr, "lr").to(next(generator.parameters()).device)
    noise = None if seed is None else generator.noise(lr, torch.Generator().manual_seed(seed))
    was_training = generator.training
    generator.eval()
    try:
        return generator(lr, noise).clamp(0, 1).cpu()
    finally:
        generator.train(was_training)


def local_contrast(images: torch.Tensor) -> float:
    """The mean absolute difference between neighbouring pixels, across and down (averaged): how much
    an image changes from one pixel to the next. Blur lowers it; noise raises it as much as detail."""
    images = _as_batch(images, "images").double()
    across = (images[..., :, 1:] - images[..., :, :-1]).abs().mean()
    down = (images[..., 1:, :] - images[..., :-1, :]).abs().mean()
    return float((across + down) / 2)


def stripe_statistics(estimate: torch.Tensor, truth: torch.Tensor, lr: torch.Tensor) -> dict[str, float]:
    """How an estimate of striped digits compares with the truth and with the data's look (notebook 06).

    * ``error / MMSE``: the mean squared error to ``truth``, over the least possible one
      (``stripe_posterior``'s): 1 for the posterior mean, 2 in expectation for a posterior sample;
    * ``local contrast``: ``local_contrast`` of the estimate;
    * ``open pixels at 0 or 1``: among the pixels the LR image leaves open (striped blocks), the
      share within 0.1 of black or white; the data's is 1;
    * ``blocks drawn as stripes``: among the striped blocks, the share whose every pixel is within
      0.25 of pinstripes at one phase: a block the data could hold. The data's is 1; independent
      random black and white pixels, which match the three measures above, score about 0;
    * ``phase 0``: ``stripe_phase_share``; the posterior's is 1/2.
    """
    estimate, truth = _as_batch(estimate, "estimate"), _as_batch(truth, "truth")
    if estimate.shape != truth.shape:
        raise ValueError(f"estimate and truth: expected the same shape, got {tuple(estimate.shape)} and "
                         f"{tuple(truth.shape)}.")
    _, variance = stripe_posterior(lr)
    open_pixels = variance > 0
    blocks = F.pixel_unshuffle(estimate, 4).permute(0, 2, 3, 1)  # N x h x w x 16
    off = (blocks[..., None, :] - STRIPE_TILES[1:].flatten(1)).abs().amax(-1)  # N x h x w x 2: worst pixel
    striped = (_as_batch(lr, "lr")[:, 0] - 0.5).abs() < 1e-6
    return {"error / MMSE": float(((estimate - truth) ** 2).mean() / variance.mean()),
            "local contrast": local_contrast(estimate),
            "open pixels at 0 or 1": float(((estimate[open_pixels] - 0.5).abs() > 0.4).float().mean()),
            "blocks drawn as stripes": float((off.amin(-1) < 0.25)[striped].float().mean()),
            "phase 0": stripe_phase_share(estimate, lr)}


def _stripe_phases(images: torch.Tensor, lr: torch.Tensor, name: str = "images") -> torch.Tensor:
    """For each striped block of ``lr`` (LR pixel 1/2), whether ``images`` is nearer (in squared error)
    to pinstripes at phase 0 than at phase 1: a 1-D bool tensor over those blocks, in order."""
    images, lr = _as_batch(images, name), _as_batch(lr, "lr")
    if images.shape != (*lr.shape[:2], 4 * lr.shape[2], 4 * lr.shape[3]):
        raise ValueError(f"{name} and lr: expected (N, 1, 4h, 4w) and (N, 1, h, w), got {tuple(images.shape)} and "
                         f"{tuple(lr.shape)}.")
    blocks = F.pixel_unshuffle(images, 4).permute(0, 2, 3, 1)  # N x h x w x 16
    distance = ((blocks[..., None, :] - STRIPE_TILES[1:].flatten(1)) ** 2).sum(-1)  # N x h x w x 2
    striped = (lr[:, 0] - 0.5).abs() < 1e-6
    if not striped.any():
        raise ValueError("lr: no striped block (LR pixel 1/2) to read a phase from.")
    return (distance[..., 0] < distance[..., 1])[striped]


def stripe_phase_share(images: torch.Tensor, lr: torch.Tensor) -> float:
    """Among the striped blocks of ``lr`` (LR pixel 1/2), the share where ``images`` is nearer (in squared
    error) to pinstripes at phase 0 than at phase 1. The posterior's share is 1/2."""
    return float(_stripe_phases(images, lr).float().mean())


def stripe_phase_difference(first: torch.Tensor, second: torch.Tensor, lr: torch.Tensor) -> float:
    """Among the striped blocks of ``lr``, the share where ``first`` and ``second`` (two estimates for
    the same LR images, e.g. two noise draws of a stochastic upsampler) sit at different phases, each
    read as in ``stripe_phase_share``. Two independent posterior samples differ in 1/2 of the blocks;
    a deterministic upsampler, or one that ignores its noise, in none."""
    return float((_stripe_phases(first, lr, "first") != _stripe_phases(second, lr, "second")).float().mean())
