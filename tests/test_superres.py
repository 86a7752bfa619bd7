"""ganlib.superres against hand-derived values, closed forms and numpy; and its errors for bad input."""

import itertools
import math
import socket

import numpy as np
import pytest
import torch

from ganlib import data, superres


def test_every_photo_loads_offline(monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket, "socket", no_network)
    for name in superres.PHOTOS:
        photo = superres.load_photo(name)
        assert photo.dim() == 2 and photo.dtype == torch.float32 and min(photo.shape) >= 256
        assert 0 <= photo.min() and photo.max() <= 1 and photo.std() > 0.05
    assert not set(superres.TEST_PHOTOS) & set(superres.TRAIN_PHOTOS) and superres.TEST_PHOTO == "camera"
    assert {"grass", "brick"} <= set(superres.TRAIN_PHOTOS) and "gravel" in superres.TEST_PHOTOS  # textures
    for name in ("camera", "gravel", "grass", "brick"):
        assert tuple(superres.load_photo(name).shape) == (512, 512)


def test_load_photo_explains_an_unknown_name():
    with pytest.raises(ValueError, match=r"name='moon'.*choose one of astronaut"):
        superres.load_photo("moon")


def test_downsample_is_the_block_mean():
    images = torch.arange(1.0, 9.0).reshape(2, 4)  # [[1, 2, 3, 4], [5, 6, 7, 8]]
    assert superres.downsample(images, 2).tolist() == [[3.5, 5.5]]  # (1+2+5+6)/4, (3+4+7+8)/4
    x = torch.rand(3, 1, 8, 12, generator=torch.Generator().manual_seed(0))
    expected = x.numpy().reshape(3, 1, 2, 4, 3, 4).mean(axis=(3, 5))
    np.testing.assert_allclose(superres.downsample(x, 4).numpy(), expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("images, factor, message", [
    (torch.zeros(6, 8), 4, r"height and width 6 x 8 must be multiples of factor=4.*image\[:4, :8\]"),
    (torch.zeros(8, 8), 0, "factor=0: expected a positive integer"),
    (torch.zeros(8, 8, dtype=torch.uint8), 4, "images: expected a float tensor.*uint8"),
    (torch.zeros(2, 3, 8, 8), 4, r"images: expected one H x W image or an N x 1 x H x W batch, got shape \(2, 3"),
    (np.zeros((8, 8)), 4, "images: expected a float tensor of images, got ndarray"),
])
def test_downsample_explains_bad_input(images, factor, message):
    with pytest.raises(ValueError, match=message):
        superres.downsample(images, factor)


def _keys_cubic(t, a=-0.75):
    """Keys' (1981) cubic convolution kernel; a = -0.75 is PyTorch's (and OpenCV's) choice."""
    t = np.abs(t)
    near = (a + 2) * t**3 - (a + 3) * t**2 + 1
    far = a * t**3 - 5 * a * t**2 + 8 * a * t - 4 * a
    return np.where(t <= 1, near, np.where(t < 2, far, 0.0))


def test_bicubic_is_keys_cubic_convolution_away_from_the_border():
    # Rows are constant, so only the horizontal pass matters (the kernel's weights sum to 1).
    # With align_corners=False, HR pixel X sits at LR coordinate u = (X + 0.5) / 4 - 0.5.
    row = np.random.default_rng(0).uniform(0.3, 0.7, 16)  # no overshoot outside [0, 1] to clip
    hr = superres.bicubic(torch.tensor(row, dtype=torch.float32).repeat(5, 1), 4)
    assert hr.shape == (20, 64)
    u = (np.arange(64) + 0.5) / 4 - 0.5
    expected = np.array([sum(_keys_cubic(x - k) * row[k] for k in range(16)) for x in u])
    inner = slice(8, 56)  # two LR pixels from each border, where no neighbour is clamped
    np.testing.assert_allclose(hr[:, inner].numpy(), np.tile(expected[inner], (20, 1)), rtol=0, atol=1e-6)


def test_bicubic_keeps_a_constant_and_clips():
    assert torch.equal(superres.bicubic(torch.full((1, 1, 3, 5), 0.25), 4), torch.full((1, 1, 12, 20), 0.25))
    spike = torch.zeros(5, 5)
    spike[2, 2] = 1.0
    up = superres.bicubic(spike, 4)
    assert up.min() == 0 and up.max() <= 1  # bicubic's negative lobes are clipped away


@pytest.mark.parametrize("upsampler", ["resize", "subpixel"])
def test_untrained_generator_is_bicubic_and_has_the_expected_size(upsampler):
    torch.manual_seed(0)
    c, b, h = 16, 3, 8
    G = superres.SRGenerator(factor=4, channels=c, blocks=b, upsampler=upsampler, hr_channels=h)
    lr = torch.rand(2, 1, 6, 7)
    out = G(lr)
    assert out.shape == (2, 1, 24, 28)
    expected = torch.nn.functional.interpolate(lr, scale_factor=4, mode="bicubic", align_corners=False)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-6)
    # head 1->c (3x3), b blocks of two c->c (3x3) convolutions, each with biases; then either
    # a tail c->16 (sub-pixel), or a tail c->h and two HR convolutions h->h and h->1 (resize)
    body = (9 * c + c) + b * 2 * (9 * c * c + c)
    tail = (9 * c * 16 + 16) if upsampler == "subpixel" else (9 * c * h + h) + (9 * h * h + h) + (9 * h + 1)
    assert sum(p.numel() for p in G.parameters()) == body + tail


