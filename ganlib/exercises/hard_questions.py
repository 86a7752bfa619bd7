"""Self-checks for notebooks 08-11 (mode collapse, evaluation, stability, where next) and their appendices,
14 and 15; every sentence written ``_(English template, values)`` as in ``_checking``."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from .. import losses
from ..prose import sentence as _
from ._checking import (
    _FAKE,
    _REAL,
    CheckResult,
    _call,
    _expect_close,
    _expect_match,
    _hand,
    _hint,
    _NotYet,
    _random_logits,
    _report,
    _scalar,
    _tensor,
)


def _two(value, name: str, case: str, what: str) -> tuple[float, float]:
    """A pair of numbers (a tuple or list of two scalars, or a tensor of two)."""
    if value is None:
        raise _NotYet(_("{name} returned None on {case}; did you forget `return`?", name=name, case=case))
    if isinstance(value, torch.Tensor) and value.numel() == 2 and not value.requires_grad:
        value = tuple(value.flatten())
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        if isinstance(value, torch.Tensor):
            raise _NotYet(_("{name} should return a pair, {what}; on {case} it returned a shape {shape}. "
                            "End with `return first, second`.", name=name, what=what, case=case,
                            shape=tuple(value.shape)))
        raise _NotYet(_("{name} should return a pair, {what}; on {case} it returned a {type}. "
                        "End with `return first, second`.", name=name, what=what, case=case,
                        type=type(value).__name__))
    return _scalar(value[0], name, case), _scalar(value[1], name, case)


def _expect_part(got: float, expected: float, name: str, part: str, case: str,
                 hints: dict[float, str] | None = None) -> None:
    """``_expect_close`` for one of the numbers ``name`` returns: ``part`` (an English fragment written with ``_``)
    is a field of the template, so a translation joins it to the words around it as its language needs (Chinese
    puts no space between a word and the verb after it, as it does after a code name)."""
    if math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-6):
        return
    message = _("on {case}, {name}'s {part} should return {expected:.4f}; yours returned {got:.4f}.",
                case=case, name=name, part=part, expected=expected, got=got)
    for wrong_value, hint in (hints or {}).items():
        if math.isclose(got, wrong_value, rel_tol=1e-4, abs_tol=1e-6):
            message += _hint(hint)
            break
    raise _NotYet(message)


# --- 08: mode collapse and vanishing gradients ------------------------------------------------
def _reverse_kl_reference(counts: torch.Tensor) -> torch.Tensor:
    q = counts.double() / counts.sum()
    return math.log(len(counts)) + torch.special.xlogy(q, q).sum()


def check_reverse_kl(reverse_kl: Callable) -> CheckResult:
    """``reverse_kl(counts)`` -> log K - H(q), q = counts / counts.sum(), with 0 log 0 = 0."""

    def body() -> str:
        name = "reverse_kl"
        counts = torch.tensor([2.0, 2.0, 0.0, 0.0])
        case = _("counts=[2, 2, 0, 0] (half the samples on each of 2 modes out of 4)")
        got = _call(reverse_kl, counts)
        if isinstance(got, torch.Tensor) and got.numel() == 1 and torch.isnan(got):
            raise _NotYet(_("{name} returned NaN on {case}: an empty mode gives 0 * log 0, which counts as 0. "
                            "Use torch.special.xlogy(q, q), or keep only the non-zero q.", name=name, case=case))
        _expect_close(_scalar(got, name, case), math.log(2), name, case, {
            math.log(2) * 1.4426950408889634: _("use the natural log (torch.log), not log2."),
            -math.log(2): _("mind the sign: reverse KL = log K - H(q) >= 0."),
            math.log(4) + 4 * math.log(2): _("normalise the counts to a histogram q first (divide by their sum)."),
        })
        for k, seed in ((8, 0), (25, 1), (8, 2)):
            counts = torch.randint(0, 60, (k,), generator=torch.Generator().manual_seed(seed)).float()
            counts[seed] = 0.0
            _expect_match(reverse_kl, _reverse_kl_reference, (counts,), name,
                          _("{k} random counts (seed {seed})", k=k, seed=seed))
        return _("is log K - H(q): 0 for an even spread, log K when one mode takes every sample.")

    return _report("reverse_kl", body)


def check_minimax_slope(minimax_slope: Callable) -> CheckResult:
    """``minimax_slope(fake_logits)`` -> mean over the batch of d/df log(1 - sigmoid(f)) = -mean sigmoid(f)."""

    def body() -> str:
        name = "minimax_slope"
        case = _("fake_logits=[0, -ln 3] (D(G(z)) = 1/2, 1/4)")
        got = _scalar(_call(minimax_slope, _FAKE), name, case)
        _expect_close(got, -3 / 8, name, case, {
            3 / 8: _("mind the sign: log(1 - D) falls as the logit rises."),
            -5 / 8: _("that is the non-saturating loss's slope, -(1 - sigmoid(f)); the minimax loss is "
                      "log(1 - sigmoid(f))."),
            (0.25 + 3 / 16) / 2: _("that is sigmoid's own derivative; differentiate log(1 - sigmoid(f)) as a "
                                   "whole."),
            -3 / 4: _("average over the batch (mean), don't sum."),
        })

        def reference(f):
            return -torch.sigmoid(f).mean()

        for seed in range(3):
            _expect_match(minimax_slope, reference, (_random_logits(seed, scale=4.0),), name,
                          _("random logits (seed {seed})", seed=seed))
        _expect_match(minimax_slope, reference, (torch.tensor([-30.0, -20.0]),), name,
                      _("logits -30 and -20 (D rejects the fakes)"))
        return _("is -mean sigmoid(f): it vanishes as D rejects the fakes, so under plain gradient descent the "
                 "minimax generator barely moves (Adam, which rescales steps, hides part of this).")

    return _report("minimax_slope", body)


def _noise_floor_reference(n_samples: int, n_modes: int, std: float, half_width: float) -> tuple[float, float]:
    p = math.pi * (3 * std) ** 2 / (2 * half_width) ** 2  # one point in one mode's 3-sigma disc
    return n_modes * (1 - (1 - p) ** n_samples), n_modes * p


def check_expected_noise_floor(expected_noise_floor: Callable) -> CheckResult:
    """``expected_noise_floor(n_samples, n_modes, std, half_width)`` -> (expected modes covered, expected
    high-quality share) of points uniform on [-h, h]^2 when every 3-sigma disc lies inside the square."""

    def body() -> str:
        name = "expected_noise_floor"
        what = _("(expected modes covered, expected high-quality share)")
        cases = [((2500, 8, 0.01, 1.2), _("the ring: 2,500 points on [-1.2, 1.2]^2, 8 modes, sigma 0.01")),
                 ((2500, 25, 0.05, 5.0), _("the grid: 2,500 points on [-5, 5]^2, 25 modes, sigma 0.05")),
                 ((100, 4, 0.1, 1.0), _("100 points on [-1, 1]^2, 4 modes, sigma 0.1"))]
        for args, case in cases:
            modes, share = _two(_call(expected_noise_floor, *args), name, case, what)
            n, k, std, h = args
            expected_modes, expected_share = _noise_floor_reference(*args)
            p = expected_share / k
            if math.isclose(modes, expected_share, rel_tol=1e-3) and math.isclose(share, expected_modes, rel_tol=1e-3):
                raise _NotYet(_("on {case} the two numbers are swapped: return (modes covered, high-quality "
                                "share).", case=case))
            _expect_part(share, expected_share, name, _("high-quality share"), case, {
                k * math.pi * std**2 / (2 * h) ** 2: _("a sample is high quality within 3 sigma: the disc's radius "
                                                       "is 3 * std."),
                k * math.pi * (3 * std) ** 2 / h**2: _("the square [-h, h]^2 has side 2h, so its area is (2h)^2."),
                n * k * p: _("the high-quality share is a fraction of the samples, not a count."),
                p: _("each of the K modes has its own disc: multiply by the number of modes."),
            })
            _expect_part(modes, expected_modes, name, _("modes covered"), case, {
                n * k * p: _("K n p counts the samples expected in the discs; a mode is covered once however many "
                             "land in it: use the chance that none does, (1 - p)^n."),
                k * (1 - p) ** n: _("that is the expected number of modes *no* sample reaches; covered is 1 minus "
                                    "it."),
                1 - (1 - k * p) ** n: _("each mode is covered on its own: K times the chance that one given disc "
                                        "gets a sample."),
            })
        return _("is K (1 - (1 - p)^n) modes and K p high-quality share, with p = pi (3 sigma)^2 / (2h)^2: "
                 "a single stray sample covers a mode.")

    return _report("expected_noise_floor", body)


def check_slope_ratio(slope_ratio: Callable) -> CheckResult:
    """``slope_ratio(fake_logits)`` -> per sample, d/df of the minimax generator loss over d/df of the
    non-saturating one: sigmoid(f) / (1 - sigmoid(f)) = D / (1 - D) = exp(f)."""

    def body() -> str:
        name = "slope_ratio"
        cases = [(_FAKE, _("fake_logits=[0, -ln 3] (D(G(z)) = 1/2, 1/4)")),
                 (_random_logits(3, n=7, scale=3.0), _("{n} random logits (seed {seed})", n=7, seed=3)),
                 (torch.tensor([-25.0, -12.0, 4.0]), _("logits -25, -12 and 4 (D rejects the first two fakes)"))]
        for fake, case in cases:
            got = _tensor(_call(slope_ratio, fake), name, case, tuple(fake.shape))
            expected = torch.exp(fake)
            if torch.allclose(got, expected, rtol=1e-3, atol=0):
                continue
            def show(v):
                return "[" + ", ".join(f"{x:.3g}" for x in v.tolist()) + "]"

            message = _("on {case}, {name} should return {expected}; yours returned {got}.",
                        case=case, name=name, expected=show(expected), got=show(got))
            for wrong, hint in (
                (-expected, _("mind the sign: both slopes are negative, so their ratio is positive.")),
                (1 / expected, _("divide the minimax slope by the non-saturating one, not the reverse.")),
                (torch.sigmoid(fake), _("that is D(G(z)) itself, the minimax slope's size; divide it by the "
                                        "non-saturating slope's size, 1 - D(G(z)).")),
                (expected / len(fake), _("take the ratio per sample: the 1/N of a mean loss cancels.")),
            ):
                if torch.allclose(got, wrong, rtol=1e-3, atol=0):
                    message += _hint(hint)
                    break
            raise _NotYet(message)
        return _("is D / (1 - D) = exp(f) per sample: the minimax slope vanishes exponentially in the logit of a "
                 "rejected fake, the non-saturating one does not.")

    return _report("slope_ratio", body)


# --- 09: evaluation --------------------------------------------------------------------------
def check_frechet_distance_1d(frechet_distance_1d: Callable) -> CheckResult:
    """``frechet_distance_1d(real, fake)`` -> (mu_r - mu_f)^2 + (s_r - s_f)^2, unbiased standard deviations."""

    def body() -> str:
        name = "frechet_distance_1d"
        real, fake = torch.tensor([0.0, 2.0]), torch.tensor([4.0, 4.0, 4.0, 4.0])
        case = "real=[0, 2], fake=[4, 4, 4, 4]"
        got = _scalar(_call(frechet_distance_1d, real, fake), name, case)
        _expect_close(got, 11.0, name, case, {
            10.0: _("use the unbiased variance (divide by N - 1, torch.var's default), as FID does."),
            13.0: _("compare standard deviations, (s_r - s_f)^2, not variances."),
            5.0: _("square the difference of the means."),
            11.0**0.5: _("the Fréchet distance as FID reports it is the squared distance: no square root."),
        })

        def reference(r, f):
            from ..metrics import frechet_distance

            return frechet_distance(r[:, None], f[:, None])

        gen = torch.Generator().manual_seed(0)
        for trial in range(3):
            r = torch.randn(40, generator=gen) * 2 + 1
            f = torch.randn(25, generator=gen) * 0.5 - 1
            _expect_match(frechet_distance_1d, reference, (r, f), name,
                          _("{real} and {fake} random numbers (trial {trial})", real=40, fake=25, trial=trial + 1))
        return _("is the 1D Fréchet distance: the mean's and the spread's differences, squared.")

    return _report("frechet_distance_1d", body)


def check_inception_score(inception_score: Callable) -> CheckResult:
    """``inception_score(probabilities)`` -> exp(mean KL(p(y|x) || p(y))), one split."""

    def body() -> str:
        name = "inception_score"
        p = torch.tensor([[0.9, 0.1], [0.2, 0.8]])
        case = _("probabilities [[0.9, 0.1], [0.2, 0.8]]")
        got = _scalar(_call(inception_score, p), name, case)
        marginal = p.mean(0)
        kl = (p * (p / marginal).log()).sum(1).mean().item()
        reverse = (marginal * (marginal / p).log()).sum(1).mean().item()
        _expect_close(got, math.exp(kl), name, case, {
            kl: _("that is the mean KL; the Inception Score is its exponential."),
            math.exp(reverse): _("the KL goes from p(y|x) to p(y): sum p(y|x) log(p(y|x) / p(y))."),
            math.exp(kl * 1.4426950408889634): _("use natural logs throughout."),
        })

        def reference(probabilities):
            from ..metrics import inception_score as score

            return score(probabilities, splits=1)[0]

        gen = torch.Generator().manual_seed(0)
        for trial in range(3):
            probabilities = torch.softmax(2 * torch.randn(30, 10, generator=gen), dim=1)
            _expect_match(inception_score, reference, (probabilities,), name,
                          _("{rows} random rows over {classes} classes (trial {trial})", rows=30, classes=10,
                            trial=trial + 1))
        one_class = torch.tensor([[0.98, 0.01, 0.01]] * 4)
        _expect_match(inception_score, reference, (one_class,), name,
                      _("4 identical rows [0.98, 0.01, 0.01] (score 1)"))
        return _("is exp(E KL(p(y|x) || p(y))): confident and varied predictions score high.")

    return _report("inception_score", body)


def check_mean_term_bias(mean_term_bias: Callable) -> CheckResult:
    """``mean_term_bias(features, n)`` -> tr(Sigma) / n, with Sigma the unbiased covariance of ``features``
    (N x D): how much the squared distance between the mean of n samples and the true mean is, on average."""

    def body() -> str:
        name = "mean_term_bias"
        features = torch.tensor([[0.0, 0.0], [2.0, 1.0], [1.0, 5.0]])
        case = _("features [[0, 0], [2, 1], [1, 5]] (variances 1 and 7, covariance 0.5), n = 4")
        got = _scalar(_call(mean_term_bias, features, 4), name, case)
        _expect_close(got, 2.0, name, case, {
            8.0: _("divide by n: the mean of n samples varies n times less than one sample."),
            4 / 3: _("use the unbiased covariance (divide by N - 1), as FID does."),
            0.5: _("divide by n, not by n squared: Var(mean) = Sigma / n."),
            float(torch.linalg.matrix_power(torch.cov(features.T), 2).trace()) / 4: _(
                "the trace of Sigma, not of Sigma squared."),
            float(torch.cov(features.T).sum()) / 4: _(
                "only the diagonal (the trace) enters: E|m - mu|^2 sums the variances of the coordinates."),
        })
        gen = torch.Generator().manual_seed(0)
        for trial, n in enumerate((10, 360, 1000)):
            x = torch.randn(200, 6, generator=gen) * torch.arange(1.0, 7.0)
            _expect_match(mean_term_bias, lambda f, m: torch.cov(f.T).trace() / m, (x, n), name,
                          _("{count} random {dim}-dimensional features, n = {n} (trial {trial})", count=200, dim=6,
                            n=n, trial=trial + 1))
        return _("is tr(Sigma) / n: FID's mean term alone gains this much on average at sample size n.")

    return _report("mean_term_bias", body)


def check_truncated_noise(truncated_noise: Callable) -> CheckResult:
    """``truncated_noise(n, dim, threshold, generator)`` -> n x dim standard normal values, each redrawn
    until |z| <= threshold (BigGAN's truncation trick): a truncated normal, not a clamped or scaled one."""

    def body() -> str:
        from scipy import stats

        name = "truncated_noise"
        for threshold in (0.5, 1.0, 2.0):
            case = f"n=20000, dim=3, threshold={threshold}"
            z = _tensor(_call(truncated_noise, 20000, 3, threshold, torch.Generator().manual_seed(1)), name, case,
                        (20000, 3))
            if (z.abs() > threshold + 1e-6).any():
                raise _NotYet(_("on {case}, {largest:.2f} exceeds the threshold: redraw every value with |z| > "
                                "threshold until none is left.", case=case, largest=float(z.abs().max())))
            at_edge = float((z.abs() > threshold - 1e-6).float().mean())
            if at_edge > 0.01:
                raise _NotYet(_("on {case}, {share:.0%} of the values sit exactly at ±threshold: that is clamping, "
                                "which piles the tails onto the edge. Redraw them instead.", case=case, share=at_edge))
            values = z.flatten().double().numpy()
            if float(z.std()) < 0.05:
                raise _NotYet(_("on {case} the values barely vary; draw them from torch.randn.", case=case))
            ks = stats.kstest(values, stats.truncnorm(-threshold, threshold).cdf).statistic
            if ks > 0.02:
                scaled = stats.kstest(values / values.std(), "norm").statistic < 0.02
                hint = _hint(_("scaling z down is the ψ of the sweep, not truncation; keep N(0, 1) inside the "
                               "band.")) if scaled else ""
                raise _NotYet(_("on {case} the values are not a normal distribution cut at ±threshold (largest gap "
                                "between the CDFs {ks:.3f}).", case=case, ks=ks) + hint)
        return _("draws N(0, 1) values and redraws those beyond the threshold: the truncated normal BigGAN samples "
                 "from, narrower with a smaller threshold.")

    return _report("truncated_noise", body)


# --- 10: stability -----------------------------------------------------------------------------
class _LinearCritic(torch.nn.Module):
    """D(x) = x . w: its input gradient is w everywhere; records what it was shown."""

    def __init__(self, w: list[float]):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(w))
        self.seen: list[torch.Tensor] = []

    def forward(self, x):
        self.seen.append(x.detach().clone())
        return x @ self.w


