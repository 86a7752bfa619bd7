"""Latent paths (ganlib.latent), the memorisation check (metrics.nearest_neighbours, near_copies), LatentWalk."""

import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from scipy import stats

from ganlib import latent, metrics, models, widgets


@pytest.mark.parametrize("t", [0.0, 0.25, 0.5, 0.8, 1.0])
def test_slerp_on_a_quarter_circle_is_cos_sin(t):
    got = latent.slerp(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]), t)
    angle = math.pi / 2 * t  # hand-derived: the arc from e1 to e2
    assert got.tolist() == pytest.approx([math.cos(angle), math.sin(angle)], abs=1e-6)


def test_slerp_keeps_the_norm_where_lerp_cuts_inside():
    gen = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(2, 64, generator=gen)
    z1 = z1 / z1.norm() * z0.norm()  # equal norms: slerp's path stays on that sphere
    for t in np.linspace(0, 1, 11):
        assert latent.slerp(z0, z1, float(t)).norm().item() == pytest.approx(z0.norm().item(), rel=1e-5)
    e1, e2 = torch.eye(2)
    assert latent.lerp(e1, e2, 0.5).norm().item() == pytest.approx(math.sqrt(0.5), abs=1e-7)


def test_slerp_matches_the_formula_with_numpy_and_falls_back_for_parallel_ends():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=8), 3 * rng.normal(size=8)
    omega = np.arccos(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
    expected = (np.sin(0.3 * omega) * a + np.sin(0.7 * omega) * b) / np.sin(omega)  # t = 0.7
    got = latent.slerp(torch.tensor(a), torch.tensor(b), 0.7).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    z = torch.randn(5)
    assert torch.allclose(latent.slerp(z, 2 * z, 0.5), 1.5 * z)  # parallel: the straight line, no NaN


def test_interpolate_runs_from_end_to_end():
    z0, z1 = torch.randn(2, 6)
    for method in ("slerp", "lerp"):
        path = latent.interpolate(z0, z1, steps=5, method=method)
        assert path.shape == (5, 6)
        assert torch.allclose(path[0], z0, atol=1e-6) and torch.allclose(path[-1], z1, atol=1e-6)


@pytest.mark.parametrize("call, message", [
    (lambda: latent.slerp(torch.randn(2, 3), torch.randn(3), 0.5), "z0: expected one latent vector"),
    (lambda: latent.slerp(torch.randn(3), torch.randn(4), 0.5), "differ in size: 3 vs 4"),
    (lambda: latent.lerp(torch.randn(3), torch.randn(3), 1.5), "t=1.5"),
    (lambda: latent.interpolate(torch.randn(3), torch.randn(3), steps=1), "steps=1"),
    (lambda: latent.interpolate(torch.randn(3), torch.randn(3), method="spline"), "method='spline'"),
])
def test_bad_latent_paths_are_explained(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_nearest_neighbours_match_a_brute_force_loop():
    rng = np.random.default_rng(0)
    samples, reference = rng.normal(size=(6, 1, 4, 4)), rng.normal(size=(15, 1, 4, 4))
    reference[7] = samples[2]  # a copy: distance 0, index 7
    expected = [min(np.sqrt(((s - r) ** 2).sum()) for r in reference) for s in samples]
    distances, indices = metrics.nearest_neighbours(torch.tensor(samples), torch.tensor(reference))
    np.testing.assert_allclose(distances.numpy(), expected, rtol=1e-12)
    assert distances[2].item() == 0 and indices[2].item() == 7
    for i, s in enumerate(samples):
        assert np.sqrt(((s - reference[indices[i]]) ** 2).sum()) == pytest.approx(expected[i])


def test_nearest_neighbours_in_blocks_match_all_at_once(monkeypatch):
    rng = np.random.default_rng(1)
    samples, reference = torch.tensor(rng.normal(size=(10, 1, 3, 3))), torch.tensor(rng.normal(size=(11, 1, 3, 3)))
    reference[9] = reference[2] = samples[4]  # two copies in different blocks: the earlier one is reported
    expected = torch.cdist(samples.flatten(1), reference.flatten(1)).min(dim=1)
    monkeypatch.setattr(metrics, "NEIGHBOUR_BLOCK_BYTES", 8 * 9)  # blocks of 3 x 3 distances
    distances, indices = metrics.nearest_neighbours(samples, reference)
    torch.testing.assert_close(distances, expected.values, rtol=1e-12, atol=0)
    assert torch.equal(indices, expected.indices) and indices[4].item() == 2


def test_nearest_neighbours_explain_bad_input():
    with pytest.raises(ValueError, match=r"differ in shape per item: \(1, 4, 4\) vs \(1, 8, 8\)"):
        metrics.nearest_neighbours(torch.zeros(2, 1, 4, 4), torch.zeros(3, 1, 8, 8))
    with pytest.raises(ValueError, match="reference: expected a non-empty batch"):
        metrics.nearest_neighbours(torch.zeros(2, 1, 4, 4), torch.zeros(0, 1, 4, 4))


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_latent_walk_draws_the_path_and_follows_its_controls():
    torch.manual_seed(0)
    G = models.DCGANGenerator(latent_dim=8, image_size=8, width=8)
    walk = widgets.LatentWalk(G, latent_dim=8, steps=5)
    first = walk.image.value
    assert _png_size(first)[0] > 500
    walk.t.value = 1.0
    assert walk.image.value != first  # the framed point moved
    ends = walk.z0.clone()
    walk.new_button.click()
    assert not torch.equal(ends, walk.z0)
    walk.method.value = "lerp"
    assert "image/png" in walk._repr_mimebundle_()  # the static fallback, for nbval and rendered pages
    assert G.training  # drawing left the generator's mode as it was
    conditional = models.DCGANGenerator(latent_dim=8, image_size=8, width=8, n_classes=10)
    assert _png_size(widgets.LatentWalk(conditional, latent_dim=8, label=3).image.value)[0] > 500
    with pytest.raises(ValueError, match="latent_dim=0"):
        widgets.LatentWalk(G, latent_dim=0)
    with pytest.raises(ValueError, match=r"latent_dim=7: this generator takes 8 noise values"):
        widgets.LatentWalk(G, latent_dim=7)


def _binomial_tail(k, n, p):
    # P(X >= k) for X ~ Binomial(n, p), summed term by term in exact fractions (independent of scipy).
    q = Fraction(p).limit_denominator(10**6)
    return float(1 - sum(math.comb(n, i) * q**i * (1 - q) ** (n - i) for i in range(k)))


def test_near_copies_counts_against_the_held_out_quantile_with_a_hand_summed_binomial_tail():
    held_out = torch.arange(1, 201, dtype=torch.float64)  # 1..200: the 1 % quantile is 2.99 (linear)
    generated = torch.tensor([0.5, 1.0, 2.0, 2.5, 3.0, 50.0, 80.0] + [100.0] * 93)
    result = metrics.near_copies(generated, held_out)
    assert result.threshold == pytest.approx(np.quantile(np.arange(1, 201), 0.01), abs=1e-12)
    assert (result.count, result.n, result.share, result.expected) == (4, 100, 0.04, 0.01)  # 0.5, 1, 2, 2.5
    assert result.p_value == pytest.approx(_binomial_tail(4, 100, 0.01), rel=1e-9)  # about 0.018
    assert result.p_value == pytest.approx(stats.binom.sf(3, 100, 0.01), rel=1e-9)  # P(X >= 4) = sf(3)
    assert not result.detected  # above alpha = 0.001
    assert metrics.near_copies(generated, held_out, alpha=0.05).detected
    assert "4.0%" in str(result) and "p = 0.02" in str(result)


def test_near_copies_catches_a_copier_and_a_partial_copier_and_passes_new_data():
    # Evenly spread distances, so the held-out 1 % quantile is not itself noisy (with 360 random
    # held-out distances it is: the 3rd-4th smallest of them).
    held_out = 2 + torch.linspace(0, 1, 360, dtype=torch.float64)  # new data: distances 2 to 3
    honest = 2 + torch.linspace(0, 1, 1437, dtype=torch.float64)  # as far as new data: 1 % near-copies
    copier = 0.1 * torch.linspace(0, 1, 1437, dtype=torch.float64)  # copies: distance about 0
    partial = honest.clone()
    partial[:43] = copier[:43]  # 3 % copies: the median does not move, the near-copies do
    assert not metrics.near_copies(honest, held_out).detected
    assert metrics.near_copies(copier, held_out).share == 1 and metrics.near_copies(copier, held_out).detected
    result = metrics.near_copies(partial, held_out)
    assert result.detected and result.p_value == pytest.approx(_binomial_tail(result.count, 1437, 0.01), rel=1e-6)
    assert result.p_value == pytest.approx(stats.binom.sf(result.count - 1, 1437, 0.01), rel=1e-6)
    assert abs(partial.median() - honest.median()) < 0.01  # what a median-only check would see
    # Any sequence of real numbers will do: a list, a NumPy array.
    assert metrics.near_copies(copier.tolist(), held_out.numpy()).count == 1437


@pytest.mark.parametrize("call, message", [
    (lambda: metrics.near_copies(torch.zeros(3, 2), torch.ones(5)), "distances: expected a non-empty 1-D"),
    (lambda: metrics.near_copies(torch.zeros(3), torch.tensor([])), "held_out: expected a non-empty 1-D"),
    (lambda: metrics.near_copies(torch.tensor([-1.0]), torch.ones(5)), "finite distances >= 0"),
    (lambda: metrics.near_copies(torch.zeros(3), torch.ones(5), quantile=1), "quantile=1"),
    (lambda: metrics.near_copies(torch.zeros(3), torch.ones(5), alpha=0.0), "alpha=0.0"),
    (lambda: metrics.near_copies("far", torch.ones(5)), "distances: expected a 1-D tensor"),
])
def test_near_copies_explain_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