def _trained_looking(upsampler):
    """A generator whose every weight is random (as if trained), to see what its structure can write."""
    torch.manual_seed(1)
    G = superres.SRGenerator(upsampler=upsampler)
    with torch.no_grad():
        for p in G.parameters():
            p.normal_(0, 0.3)
    return G


def test_only_the_subpixel_generator_writes_a_pattern_that_repeats_every_block():
    # On a constant LR image every LR feature is the same (away from the border), so the sub-pixel
    # layer writes one factor x factor block again and again; the resize generator writes a
    # constant, since its HR convolutions see the same (bilinearly enlarged) constant features.
    lr = torch.full((1, 1, 40, 40), 0.5)
    inner = (slice(None), slice(None), slice(48, 112), slice(48, 112))  # 12 LR pixels from the border:
    sub = superres.super_resolve(_trained_looking("subpixel"), lr)[inner][0, 0]  # beyond the zero padding's reach
    blocks = sub.reshape(16, 4, 16, 4).permute(0, 2, 1, 3)
    assert torch.allclose(blocks, blocks[:1, :1].expand_as(blocks), atol=1e-6) and blocks[0, 0].std() > 0.01
    resized = superres.super_resolve(_trained_looking("resize"), lr)[inner][0, 0]
    assert resized.std() < 1e-6


def test_models_explain_bad_input():
    with pytest.raises(ValueError, match="upsampler='deconv': choose 'resize'"):
        superres.SRGenerator(upsampler="deconv")
    with pytest.raises(ValueError, match=r"lr: expected low-resolution images of shape \(N, 1, h, w\), got \(6, 7\)"):
        superres.SRGenerator()(torch.zeros(6, 7))
    with pytest.raises(ValueError, match="channels=0: expected a positive integer"):
        superres.SRGenerator(channels=0)
    with pytest.raises(ValueError, match=r"x: expected images of shape \(N, 1, H, W\), got \(2, 3, 32, 32\)"):
        superres.PatchDiscriminator()(torch.zeros(2, 3, 32, 32))


def test_patch_discriminator_gives_one_logit_per_local_patch():
    torch.manual_seed(0)
    D = superres.PatchDiscriminator()
    assert D(torch.zeros(3, 1, 32, 48)).shape == (3, 4, 6)
    # Receptive field of logit (0, 0), by hand: the 3x3 output convolution reaches layer-3 position 1;
    # each 4x4 stride-2 convolution with padding 1 maps position p to inputs up to 2p + 2:
    # 1 -> 4 -> 10 -> 22. So input pixels beyond index 22 cannot affect it.
    x = torch.rand(1, 1, 64, 64, requires_grad=True)
    D(x)[0, 0, 0].backward()
    reach = x.grad[0, 0].abs() > 0
    assert reach[:23, :23].any() and not reach[23:].any() and not reach[:, 23:].any()


def test_a_high_pass_discriminator_sees_only_fine_detail():
    torch.manual_seed(0)
    D = superres.PatchDiscriminator(high_pass=1.5)
    flat = torch.full((1, 1, 32, 32), 0.3)
    ramp = torch.linspace(0, 1, 32).repeat(1, 1, 32, 1)  # a linear ramp: a symmetric blur keeps it
    torch.testing.assert_close(D.fine_detail(flat), torch.zeros_like(flat), rtol=0, atol=1e-6)
    inner = (..., slice(8, 24), slice(8, 24))  # away from the mirrored border
    torch.testing.assert_close(D.fine_detail(ramp)[inner], torch.zeros(1, 1, 16, 16), rtol=0, atol=1e-5)
    torch.testing.assert_close(D(flat), D(flat + 0.5))  # brightness is invisible to it
    # The blur is a normalised Gaussian: by hand, its weights at 0 and 1 pixel are in the ratio e^(1/(2 σ²)).
    assert D.blur.sum().item() == pytest.approx(1.0) and len(D.blur) == 2 * 5 + 1
    assert (D.blur[5] / D.blur[6]).item() == pytest.approx(math.exp(1 / (2 * 1.5**2)), rel=1e-5)
    checker = ((torch.arange(32)[:, None] + torch.arange(32)) % 2).float().view(1, 1, 32, 32)
    assert D.fine_detail(checker)[inner].abs().mean() > 0.45  # the finest detail passes almost whole
    plain = superres.PatchDiscriminator()
    assert plain.high_pass is None and not hasattr(plain, "blur")
    with pytest.raises(ValueError, match="high_pass=0: expected None"):
        superres.PatchDiscriminator(high_pass=0)
    with pytest.raises(ValueError, match=r"too small for high_pass=1.5"):
        D(torch.zeros(1, 1, 4, 4))


