"""The FID family against independent computations: scipy, closed forms, brute force."""

import math

import numpy as np
import pytest
import scipy.linalg
import torch

from ganlib import metrics

RNG = np.random.default_rng(0)


def random_set(n, d, shift=0.0, seed=0):
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(d, d))
    return rng.normal(size=(n, d)) @ mixing + shift


def scipy_frechet(a, b):
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(cov_a @ cov_b).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


@pytest.mark.parametrize("seed", range(5))
def test_frechet_distance_matches_scipy_sqrtm(seed):
    a, b = random_set(400, 8, seed=seed), random_set(300, 8, shift=0.5, seed=seed + 100)
    expected = scipy_frechet(a, b)
    assert metrics.frechet_distance(torch.tensor(a), torch.tensor(b)) == pytest.approx(expected, rel=1e-6)


def test_frechet_distance_closed_forms():
    a = random_set(500, 6, seed=1)
    shift = np.array([1.0, -2.0, 0.5, 0.0, 3.0, 1.0])
    # A shifted copy has the same covariance: the distance is exactly |shift|^2.
    assert metrics.frechet_distance(a, a + shift) == pytest.approx(float((shift**2).sum()), rel=1e-9)
    # A scaled copy: mean a*mu, covariance a^2 Sigma: (1 - s)^2 (|mu|^2 + tr Sigma).
    s = 1.7
    expected = (1 - s) ** 2 * (float((a.mean(0) ** 2).sum()) + float(np.trace(np.cov(a, rowvar=False))))
    assert metrics.frechet_distance(a, s * a) == pytest.approx(expected, rel=1e-7)
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)


def brute_kid(x, y):
    d, m = x.shape[1], len(x)
    k = lambda u, v: (float(np.dot(u, v)) / d + 1) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_kid_equals_the_unbiased_mmd_by_brute_force():
    x, y = random_set(30, 4, seed=2), random_set(30, 4, shift=0.3, seed=3)
    # One subset of every sample: the estimator is permutation invariant, so it is the full MMD^2.
    assert metrics.kernel_inception_distance(x, y, subsets=1, subset_size=30) == pytest.approx(brute_kid(x, y),
                                                                                              rel=1e-9)


def test_kid_std_is_numpys_std_of_the_per_subset_mmds_computed_by_hand():
    x, y = random_set(25, 3, seed=4), random_set(18, 3, shift=0.4, seed=5)
    subsets, m = 6, 8
    # Replay the documented draws (one generator: a permutation of the real rows, then of the fake
    # rows, per subset) and score each subset with the brute-force MMD^2 above.
    gen = torch.Generator().manual_seed(3)
    per_subset = []
    for _ in range(subsets):
        rows_x, rows_y = torch.randperm(len(x), generator=gen)[:m], torch.randperm(len(y), generator=gen)[:m]
        per_subset.append(brute_kid(x[rows_x.numpy()], y[rows_y.numpy()]))
    mean, std = metrics.kernel_inception_distance(x, y, subsets=subsets, subset_size=m, seed=3, return_std=True)
    # Tolerance: float64 throughout, only the summation order differs (about 1e-15 relative).
    assert mean == pytest.approx(np.mean(per_subset), rel=1e-9)
    assert std == pytest.approx(np.std(per_subset), rel=1e-9)  # numpy's default: divide by the count
    assert std > 0.01 * abs(mean)  # the subsets really differ: a std that is not trivially 0
    # The default call is unchanged: the same mean, as a plain float.
    assert metrics.kernel_inception_distance(x, y, subsets=subsets, subset_size=m, seed=3) == mean


def test_kid_std_is_zero_when_every_subset_holds_both_whole_sets():
    # subset_size above both sizes: each subset is a permutation of the whole sets, and the unbiased
    # MMD^2 does not depend on the order, so all subsets agree (up to float64 rounding, 1e-9 relative).
    x, y = random_set(20, 4, seed=6), random_set(20, 4, shift=0.2, seed=7)
    mean, std = metrics.kernel_inception_distance(x, y, subsets=5, subset_size=1000, return_std=True)
    assert mean == pytest.approx(brute_kid(x, y), rel=1e-9)
    assert std == pytest.approx(0.0, abs=1e-9 * abs(mean))