def check_gradient_penalty(gradient_penalty: Callable) -> CheckResult:
    """``gradient_penalty(discriminator, real, fake, weight=10)`` -> weight * E[(|grad D(x_hat)| - 1)^2]."""

    def body() -> str:
        name = "gradient_penalty"
        gen = torch.Generator().manual_seed(0)
        real, fake = torch.randn(64, 2, generator=gen), torch.randn(64, 2, generator=gen) + 3
        for w, expected in (([3.0, 4.0], 160.0), ([0.3, 0.4], 2.5)):
            critic = _LinearCritic(w)
            case = _("a linear critic D(x) = x . {w} (|grad| = {norm:g} everywhere), weight 10",
                     w=w, norm=math.hypot(*w))
            got = _call(gradient_penalty, critic, real, fake, copy_args=False)
            value = _scalar(got, name, case)
            _expect_close(value, expected, name, case, {
                expected / 10: _("multiply by the weight (10)."),
                10 * (math.hypot(*w) ** 2 - 1) ** 2: _("penalise the norm of the gradient, (|g| - 1)^2, not its "
                                                       "squared norm."),
                10 * math.hypot(*w) ** 2: _("the penalty is (|g| - 1)^2: the target norm is 1, not 0 (that is R1)."),
            })
            if not isinstance(got, torch.Tensor) or not got.requires_grad:
                raise _NotYet(_("the penalty does not reach D's weights, so it cannot train D. Compute the "
                                "gradient with torch.autograd.grad(..., create_graph=True)."))
            got.backward()
            norm = math.hypot(*w)
            expected_grad = 2 * 10 * (norm - 1) * torch.tensor(w) / norm
            if critic.w.grad is None or not torch.allclose(critic.w.grad, expected_grad, rtol=1e-4, atol=1e-5):
                raise _NotYet(_("the penalty's value is right but its gradient with respect to D's weights is "
                                "not; use create_graph=True and no .detach() on the gradient."))
        between = [x for x in critic.seen
                   if x.shape == real.shape and not (torch.equal(x, real) or torch.equal(x, fake))]
        eps = (between[0] - fake) / (real - fake) if between else torch.full_like(real, -1.0)
        if not (torch.allclose(eps[:, 0], eps[:, 1], atol=1e-4) and (eps >= -1e-5).all() and (eps <= 1 + 1e-5).all()):
            raise _NotYet(_("D must be evaluated at x_hat = eps * real + (1 - eps) * fake, with one eps ~ U[0, 1] "
                            "per sample (shape N x 1), i.e. on the segments between real and fake samples."))
        if eps[:, 0].std() < 0.1:
            raise _NotYet(_("every sample got the same eps: draw eps = torch.rand(len(real), 1), one per sample."))
        return _("penalises (|grad D| - 1)^2 at random points between real and fake samples, and trains D.")

    return _report("gradient_penalty", body)