def test_l1_plus_adversarial_loss_by_hand():
    hr = torch.zeros(2, 1, 4, 4)
    sr = hr + 0.1
    loss = superres.l1_plus_adversarial_loss(sr, hr, torch.zeros(2, 3, 3), adversarial_weight=0.5)
    assert loss.item() == pytest.approx(0.1 + 0.5 * math.log(2), abs=1e-6)  # softplus(0) = ln 2
    confident = superres.l1_plus_adversarial_loss(sr, hr, torch.full((2,), 50.0), adversarial_weight=1.0)
    assert confident.item() == pytest.approx(0.1, abs=1e-6)  # D fooled: only the pixel loss remains
    with pytest.raises(ValueError, match=r"sr and hr: expected the same shape, got \(2, 1, 4, 4\) and \(2, 1, 8, 8\)"):
        superres.l1_plus_adversarial_loss(sr, torch.zeros(2, 1, 8, 8), torch.zeros(2))


def test_psnr_and_gradient_energy_closed_forms():
    target = torch.rand(16, 16, generator=torch.Generator().manual_seed(0))
    assert superres.psnr(target + 0.1, target) == pytest.approx(20.0, abs=1e-6)  # 10 log10(1 / 0.01)
    assert superres.psnr(target + 2.0, target, data_range=4.0) == pytest.approx(10 * math.log10(4.0), abs=1e-6)
    with pytest.raises(ValueError, match=r"estimate and target: expected the same shape, got \(4, 4\) and \(16, 16\)"):
        superres.psnr(target[:4, :4], target)
    assert superres.gradient_energy_ratio(0.5 * target, target) == pytest.approx(0.25, rel=1e-9)
    assert superres.gradient_energy_ratio(target + 0.3, target) == pytest.approx(1.0, rel=1e-6)  # float32 sums
    checkerboard = (torch.arange(4)[:, None] + torch.arange(4)) % 2 * 1.0  # every difference is ±1
    ramp = torch.arange(4.0).repeat(4, 1)  # horizontal differences 1, vertical 0
    assert superres.gradient_energy_ratio(ramp, checkerboard) == pytest.approx(0.5, rel=1e-9)
    with pytest.raises(ValueError, match=r"estimate and target: expected the same shape"):
        superres.gradient_energy_ratio(target, target[:8])


def test_evaluate_shaves_the_border_and_scores_a_perfect_estimate():
    target = torch.rand(32, 32, generator=torch.Generator().manual_seed(1))
    estimate = target.clone()
    estimate[:4] = 1 - estimate[:4]  # errors only in the 4-pixel border
    scores = superres.evaluate(estimate, target, shave=4)
    assert scores["PSNR"] == math.inf and scores["SSIM"] == pytest.approx(1.0) and scores["gradient energy"] == 1.0
    itself = superres.evaluate(target, target)
    assert itself["patch SWD"] == superres.patch_swd(target, target) and itself["grid share"] == superres.grid_share(
        target)
    assert superres.evaluate(estimate, target, shave=0)["PSNR"] < 20
    with pytest.raises(ValueError, match="shave=16"):
        superres.evaluate(target, target, shave=16)
    with pytest.raises(ValueError, match=r"two H x W images of the same shape, got \(1, 32, 32\)"):
        superres.evaluate(target[None], target[None])


def test_random_patches_are_crops_of_the_photos():
    photo = torch.arange(40.0 * 50).reshape(40, 50)  # each pixel's value encodes its position
    patches = superres.random_patches([photo], 20, 8, generator=torch.Generator().manual_seed(0))
    assert patches.shape == (20, 1, 8, 8)
    for patch in patches[:, 0]:
        row = patch[0] if patch[0, 1] > patch[0, 0] else patch[0].flip(0)  # undo a left-right flip
        assert torch.equal(row - row[0], torch.arange(8.0))  # consecutive columns
        assert torch.equal(patch[:, 0] - patch[0, 0], 50 * torch.arange(8.0))  # consecutive rows
    again = superres.random_patches([photo], 20, 8, generator=torch.Generator().manual_seed(0))
    assert torch.equal(patches, again)
    with pytest.raises(ValueError, match=r"size=64: larger than a photo of shape \(40, 50\)"):
        superres.random_patches([photo], 4, 64)


