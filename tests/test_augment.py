"""Data augmentation (ganlib.augment): exact geometry, balanced subsets, and the pieces of notebook 05."""

import pytest
import torch

from ganlib import augment, data, models, training


def _digits(n=5, seed=0):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_whole_pixel_shifts_move_the_image_and_fill_with_background():
    x = _digits()
    moved = augment.affine(x, torch.zeros(5), torch.tensor([[1.0, 0.0]] * 5))  # one pixel right
    assert torch.allclose(moved[..., 1:], x[..., :-1], atol=1e-6)
    assert torch.allclose(moved[..., 0], torch.full_like(moved[..., 0], -1.0))  # the uncovered column
    down = augment.affine(x, torch.zeros(5), torch.tensor([[0.0, 2.0]] * 5))  # two pixels down
    assert torch.allclose(down[..., 2:, :], x[..., :-2, :], atol=1e-6)


def test_a_quarter_turn_is_rot90_and_no_change_is_the_identity():
    x = _digits()
    assert torch.allclose(augment.affine(x, torch.full((5,), 90.0), torch.zeros(5, 2)),
                          torch.rot90(x, 1, dims=(2, 3)), atol=1e-5)
    assert torch.allclose(augment.affine(x, torch.zeros(5), torch.zeros(5, 2)), x, atol=1e-6)


def test_half_a_pixel_is_the_average_of_neighbours():
    x = _digits(1)
    half = augment.affine(x, torch.zeros(1), torch.tensor([[0.5, 0.0]]))
    assert torch.allclose(half[..., 1:], (x[..., 1:] + x[..., :-1]) / 2, atol=1e-6)  # bilinear, by hand


def test_shift_and_rotate_stays_within_its_bounds_and_is_seeded():
    x = _digits(64)
    a = augment.shift_and_rotate(x, generator=torch.Generator().manual_seed(1))
    b = augment.shift_and_rotate(x, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.allclose(a, x)
    assert a.min() >= -1 - 1e-6 and a.max() <= 1 + 1e-6
    assert torch.allclose(augment.shift_and_rotate(x, max_shift=0, max_degrees=0), x, atol=1e-6)
    with pytest.raises(ValueError, match="max_shift=-1"):
        augment.shift_and_rotate(x, max_shift=-1)
    with pytest.raises(ValueError, match=r"expected shapes \(64,\) and \(64, 2\)"):
        augment.affine(x, torch.zeros(3), torch.zeros(64, 2))
    with pytest.raises(ValueError, match=r"images: expected a tensor of N x C x H x W images, got a list"):
        augment.shift_and_rotate([x])
    with pytest.raises(ValueError, match=r"images: expected a tensor of N x C x H x W images, got shape \(8, 8\)"):
        augment.affine(x[0, 0], torch.zeros(8), torch.zeros(8, 2))


def test_labelled_subset_takes_the_same_number_of_each_class():
    images, labels = data.load_digits(split="train")
    x, y = augment.labelled_subset(images, labels, per_class=10, seed=3)
    assert x.shape == (100, 1, 8, 8) and torch.bincount(y).tolist() == [10] * 10
    x2, y2 = augment.labelled_subset(images, labels, per_class=10, seed=3)
    x3, _ = augment.labelled_subset(images, labels, per_class=10, seed=4)
    assert torch.equal(x, x2) and torch.equal(y, y2) and not torch.equal(x, x3)
    for image, label in zip(x[:20], y[:20], strict=True):  # each image keeps its own label
        match = (images == image).flatten(1).all(dim=1)
        assert labels[match].eq(label).all()
    with pytest.raises(ValueError, match="per_class=500: class 0 has only"):
        augment.labelled_subset(images, labels, per_class=500)


def test_the_small_classifier_learns_the_digits():
    images, labels = data.load_digits(split="train")
    model = augment.train_classifier(images, labels, steps=300, seed=0)
    assert sum(p.numel() for p in model.parameters()) == 6_090  # 160 + 4,640 + 1,290, as the docstring says
    assert 0.85 < augment.held_out_accuracy(model) <= 1.0


def test_a_conditional_gan_gives_balanced_labelled_samples():
    images, labels = data.load_digits(split="train")
    gan = augment.train_conditional_gan(images[:200], labels[:200], steps=3, seed=0)
    assert gan.conditional and gan.step == 3
    x, y = augment.generate_labelled(gan, per_class=4)
    assert x.shape == (40, 1, 8, 8) and torch.bincount(y).tolist() == [4] * 10
    plain = training.GAN(models.DCGANGenerator(latent_dim=4, width=8), models.DCGANDiscriminator(width=8))
    with pytest.raises(ValueError, match="expected a class-conditional GAN"):
        augment.generate_labelled(plain, per_class=4)
    with pytest.raises(ValueError, match="expected a class-conditional GAN"):
        augment.generate_labelled(None, per_class=4)


def test_the_classifier_names_bad_images_or_labels():
    images, labels = data.load_digits(split="train")
    with pytest.raises(ValueError, match=r"labels: expected one digit per image, shape \(1437,\), got \(5,\)"):
        augment.train_classifier(images, labels[:5], steps=1)
    with pytest.raises(ValueError, match=r"images: expected 8x8 grey digits .* got \(1437, 1, 16, 16\)"):
        augment.train_classifier(torch.zeros(1437, 1, 16, 16), labels, steps=1)