def check_r1_penalty(r1_penalty: Callable) -> CheckResult:
    """``r1_penalty(discriminator, real, gamma=10)`` -> gamma / 2 * E[|grad_x D(x)|^2] on real samples."""

    def body() -> str:
        from ..models import MLPDiscriminator
        from ..regularizers import r1_penalty as reference

        name = "r1_penalty"
        real = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
        critic = _LinearCritic([1.2, 1.6])
        case = _("a linear critic D(x) = x . [1.2, 1.6] (|grad|^2 = 4), gamma 10")
        _expect_close(_scalar(_call(r1_penalty, critic, real, 10.0, copy_args=False), name, case), 20.0, name, case, {
            40.0: _("R1 is gamma / 2 times the mean squared gradient norm."),
            4.0: _("multiply by gamma / 2."),
            10.0: _("square the gradient's norm."),
        })
        for seed in range(3):
            torch.manual_seed(seed)
            D = MLPDiscriminator(hidden=16, depth=2)
            x = torch.randn(32, 2, generator=torch.Generator().manual_seed(seed))
            case = _("a random MLP discriminator and {n} real samples (seed {seed}), gamma 1", n=32, seed=seed)
            got = _call(r1_penalty, D, x, 1.0, copy_args=False)
            _expect_close(_scalar(got, name, case), reference(D, x, gamma=1.0).item(), name, case)
            if not got.requires_grad:
                raise _NotYet(_("the penalty does not reach D's weights; use torch.autograd.grad(..., "
                                "create_graph=True)."))
        return _("is gamma / 2 * E|grad_x D(x)|^2 over real samples, differentiable in D's weights.")

    return _report("r1_penalty", body)


