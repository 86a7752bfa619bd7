"""Wrong answers the checks of notebook 04 (image generation) must reject, each with its hint."""

import math

import pytest
import torch
from test_exercises import check_battery, generic_battery, run, short_time_limit  # noqa: F401 (autouse fixture)

from ganlib import exercises, latent, metrics


def slerp_right(z0, z1, t):
    omega = torch.arccos((z0 @ z1 / (z0.norm() * z1.norm())).clamp(-1, 1))
    if torch.sin(omega) < 1e-6:
        return (1 - t) * z0 + t * z1
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def _no_fallback(z0, z1, t):
    omega = torch.arccos((z0 @ z1 / (z0.norm() * z1.norm())).clamp(-1, 1))
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def _mutating(z0, z1, t):
    out = slerp_right(z0, z1, t)
    z0.mul_(2)
    return out


def test_slerp_battery(capsys):
    e = "should return"
    battery = {
        "lerp": (latent.lerp, "straight line (lerp)"),
        "ends swapped": (lambda z0, z1, t: slerp_right(z0, z1, 1 - t), "swap the weights"),
        "normalised inputs": (lambda z0, z1, t: slerp_right(z0 / z0.norm(), z1 / z1.norm(), t), "keep their lengths"),
        "normalised output": (lambda z0, z1, t: slerp_right(z0, z1, t) / slerp_right(z0, z1, t).norm(), e),
        "no parallel fallback": (_no_fallback, "fall back to the straight line"),
        "cos instead of sin": (lambda z0, z1, t: (math.cos((1 - t) * 1.0) * z0 + math.cos(t * 1.0) * z1), e),
        "forgets dividing by sin Ω": (lambda z0, z1, t: slerp_right(z0, z1, t) * 0.9, e),
        "angle from the raw dot product": (
            lambda z0, z1, t: _no_fallback(z0 / (z0 @ z1).abs().sqrt().clamp_min(1e-3), z1, t), e),
        "t squared": (lambda z0, z1, t: slerp_right(z0, z1, t**2), e),
        "only the hand case": (lambda z0, z1, t: torch.tensor([0.5**0.5, 0.5**0.5]), "should return"),
        "returns the two ends stacked": (lambda z0, z1, t: torch.stack([z0, z1]), "should return shape"),
        "adds a batch dimension": (lambda z0, z1, t: slerp_right(z0, z1, t)[None], "should return shape"),
        "returns the norm": (lambda z0, z1, t: slerp_right(z0, z1, t).norm(), "should return shape"),
        "rounds to integers": (lambda z0, z1, t: slerp_right(z0, z1, t).round(), e),
        **generic_battery(slerp_right, _mutating),
    }
    check_battery(exercises.check_slerp, battery, capsys)


def nn_right(samples, training):
    return torch.cdist(samples.flatten(1), training.flatten(1)).min(dim=1).values


def _pairwise(samples, training):
    return torch.cdist(samples.flatten(1), training.flatten(1))


def _mutating_nn(samples, training):
    out = nn_right(samples, training)
    training.zero_()
    return out


def _loop_flat_wrong_axis(samples, training):
    return torch.cdist(samples.flatten(2), training.flatten(2)).min(dim=-1).values.squeeze()