def test_kid_is_near_zero_for_one_distribution_and_grows_with_a_shift():
    near = metrics.kernel_inception_distance(RNG.normal(size=(2000, 8)), RNG.normal(size=(2000, 8)), subsets=20)
    far = metrics.kernel_inception_distance(RNG.normal(size=(2000, 8)), RNG.normal(size=(2000, 8)) + 1, subsets=20)
    assert abs(near) < 0.02 < far


def brute_precision_recall(real, fake, k):
    def radius(points, i):
        return sorted(math.dist(points[i], q) for j, q in enumerate(points) if j != i)[k - 1]

    def share(samples, support):
        radii = [radius(support, i) for i in range(len(support))]
        return sum(any(math.dist(s, c) <= r for c, r in zip(support, radii, strict=True)) for s in samples) / len(
            samples)

    return share(fake, real), share(real, fake)


def brute_density_coverage(real, fake, k):
    radii = [sorted(math.dist(p, q) for j, q in enumerate(real) if j != i)[k - 1] for i, p in enumerate(real)]
    counts = [sum(math.dist(f, c) < r for c, r in zip(real, radii, strict=True)) for f in fake]
    covered = [any(math.dist(f, c) < r for f in fake) for c, r in zip(real, radii, strict=True)]
    return sum(counts) / (k * len(fake)), sum(covered) / len(real)


@pytest.mark.parametrize("seed", range(3))
def test_precision_recall_and_density_coverage_match_brute_force(seed):
    real, fake = random_set(40, 3, seed=seed).tolist(), random_set(35, 3, shift=0.7, seed=seed + 9).tolist()
    assert metrics.precision_recall(real, fake) == pytest.approx(brute_precision_recall(real, fake, 3), abs=1e-12)
    assert metrics.density_coverage(real, fake) == pytest.approx(brute_density_coverage(real, fake, 5), abs=1e-12)


def test_hand_built_boundaries():
    real = [[float(x), 0.0] for x in range(5)]  # 3rd-neighbour radii: 3, 2, 2, 2, 3
    fake = [[5.0, 0.0], [7.0, 0.0], [7.5, 0.0], [10.0, 0.0]]
    # 5 and 7 lie within radius 3 of the point 4 (7 exactly on it: <= counts); 7.5 and 10 do not.
    # Fake radii (3rd neighbour): 5, 3, 2.5, 5; the real point 0 sits exactly 5 from the fake 5.
    assert metrics.precision_recall(real, fake) == (0.5, 1.0)
    # Density/coverage use <, and k = 5 needs 6 real points: radii below are all 5 (or 3 and 4).
    real6 = [[float(x), 0.0] for x in range(6)]  # 5th-neighbour radii: 5, 4, 3, 3, 4, 5
    inside_all = [[2.5, 0.0]]  # within every ball: counts 6, density 6 / 5
    assert metrics.density_coverage(real6, inside_all) == (pytest.approx(6 / 5), 1.0)
    on_the_edge = [[10.0, 0.0]]  # exactly 5 from the point 5 (radius 5): not inside
    assert metrics.density_coverage(real6, on_the_edge) == (0.0, 0.0)


def test_identical_sets_score_perfectly():
    x = random_set(200, 5, seed=7)
    assert metrics.precision_recall(x, x) == (1.0, 1.0)
    density, coverage = metrics.density_coverage(x, x)
    assert coverage == 1.0 and density > 0.9


