"""ganlib.regularizers against hand-derived values: linear and quadratic critics have known gradients."""

from functools import partial

import pytest
import torch
from torch import nn

from ganlib import data, models, regularizers, training


class Linear(nn.Module):
    """D(x) = w.x + b: its input gradient is w everywhere."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w, dtype=torch.float64))
        self.b = nn.Parameter(torch.tensor(0.3, dtype=torch.float64))

    def forward(self, x):
        return x.reshape(len(x), -1) @ self.w + self.b


class Quadratic(nn.Module):
    """D(x) = a/2 |x|^2: its input gradient is a x."""

    def __init__(self, a):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(a, dtype=torch.float64))

    def forward(self, x):
        return self.a / 2 * x.pow(2).sum(1)


def test_gradient_penalty_of_a_linear_critic_is_closed_form_and_trains_w():
    D = Linear([3.0, 4.0])  # |w| = 5
    real, fake = torch.randn(64, 2, dtype=torch.float64), torch.randn(64, 2, dtype=torch.float64)
    gp = regularizers.gradient_penalty(D, real, fake, weight=10.0)
    assert gp.item() == pytest.approx(10 * (5 - 1) ** 2, rel=1e-12)  # 160, wherever the points are
    gp.backward()
    # d/dw [lambda (|w| - 1)^2] = 2 lambda (|w| - 1) w / |w|
    expected = 2 * 10 * (5 - 1) * torch.tensor([3.0, 4.0], dtype=torch.float64) / 5
    torch.testing.assert_close(D.w.grad, expected, rtol=1e-12, atol=0)
    assert D.b.grad is None or D.b.grad.abs().item() == 0


def test_gradient_penalty_is_zero_for_a_unit_gradient_critic_and_handles_images():
    D = Linear([0.6, 0.8, 0.0, 0.0])  # |w| = 1
    real, fake = torch.randn(8, 1, 2, 2, dtype=torch.float64), torch.randn(8, 1, 2, 2, dtype=torch.float64)
    assert regularizers.gradient_penalty(D, real, fake).item() == pytest.approx(0.0, abs=1e-12)


def test_gradient_penalty_samples_between_real_and_fake():
    seen = []

    class Spy(nn.Module):
        def forward(self, x):
            seen.append(x.detach().clone())
            return x.sum(1)

    real, fake = torch.zeros(500, 2), torch.ones(500, 2)
    regularizers.gradient_penalty(Spy(), real, fake)
    points = seen[0]
    assert torch.all(points[:, 0] == points[:, 1])  # one epsilon per sample, not per coordinate
    assert 0 <= points.min() and points.max() <= 1
    assert 0.4 < points.mean().item() < 0.6  # eps ~ U[0, 1]: mean 1/2, s.e. 0.013


def test_r1_penalty_of_a_quadratic_critic_is_closed_form():
    D = Quadratic(2.0)
    real = torch.randn(100, 3, dtype=torch.float64)
    r1 = regularizers.r1_penalty(D, real, None, gamma=4.0)
    expected = 4.0 / 2 * (2.0**2) * real.pow(2).sum(1).mean()  # gamma/2 * a^2 * E|x|^2
    assert r1.item() == pytest.approx(expected.item(), rel=1e-12)
    r1.backward()  # d/da = gamma * a * E|x|^2
    assert D.a.grad.item() == pytest.approx(4.0 * 2.0 * real.pow(2).sum(1).mean().item(), rel=1e-12)


def test_penalties_pass_labels_to_a_conditional_discriminator():
    D = models.DCGANDiscriminator(image_size=8, width=8, n_classes=10, batch_norm=False)
    x, labels = torch.randn(6, 1, 8, 8), torch.arange(6)
    for penalty in (regularizers.gradient_penalty, regularizers.r1_penalty):
        value = penalty(D, x, torch.randn(6, 1, 8, 8), labels)
        assert value.dim() == 0 and torch.isfinite(value) and value.item() > 0


def test_clip_weights_clamps_only_what_is_outside():
    layer = nn.Linear(3, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.5, -0.002, 0.004], [-3.0, 0.0, 0.01]]))
        layer.bias.copy_(torch.tensor([-0.02, 0.003]))
    regularizers.clip_weights(layer, 0.01)
    torch.testing.assert_close(layer.weight.data, torch.tensor([[0.01, -0.002, 0.004], [-0.01, 0.0, 0.01]]))
    torch.testing.assert_close(layer.bias.data, torch.tensor([-0.01, 0.003]))


def test_spectral_norm_makes_every_layer_unit_norm():
    torch.manual_seed(0)
    D = regularizers.spectral_norm(models.MLPDiscriminator(hidden=32))
    x = torch.randn(16, 2)
    for _ in range(50):  # each forward pass in training mode is one power iteration
        D(x)
    linears = [m for m in D.modules() if isinstance(m, nn.Linear)]
    assert len(linears) == 4
    for layer in linears:
        sigma = torch.linalg.matrix_norm(layer.weight.detach(), ord=2).item()
        assert sigma == pytest.approx(1.0, abs=1e-3)
        assert hasattr(layer, "parametrizations")  # the library's parametrization, not a copy


def test_weight_clip_in_training_keeps_the_critic_in_the_box():
    training.seed_everything(0)
    G, D = models.MLPGenerator(latent_dim=2, hidden=16), models.MLPDiscriminator(hidden=16)
    gan = training.GAN(G, D, loss="wasserstein", lr_d=1e-2, n_critic=2, weight_clip=0.01, device="cpu")
    training.train(gan, data.toy_loader("ring", n=1024, batch_size=64), 5, progress=False)
    biggest = max(p.abs().max().item() for p in D.parameters())
    assert 0.009 < biggest <= 0.01  # clipped, and some weights do sit at the bound after lr 1e-2 steps


def test_gan_trains_with_a_penalty_partial():
    training.seed_everything(0)
    G, D = models.MLPGenerator(latent_dim=2, hidden=16), models.MLPDiscriminator(hidden=16)
    gan = training.GAN(G, D, loss="wasserstein", penalty=partial(regularizers.gradient_penalty, weight=10.0),
                       device="cpu")
    training.train(gan, data.toy_loader("ring", n=1024, batch_size=64), 3, progress=False)
    assert len(gan.history["d_loss"]) == 3


def test_lazy_penalty_applies_every_kth_call_scaled_by_k():
    D = Quadratic(2.0)
    real = torch.randn(10, 3, dtype=torch.float64)
    full = regularizers.r1_penalty(D, real, gamma=1.0).item()
    lazy = regularizers.lazy(partial(regularizers.r1_penalty, gamma=1.0), every=4)
    values = [lazy(D, real, real).item() for _ in range(9)]
    assert values == pytest.approx([4 * full, 0, 0, 0, 4 * full, 0, 0, 0, 4 * full], rel=1e-12)
    assert sum(values[:8]) / 8 == pytest.approx(full, rel=1e-12)  # the same push on average


@pytest.mark.parametrize("call, message", [
    (lambda: regularizers.clip_weights(nn.Linear(2, 2), 0), "c=0"),
    (lambda: regularizers.clip_weights(nn.Linear(2, 2), float("nan")), "c=nan"),
    (lambda: regularizers.gradient_penalty(Linear([1.0]), torch.ones(2, 1), torch.ones(2, 1), weight=-1), "weight=-1"),
    (lambda: regularizers.gradient_penalty(Linear([1.0]), torch.ones(2, 1), torch.ones(3, 1)), "same shape"),
    (lambda: regularizers.r1_penalty(Quadratic(1.0), torch.ones(2, 1), gamma="big"), "gamma='big'"),
    (lambda: regularizers.spectral_norm(nn.ReLU()), "no linear or convolutional layer"),
    (lambda: regularizers.lazy(regularizers.r1_penalty, every=0), "every=0"),
    (lambda: training.GAN(models.MLPGenerator(), models.MLPDiscriminator(), weight_clip=-0.01), "weight_clip=-0.01"),
])
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        call()
