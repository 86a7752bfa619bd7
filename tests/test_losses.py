"""Each loss against values derived by hand (or by torch's own BCE), two-sided."""

import math

import pytest
import torch
import torch.nn.functional as F

from ganlib import losses

LN3 = math.log(3)
# sigmoid(0) = 1/2, sigmoid(ln 3) = 3/4, sigmoid(-ln 3) = 1/4.
REAL = torch.tensor([0.0, LN3])
FAKE = torch.tensor([0.0, -LN3])


def close(value, expected):
    return math.isclose(float(value), expected, rel_tol=1e-6, abs_tol=1e-7)


def test_minimax_discriminator_loss_by_hand():
    # -mean(log 1/2, log 3/4) - mean(log(1 - 1/2), log(1 - 1/4)) = ln 2 + ln(4/3) = ln(8/3)
    assert close(losses.LOSSES["minimax"].discriminator(REAL, FAKE), math.log(8 / 3))


def test_minimax_discriminator_loss_is_binary_cross_entropy():
    r, f = torch.randn(64), torch.randn(64) * 3
    bce = F.binary_cross_entropy_with_logits(r, torch.ones(64)) + F.binary_cross_entropy_with_logits(f, torch.zeros(64))
    torch.testing.assert_close(losses.LOSSES["minimax"].discriminator(r, f), bce, rtol=1e-6, atol=1e-6)


def test_minimax_generator_loss_by_hand():
    # mean(log(1 - 1/2), log(1 - 1/4)) = (ln(1/2) + ln(3/4)) / 2
    assert close(losses.LOSSES["minimax"].generator(FAKE), 0.5 * math.log(3 / 8))


def test_non_saturating_generator_loss_by_hand():
    # -mean(log 1/2, log 1/4) = (ln 2 + ln 4) / 2 = 1.5 ln 2
    assert close(losses.LOSSES["non_saturating"].generator(FAKE), 1.5 * math.log(2))
    assert losses.LOSSES["non_saturating"].discriminator is losses.LOSSES["minimax"].discriminator


def test_least_squares_by_hand():
    r, f = torch.tensor([0.0, 2.0]), torch.tensor([1.0, -1.0])
    ls = losses.LOSSES["least_squares"]
    assert close(ls.discriminator(r, f), 0.5 * 1 + 0.5 * 1)  # mean((r-1)^2) = 1, mean(f^2) = 1
    assert close(ls.generator(f), 0.5 * 2)  # mean((f-1)^2) = (0 + 4) / 2


def test_wasserstein_and_hinge_by_hand():
    r, f = torch.tensor([0.0, 2.0]), torch.tensor([1.0, -1.0])
    assert close(losses.LOSSES["wasserstein"].discriminator(r, f), 0.0 - 1.0)
    assert close(losses.LOSSES["wasserstein"].generator(torch.tensor([1.0, 3.0])), -2.0)
    # relu(1 - r) = [1, 0], relu(1 + f) = [2, 0]: 0.5 + 1.0
    assert close(losses.LOSSES["hinge"].discriminator(r, f), 1.5)
    assert close(losses.LOSSES["hinge"].generator(torch.tensor([1.0, 3.0])), -2.0)


def _grad(fn, logits):
    logits = logits.clone().requires_grad_(True)
    fn(logits).backward()
    return logits.grad


def test_minimax_generator_saturates_where_non_saturating_does_not():
    rejected = torch.tensor([-8.0])  # D(G(z)) = sigmoid(-8), about 3e-4: D rejects the fake
    g_minimax = _grad(losses.LOSSES["minimax"].generator, rejected).item()
    g_ns = _grad(losses.LOSSES["non_saturating"].generator, rejected).item()
    # d/df -softplus(f) = -sigmoid(f);  d/df softplus(-f) = -(1 - sigmoid(f))
    assert math.isclose(g_minimax, -1 / (1 + math.exp(8)), rel_tol=1e-5)
    assert math.isclose(g_ns, -1 / (1 + math.exp(-8)), rel_tol=1e-5)
    assert abs(g_ns) > 1000 * abs(g_minimax)


@pytest.mark.parametrize("name", list(losses.LOSSES))
def test_losses_stay_finite_for_extreme_logits(name):
    loss = losses.get_loss(name)
    big = torch.tensor([-200.0, 200.0])
    assert torch.isfinite(loss.discriminator(big, big)) and torch.isfinite(loss.generator(big))


@pytest.mark.parametrize("name", list(losses.LOSSES))
def test_discriminator_losses_reward_scoring_real_samples_higher(name):
    d, zero = losses.get_loss(name).discriminator, torch.tensor([0.0])
    assert d(torch.tensor([1.0]), zero) < d(zero, zero)


def test_get_loss_returns_the_pair_and_passes_a_pair_through():
    assert losses.get_loss("hinge").name == "hinge"
    pair = losses.LOSSES["wasserstein"]
    assert losses.get_loss(pair) is pair


@pytest.mark.parametrize("bad", ["wgan", "BCE", "", None, ["hinge"]])
def test_unknown_loss_lists_the_valid_names(bad):
    with pytest.raises(ValueError) as info:
        losses.get_loss(bad)
    message = str(info.value)
    assert message.startswith(f"loss={bad!r}")
    for name in ("minimax", "non_saturating", "least_squares", "wasserstein", "hinge"):
        assert repr(name) in message


def test_value_function_by_hand_and_as_the_negated_discriminator_loss():
    # log 1/2 + log 3/4 averaged, plus log(1 - 1/2) + log(1 - 1/4) averaged = ln(3/8)
    assert close(losses.value_function(REAL, FAKE), math.log(3 / 8))
    r, f = torch.randn(50), torch.randn(50)
    torch.testing.assert_close(losses.value_function(r, f), -losses.LOSSES["minimax"].discriminator(r, f))
    # At D = 1/2 everywhere (logits 0), V = log(1/2) + log(1/2) = -log 4.
    assert close(losses.value_function(torch.zeros(7), torch.zeros(3)), -math.log(4))
