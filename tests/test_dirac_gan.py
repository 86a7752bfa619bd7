"""ganlib.dirac_gan: its closed-form field equals autograd through ganlib's own losses and penalties,
and its trajectories do what Mescheder et al. (2018) prove: rotation without a penalty, convergence with R1."""

import numpy as np
import pytest
import torch
from torch import nn

from ganlib import dirac_gan, losses, regularizers


class Linear1D(nn.Module):
    """D_psi(x) = psi * x, on N x 1 inputs."""

    def __init__(self, psi: float):
        super().__init__()
        self.psi = nn.Parameter(torch.tensor(float(psi), dtype=torch.float64))

    def forward(self, x):
        return self.psi * x[:, 0]


def autograd_field(theta, psi, loss, regularizer, weight):
    """(theta', psi') from ganlib's losses and penalties on one real point at 0 and one fake at theta."""
    D = Linear1D(psi)
    real = torch.zeros(1, 1, dtype=torch.float64)
    fake = torch.tensor([[theta]], dtype=torch.float64, requires_grad=True)
    pair = losses.get_loss(loss)
    d_loss = pair.discriminator(D(real), D(fake.detach()))
    if regularizer == "r1":
        d_loss = d_loss + regularizers.r1_penalty(D, real, gamma=weight)
    elif regularizer == "gradient_penalty":
        d_loss = d_loss + regularizers.gradient_penalty(D, real, fake.detach(), weight=weight)
    (d_psi,) = torch.autograd.grad(d_loss, D.psi)
    (d_theta,) = torch.autograd.grad(pair.generator(D(fake)), fake)
    return -d_theta.item(), -d_psi.item()


@pytest.mark.parametrize("loss", dirac_gan.LOSSES)
@pytest.mark.parametrize("regularizer", dirac_gan.REGULARIZERS)
def test_the_field_is_the_gradient_of_ganlibs_losses(loss, regularizer):
    rng = np.random.default_rng(0)
    for theta, psi in rng.uniform(-3, 3, size=(20, 2)):
        expected = autograd_field(theta, psi, loss, regularizer, weight=0.7)
        got = dirac_gan.field(theta, psi, loss=loss, regularizer=regularizer, weight=0.7)
        np.testing.assert_allclose([float(g) for g in got], expected, rtol=1e-9, atol=1e-12)


def test_the_minimax_flow_keeps_its_radius():
    # theta * theta' + psi * psi' = 0 at every point: the continuous flow draws circles
    rng = np.random.default_rng(1)
    theta, psi = rng.uniform(-3, 3, size=(2, 100))
    t, p = dirac_gan.field(theta, psi)
    np.testing.assert_allclose(theta * t + psi * p, 0, atol=1e-12)
    t, p = dirac_gan.field(theta, psi, loss="non_saturating")
    assert np.all(theta * t + psi * p <= 1e-12)  # the non-saturating flow loses radius wherever psi*theta != 0


def test_near_the_equilibrium_the_standard_field_is_a_rotation():
    # sigma(0) = 1/2: (theta', psi') = (psi, -theta) / 2 to first order, the x.y game of notebook 01
    t, p = dirac_gan.field(np.array([1e-4, 0.0]), np.array([0.0, 1e-4]))
    np.testing.assert_allclose(t, [0.0, 0.5e-4], atol=1e-12)
    np.testing.assert_allclose(p, [-0.5e-4, 0.0], atol=1e-12)


def test_trajectories_rotate_without_a_penalty_and_converge_with_r1():
    radius = lambda path: np.hypot(path[:, 0], path[:, 1])  # noqa: E731
    simultaneous = dirac_gan.trajectory(1.0, 1.0, steps=2000, lr=0.1, alternating=False)
    alternating = dirac_gan.trajectory(1.0, 1.0, steps=2000, lr=0.1, alternating=True)
    r1 = dirac_gan.trajectory(1.0, 1.0, steps=2000, lr=0.1, regularizer="r1", weight=1.0)
    assert radius(simultaneous)[-1] > 1.0 * radius(simultaneous)[0]  # spirals outwards
    assert 0.3 < radius(alternating)[-1] < 3  # orbits: neither converges nor blows up
    assert radius(alternating).min() > 0.3
    assert radius(r1)[-1] < 1e-3  # R1 damps psi: converges to (0, 0)
    wgan_gp = dirac_gan.trajectory(1.0, 1.0, steps=2000, lr=0.1, loss="wasserstein", regularizer="gradient_penalty",
                                   weight=1.0)
    assert radius(wgan_gp)[-500:].min() > 0.1  # WGAN-GP keeps |psi| near 1: no local convergence


def test_one_alternating_step_by_hand():
    # D first: psi1 = psi + lr * psi'(theta, psi); then G against psi1
    lr, theta, psi = 0.5, 0.8, -0.3
    sig = lambda t: 1 / (1 + np.exp(-t))  # noqa: E731
    psi1 = psi + lr * (-sig(psi * theta) * theta)
    theta1 = theta + lr * sig(-psi1 * theta) * psi1
    step = dirac_gan.trajectory(theta, psi, steps=1, lr=lr, loss="non_saturating")[1]
    np.testing.assert_allclose(step, [theta1, psi1], rtol=1e-12)


@pytest.mark.parametrize("kwargs, match", [
    ({"loss": "hinge"}, "loss='hinge'"),
    ({"regularizer": "r2"}, "regularizer='r2'"),
    ({"weight": -1.0}, "weight=-1.0"),
    ({"steps": 0}, "steps=0"),
    ({"lr": 0.0}, "lr=0.0"),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dirac_gan.trajectory(**kwargs)
