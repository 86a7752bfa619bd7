"""ganlib.superres against hand-derived values, closed forms and numpy; and its errors for bad input."""

import math
import socket

import numpy as np
import pytest
import torch

from ganlib import superres


def test_every_photo_loads_offline(monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket, "socket", no_network)
    for name in superres.PHOTOS:
        photo = superres.load_photo(name)
        assert photo.dim() == 2 and photo.dtype == torch.float32 and min(photo.shape) >= 256
        assert 0 <= photo.min() and photo.max() <= 1 and photo.std() > 0.05
    assert superres.TEST_PHOTO not in superres.TRAIN_PHOTOS
    assert tuple(superres.load_photo("camera").shape) == (512, 512)


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


def test_untrained_generator_is_bicubic_and_has_the_expected_size():
    torch.manual_seed(0)
    c, b = 16, 3
    G = superres.SRGenerator(factor=4, channels=c, blocks=b)
    lr = torch.rand(2, 1, 6, 7)
    out = G(lr)
    assert out.shape == (2, 1, 24, 28)
    expected = torch.nn.functional.interpolate(lr, scale_factor=4, mode="bicubic", align_corners=False)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-6)
    # head 1->c (3x3), b blocks of two c->c (3x3) convolutions, tail c->16 (3x3), each with biases
    n_params = (9 * c + c) + b * 2 * (9 * c * c + c) + (9 * c * 16 + 16)
    assert sum(p.numel() for p in G.parameters()) == n_params


def test_models_explain_bad_input():
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
    assert set(history) == {"l1", "d_loss", "d_real", "d_fake"} and all(len(v) == 2 for v in history.values())
    assert all(0 < p < 1 for p in history["d_real"] + history["d_fake"])
    assert torch.equal(patches, before) and not G.training


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
