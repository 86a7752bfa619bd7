"""The PacGAN protocol on hand-built sample sets, with scipy's entropy as the reference."""

import math

import pytest
import scipy.stats
import torch

from ganlib import data, metrics

RING = data.RING.means


def test_samples_on_every_mode_cover_all_with_zero_reverse_kl():
    samples = RING.repeat(10, 1)
    m = metrics.mode_coverage(samples, "ring")
    assert (m.modes_covered, m.n_modes, m.high_quality) == (8, 8, 1.0)
    assert m.reverse_kl == pytest.approx(0.0, abs=1e-12)
    assert m.counts.tolist() == [10] * 8


def test_all_samples_on_one_mode_give_log_k():
    m = metrics.mode_coverage(RING[:1].repeat(50, 1), "ring")
    assert m.modes_covered == 1 and m.high_quality == 1.0
    assert m.reverse_kl == pytest.approx(math.log(8), rel=1e-9)


def test_the_three_sigma_boundary_and_an_uneven_histogram():
    sigma = data.RING.std
    direction = torch.tensor([0.6, 0.8])  # a unit vector
    samples = torch.cat(
        [
            RING[0] + 2.9 * sigma * direction,  # inside 3 sigma: high quality
            RING[0],
            RING[0] + 1.0 * sigma * direction,
            RING[3] + 2.99 * sigma * direction,
            RING[5] + 3.01 * sigma * direction,  # outside: not high quality, mode 5 not covered
            torch.tensor([0.0, 0.0]),  # the centre: far from every mode
        ]
    ).reshape(-1, 2)
    m = metrics.mode_coverage(samples, "ring")
    assert m.counts.tolist() == [3, 0, 0, 1, 0, 0, 0, 0]
    assert m.modes_covered == 2
    assert m.high_quality == pytest.approx(4 / 6)
    expected = scipy.stats.entropy([3 / 4, 0, 0, 1 / 4, 0, 0, 0, 0], [1 / 8] * 8)  # KL(q || uniform over 8)
    assert m.reverse_kl == pytest.approx(expected, rel=1e-9)


def test_mass_counts_every_sample_by_its_nearest_mode_high_quality_or_not():
    # Samples off their mode (mode 5 at 3.01 and 40 sigma, one near the centre on mode 2's side)
    # count towards the mass of their nearest mode but not towards the high-quality histogram.
    sigma = data.RING.std
    direction = torch.tensor([0.6, 0.8])
    samples = torch.stack([
        RING[0] + 2.9 * sigma * direction, RING[0], RING[3] + 2.99 * sigma * direction,
        RING[5] + 3.01 * sigma * direction, RING[5] + 40 * sigma * direction, 0.01 * RING[2],
    ])
    m = metrics.mode_coverage(samples, "ring")
    assert m.counts.tolist() == [2, 0, 0, 1, 0, 0, 0, 0]
    assert m.mass.tolist() == pytest.approx([2 / 6, 0, 1 / 6, 1 / 6, 0, 2 / 6, 0, 0], abs=1e-12)
    assert float(m.mass.sum()) == pytest.approx(1.0, abs=1e-12)


def test_real_samples_score_the_protocols_ceiling():
    # Within 3 sigma of a 2-D isotropic Gaussian's mean: P(r < 3 sigma) = 1 - exp(-9/2) (a Rayleigh tail);
    # 20,000 samples put the estimate within 4 standard errors (0.3 points) of it.
    ceiling = 1 - math.exp(-4.5)
    for name in ("ring", "grid"):
        m = metrics.mode_coverage(data.sample_toy(name, 20_000, seed=3), name)
        assert m.high_quality == pytest.approx(ceiling, abs=4 * math.sqrt(ceiling * (1 - ceiling) / 20_000))
        assert m.mass.min() > 0.5 / m.n_modes and m.mass.max() < 1.5 / m.n_modes  # every mode has its share


def test_grid_protocol_with_random_histogram_matches_scipy():
    gen = torch.Generator().manual_seed(0)
    counts = torch.randint(0, 6, (25,), generator=gen)
    samples = torch.cat([data.GRID.means[k].repeat(int(c), 1) for k, c in enumerate(counts)])
    samples = samples + 0.03 * torch.randn(samples.shape, generator=gen).clamp(-2, 2)  # |offset| < 0.09 < 3 sigma
    m = metrics.mode_coverage(samples, "grid")
    assert m.counts.tolist() == counts.tolist()
    assert m.modes_covered == int((counts > 0).sum())
    assert m.reverse_kl == pytest.approx(scipy.stats.entropy(counts.numpy(), [1 / 25] * 25), rel=1e-9)


