"""Self-checks for notebooks 08-11: mode collapse, evaluation, stability, where next."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from .. import losses
from ._checking import (
    _FAKE,
    _HAND,
    _REAL,
    CheckResult,
    _call,
    _expect_close,
    _expect_match,
    _NotYet,
    _random_logits,
    _report,
    _scalar,
)


# --- 08: mode collapse and vanishing gradients ------------------------------------------------
def _reverse_kl_reference(counts: torch.Tensor) -> torch.Tensor:
    q = counts.double() / counts.sum()
    return math.log(len(counts)) + torch.special.xlogy(q, q).sum()


def check_reverse_kl(reverse_kl: Callable) -> CheckResult:
    """``reverse_kl(counts)`` -> log K - H(q), q = counts / counts.sum(), with 0 log 0 = 0."""

    def body() -> str:
        name = "reverse_kl"
        counts = torch.tensor([2.0, 2.0, 0.0, 0.0])
        case = "counts=[2, 2, 0, 0] (half the samples on each of 2 modes out of 4)"
        got = _call(reverse_kl, counts)
        if isinstance(got, torch.Tensor) and got.numel() == 1 and torch.isnan(got):
            raise _NotYet(f"{name} returned NaN on {case}: an empty mode gives 0 * log 0, which counts as 0. "
                          "Use torch.special.xlogy(q, q), or keep only the non-zero q.")
        _expect_close(_scalar(got, name, case), math.log(2), name, case, {
            math.log(2) * 1.4426950408889634: "use the natural log (torch.log), not log2.",
            -math.log(2): "mind the sign: reverse KL = log K - H(q) >= 0.",
            math.log(4) + 4 * math.log(2): "normalise the counts to a histogram q first (divide by their sum).",
        })
        for k, seed in ((8, 0), (25, 1), (8, 2)):
            counts = torch.randint(0, 60, (k,), generator=torch.Generator().manual_seed(seed)).float()
            counts[seed] = 0.0
            _expect_match(reverse_kl, _reverse_kl_reference, (counts,), name, f"{k} random counts (seed {seed})")
        return "is log K - H(q): 0 for an even spread, log K when one mode takes every sample."

    return _report("reverse_kl", body)


def check_minimax_slope(minimax_slope: Callable) -> CheckResult:
    """``minimax_slope(fake_logits)`` -> mean over the batch of d/df log(1 - sigmoid(f)) = -mean sigmoid(f)."""

    def body() -> str:
        name = "minimax_slope"
        case = "fake_logits=[0, -ln 3] (D(G(z)) = 1/2, 1/4)"
        got = _scalar(_call(minimax_slope, _FAKE), name, case)
        _expect_close(got, -3 / 8, name, case, {
            3 / 8: "mind the sign: log(1 - D) falls as the logit rises.",
            -5 / 8: "that is the non-saturating loss's slope, -(1 - sigmoid(f)); the minimax loss is "
            "log(1 - sigmoid(f)).",
            (0.25 + 3 / 16) / 2: "that is sigmoid's own derivative; differentiate log(1 - sigmoid(f)) as a whole.",
            -3 / 4: "average over the batch (mean), don't sum.",
        })

        def reference(f):
            return -torch.sigmoid(f).mean()

        for seed in range(3):
            _expect_match(minimax_slope, reference, (_random_logits(seed, scale=4.0),), name,
                          f"random logits (seed {seed})")
        _expect_match(minimax_slope, reference, (torch.tensor([-30.0, -20.0]),), name,
                      "logits -30 and -20 (D rejects the fakes)")
        return ("is -mean sigmoid(f): it vanishes as D rejects the fakes, so under plain gradient descent the "
                "minimax generator barely moves (Adam, which rescales steps, hides part of this).")

    return _report("minimax_slope", body)


# --- 09: evaluation --------------------------------------------------------------------------
def check_frechet_distance_1d(frechet_distance_1d: Callable) -> CheckResult:
    """``frechet_distance_1d(real, fake)`` -> (mu_r - mu_f)^2 + (s_r - s_f)^2, unbiased standard deviations."""

    def body() -> str:
        name = "frechet_distance_1d"
        real, fake = torch.tensor([0.0, 2.0]), torch.tensor([4.0, 4.0, 4.0, 4.0])
        case = "real=[0, 2], fake=[4, 4, 4, 4]"
        got = _scalar(_call(frechet_distance_1d, real, fake), name, case)
        _expect_close(got, 11.0, name, case, {
            10.0: "use the unbiased variance (divide by N - 1, torch.var's default), as FID does.",
            13.0: "compare standard deviations, (s_r - s_f)^2, not variances.",
            5.0: "square the difference of the means.",
            11.0**0.5: "the Fréchet distance as FID reports it is the squared distance: no square root.",
        })

        def reference(r, f):
            from ..metrics import frechet_distance

            return frechet_distance(r[:, None], f[:, None])

        gen = torch.Generator().manual_seed(0)
        for trial in range(3):
            r = torch.randn(40, generator=gen) * 2 + 1
            f = torch.randn(25, generator=gen) * 0.5 - 1
            _expect_match(frechet_distance_1d, reference, (r, f), name,
                          f"40 and 25 random numbers (trial {trial + 1})")
        return "is the 1D Fréchet distance: the mean's and the spread's differences, squared."

    return _report("frechet_distance_1d", body)


def check_inception_score(inception_score: Callable) -> CheckResult:
    """``inception_score(probabilities)`` -> exp(mean KL(p(y|x) || p(y))), one split."""

    def body() -> str:
        name = "inception_score"
        p = torch.tensor([[0.9, 0.1], [0.2, 0.8]])
        case = "probabilities [[0.9, 0.1], [0.2, 0.8]]"
        got = _scalar(_call(inception_score, p), name, case)
        marginal = p.mean(0)
        kl = (p * (p / marginal).log()).sum(1).mean().item()
        reverse = (marginal * (marginal / p).log()).sum(1).mean().item()
        _expect_close(got, math.exp(kl), name, case, {
            kl: "that is the mean KL; the Inception Score is its exponential.",
            math.exp(reverse): "the KL goes from p(y|x) to p(y): sum p(y|x) log(p(y|x) / p(y)).",
            math.exp(kl * 1.4426950408889634): "use natural logs throughout.",
        })

        def reference(probabilities):
            from ..metrics import inception_score as score

            return score(probabilities, splits=1)[0]

        gen = torch.Generator().manual_seed(0)
        for trial in range(3):
            probabilities = torch.softmax(2 * torch.randn(30, 10, generator=gen), dim=1)
            _expect_match(inception_score, reference, (probabilities,), name,
                          f"30 random rows over 10 classes (trial {trial + 1})")
        one_class = torch.tensor([[0.98, 0.01, 0.01]] * 4)
        _expect_match(inception_score, reference, (one_class,), name, "4 identical rows [0.98, 0.01, 0.01] (score 1)")
        return "is exp(E KL(p(y|x) || p(y))): confident and varied predictions score high."

    return _report("inception_score", body)


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
            case = f"a linear critic D(x) = x . {w} (|grad| = {math.hypot(*w):g} everywhere), weight 10"
            got = _call(gradient_penalty, critic, real, fake, copy_args=False)
            value = _scalar(got, name, case)
            _expect_close(value, expected, name, case, {
                expected / 10: "multiply by the weight (10).",
                10 * (math.hypot(*w) ** 2 - 1) ** 2: "penalise the norm of the gradient, (|g| - 1)^2, "
                "not its squared norm.",
                10 * math.hypot(*w) ** 2: "the penalty is (|g| - 1)^2: the target norm is 1, not 0 (that is R1).",
            })
            if not isinstance(got, torch.Tensor) or not got.requires_grad:
                raise _NotYet("the penalty does not reach D's weights, so it cannot train D. Compute the "
                              "gradient with torch.autograd.grad(..., create_graph=True).")
            got.backward()
            norm = math.hypot(*w)
            expected_grad = 2 * 10 * (norm - 1) * torch.tensor(w) / norm
            if critic.w.grad is None or not torch.allclose(critic.w.grad, expected_grad, rtol=1e-4, atol=1e-5):
                raise _NotYet("the penalty's value is right but its gradient with respect to D's weights is not; "
                              "use create_graph=True and no .detach() on the gradient.")
        between = [x for x in critic.seen
                   if x.shape == real.shape and not (torch.equal(x, real) or torch.equal(x, fake))]
        eps = (between[0] - fake) / (real - fake) if between else torch.full_like(real, -1.0)
        if not (torch.allclose(eps[:, 0], eps[:, 1], atol=1e-4) and (eps >= -1e-5).all() and (eps <= 1 + 1e-5).all()):
            raise _NotYet("D must be evaluated at x_hat = eps * real + (1 - eps) * fake, with one eps ~ U[0, 1] per "
                          "sample (shape N x 1), i.e. on the segments between real and fake samples.")
        if eps[:, 0].std() < 0.1:
            raise _NotYet("every sample got the same eps: draw eps = torch.rand(len(real), 1), one per sample.")
        return "penalises (|grad D| - 1)^2 at random points between real and fake samples, and trains D."

    return _report("gradient_penalty", body)


def check_r1_penalty(r1_penalty: Callable) -> CheckResult:
    """``r1_penalty(discriminator, real, gamma=10)`` -> gamma / 2 * E[|grad_x D(x)|^2] on real samples."""

    def body() -> str:
        from ..models import MLPDiscriminator
        from ..regularizers import r1_penalty as reference

        name = "r1_penalty"
        real = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
        critic = _LinearCritic([1.2, 1.6])
        case = "a linear critic D(x) = x . [1.2, 1.6] (|grad|^2 = 4), gamma 10"
        _expect_close(_scalar(_call(r1_penalty, critic, real, 10.0, copy_args=False), name, case), 20.0, name, case, {
            40.0: "R1 is gamma / 2 times the mean squared gradient norm.",
            4.0: "multiply by gamma / 2.",
            10.0: "square the gradient's norm.",
        })
        for seed in range(3):
            torch.manual_seed(seed)
            D = MLPDiscriminator(hidden=16, depth=2)
            x = torch.randn(32, 2, generator=torch.Generator().manual_seed(seed))
            case = f"a random MLP discriminator and 32 real samples (seed {seed}), gamma 1"
            got = _call(r1_penalty, D, x, 1.0, copy_args=False)
            _expect_close(_scalar(got, name, case), reference(D, x, gamma=1.0).item(), name, case)
            if not got.requires_grad:
                raise _NotYet("the penalty does not reach D's weights; use torch.autograd.grad(..., "
                              "create_graph=True).")
        return "is gamma / 2 * E|grad_x D(x)|^2 over real samples, differentiable in D's weights."

    return _report("r1_penalty", body)


# --- 11: where next ----------------------------------------------------------------------------
def _relativistic_d(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return F.softplus(-(real_logits - fake_logits.mean())).mean() + F.softplus(fake_logits - real_logits.mean()).mean()


def _relativistic_g(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return F.softplus(-(fake_logits - real_logits.mean())).mean() + F.softplus(real_logits - fake_logits.mean()).mean()


def check_relativistic_discriminator_loss(relativistic_discriminator_loss: Callable) -> CheckResult:
    """``(real_logits, fake_logits)`` -> E[softplus(-(r - mean f))] + E[softplus(f - mean r)] (RaGAN, ESRGAN)."""

    def body() -> str:
        name = "relativistic_discriminator_loss"
        got = _scalar(_call(relativistic_discriminator_loss, _REAL, _FAKE), name, _HAND)
        _expect_close(got, _relativistic_d(_REAL, _FAKE).item(), name, _HAND, {
            losses.LOSSES["minimax"].discriminator(_REAL, _FAKE).item(): "that is the ordinary loss; compare each "
            "real logit with the *mean fake* logit, and each fake logit with the *mean real* one.",
            _relativistic_g(_REAL, _FAKE).item(): "that is the generator's loss: the discriminator wants real "
            "logits above the mean fake logit.",
        })
        for seed in range(3):
            r, f = _random_logits(seed), _random_logits(seed + 20, n=11)
            _expect_match(relativistic_discriminator_loss, _relativistic_d, (r, f), name,
                          f"random logits (seed {seed}; 16 real, 11 fake)")
        big = torch.tensor([80.0, -80.0])
        _expect_match(relativistic_discriminator_loss, _relativistic_d, (big, -big), name, "logits of ±80")
        return "asks whether real samples look *more real than the average fake*, as ESRGAN's discriminator does."

    return _report("relativistic_discriminator_loss", body)


def check_relativistic_generator_loss(relativistic_generator_loss: Callable) -> CheckResult:
    """``(real_logits, fake_logits)`` -> E[softplus(-(f - mean r))] + E[softplus(r - mean f)]."""

    def body() -> str:
        name = "relativistic_generator_loss"
        got = _scalar(_call(relativistic_generator_loss, _REAL, _FAKE), name, _HAND)
        _expect_close(got, _relativistic_g(_REAL, _FAKE).item(), name, _HAND, {
            _relativistic_d(_REAL, _FAKE).item(): "that is the discriminator's loss; the generator's swaps the "
            "roles: fakes should look more real than the average real sample.",
            F.softplus(-(_FAKE - _REAL.mean())).mean().item(): "keep the second term, E[softplus(r - mean f)]: "
            "unlike the ordinary loss, the relativistic generator learns from the real logits too.",
        })
        for seed in range(3):
            r, f = _random_logits(seed), _random_logits(seed + 30, n=5)
            _expect_match(relativistic_generator_loss, _relativistic_g, (r, f), name,
                          f"random logits (seed {seed}; 16 real, 5 fake)")
        big = torch.tensor([80.0, -80.0])
        _expect_match(relativistic_generator_loss, _relativistic_g, (big, -big), name, "logits of ±80")
        return "is the discriminator's relativistic loss with real and fake swapped."

    return _report("relativistic_generator_loss", body)