def test_interpolated_generators_blend_the_weights():
    torch.manual_seed(0)
    a, b = superres.SRGenerator(channels=4, blocks=1), superres.SRGenerator(channels=4, blocks=1)
    for p in b.parameters():
        torch.nn.init.normal_(p)
    mid = superres.interpolate_generators(a, b, 0.25)
    for pa, pb, pm in zip(a.parameters(), b.parameters(), mid.parameters(), strict=True):
        torch.testing.assert_close(pm, 0.75 * pa + 0.25 * pb)
    lr = torch.rand(1, 1, 5, 5)
    torch.testing.assert_close(superres.interpolate_generators(a, b, 1.0)(lr), b(lr))
    with pytest.raises(ValueError, match=r"alpha=1.5: expected a number in \[0, 1\]"):
        superres.interpolate_generators(a, b, 1.5)
    with pytest.raises(ValueError, match="same architecture"):
        superres.interpolate_generators(a, superres.SRGenerator(channels=8, blocks=1), 0.5)


def test_training_records_history_and_leaves_the_patches_alone():
    torch.manual_seed(0)
    patches = torch.rand(16, 1, 16, 16)
    before = patches.clone()
    G, D = superres.SRGenerator(channels=4, blocks=1), superres.PatchDiscriminator(channels=4)
    history = superres.train_superres(G, patches, 3, batch_size=4, progress=False)
    assert list(history) == ["l1"] and len(history["l1"]) == 3
    history = superres.train_superres(G, patches, 2, discriminator=D, batch_size=4, progress=False)
    assert set(history) == {"l1", "adversarial", "d_loss", "d_real", "d_fake"}
    assert all(len(v) == 2 for v in history.values()) and all(v > 0 for v in history["adversarial"])
    assert all(0 < p < 1 for p in history["d_real"] + history["d_fake"])
    assert torch.equal(patches, before) and not G.training


def test_training_validates_on_a_held_out_image_and_sums_up_in_one_line(capsys):
    torch.manual_seed(0)
    patches = torch.rand(16, 1, 16, 16)
    photo = torch.rand(24, 32)
    G = superres.SRGenerator(channels=4, blocks=1)
    history = superres.train_superres(G, patches, 5, batch_size=4, validation=(superres.downsample(photo), photo),
                                      validate_every=2)
    assert history["val_step"] == [0, 2, 4, 5]
    assert history["val_psnr"][0] == pytest.approx(superres.psnr(superres.bicubic(superres.downsample(photo)), photo))
    assert history["val_psnr"][-1] == pytest.approx(superres.psnr(superres.super_resolve(G, superres.downsample(photo)),
                                                                  photo))
    line = capsys.readouterr().out.strip().splitlines()[-1]
    mean_l1 = sum(history["l1"]) / 5
    assert line.startswith("L1: 5 steps in ") and f"last 50 steps: L1 {mean_l1:.4f}" in line and "held-out PSNR" in line
    D = superres.PatchDiscriminator(channels=4)
    history = superres.train_superres(G, patches, 3, discriminator=D, batch_size=4)
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("L1 + 0.03 x adversarial: 3 steps in ") and "D(G(LR))" in line
    superres.train_superres(G, patches, 2, batch_size=4, progress=False)
    assert capsys.readouterr().out == ""
    with pytest.raises(ValueError, match=r"validation: expected \(an h x w LR image, its 4h x 4w HR truth\)"):
        superres.train_superres(G, patches, 2, validation=(photo, photo))


@pytest.mark.parametrize("kwargs, message", [
    ({"steps": 0}, "steps=0: expected a positive integer"),
    ({"steps": 2, "lr": -1.0}, "lr=-1.0: expected a non-negative number"),
    ({"steps": 2, "adversarial_weight": float("nan")}, "adversarial_weight=nan"),
    ({"steps": 2, "hr_patches": torch.zeros(16, 16)}, r"hr_patches: expected a batch of at least 2 patches"),
])
def test_training_explains_bad_arguments(kwargs, message):
    arguments = {"hr_patches": torch.rand(4, 1, 16, 16)} | kwargs
    with pytest.raises(ValueError, match=message):
        superres.train_superres(superres.SRGenerator(channels=4, blocks=1), **arguments)


def test_detail_layer_is_what_the_low_resolution_image_cannot_tell():
    photo = superres.load_photo("camera")[:64, :64]
    detail = superres.detail_layer(photo)
    torch.testing.assert_close(detail, photo - superres.bicubic(superres.downsample(photo)), rtol=0, atol=1e-6)
    assert superres.detail_layer(torch.full((16, 16), 0.3)).abs().max() < 1e-6  # a constant has no detail
    # A pattern that averages to 0 over every 4 x 4 block leaves the LR image unchanged: it is all detail.
    pattern = torch.randn(4, 4, generator=torch.Generator().manual_seed(0))
    pattern -= pattern.mean()
    assert torch.allclose(superres.detail_layer(0.5 + pattern.repeat(5, 5) * 0.1), pattern.repeat(5, 5) * 0.1,
                          atol=1e-6)


def _all_patches(image, size):
    return image.unfold(0, size, 1).unfold(1, size, 1).reshape(-1, size * size).double()