def test_nearest_neighbour_distances_battery(capsys):
    e = "should return"
    battery = {
        "squared distance": (lambda s, r: nn_right(s, r) ** 2, "take the square root"),
        "max instead of min": (lambda s, r: _pairwise(s, r).max(dim=1).values, "min, not max"),
        "indices": (lambda s, r: _pairwise(s, r).argmin(dim=1).float(), "not the indices"),
        "mean over pixels": (lambda s, r: nn_right(s, r) / s[0].numel() ** 0.5, "not their mean"),
        "L1 distance": (lambda s, r: torch.cdist(s.flatten(1), r.flatten(1), p=1).min(dim=1).values, "(L2)"),
        "mean over training images": (lambda s, r: _pairwise(s, r).mean(dim=1), "average nothing"),
        "second nearest": (lambda s, r: _pairwise(s, r).kthvalue(2, dim=1).values, "second-nearest"),
        "second nearest, on random cases only": (
            lambda s, r: _pairwise(s, r).kthvalue(2 if len(r) > 3 else 1, dim=1).values, "do not skip the closest"),
        "whole matrix": (_pairwise, "should return shape"),
        "one number": (lambda s, r: nn_right(s, r).mean(), "should return shape"),
        "keeps a dimension": (lambda s, r: nn_right(s, r)[:, None], "should return shape"),
        "per training image": (lambda s, r: _pairwise(s, r).min(dim=0).values, e),
        "only the hand case": (lambda s, r: torch.tensor([1.0, 2.0]), e),
        "distances per pixel row": (_loop_flat_wrong_axis, "RuntimeError"),
        "adds one": (lambda s, r: nn_right(s, r) + 1, e),
        **generic_battery(nn_right, _mutating_nn),
    }
    check_battery(exercises.check_nearest_neighbour_distances, battery, capsys)


def copying_right(generated, held_out):
    closer = (generated[:, None] < held_out[None, :]).double()
    return (closer + 0.5 * (generated[:, None] == held_out[None, :]).double()).mean()


def _copying_mutating(generated, held_out):
    out = copying_right(generated, held_out)
    held_out.add_(1)
    return out


def _elementwise(generated, held_out):
    k = min(len(generated), len(held_out))
    return (generated[:k] < held_out[:k]).double().mean()


def test_copying_statistic_battery(capsys):
    e = "should return"
    battery = {
        "held-out closer": (lambda g, h: copying_right(h, g), "held-out sample is the closer one"),
        "generated farther": (lambda g, h: (g[:, None] > h[None, :]).double().mean(), e),
        "a count, not a share": (lambda g, h: (copying_right(g, h) * len(g) * len(h)), "number of pairs"),
        "medians only": (lambda g, h: (g.median() < h.median()).double(), "not only the medians"),
        "ties ignored": (lambda g, h: (g[:, None] < h[None, :]).double().mean(), "counts 1/2"),
        "ties count 1": (lambda g, h: (g[:, None] <= h[None, :]).double().mean(), "not 1"),
        "pairs by position": (_elementwise, e),
        "means compared": (lambda g, h: torch.sigmoid(h.mean() - g.mean()), e),
        "only the hand case": (lambda g, h: torch.tensor(4 / 6, dtype=torch.float64), e),
        "per generated sample": (lambda g, h: (g[:, None] < h[None, :]).double().mean(dim=1), "single number"),
        "a boolean": (lambda g, h: bool(g.median() < h.median()), "returned a bool"),
        "one minus": (lambda g, h: 1 - copying_right(g, h), e),
        **generic_battery(copying_right, _copying_mutating),
    }
    check_battery(exercises.check_copying_statistic, battery, capsys)


def test_copying_statistic_agrees_with_scipy_and_the_notebooks_reading():
    from scipy.stats import mannwhitneyu

    gen = torch.Generator().manual_seed(3)
    generated, held_out = torch.randn(50, generator=gen).round(), torch.randn(70, generator=gen).round()  # many ties
    u = mannwhitneyu(held_out.numpy(), generated.numpy()).statistic
    assert copying_right(generated, held_out).item() == pytest.approx(u / (50 * 70), abs=1e-12)
    copies, new = torch.full((20,), 0.01), torch.rand(30, generator=gen) + 1
    assert copying_right(copies, new) == 1.0 and copying_right(new + 5, new) == 0.0  # copies and samples off the data


def test_the_right_answers_pass(capsys):
    for check, right in ((exercises.check_slerp, slerp_right),
                         (exercises.check_slerp, latent.slerp),
                         (exercises.check_nearest_neighbour_distances, nn_right),
                         (exercises.check_nearest_neighbour_distances,
                          lambda s, r: metrics.nearest_neighbours(s, r)[0]),
                         (exercises.check_copying_statistic, copying_right),
                         (exercises.check_copying_statistic, lambda g, h: float(copying_right(g, h)))):
        result = run(check, right, capsys)
        assert result.passed and result.message.startswith("✅ Correct"), result.message