def check_largest_singular_value(largest_singular_value: Callable) -> CheckResult:
    """``largest_singular_value(weight, iterations)`` -> the spectral norm of ``weight`` by power iteration
    (what spectral normalisation divides each layer by)."""

    def body() -> str:
        name = "largest_singular_value"
        weight = torch.tensor([[3.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
        case = _("weight [[3, 0], [0, 1], [0, 0]] (singular values 3 and 1), 30 iterations")
        got = _scalar(_call(largest_singular_value, weight, 30), name, case)
        _expect_close(got, 3.0, name, case, {
            math.sqrt(10): _("that is the Frobenius norm (all singular values together); power iteration finds the "
                             "largest one."),
            9.0: _("you returned the largest eigenvalue of W^T W, sigma squared: take |W v| for a unit v instead."),
            1.0: _("that is the smallest singular value."),
        })
        gen = torch.Generator().manual_seed(0)
        for trial, shape in enumerate(((64, 64), (128, 2), (1, 128))):
            w = torch.randn(*shape, generator=gen) / math.sqrt(shape[1])
            case = _("a random {rows} x {cols} weight, {iterations} iterations (trial {trial})",
                     rows=shape[0], cols=shape[1], iterations=200, trial=trial + 1)
            got = _scalar(_call(largest_singular_value, w, 200), name, case)
            expected = float(torch.linalg.matrix_norm(w, ord=2))
            if not math.isclose(got, expected, rel_tol=1e-3):
                hint = ""
                if math.isclose(got, float(w.abs().max()), rel_tol=1e-3):
                    hint = _hint(_("that is the largest entry; iterate v <- W^T W v / |W^T W v| and return |W v|."))
                raise _NotYet(_("on {case}, {name} should return {expected:.4f} (torch.linalg.matrix_norm(w, ord=2)); "
                                "yours returned {got:.4f}.", case=case, name=name, expected=expected, got=got) + hint)
        return _("finds the largest singular value by power iteration; torch's spectral_norm runs one iteration per "
                 "training step and keeps v between steps.")

    return _report("largest_singular_value", body)


def check_wasserstein_1d(wasserstein_1d: Callable) -> CheckResult:
    """``wasserstein_1d(x, y)`` -> W1 between two samples of equal size: the mean |x_(i) - y_(i)| of the sorted
    values."""

    def body() -> str:
        from scipy import stats

        name = "wasserstein_1d"
        x, y = torch.tensor([0.0, 4.0]), torch.tensor([3.0, 1.0])
        case = "x = [0, 4], y = [3, 1]"
        got = _scalar(_call(wasserstein_1d, x, y), name, case)
        _expect_close(got, 1.0, name, case, {
            3.0: _("sort both samples first: W1 matches the i-th smallest of x with the i-th smallest of y."),
            0.0: _("that is the difference of the means, a lower bound on W1 (what a linear critic sees)."),
            2.0: _("average over the pairs, don't sum."),
        })
        gen = torch.Generator().manual_seed(0)
        for trial in range(3):
            a, b = torch.randn(300, generator=gen), 2 * torch.randn(300, generator=gen) + 1
            case = _("300 random draws of N(0, 1) against 300 of N(1, 4) (trial {trial})", trial=trial + 1)
            got = _scalar(_call(wasserstein_1d, a, b), name, case)
            expected = stats.wasserstein_distance(a.numpy(), b.numpy())
            if not math.isclose(got, expected, rel_tol=1e-4):
                squared = math.isclose(got, float((a.sort().values - b.sort().values).pow(2).mean()), rel_tol=1e-4)
                hint = _hint(_("W1 averages |differences|, not their squares (that is W2 squared).")) if squared else ""
                raise _NotYet(_("on {case}, {name} should return {expected:.4f} (scipy.stats.wasserstein_distance); "
                                "yours returned {got:.4f}.", case=case, name=name, expected=expected, got=got) + hint)
        return _("is W1 in one dimension: the sorted samples matched in order, the mean distance between partners.")

    return _report("wasserstein_1d", body)


# --- 11: where next ----------------------------------------------------------------------------
def _relativistic_d(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return F.softplus(-(real_logits - fake_logits.mean())).mean() + F.softplus(fake_logits - real_logits.mean()).mean()


def _relativistic_g(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return F.softplus(-(fake_logits - real_logits.mean())).mean() + F.softplus(real_logits - fake_logits.mean()).mean()


def check_relativistic_discriminator_loss(relativistic_discriminator_loss: Callable) -> CheckResult:
    """``(real_logits, fake_logits)`` -> E[softplus(-(r - mean f))] + E[softplus(f - mean r)] (RaGAN, ESRGAN)."""

    def body() -> str:
        name = "relativistic_discriminator_loss"
        hand = _hand()
        got = _scalar(_call(relativistic_discriminator_loss, _REAL, _FAKE), name, hand)
        _expect_close(got, _relativistic_d(_REAL, _FAKE).item(), name, hand, {
            losses.LOSSES["minimax"].discriminator(_REAL, _FAKE).item(): _(
                "that is the ordinary loss; compare each real logit with the *mean fake* logit, and each fake logit "
                "with the *mean real* one."),
            _relativistic_g(_REAL, _FAKE).item(): _("that is the generator's loss: the discriminator wants real "
                                                    "logits above the mean fake logit."),
        })
        for seed in range(3):
            r, f = _random_logits(seed), _random_logits(seed + 20, n=11)
            _expect_match(relativistic_discriminator_loss, _relativistic_d, (r, f), name,
                          _("random logits (seed {seed}; {real} real, {fake} fake)", seed=seed, real=16, fake=11))
        big = torch.tensor([80.0, -80.0])
        _expect_match(relativistic_discriminator_loss, _relativistic_d, (big, -big), name,
                      _("logits of ±{size}", size=80))
        return _("asks whether real samples look *more real than the average fake*, as ESRGAN's discriminator does.")

    return _report("relativistic_discriminator_loss", body)


def check_relativistic_generator_loss(relativistic_generator_loss: Callable) -> CheckResult:
    """``(real_logits, fake_logits)`` -> E[softplus(-(f - mean r))] + E[softplus(r - mean f)]."""

    def body() -> str:
        name = "relativistic_generator_loss"
        hand = _hand()
        got = _scalar(_call(relativistic_generator_loss, _REAL, _FAKE), name, hand)
        _expect_close(got, _relativistic_g(_REAL, _FAKE).item(), name, hand, {
            _relativistic_d(_REAL, _FAKE).item(): _("that is the discriminator's loss; the generator's swaps the "
                                                    "roles: fakes should look more real than the average real "
                                                    "sample."),
            F.softplus(-(_FAKE - _REAL.mean())).mean().item(): _(
                "keep the second term, E[softplus(r - mean f)]: unlike the ordinary loss, the relativistic generator "
                "learns from the real logits too."),
        })
        for seed in range(3):
            r, f = _random_logits(seed), _random_logits(seed + 30, n=5)
            _expect_match(relativistic_generator_loss, _relativistic_g, (r, f), name,
                          _("random logits (seed {seed}; {real} real, {fake} fake)", seed=seed, real=16, fake=5))
        big = torch.tensor([80.0, -80.0])
        _expect_match(relativistic_generator_loss, _relativistic_g, (big, -big), name,
                      _("logits of ±{size}", size=80))
        return _("is the discriminator's relativistic loss with real and fake swapped.")

    return _report("relativistic_generator_loss", body)


def check_pairing_losses(pairing_losses: Callable) -> CheckResult:
    """``pairing_losses(real_logits, fake_logits)`` -> (D's loss, G's loss) of the relativistic pairing GAN
    (RpGAN, R3GAN): E_i softplus(f_i - r_i) for D, E_i softplus(r_i - f_i) for G, the i-th real beside the i-th fake."""

    def body() -> str:
        name = "pairing_losses"
        what = _("(the discriminator's loss, the generator's loss)")
        hand = _hand()

        def reference(r, f):
            return F.softplus(f - r).mean().item(), F.softplus(r - f).mean().item()

        d_part, g_part = _("discriminator loss"), _("generator loss")
        d, g = _two(_call(pairing_losses, _REAL, _FAKE), name, hand, what)
        expected_d, expected_g = reference(_REAL, _FAKE)
        if math.isclose(d, expected_g, rel_tol=1e-4) and math.isclose(g, expected_d, rel_tol=1e-4):
            raise _NotYet(_("on {case} the two losses are swapped: D wants each real logit above its fake partner, "
                            "so D's loss is E softplus(f - r).", case=hand))
        _expect_part(d, expected_d, name, d_part, hand, {
            _relativistic_d(_REAL, _FAKE).item(): _("that is the *average* form (RaGAN); pair each real logit with "
                                                    "one fake logit, E_i softplus(f_i - r_i), with no batch means."),
            losses.LOSSES["minimax"].discriminator(_REAL, _FAKE).item(): _(
                "that is the ordinary loss; the pairing loss reads the difference r_i - f_i."),
            F.softplus(-(_REAL - _FAKE)).sum().item(): _("average over the pairs (mean), don't sum."),
        })
        _expect_part(g, expected_g, name, g_part, hand, {
            -expected_d: _("the generator's loss is not minus D's: it is softplus of the swapped difference, "
                           "E softplus(r_i - f_i) (non-saturating)."),
            _relativistic_g(_REAL, _FAKE).item(): _("that is the *average* form's generator loss; pair the logits."),
        })
        for seed in range(3):
            r, f = _random_logits(seed, n=9, scale=3.0), _random_logits(seed + 40, n=9, scale=3.0)
            case = _("{n} random real and fake logits (seed {seed})", n=9, seed=seed)
            d, g = _two(_call(pairing_losses, r, f), name, case, what)
            _expect_part(d, reference(r, f)[0], name, d_part, case)
            _expect_part(g, reference(r, f)[1], name, g_part, case)
        big = torch.tensor([90.0, -90.0])
        d, g = _two(_call(pairing_losses, big, -big), name, _("logits of ±{size}", size=90), what)
        _expect_part(d, reference(big, -big)[0], name, d_part, _("logits of ±{size} (use F.softplus)", size=90))
        return _("is RpGAN's pair: each real logit against one fake logit, the loss R3GAN builds on.")

    return _report("pairing_losses", body)