def test_sliced_wasserstein_against_scipy_and_closed_forms():
    from scipy.stats import wasserstein_distance

    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(300, 5, generator=gen).double(), 2 * torch.rand(300, 5, generator=gen).double()
    directions = torch.randn(5, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    directions /= directions.norm(dim=0, keepdim=True)  # the same seeded unit directions
    by_scipy = np.mean([wasserstein_distance((a.double() @ u).numpy(), (b.double() @ u).numpy())
                        for u in directions.T])
    assert superres.sliced_wasserstein(a, b, n_directions=64, seed=3) == pytest.approx(by_scipy, rel=1e-9)
    shift = torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0])  # a translated copy: each projection moves by |u . shift|
    expected = (shift.double() @ directions).abs().mean().item()
    assert superres.sliced_wasserstein(a, a + shift, n_directions=64, seed=3) == pytest.approx(expected, rel=1e-9)
    assert superres.sliced_wasserstein(a, 3 * a, n_directions=64, seed=3) == pytest.approx(
        2 * (a.double() @ directions).abs().mean().item(), rel=1e-9)  # scaling by 3: |3 - 1| E|u . a|
    assert superres.sliced_wasserstein(a, a[torch.randperm(300, generator=gen)]) == 0  # only the set counts
    with pytest.raises(ValueError, match=r"points_a and points_b: expected two N x d tensors .* \(300, 5\) and \(3"):
        superres.sliced_wasserstein(a, a[:3])


