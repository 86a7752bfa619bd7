"""Data augmentation (ganlib.augment): exact geometry, balanced subsets, and the pieces of notebook 05."""

import math

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


def test_the_conditional_gan_trains_in_batches_of_the_size_asked(monkeypatch):
    images, labels = data.load_digits(split="train")
    sizes, loader = [], data.tensor_loader

    def recording_loader(*tensors, batch_size, seed=0):
        sizes.append(batch_size)
        return loader(*tensors, batch_size=batch_size, seed=seed)

    monkeypatch.setattr(data, "tensor_loader", recording_loader)
    augment.train_conditional_gan(images[:100], labels[:100], steps=2, seed=0)
    augment.train_conditional_gan(images[:100], labels[:100], steps=2, seed=0, batch_size=32)
    assert sizes == [64, 32]  # the recipe's 64 by default
    with pytest.raises(ValueError, match="batch_size=0: expected a positive integer"):
        augment.train_conditional_gan(images[:100], labels[:100], steps=2, batch_size=0)


def test_the_classifier_names_bad_images_or_labels():
    images, labels = data.load_digits(split="train")
    with pytest.raises(ValueError, match=r"labels: expected one digit per image, shape \(1437,\), got \(5,\)"):
        augment.train_classifier(images, labels[:5], steps=1)
    with pytest.raises(ValueError, match=r"images: expected 8x8 grey digits .* got \(1437, 1, 16, 16\)"):
        augment.train_classifier(torch.zeros(1437, 1, 16, 16), labels, steps=1)


class _Recorder(torch.nn.Module):
    """A stand-in classifier that records every batch it is trained on."""

    def __init__(self, log):
        super().__init__()
        self.linear, self.log = torch.nn.Linear(64, 10), log

    def forward(self, x):
        if self.training:
            self.log.append(x.detach().clone())
        return self.linear(x.flatten(1))


@pytest.mark.parametrize("augment_too", [False, True])
def test_mixed_batches_add_synthetic_images_to_the_real_only_batches(monkeypatch, augment_too):
    images, labels = data.load_digits(split="train")
    real, real_labels = images[:100], labels[:100]
    fake, fake_labels = torch.full((50, 1, 8, 8), 0.5), torch.arange(50) % 10  # recognisable: every pixel 0.5
    runs = {}
    for p in (1.0, 0.5, 0.25):
        log = []
        monkeypatch.setattr(augment, "small_classifier", lambda log=log: _Recorder(log))
        augment.train_classifier(real, real_labels, steps=4, augment=augment_too, seed=3,
                                 synthetic=(fake, fake_labels), real_fraction=p)
        runs[p] = log
    assert [len(b) for b in runs[1.0]] == [64] * 4  # p = 1 adds nothing
    assert [len(b) for b in runs[0.5]] == [128] * 4 and [len(b) for b in runs[0.25]] == [256] * 4  # 64 (1 - p) / p
    for p in (0.5, 0.25):
        for alone, mixed in zip(runs[1.0], runs[p], strict=True):
            assert torch.equal(mixed[:64], alone)  # the real part is exactly the real-only batch
            if not augment_too:
                assert (mixed[64:] == 0.5).all()  # the rest comes from the synthetic pool
            else:
                assert not torch.equal(mixed[64:], torch.full_like(mixed[64:], 0.5))  # shifted and rotated too


def test_mixing_at_real_fraction_one_is_the_real_only_classifier():
    images, labels = data.load_digits(split="train")
    x, y = images[:100], labels[:100]
    alone = augment.train_classifier(x, y, steps=5, seed=1)
    mixed = augment.train_classifier(x, y, steps=5, seed=1, synthetic=(images[100:200], labels[100:200]),
                                     real_fraction=1.0)
    for a, b in zip(alone.parameters(), mixed.parameters(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("kwargs, message", [
    ({"real_fraction": 0.5}, r"real_fraction=0.5 without synthetic images: pass synthetic="),
    ({"real_fraction": 0.0, "synthetic": "pool"}, r"real_fraction=0.0: expected a number in \(0, 1\]"),
    ({"real_fraction": 1.5, "synthetic": "pool"}, r"real_fraction=1.5: expected a number in \(0, 1\]"),
    ({"real_fraction": True, "synthetic": "pool"}, r"real_fraction=True"),
    ({"real_fraction": 0.5, "synthetic": (torch.zeros(5, 1, 8, 8), torch.zeros(4, dtype=torch.long))},
     r"synthetic: expected \(images, labels\) shaped like the real ones"),
    ({"real_fraction": 0.5, "synthetic": torch.zeros(5, 1, 8, 8)}, r"synthetic: expected \(images, labels\)"),
])
def test_mixing_explains_bad_arguments(kwargs, message):
    images, labels = data.load_digits(split="train")
    with pytest.raises(ValueError, match=message):
        augment.train_classifier(images[:100], labels[:100], steps=1, **kwargs)


class _FixedJudge(torch.nn.Module):
    def __init__(self, logits):
        super().__init__()
        self.logits = logits

    def forward(self, x):
        return self.logits[: len(x)]


def test_label_fidelity_by_hand():
    # softmax of [ln 9, 0, ...] over 10 classes: 9 / 18 = 0.5 for class 0; [ln 90, 0, ...]: 90 / 99 = 0.909
    logits = torch.zeros(4, 10)
    logits[0, 0], logits[1, 0], logits[2, 3], logits[3, 3] = math.log(9), math.log(90), math.log(90), math.log(90)
    labels = torch.tensor([0, 0, 3, 5])  # read as 0 (p 0.5), 0 (p 0.91), 3 (p 0.91), and 3 for a 5: wrong
    judge = _FixedJudge(logits)
    scores = augment.label_fidelity(torch.zeros(4, 1, 8, 8), labels, judge=judge)
    assert scores == {"read as label": pytest.approx(0.75), "read confidently": pytest.approx(0.5)}
    assert augment.label_fidelity(torch.zeros(4, 1, 8, 8), labels, confidence=0.95, judge=judge)[
        "read confidently"] == 0
    assert augment.label_fidelity(torch.zeros(4, 1, 8, 8), labels, confidence=0.4, judge=judge)[
        "read confidently"] == pytest.approx(0.75)


def test_label_fidelity_of_real_digits_and_of_noise():
    images, labels = data.load_digits(split="test")
    real = augment.label_fidelity(images, labels)
    assert real["read as label"] > 0.97 and real["read confidently"] > 0.9
    noise = torch.rand(500, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    wrong = augment.label_fidelity(noise, torch.arange(500) % 10)
    assert wrong["read as label"] < 0.3 and wrong["read confidently"] < 0.1  # chance is 0.1
    shuffled = augment.label_fidelity(images, labels.roll(1))  # every label moved to the next image
    assert shuffled["read as label"] < 0.3


def test_label_fidelity_explains_bad_input():
    with pytest.raises(ValueError, match="images and labels: expected N x 1 x 8 x 8 images and N labels"):
        augment.label_fidelity(torch.zeros(4, 1, 8, 8), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="confidence=1.5: expected a probability"):
        augment.label_fidelity(torch.zeros(4, 1, 8, 8), torch.zeros(4, dtype=torch.long), confidence=1.5)