def test_no_high_quality_sample_reports_log_k_and_zero_modes():
    m = metrics.mode_coverage(torch.zeros(100, 2), "ring")
    assert (m.modes_covered, m.high_quality) == (0, 0.0)
    assert m.reverse_kl == pytest.approx(math.log(8))


def test_str_reads_like_the_papers_table():
    assert str(metrics.mode_coverage(RING, "ring")) == "8/8 modes covered, 100.0% high quality, reverse KL 0.000"


@pytest.mark.parametrize(
    "samples, match",
    [
        (torch.zeros(10, 3), r"N x 2 tensor, got shape \(10, 3\)"),
        (torch.zeros(0, 2), r"non-empty"),
        (torch.tensor([[0.0, float("nan")]]), r"NaN or inf"),
    ],
)
def test_bad_samples_are_explained(samples, match):
    with pytest.raises(ValueError, match=match):
        metrics.mode_coverage(samples, "ring")


@pytest.mark.parametrize("name", ["ring", "grid"])
def test_the_noise_floor_matches_its_closed_form(name):
    # A uniform point lands in one mode's 3-sigma disc with p = pi (3 sigma)^2 / area; with n points,
    # E[high quality] = K p and E[modes covered] = K (1 - (1 - p)^n) (each disc lies inside the square).
    mixture = {"ring": data.RING, "grid": data.GRID}[name]
    k, area = mixture.n_modes, (2 * metrics.NOISE_SQUARES[name]) ** 2
    p = math.pi * (3 * mixture.std) ** 2 / area
    draws = metrics.noise_floor(name, draws=200, seed=1)
    hq = torch.tensor([d.high_quality for d in draws], dtype=torch.float64)
    modes = torch.tensor([d.modes_covered for d in draws], dtype=torch.float64)
    assert abs(hq.mean() - k * p) < 4 * hq.std() / math.sqrt(200)
    assert abs(modes.mean() - k * (1 - (1 - p) ** 2500)) < 4 * modes.std() / math.sqrt(200)
    assert {d.modes_covered for d in draws} != {k}  # the floor is a spread, not a constant


def test_the_noise_floor_is_reproducible_and_explains_bad_input():
    a, b = metrics.noise_floor("ring", draws=3, seed=5), metrics.noise_floor("ring", draws=3, seed=5)
    assert [x.high_quality for x in a] == [x.high_quality for x in b]
    wider = metrics.noise_floor("ring", draws=20, half_width=2.4)  # four times the area, a quarter of the floor
    assert sum(x.high_quality for x in wider) / 20 < 0.5 * sum(x.high_quality for x in metrics.noise_floor(
        "ring", draws=20)) / 20
    with pytest.raises(ValueError, match="half_width=None: no default square"):
        metrics.noise_floor(data.GaussianMixture("three", data.RING.means[:3], 0.01))
    with pytest.raises(ValueError, match="half_width=-1"):
        metrics.noise_floor("grid", half_width=-1)
    with pytest.raises(ValueError, match="draws=0"):
        metrics.noise_floor("grid", draws=0)


def test_unknown_mixture_is_named():
    with pytest.raises(ValueError, match=r"mixture='moons'.*'ring' and 'grid'"):
        metrics.mode_coverage(RING, "moons")


# --- Bad arguments to the feature-set metrics: named, with what is expected ---------------------
FEATURES = torch.randn(20, 3, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("metric", [metrics.frechet_distance, metrics.precision_recall, metrics.density_coverage,
                                    metrics.kernel_inception_distance])
@pytest.mark.parametrize("which", ["real", "fake"])
@pytest.mark.parametrize("bad", [None, "features", [[1.0, "a"]]])
def test_features_that_are_not_numbers_are_named(metric, which, bad):
    args = {"real": FEATURES, "fake": FEATURES, which: bad}
    with pytest.raises(TypeError, match=rf"^{which}\W.*expected an N x D matrix of features") as error:
        metric(args["real"], args["fake"])
    assert "infer dtype" not in str(error.value).split("(")[0]


@pytest.mark.parametrize("metric", [metrics.precision_recall, metrics.density_coverage])
@pytest.mark.parametrize("k", [0, -1, 2.5, True, None])
def test_k_must_be_a_positive_integer(metric, k):
    with pytest.raises(ValueError, match=rf"^k={k!r}: expected a positive integer"):
        metric(FEATURES, FEATURES, k=k)
    with pytest.raises(ValueError, match=rf"^k={k!r}: expected a positive integer"):
        metrics.kth_neighbour_radius(FEATURES, k)


def test_k_given_as_a_numpy_integer_is_accepted():
    import numpy as np

    assert metrics.precision_recall(FEATURES, FEATURES, k=np.int64(3)) == metrics.precision_recall(FEATURES, FEATURES)