def test_patch_swd_compares_the_distributions_of_fine_detail():
    photo = superres.load_photo("gravel")[:128, :128]
    floor = superres.patch_swd(photo, photo)  # independent positions in the same image: sampling noise
    assert 0 < floor < 0.01
    assert superres.patch_swd(photo * 0.8 + 0.1, photo) > 2 * floor  # the detail shrunk by 0.8
    # Brightness is not detail: a brighter copy scores what the photo does against itself (float32 sums).
    dimmer = photo.clamp(0, 0.95)
    assert superres.patch_swd(dimmer + 0.05, dimmer) == pytest.approx(superres.patch_swd(dimmer, dimmer), rel=1e-5)
    # An image with no detail at all: every projection of it is 0, so the distance is E|u . p| over
    # the photo's detail patches p and random unit directions u (estimated here from all patches).
    flat = torch.full_like(photo, 0.4)
    patches = _all_patches(superres.detail_layer(photo)[4:-4, 4:-4], 7)
    u = torch.randn(49, 2000, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    expected = (patches @ (u / u.norm(dim=0))).abs().mean().item()
    assert superres.patch_swd(flat, photo) == pytest.approx(expected, rel=0.05)
    # Blur is far; the photo's own detail, at other positions, is near.
    assert superres.patch_swd(superres.bicubic(superres.downsample(photo)), photo) > 5 * floor
    with pytest.raises(ValueError, match=r"estimate and target: expected the same shape"):
        superres.patch_swd(photo[:64], photo)
    with pytest.raises(ValueError, match=r"estimate: expected one H x W float image, got shape \(1, 1, 128, 128\)"):
        superres.patch_swd(photo[None, None], photo)
    with pytest.raises(ValueError, match="shave=70: expected a non-negative integer that leaves room"):
        superres.patch_swd(photo, photo, shave=70)


def test_grid_share_is_the_energy_of_the_average_block():
    gen = torch.Generator().manual_seed(0)
    pattern = torch.randn(4, 4, generator=gen)
    pattern -= pattern.mean()  # zero block mean: all of it is detail, none of it reaches the LR image
    periodic = 0.5 + 0.05 * pattern.repeat(16, 16)
    assert superres.grid_share(periodic) == pytest.approx(1.0, abs=1e-9)  # all of the detail repeats
    assert superres.grid_share(torch.full((64, 64), 0.5)) == 0.0
    photo = superres.load_photo("gravel")[:256, :256]
    assert superres.grid_share(photo) < 0.005  # a photo's detail has no favourite place in the block
    # Independent computation: the average block, tiled, is the part of the detail at the frequencies
    # (k H/4, l W/4); by Parseval its mean square is the power there over (H W)^2.
    noisy = (photo + 0.05 * pattern.repeat(64, 64)).clamp(0, 1)
    detail = superres.detail_layer(noisy).double()[4:-4, 4:-4]
    power = np.abs(np.fft.fft2(detail.numpy())) ** 2
    height, width = detail.shape
    periodic_power = power[:: height // 4, :: width // 4].sum() / (height * width) ** 2
    share = periodic_power / (detail**2).mean().item()
    assert superres.grid_share(noisy) == pytest.approx(share, rel=1e-9)
    assert 0.1 < share < 0.9
    with pytest.raises(ValueError, match="shave=3: expected a non-negative multiple of factor=4"):
        superres.grid_share(photo, shave=3)
    with pytest.raises(ValueError, match="image: expected one H x W float image"):
        superres.grid_share(photo.long())


def test_matched_noise_reaches_the_gradient_energy_asked_for():
    photo = superres.load_photo("gravel")[:128, :128]
    blurred = superres.bicubic(superres.downsample(photo))
    noisy, sigma = superres.matched_noise(blurred, photo, 0.6, seed=1)
    assert superres.evaluate(noisy, photo)["gradient energy"] == pytest.approx(0.6, rel=1e-6)
    assert 0 < sigma < 0.1 and noisy.min() >= 0 and noisy.max() <= 1
    again, sigma_again = superres.matched_noise(blurred, photo, 0.6, seed=1)
    assert torch.equal(noisy, again) and sigma == sigma_again
    # i.i.d. noise of variance s^2 adds about 4 s^2 to the mean squared differences (2 s^2 per direction)
    base = superres.evaluate(blurred, photo)["gradient energy"]
    grad = photo[4:-4, 4:-4].double()
    energy = ((grad[:, 1:] - grad[:, :-1]) ** 2).mean() + ((grad[1:] - grad[:-1]) ** 2).mean()
    assert sigma == pytest.approx(math.sqrt((0.6 - base) * energy.item() / 4), rel=0.1)
    same, zero = superres.matched_noise(photo, photo, 0.5)  # already that sharp: nothing added
    assert torch.equal(same, photo) and zero == 0.0
    mesh = torch.randn(4, 4, generator=torch.Generator().manual_seed(2)).repeat(32, 32)
    meshed, _ = superres.matched_noise(blurred, photo, 0.6, noise=mesh)
    assert superres.evaluate(meshed, photo)["gradient energy"] == pytest.approx(0.6, rel=1e-6)
    assert superres.grid_share(meshed) > 0.5 > 0.05 > superres.grid_share(noisy)  # the mesh repeats; noise does not
    with pytest.raises(ValueError, match=r"noise: expected a non-zero pattern of the estimate's shape \(128, 128\)"):
        superres.matched_noise(blurred, photo, 0.6, noise=mesh[:4])
    with pytest.raises(ValueError, match="gradient_energy=0: expected a positive ratio"):
        superres.matched_noise(blurred, photo, 0)
    with pytest.raises(ValueError, match="gradient_energy=1000.0: more than noise of σ = 1"):
        superres.matched_noise(blurred, photo, 1000.0)


# The striped digits (notebook 06, section 1): a task whose posterior is known exactly.

def test_striped_digits_are_pinstripes_where_the_digit_has_ink():
    hr, lr = superres.striped_digits("test", seed=3)
    digits, _ = data.load_digits(split="test")
    assert hr.shape == (360, 1, 32, 32) and lr.shape == (360, 1, 8, 8)
    assert set(hr.unique().tolist()) == {0.0, 1.0}
    torch.testing.assert_close(lr, hr.reshape(360, 1, 8, 4, 8, 4).mean(dim=(3, 5)), rtol=0, atol=0)
    ink = ((digits + 1) * 8).round()  # the 0..16 counts of scikit-learn's digits
    assert torch.equal(lr == 0.5, ink >= 6) and torch.equal(lr == 0, ink < 6)
    blocks = hr.reshape(360, 8, 4, 8, 4).permute(0, 1, 3, 2, 4)  # N x 8 x 8 x 4 x 4
    striped = blocks[lr[:, 0] == 0.5]
    phase0 = (striped == superres.STRIPE_TILES[1]).flatten(1).all(1)
    phase1 = (striped == superres.STRIPE_TILES[2]).flatten(1).all(1)
    assert torch.all(phase0 ^ phase1)  # every striped block is exactly one of the two phases
    assert 0.45 < phase0.float().mean() < 0.55  # a fair coin over ~9,000 blocks (s.e. 0.005)
    again, _ = superres.striped_digits("test", seed=3)
    other, _ = superres.striped_digits("test", seed=4)
    assert torch.equal(hr, again) and not torch.equal(hr, other)
    with pytest.raises(ValueError, match="threshold=0: expected a whole ink count from 1 to 16"):
        superres.striped_digits(threshold=0)


def test_stripe_posterior_against_brute_force_enumeration():
    lr = torch.tensor([[0.5, 0.0], [0.5, 0.5]])  # three striped blocks: 2^3 = 8 HR images fit
    candidates = []
    for phases in itertools.product((1, 2), repeat=3):
        tiles = [superres.STRIPE_TILES[phases[0]], superres.STRIPE_TILES[0], superres.STRIPE_TILES[phases[1]],
                 superres.STRIPE_TILES[phases[2]]]
        image = torch.cat([torch.cat(tiles[:2], 1), torch.cat(tiles[2:], 1)], 0)
        assert torch.equal(superres.downsample(image), lr)  # each candidate gives the same LR image
        candidates.append(image)
    candidates = torch.stack(candidates)  # equally likely under the prior
    mean, variance = superres.stripe_posterior(lr)
    torch.testing.assert_close(mean[0, 0], candidates.mean(0), rtol=0, atol=1e-6)
    torch.testing.assert_close(variance[0, 0], candidates.var(0, unbiased=False), rtol=0, atol=1e-6)
    # Closed forms: 1/2 and 1/4 on striped pixels, 0 and 0 on black ones; MMSE = share of open pixels / 4.
    assert variance.mean().item() == pytest.approx(0.25 * 3 / 4)
    with pytest.raises(ValueError, match=r"lr: a pixel of 0.3 is not the mean of any tile of the prior"):
        superres.stripe_posterior(torch.tensor([[0.3, 0.5]]))


def test_posterior_samples_fit_the_input_and_err_twice_the_mmse():
    _, lr = superres.striped_digits("test", seed=0)
    mean, variance = superres.stripe_posterior(lr)
    a = superres.posterior_sample(lr, torch.Generator().manual_seed(1))
    b = superres.posterior_sample(lr, torch.Generator().manual_seed(2))
    assert torch.equal(superres.downsample(a), lr) and set(a.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(a[variance == 0], mean[variance == 0])  # black blocks stay black
    # Two independent draws differ by 2 x MMSE in expectation. A block's 16 pixels differ together (all or
    # none), so ~9,000 striped blocks give a standard error of about 2 x 0.5 / 95 = 0.01: 5 of them allowed.
    assert ((a - b) ** 2).mean().item() / variance.mean().item() == pytest.approx(2, abs=0.05)
    assert superres.stripe_phase_share(a, lr) == pytest.approx(0.5, abs=0.02)
    # ... and sit at different phases in half the striped blocks (the same ~9,000 blocks: 0.02 is 4 s.e.).
    assert superres.stripe_phase_difference(a, b, lr) == pytest.approx(0.5, abs=0.02)
    assert superres.stripe_phase_difference(a, a, lr) == 0  # a deterministic upsampler: no difference


def test_stripe_phase_share_and_local_contrast_closed_forms():
    lr = torch.tensor([[[[0.5, 0.5, 0.0]]]])
    image = torch.cat([superres.STRIPE_TILES[1], superres.STRIPE_TILES[2], superres.STRIPE_TILES[0]], 1)[None, None]
    assert superres.stripe_phase_share(image, lr) == 0.5  # one block of each phase; the black one is not read
    assert superres.stripe_phase_share(image.flip(-1), lr) == 0.5
    assert superres.stripe_phase_share(superres.STRIPE_TILES[1].repeat(1, 2)[None, None], lr[..., :2]) == 1.0
    with pytest.raises(ValueError, match="lr: no striped block"):
        superres.stripe_phase_share(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 1, 1))
    # Phase difference by hand: the same blocks flipped (stripes moved one column) differ in every block;
    # phase 0 beside phase 1 against phase 0 twice differ in one of the two striped blocks.
    flipped = torch.cat([superres.STRIPE_TILES[2], superres.STRIPE_TILES[1], superres.STRIPE_TILES[0]], 1)[None, None]
    assert superres.stripe_phase_difference(image, flipped, lr) == 1.0
    both_zero = torch.cat([superres.STRIPE_TILES[1], superres.STRIPE_TILES[1], superres.STRIPE_TILES[0]], 1)[None, None]
    assert superres.stripe_phase_difference(image, both_zero, lr) == 0.5
    with pytest.raises(ValueError, match=r"second and lr: expected \(N, 1, 4h, 4w\)"):
        superres.stripe_phase_difference(image, image[..., :8], lr)
    with pytest.raises(ValueError, match=r"images and lr: expected \(N, 1, 4h, 4w\) and \(N, 1, h, w\)"):
        superres.stripe_phase_share(torch.zeros(1, 1, 4, 8), torch.zeros(1, 1, 1, 1))
    # Local contrast: the mean |difference| of neighbours across and down, averaged.
    checkerboard = ((torch.arange(8)[:, None] + torch.arange(8)) % 2).float()
    assert superres.local_contrast(checkerboard) == pytest.approx(1.0)
    assert superres.local_contrast(superres.STRIPE_TILES[1].repeat(2, 2)) == pytest.approx(0.5)  # across 1, down 0
    assert superres.local_contrast(torch.full((8, 8), 0.3)) == 0
    ramp = torch.arange(5.0).expand(5, 5) / 4  # across: 1/4 each; down: 0
    assert superres.local_contrast(ramp) == pytest.approx(0.125)


def test_stochastic_upsampler_and_pair_discriminator_shapes_and_noise():
    G, D = superres.StochasticUpsampler(noise_channels=3, channels=8), superres.PairDiscriminator(channels=4)
    lr = torch.rand(5, 1, 8, 6)
    noise = G.noise(lr, torch.Generator().manual_seed(0))
    assert noise.shape == (5, 3, 8, 6) and set(noise.unique().tolist()) == {-1.0, 1.0}
    hr = G(lr, noise)
    assert hr.shape == (5, 1, 32, 24) and D(hr, lr).shape == (5, 8, 6)
    torch.testing.assert_close(G(lr), G(lr, torch.zeros(5, 3, 8, 6)))  # no noise = zero noise
    torch.testing.assert_close(superres.upsample_stochastic(G, lr), G(lr).clamp(0, 1).detach())
    torch.testing.assert_close(superres.upsample_stochastic(G, lr, seed=4), superres.upsample_stochastic(G, lr, seed=4))
    assert not torch.equal(superres.upsample_stochastic(G, lr, seed=4), superres.upsample_stochastic(G, lr, seed=5))
    with pytest.raises(ValueError, match=r"noise: expected shape \(5, 3, 8, 6\).*use generator.noise\(lr\)"):
        G(lr, torch.zeros(5, 1, 8, 6))
    with pytest.raises(ValueError, match=r"lr: expected low-resolution images of shape \(N, 1, h, w\)"):
        G(torch.rand(8, 6))
    with pytest.raises(ValueError, match=r"hr and lr: expected \(N, 1, 4h, 4w\) and \(N, 1, h, w\)"):
        D(hr, lr[:, :, :4])


def test_the_l2_network_learns_the_posterior_mean_and_the_gan_trains(capsys):
    torch.manual_seed(0)
    hr, lr = superres.striped_digits("test", seed=0)
    mean, variance = superres.stripe_posterior(lr)
    G = superres.StochasticUpsampler(channels=16)
    untrained = ((superres.upsample_stochastic(G, lr) - mean) ** 2).mean()
    history = superres.train_stochastic(G, hr, 100, lr=3e-3, seed=0, progress=False)
    assert list(history) == ["l2"] and len(history["l2"]) == 100 and not G.training
    # The minimiser of the squared error is the posterior mean: the network ends near it, far nearer than it began.
    learned = ((superres.upsample_stochastic(G, lr) - mean) ** 2).mean()
    assert learned < 0.1 * variance.mean() < untrained
    D = superres.PairDiscriminator(channels=4)
    history = superres.train_stochastic(superres.StochasticUpsampler(channels=8), hr, 3, discriminator=D,
                                        batch_size=4)
    assert set(history) == {"l2", "d_loss", "g_loss", "d_real", "d_fake"} and all(len(v) == 3 for v in history.values())
    assert all(0 < p < 1 for p in history["d_real"] + history["d_fake"])
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("conditional GAN: 3 steps in ") and "D(generated pair)" in line
    with pytest.raises(ValueError, match="consistency=-1: expected a non-negative number"):
        superres.train_stochastic(G, hr, 2, consistency=-1)
    with pytest.raises(ValueError, match=r"hr: expected at least 2 images whose sides are multiples of 4"):
        superres.train_stochastic(G, hr[:1], 2)


def test_stripe_statistics_of_the_exact_estimates():
    truth, lr = superres.striped_digits("test", seed=0)
    mean, variance = superres.stripe_posterior(lr)
    of_mean = superres.stripe_statistics(mean, truth, lr)
    assert of_mean["error / MMSE"] == pytest.approx(1, abs=1e-6)  # the posterior mean's error is the MMSE
    assert of_mean["open pixels at 0 or 1"] == 0 and of_mean["local contrast"] < 0.5 * superres.local_contrast(truth)
    of_truth = superres.stripe_statistics(truth, truth, lr)
    assert of_truth["error / MMSE"] == 0 and of_truth["open pixels at 0 or 1"] == 1
    same_seed = superres.posterior_sample(lr, torch.Generator().manual_seed(0))  # the truth's seed: other phases
    assert not torch.equal(same_seed, truth)
    of_sample = superres.stripe_statistics(same_seed, truth, lr)
    assert of_sample["error / MMSE"] == pytest.approx(2, abs=0.05) and of_sample["open pixels at 0 or 1"] == 1
    assert of_sample["local contrast"] == pytest.approx(of_truth["local contrast"], rel=0.05)
    assert of_mean["blocks drawn as stripes"] == 0 and of_truth["blocks drawn as stripes"] == 1
    assert of_sample["blocks drawn as stripes"] == 1
    # Random black and white pixels where the stripes should be: the pixel statistics of a sample, no stripes.
    coin = torch.rand(mean.shape, generator=torch.Generator().manual_seed(5)) < 0.5
    of_pixels = superres.stripe_statistics(torch.where(variance > 0, coin.float(), mean), truth, lr)
    assert of_pixels["error / MMSE"] == pytest.approx(2, abs=0.05) and of_pixels["open pixels at 0 or 1"] == 1
    assert of_pixels["local contrast"] == pytest.approx(of_truth["local contrast"], rel=0.1)
    assert of_pixels["blocks drawn as stripes"] < 0.01  # 2 of the 65,536 black-and-white blocks are stripes
    with pytest.raises(ValueError, match="estimate and truth: expected the same shape"):
        superres.stripe_statistics(mean[:2], truth, lr)