@pytest.mark.parametrize("call, match", [
    (lambda: metrics.frechet_distance(np.zeros((10, 64)), np.ones((100, 64))), r"real: 10 samples in 64 dimensions"),
    (lambda: metrics.frechet_distance(np.zeros((1, 2)), np.ones((10, 2))), r"real: needs at least 2 samples"),
    (lambda: metrics.frechet_distance(np.full((10, 2), np.nan), np.ones((10, 2))), r"real contains NaN"),
    (lambda: metrics.frechet_distance(np.zeros((10, 2)), np.ones((10, 3))), r"differ in width: 2 vs 3"),
    (lambda: metrics.kernel_inception_distance(np.zeros((5,)), np.ones((5, 2))), r"real: expected an N x D"),
    (lambda: metrics.precision_recall(np.zeros((3, 2)), np.ones((10, 2))), r"more than k=3 samples"),
    (lambda: metrics.density_coverage(np.zeros((10, 2)), np.array([[np.inf, 0.0]] * 3)), r"fake contains NaN or inf"),
])
def test_edge_cases_get_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- Inception Score -------------------------------------------------------------------------
def scipy_inception_score(p):
    """exp(mean KL(p(y|x) || p(y))) with scipy's KL (scipy.stats.entropy(pk, qk))."""
    import scipy.stats

    marginal = p.mean(0)
    return math.exp(np.mean([scipy.stats.entropy(row, marginal) for row in p]))


def test_inception_score_matches_scipy_on_random_probabilities():
    logits = RNG.normal(size=(300, 10)) * 2
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    mean, std = metrics.inception_score(p, splits=1)
    assert mean == pytest.approx(scipy_inception_score(p), rel=1e-10) and std == 0.0
    mean3, std3 = metrics.inception_score(p, splits=3)
    parts = [scipy_inception_score(part) for part in np.array_split(p, 3)]
    assert mean3 == pytest.approx(np.mean(parts), rel=1e-10)
    assert std3 == pytest.approx(np.std(parts), rel=1e-8)


def test_inception_score_extremes_are_closed_form():
    confident_even = np.eye(10)[np.arange(500) % 10]  # one-hot, every class equally often
    assert metrics.inception_score(confident_even, splits=5)[0] == pytest.approx(10.0, rel=1e-12)
    collapsed = np.eye(10)[np.zeros(500, dtype=int)]  # all one class: the score's minimum
    assert metrics.inception_score(collapsed)[0] == pytest.approx(1.0, abs=1e-12)
    unsure = np.full((500, 10), 0.1)  # no confidence at all
    assert metrics.inception_score(unsure)[0] == pytest.approx(1.0, abs=1e-12)
    half = np.eye(10)[np.arange(500) % 5]  # 5 classes only: exp(log 5)
    assert metrics.inception_score(half)[0] == pytest.approx(5.0, rel=1e-12)


@pytest.mark.parametrize("probabilities, splits, message", [
    (np.array([[2.0, -1.0]]), 1, "pass softmax"),
    (np.array([[0.2, 0.2]]), 1, "summing to 1"),
    (np.full((4, 2), 0.5), 5, "splits=5"),
    (np.full((4, 2), 0.5), 0, "splits=0"),
    (np.array([[np.nan, 1.0]]), 1, "NaN"),
])
def test_inception_score_bad_input(probabilities, splits, message):
    with pytest.raises(ValueError, match=message):
        metrics.inception_score(probabilities, splits=splits)


@pytest.mark.parametrize("kwargs, match", [({"subsets": 0}, "subsets=0"), ({"subset_size": 1}, "subset_size=1"),
                                           ({"subsets": 2.5}, "subsets=2.5")])
def test_kid_explains_bad_subset_settings(kwargs, match):
    x = torch.randn(20, 4)
    with pytest.raises(ValueError, match=match):
        metrics.kernel_inception_distance(x, x, **kwargs)


def test_kth_neighbour_radius_on_points_of_a_line():
    # Points 0, 1, 3, 7: nearest other points at distances (1, 3), (1, 2), (2, 3), (4, 6), by hand.
    x = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    assert metrics.kth_neighbour_radius(x, 1).tolist() == [1.0, 1.0, 2.0, 4.0]
    assert metrics.kth_neighbour_radius(x, 2).tolist() == [3.0, 2.0, 3.0, 6.0]
    with pytest.raises(ValueError, match="k=4"):
        metrics.kth_neighbour_radius(x, 4)
