"""Flow matching, checked against closed forms: a hand-computed loss, the exact velocity field of
a Gaussian (and its minimum loss), and Euler's method on ODEs integrated by hand."""

import math

import pytest
import torch

from ganlib import flows

M, S = torch.tensor([1.0, -2.0]), 0.5  # the data N(M, S^2 I) of the closed-form checks


def gaussian_velocity(x, t):
    """The exact marginal velocity E[x1 - x0 | x_t = x] for x1 ~ N(M, S^2 I), x0 ~ N(0, I).

    x_t and x1 - x0 are jointly Gaussian: x_t ~ N(t M, ((1-t)^2 + t^2 S^2) I) and their
    covariance is (t S^2 - (1 - t)) I, so u(x, t) = M + (t S^2 - (1-t)) / ((1-t)^2 + t^2 S^2) (x - t M).
    """
    t = torch.as_tensor(t, dtype=x.dtype).expand(len(x))[:, None]
    return M + (t * S**2 - (1 - t)) / ((1 - t) ** 2 + t**2 * S**2) * (x - t * M)


# Its loss is the conditional variance of x1 - x0 given x_t, S^2 / ((1-t)^2 + t^2 S^2) per
# dimension; averaged over t ~ U(0, 1) it is (pi / 2) S, so 2 dimensions give pi S.
MINIMUM = math.pi * S


def batch(n, seed):
    g = torch.Generator().manual_seed(seed)
    return M + S * torch.randn(n, 2, generator=g), torch.randn(n, 2, generator=g), torch.rand(n, generator=g)


def test_loss_equals_a_hand_computed_value():
    x1 = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    x0 = torch.tensor([[0.0, 1.0], [1.0, 1.0]])
    t = torch.tensor([0.5, 0.25])
    # x_t = [[0.5, 0.5], [0.75, 1.25]]; v = 2 x_t; targets x1 - x0 = [[1, -1], [-1, 1]];
    # squared errors 0 + 4 and 2.5^2 + 1.5^2 = 8.5; their mean is 6.25.
    loss = flows.flow_matching_loss(lambda x, t: 2 * x, x1, x0=x0, t=t)
    assert loss.item() == pytest.approx(6.25, abs=1e-6)


def test_the_exact_field_attains_the_closed_form_minimum_and_is_the_minimiser():
    x1, x0, t = batch(200_000, seed=0)
    exact = flows.flow_matching_loss(gaussian_velocity, x1, x0=x0, t=t).item()
    assert exact == pytest.approx(MINIMUM, rel=0.02)  # Monte Carlo error ~0.3%
    # Any other field pays the squared distance: shifting u by 0.3 costs 2 * 0.3^2 = 0.18 more.
    shifted = flows.flow_matching_loss(lambda x, t: gaussian_velocity(x, t) + 0.3, x1, x0=x0, t=t).item()
    assert shifted - exact == pytest.approx(0.18, abs=0.01)


def test_euler_sampler_matches_hand_integrated_odes():
    torch.manual_seed(0)
    x0 = torch.randn(5, 2)
    for k in (1, 3, 10):
        torch.manual_seed(0)
        # v = a x: each Euler step multiplies by (1 + a / k).
        assert torch.allclose(flows.sample(lambda x, t: -0.7 * x, 5, steps=k, dim=2), x0 * (1 - 0.7 / k) ** k)
        torch.manual_seed(0)
        # v = t: left endpoints t = j / k give sum_j (j / k) / k = (k - 1) / (2k), not the ODE's 1/2.
        got = flows.sample(lambda x, t: torch.full_like(x, t), 5, steps=k, dim=2)
        assert torch.allclose(got, x0 + (k - 1) / (2 * k))


def test_exact_field_carries_noise_to_the_gaussian():
    torch.manual_seed(1)
    x = flows.sample(gaussian_velocity, 20_000, steps=200, dim=2)
    assert torch.allclose(x.mean(0), M, atol=0.03)
    assert torch.allclose(x.std(0), torch.tensor([S, S]), rtol=0.05)


class Counting(flows.VelocityField):
    calls = 0

    def forward(self, x, t):
        self.calls += 1
        return super().forward(x, t)


@pytest.mark.parametrize("k", [1, 4, 16])
def test_sample_evaluates_the_network_exactly_steps_times(k):
    model = Counting(hidden=8)
    assert flows.sample(model, 7, steps=k).shape == (7, 2)
    assert model.calls == k


def test_one_step_is_one_evaluation_at_t_zero():
    model = flows.VelocityField(hidden=8)
    torch.manual_seed(3)
    x0 = torch.randn(4, 2)
    torch.manual_seed(3)
    with torch.no_grad():
        assert torch.allclose(flows.sample(model, 4, steps=1), x0 + model(x0, torch.zeros(4)))


def test_training_lowers_the_loss_to_near_the_known_minimum():
    torch.manual_seed(0)
    model = flows.VelocityField(hidden=64, depth=2)
    x1, x0, t = batch(20_000, seed=1)  # a fixed evaluation batch: the same noise before and after
    exact = flows.flow_matching_loss(gaussian_velocity, x1, x0=x0, t=t).item()
    with torch.no_grad():
        before = flows.flow_matching_loss(model, x1, x0=x0, t=t).item()
    history = flows.train_flow_matching(model, M + S * torch.randn(4096, 2), steps=400, lr=5e-3, progress=False)
    with torch.no_grad():
        after = flows.flow_matching_loss(model, x1, x0=x0, t=t).item()
    assert len(history) == 400 and all(math.isfinite(v) for v in history)
    assert before > exact + 2  # the untrained field is far from the minimum (about 7.5 against 1.57)
    # Trained: within 0.05 of the minimum (seen 0.002-0.008), and not below it beyond noise.
    assert exact - 0.02 < after < exact + 0.05


def test_velocity_field_reads_t_as_a_number_or_one_per_point():
    model = flows.VelocityField(hidden=8)
    x = torch.randn(3, 2)
    assert torch.allclose(model(x, 0.25), model(x, torch.full((3,), 0.25)))
    assert not torch.allclose(model(x, 0.25), model(x, 0.75))


@pytest.mark.parametrize("call, message", [
    (lambda m: flows.sample(m, 10, steps=0), "steps=0"),
    (lambda m: flows.sample(m, 0), "n=0"),
    (lambda m: flows.train_flow_matching(m, torch.randn(64, 2), steps=0), "steps=0"),
    (lambda m: flows.train_flow_matching(m, torch.randn(64, 2), steps=2, lr=-1.0), "lr=-1.0"),
    (lambda m: flows.train_flow_matching(m, torch.randn(64), steps=2), "N x dim"),
    (lambda m: flows.train_flow_matching(m, [torch.randn(4, 1, 8, 8)], steps=2), "N x dim"),
    (lambda m: flows.train_flow_matching(m, torch.randn(64, 3), steps=2, batch_size=8), "dim is 2"),
    (lambda m: flows.flow_matching_loss(m, torch.randn(4, 2), t=torch.rand(3)), "shape"),
    (lambda m: flows.VelocityField(hidden=0), "hidden=0"),
])
def test_errors_name_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call(flows.VelocityField(hidden=8))
