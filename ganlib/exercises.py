"""Self-checks for the notebooks' exercises.

Each ``check_*`` function calls the learner's function on small cases, compares the result
with ganlib's reference (or a hand-derived value) and prints one of three answers:

* correct;
* not yet, with what was expected and what came back on a small case, and a hint;
* the learner's function raised an error: its type and message in one or two lines.

A check never raises, never changes the learner's objects (it passes copies) and returns a
``CheckResult`` whose ``passed`` attribute instructors' hidden tests can assert on.
"""

from __future__ import annotations

import contextlib
import copy
import math
import signal
import sysconfig
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from . import losses

__all__ = [
    "TIME_LIMIT",
    "CheckResult",
    "check_high_quality_fraction",
    "check_ring_means",
    "check_discriminator_step",
    "check_generator_step",
    "check_hinge_discriminator_loss",
    "check_non_saturating_loss",
    "check_optimal_discriminator",
    "check_value_function",
    "check_reverse_kl",
    "check_minimax_slope",
    "check_frechet_distance_1d",
    "check_inception_score",
    "check_gradient_penalty",
    "check_r1_penalty",
    "check_relativistic_discriminator_loss",
    "check_relativistic_generator_loss",
    "check_slerp",
    "check_nearest_neighbour_distances",
    "check_shift_image",
    "check_paired_gain",
    "check_psnr",
    "check_downsample",
    "check_slant",
    "check_matching_aware_discriminator_loss",
]


@dataclass(frozen=True)
class CheckResult:
    passed: bool
    message: str

    def __str__(self) -> str:
        return self.message

    def __bool__(self) -> bool:
        return self.passed


class _NotYet(Exception):
    """A wrong answer: the message says what was expected and how to get there."""


class _LearnerError(Exception):
    """The learner's function raised; the message is its one-line summary."""


def _report(name: str, body: Callable[[], str]) -> CheckResult:
    try:
        result = CheckResult(True, f"✅ Correct: {name} {body()}")
    except _NotYet as exc:
        result = CheckResult(False, f"❌ Not yet: {exc}")
    except _LearnerError as exc:
        result = CheckResult(False, f"💥 Your {name} raised an error: {exc}")
    except Exception as exc:  # a check must never crash the learner's notebook
        result = CheckResult(False, f"❌ Not yet: the check could not use what {name} returned ({exc}).")
    print(result.message)
    return result


TIME_LIMIT = 10.0  # seconds a learner's function may run before a check stops it


class _TimeUp(BaseException):
    """Raised inside a learner's function that ran past the time limit (a BaseException, so a
    learner's own ``except Exception`` cannot swallow it)."""


@contextlib.contextmanager
def _time_limit(seconds: float):
    """Interrupt the block after ``seconds`` (Unix main thread: SIGALRM, as in a notebook's kernel)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def stop(signum, frame):
        raise _TimeUp()

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _snapshot(args: tuple) -> list:
    return [a.detach().clone() if isinstance(a, torch.Tensor) else copy.deepcopy(a) if isinstance(a, list) else None
            for a in args]


def _changed(arg, before) -> bool:
    if isinstance(before, torch.Tensor):
        return arg.shape != before.shape or not torch.equal(arg, before)
    return arg != before


_LIBRARIES = tuple({sysconfig.get_paths()[key] for key in ("purelib", "platlib", "stdlib")})


def _in_library(filename: str) -> bool:
    return filename.startswith(_LIBRARIES)


def _call(fn: Callable, *args, copy_args: bool = True):
    """Call the learner's function (on copies of ``args`` unless the check made them for it),
    within the time limit; summarise any error in one line; reject changes to its inputs."""
    if copy_args:
        args = copy.deepcopy(args)
    before = _snapshot(args)
    try:
        with _time_limit(TIME_LIMIT):
            result = fn(*args)
    except _TimeUp:
        raise _NotYet(
            f"your function was still running after {TIME_LIMIT:g} s, so the check stopped it. "
            "Look for a loop that never ends."
        ) from None
    except NotImplementedError:
        raise _LearnerError("NotImplementedError: replace `raise NotImplementedError()` with your code.") from None
    except Exception as exc:
        # The learner's own line: skip this file's frames and those of installed libraries (torch, numpy).
        frames = [f for f in traceback.extract_tb(exc.__traceback__)
                  if f.filename != __file__ and not _in_library(f.filename)]
        where = f" (line {frames[-1].lineno}: `{(frames[-1].line or '').strip()}`)" if frames else ""
        raise _LearnerError(f"{type(exc).__name__}: {exc}{where}") from None
    for position, (arg, copy_before) in enumerate(zip(args, before, strict=True)):
        if copy_before is not None and _changed(arg, copy_before):
            raise _NotYet(
                f"your function changed its input (argument {position + 1}) in place. Compute new tensors "
                "instead (e.g. `x * 2`, not `x.mul_(2)` or `x[...] = ...`): callers still need their data."
            )
    return result


def _scalar(value, name: str, case: str) -> float:
    if value is None:
        raise _NotYet(f"{name} returned None on {case}; did you forget `return`?")
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise _NotYet(
                f"{name} returned a tensor of shape {tuple(value.shape)} on {case}; expected a single "
                "number (a 0-dimensional tensor). Average over the batch with .mean()."
            )
        if not (value.dtype.is_floating_point or value.dtype.is_complex):
            raise _NotYet(
                f"{name} returned a tensor of dtype {value.dtype} on {case}; a loss is a real number "
                "(float). Avoid integer division, .long() or comparisons in the result."
            )
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _NotYet(f"{name} returned a {type(value).__name__} on {case}; expected a tensor holding one number.")
    if math.isnan(value):
        raise _NotYet(f"{name} returned NaN on {case}: look for 0/0, inf - inf or the log of a negative number.")
    if not math.isfinite(value):
        raise _NotYet(
            f"{name} returned {value} on {case}. Logits this large overflow exp() or log(); "
            "use F.softplus or F.logsigmoid, which stay finite."
        )
    return float(value)


def _expect_match(fn: Callable, reference: Callable, args: tuple, name: str, case: str) -> None:
    """The learner's ``fn`` returns the same number as ``reference`` on ``args``."""
    _expect_close(_scalar(_call(fn, *args), name, case), float(reference(*args)), name, case)


def _expect_close(got: float, expected: float, name: str, case: str, hints: dict[float, str] | None = None) -> None:
    if math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-6):
        return
    message = f"on {case}, {name} should return {expected:.4f}; yours returned {got:.4f}."
    for wrong_value, hint in (hints or {}).items():
        if math.isclose(got, wrong_value, rel_tol=1e-4, abs_tol=1e-6):
            message += f" Hint: {hint}"
            break
    raise _NotYet(message)


LN3 = math.log(3)
# sigmoid(0) = 1/2, sigmoid(ln 3) = 3/4, sigmoid(-ln 3) = 1/4: cases one can check by hand.
_REAL = torch.tensor([0.0, LN3])
_FAKE = torch.tensor([0.0, -LN3])
_HAND = "real_logits=[0, ln 3], fake_logits=[0, -ln 3] (D = 1/2, 3/4 on real; 1/2, 1/4 on fake)"


def _random_logits(seed: int, n: int = 16, scale: float = 2.0) -> torch.Tensor:
    return scale * torch.randn(n, generator=torch.Generator().manual_seed(seed))


# --- 00: introduction ---------------------------------------------------------------------
def _tensor(value, name: str, case: str, shape: tuple[int, ...], finite: bool = True) -> torch.Tensor:
    if value is None:
        raise _NotYet(f"{name} returned None on {case}; did you forget `return`?")
    try:
        value = torch.as_tensor(value, dtype=torch.float32)
    except (TypeError, ValueError, RuntimeError):
        raise _NotYet(f"{name} returned a {type(value).__name__} on {case}; expected a tensor of numbers.") from None
    if tuple(value.shape) != shape:
        raise _NotYet(f"on {case}, {name} should return shape {shape}; yours has shape {tuple(value.shape)}.")
    if finite and not torch.isfinite(value).all():
        raise _NotYet(f"on {case}, {name} returned NaN or inf values.")
    return value


def check_ring_means(ring_means: Callable) -> CheckResult:
    """``ring_means(n_modes, radius)`` -> the n_modes x 2 centres, at angles 2*pi*k/n_modes."""

    def body() -> str:
        name = "ring_means"
        for n_modes, radius in ((8, 1.0), (5, 2.0), (3, 0.5)):
            case = f"n_modes={n_modes}, radius={radius}"
            got = _tensor(_call(ring_means, n_modes, radius), name, case, (n_modes, 2))
            angles = torch.arange(n_modes, dtype=torch.float64) * 2 * math.pi / n_modes
            expected = (radius * torch.stack([angles.cos(), angles.sin()], 1)).float()
            if torch.allclose(got, expected, atol=1e-5):
                continue
            if torch.allclose(got, expected.flip(1), atol=1e-5):
                hint = "x and y are swapped: the first column is radius * cos(angle)."
            elif torch.allclose(got.norm(dim=1), torch.full((n_modes,), radius), atol=1e-4):
                hint = "the points are on the circle, but at other angles: use angle_k = 2 pi k / n_modes, k = 0..n-1."
            else:
                hint = "each centre is (radius cos(angle_k), radius sin(angle_k))."
            raise _NotYet(f"on {case}, expected {[[round(v, 3) for v in row] for row in expected.tolist()]}. {hint}")
        return "puts n_modes centres evenly on the circle, starting at angle 0."

    return _report("ring_means", body)


def _high_quality_reference(samples: torch.Tensor, means: torch.Tensor, std: float) -> torch.Tensor:
    return (torch.cdist(samples, means).min(dim=1).values < 3 * std).float().mean()


def check_high_quality_fraction(high_quality_fraction: Callable) -> CheckResult:
    """``high_quality_fraction(samples, means, std)`` -> share of samples within 3 std of the nearest mean."""

    def body() -> str:
        name = "high_quality_fraction"
        means = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
        samples = torch.tensor([[0.02, 0.0], [0.9, 0.05], [0.5, 0.0], [1.0, -0.029], [3.0, 3.0]])
        case = "means (0,0), (1,0), std 0.01, samples (0.02,0), (0.9,0.05), (0.5,0), (1,-0.029), (3,3)"
        got = _scalar(_call(high_quality_fraction, samples, means, 0.01), name, case)
        _expect_close(got, 2 / 5, name, case, {
            2.0: "return the fraction of samples (a number from 0 to 1), not the count.",
            1 / 5: "measure each sample's distance to its *nearest* mean, not to the first one.",
            0.0: "high quality means a distance *under 3 standard deviations* (3 * std), not under std.",
        })
        gen = torch.Generator().manual_seed(0)
        for trial in range(3):
            means = torch.randn(6, 2, generator=gen) * 3
            samples = means[torch.randint(6, (200,), generator=gen)] + 0.08 * torch.randn(200, 2, generator=gen)
            case = f"200 random samples around 6 random means (trial {trial + 1})"
            _expect_match(high_quality_fraction, _high_quality_reference, (samples, means, 0.05), name, case)
        return "counts the samples within 3 standard deviations of their nearest mean."

    return _report("high_quality_fraction", body)


# --- 01: the objective --------------------------------------------------------------------
def check_value_function(value_function: Callable) -> CheckResult:
    """``value_function(real_logits, fake_logits)`` -> V(D, G) on a batch (§4)."""

    def body() -> str:
        name = "value_function"
        expected = losses.value_function(_REAL, _FAKE).item()
        got = _scalar(_call(value_function, _REAL, _FAKE), name, _HAND)
        _expect_close(got, expected, name, _HAND, {
            -expected: "that is minus V, the discriminator's loss; V itself is E[log D(x)] + E[log(1 - D(G(z)))].",
            math.log(0.5 * 0.75) + math.log(0.5 * 0.25): "average over the batch (mean), don't multiply.",
            0.5 * (math.log(0.5) + math.log(0.75)) + 0.5 * (math.log(0.5) + math.log(0.25)):
                "the second term is log(1 - D(G(z))), not log D(G(z)).",
        })
        for seed in range(3):
            r, f = _random_logits(seed), _random_logits(seed + 10, n=9)
            _expect_match(value_function, losses.value_function, (r, f), name,
                          f"random logits (seed {seed}; 16 real, 9 fake)")
        big = torch.tensor([60.0, -60.0])
        _expect_match(value_function, losses.value_function, (big, big), name,
                      "logits ±60 (D(x) within 1e-26 of 0 or 1)")
        return "matches V(D, G) on hand-checked, random and extreme logits."

    return _report("value_function", body)


def check_optimal_discriminator(optimal_discriminator: Callable) -> CheckResult:
    """``optimal_discriminator(p_data, p_g)`` -> D*(x) = p_data / (p_data + p_g), elementwise."""

    def body() -> str:
        name = "optimal_discriminator"
        p_data = torch.tensor([0.3, 1.0, 0.0, 2.0])
        p_g = torch.tensor([0.1, 1.0, 0.5, 0.0])
        case = "p_data=[0.3, 1, 0, 2], p_g=[0.1, 1, 0.5, 0]"
        got = _tensor(_call(optimal_discriminator, p_data, p_g), name, case, (4,), finite=False)
        expected = torch.tensor([0.75, 0.5, 0.0, 1.0])
        if torch.allclose(got[:2], torch.tensor([3.0, 1.0])):
            raise _NotYet(
                f"on {case}, expected {expected.tolist()}. Hint: divide by the sum p_data + p_g, not by p_g alone."
            )
        if not torch.isfinite(got).all():
            raise _NotYet(f"on {case}, {name} returned NaN or inf values; expected {expected.tolist()}.")
        if torch.allclose(got, expected, atol=1e-6):
            gen = torch.Generator().manual_seed(0)
            for trial in range(3):
                p_data, p_g = torch.rand(7, generator=gen) + 0.01, torch.rand(7, generator=gen) + 0.01
                case = f"random densities at 7 points (trial {trial + 1})"
                got = _tensor(_call(optimal_discriminator, p_data, p_g), name, case, (7,))
                if not torch.allclose(got, p_data / (p_data + p_g), atol=1e-5):
                    raise _NotYet(f"right on the first case but not on {case}: expected "
                                  f"{[round(v, 3) for v in (p_data / (p_data + p_g)).tolist()]}, "
                                  f"got {[round(v, 3) for v in got.tolist()]}. Compute from the inputs.")
            return "is p_data / (p_data + p_g): 3/4 where data are 3x likelier, 1/2 where both agree."
        if torch.allclose(got, 1 - expected, atol=1e-6):
            hint = "you have p_g / (p_data + p_g): D* is the probability that x is *real*."
        else:
            hint = "at each point, D*(x) = p_data(x) / (p_data(x) + p_g(x))."
        raise _NotYet(f"on {case}, expected {expected.tolist()}; got {[round(v, 4) for v in got.tolist()]}. {hint}")

    return _report("optimal_discriminator", body)


# --- 02: the training algorithm --------------------------------------------------------------
def _tiny_models(seed: int = 0):
    from .models import MLPDiscriminator, MLPGenerator

    torch.manual_seed(seed)
    return MLPGenerator(latent_dim=3, hidden=8, depth=2), MLPDiscriminator(hidden=8, depth=2)


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def _close(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.allclose(p, q, rtol=1e-5, atol=1e-7) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def _stale_gradients(model: torch.nn.Module) -> None:
    """Leave gradients from an 'earlier step' on the model, as a real training loop would."""
    for p in model.parameters():
        p.grad = torch.full_like(p, 0.5)


def _expect_one_adam_step(model: torch.nn.Module, before: torch.nn.Module, reference: torch.nn.Module,
                          player: str) -> None:
    """The learner's ``model`` moved from ``before`` exactly as one clean Adam step (``reference``)."""
    optimizer, letter = f"{player[0]}_optimizer", player[0].upper()
    if _same(model, before):
        raise _NotYet(f"the {player}'s weights did not change; call {optimizer}.step() after backward().")
    if not _close(model, reference):
        raise _NotYet(f"the {player}'s update differs from one Adam step on this loss. Did you call "
                      f"{optimizer}.zero_grad() before loss.backward()? Old gradients were left on {letter}.")


def check_discriminator_step(discriminator_step: Callable) -> CheckResult:
    """``discriminator_step(G, D, d_optimizer, real, latent_dim) -> loss``: steps 3-6 of §3.1."""

    def body() -> str:
        name = "discriminator_step"
        G, D = _tiny_models()
        real = torch.randn(16, 2, generator=torch.Generator().manual_seed(1))
        G0, D0 = copy.deepcopy(G), copy.deepcopy(D)
        # Run the learner's step on its own copies, with known noise.
        G1, D1 = copy.deepcopy(G), copy.deepcopy(D)
        _stale_gradients(D1)
        opt1 = torch.optim.Adam(D1.parameters(), lr=0.01)
        torch.manual_seed(123)
        loss = _call(discriminator_step, G1, D1, opt1, real.clone(), 3, copy_args=False)
        # The reference, from the same noise.
        torch.manual_seed(123)
        fake = G0(torch.randn(16, 3)).detach()
        ref_loss = losses.LOSSES["minimax"].discriminator(D0(real), D0(fake))
        opt_ref = torch.optim.Adam(D0.parameters(), lr=0.01)
        opt_ref.zero_grad()
        ref_loss.backward()
        opt_ref.step()
        case = "a tiny G and D, 16 real points, noise of size 3"
        got = _scalar(loss, name, case)
        _expect_close(got, ref_loss.item(), name, case, {
            losses.LOSSES["non_saturating"].generator(D(fake)).item(): "that is the generator's loss; step 6 uses "
            "the discriminator's: softplus(-real_logits).mean() + softplus(fake_logits).mean().",
        })
        if any(p.grad is not None and p.grad.abs().sum() > 0 for p in G1.parameters()):
            raise _NotYet("the generator received gradients from the discriminator's loss. Detach the fakes "
                          "(G(z).detach()) or generate them under torch.no_grad(): step 6 must not reach G.")
        if not _same(G1, G):
            raise _NotYet("the generator's weights changed; step 6 updates the discriminator only.")
        _expect_one_adam_step(D1, before=D, reference=D0, player="discriminator")
        return "computes the discriminator's loss on real and detached fake samples and takes one step."

    return _report("discriminator_step", body)


def check_generator_step(generator_step: Callable) -> CheckResult:
    """``generator_step(G, D, g_optimizer, batch_size, latent_dim) -> loss``: step 7 of §3.1."""

    def body() -> str:
        name = "generator_step"
        G, D = _tiny_models(seed=1)
        G0, D0 = copy.deepcopy(G), copy.deepcopy(D)
        G1, D1 = copy.deepcopy(G), copy.deepcopy(D)
        _stale_gradients(G1)
        opt1 = torch.optim.Adam(G1.parameters(), lr=0.01)
        torch.manual_seed(321)
        loss = _call(generator_step, G1, D1, opt1, 16, 3, copy_args=False)
        torch.manual_seed(321)
        ref_loss = losses.LOSSES["non_saturating"].generator(D0(G0(torch.randn(16, 3))))
        opt_ref = torch.optim.Adam(G0.parameters(), lr=0.01)
        opt_ref.zero_grad()
        ref_loss.backward()
        opt_ref.step()
        case = "a tiny G and D, batch 16, noise of size 3"
        got = _scalar(loss, name, case)
        torch.manual_seed(321)
        with torch.no_grad():
            minimax = losses.LOSSES["minimax"].generator(D(G(torch.randn(16, 3)))).item()
        _expect_close(got, ref_loss.item(), name, case, {
            minimax: "that is the saturating minimax loss log(1 - D(G(z))); use the non-saturating "
            "-log D(G(z)) = softplus(-fake_logits).mean().",
        })
        if not _same(D1, D):
            raise _NotYet("the discriminator's weights changed during the generator's step; keep D fixed "
                          "(step only g_optimizer).")
        _expect_one_adam_step(G1, before=G, reference=G0, player="generator")
        return "updates the generator with the non-saturating loss and leaves the discriminator unchanged."

    return _report("generator_step", body)


# --- 03: losses ------------------------------------------------------------------------------
def check_non_saturating_loss(non_saturating_loss: Callable) -> CheckResult:
    """``non_saturating_loss(fake_logits)`` -> -E[log D(G(z))] = E[softplus(-f)]."""

    def body() -> str:
        name = "non_saturating_loss"
        reference = losses.LOSSES["non_saturating"].generator
        case = "fake_logits=[0, -ln 3] (D(G(z)) = 1/2, 1/4)"
        got = _scalar(_call(non_saturating_loss, _FAKE), name, case)
        _expect_close(got, reference(_FAKE).item(), name, case, {
            losses.LOSSES["minimax"].generator(_FAKE).item(): "that is the minimax (saturating) loss "
            "log(1 - D(G(z))); the non-saturating loss is -log D(G(z)).",
            -reference(_FAKE).item(): "mind the sign: the generator minimises -log D(G(z)).",
        })
        for seed in range(3):
            f = _random_logits(seed)
            _expect_match(non_saturating_loss, reference, (f,), name, f"random logits (seed {seed})")
        rejected = torch.tensor([-200.0, -150.0])
        _expect_match(non_saturating_loss, reference, (rejected,), name,
                      "logits -200 and -150 (D rejects the fakes completely)")
        return "is -log D(G(z)), finite even where D rejects the fakes completely."

    return _report("non_saturating_loss", body)


def check_hinge_discriminator_loss(hinge_discriminator_loss: Callable) -> CheckResult:
    """``hinge_discriminator_loss(real_logits, fake_logits)`` -> E[max(0, 1 - r)] + E[max(0, 1 + f)]."""

    def body() -> str:
        name = "hinge_discriminator_loss"
        reference = losses.LOSSES["hinge"].discriminator
        r, f = torch.tensor([0.0, 2.0]), torch.tensor([1.0, -3.0])
        case = "real_logits=[0, 2], fake_logits=[1, -3]"
        got = _scalar(_call(hinge_discriminator_loss, r, f), name, case)
        _expect_close(got, reference(r, f).item(), name, case, {
            ((1 - r).mean() + (1 + f).mean()).item(): "clip at zero with F.relu (or clamp(min=0)): a logit beyond "
            "the margin should cost nothing.",
            (F.relu(1 + r).mean() + F.relu(1 - f).mean()).item(): "real and fake are swapped: real logits should "
            "be pushed above +1, fake logits below -1.",
        })
        for seed in range(3):
            rr, ff = _random_logits(seed), _random_logits(seed + 5, n=7)
            _expect_match(hinge_discriminator_loss, reference, (rr, ff), name,
                          f"random logits (seed {seed}; 16 real, 7 fake)")
        return "is E[max(0, 1 - r)] + E[max(0, 1 + f)]."

    return _report("hinge_discriminator_loss", body)


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
        return "is -mean sigmoid(f): it vanishes as D rejects the fakes, which is why G stops learning."

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
            from .metrics import frechet_distance

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
            from .metrics import inception_score as score

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
        from .models import MLPDiscriminator
        from .regularizers import r1_penalty as reference

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


# --- 04: image generation ------------------------------------------------------------------------
def _expect_vector(got: torch.Tensor, expected: torch.Tensor, name: str, case: str,
                   hints: list[tuple[torch.Tensor, str]] | None = None, atol: float = 1e-4) -> None:
    """``got`` (already shape-checked) equals ``expected`` within ``atol`` (relative to its scale)."""
    scale = max(1.0, float(expected.abs().max()))
    if torch.allclose(got, expected, rtol=0, atol=atol * scale):
        return
    def show(v: torch.Tensor) -> str:
        return "[" + ", ".join(f"{x:.3f}" for x in v.flatten()[:4].tolist()) + (", ...]" if v.numel() > 4 else "]")

    message = f"on {case}, {name} should return {show(expected)}; yours returned {show(got)}."
    for wrong, hint in hints or []:
        if wrong.shape == got.shape and torch.allclose(got, wrong, rtol=0, atol=atol * scale):
            message += f" Hint: {hint}"
            break
    raise _NotYet(message)


def check_slerp(slerp: Callable) -> CheckResult:
    """``slerp(z0, z1, t)`` -> the point at fraction t of the great-circle arc from z0 to z1."""
    from .latent import lerp
    from .latent import slerp as reference

    def body() -> str:
        name = "slerp"
        e1, e2 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
        for t in (0.5, 1 / 3):
            case = f"z0=[1, 0], z1=[0, 1], t={t:.3g} (a quarter circle: the answer is [cos(90°·t), sin(90°·t)])"
            got = _tensor(_call(slerp, e1, e2, t), name, case, (2,))
            angle = math.pi / 2 * t
            _expect_vector(got, torch.tensor([math.cos(angle), math.sin(angle)]), name, case, [
                (lerp(e1, e2, t), "that is the straight line (lerp), which cuts inside the circle: its midpoint "
                                  "has norm 0.71, not 1. Weight z0 and z1 by sin((1-t)Ω)/sin Ω and sin(tΩ)/sin Ω."),
                (torch.tensor([math.sin(angle), math.cos(angle)]), "t=0 should give z0 and t=1 z1: swap the weights."),
            ])
        gen = torch.Generator().manual_seed(0)
        for trial in range(3):
            z0, z1 = torch.randn(2, 16, generator=gen)
            z1 = z1 * (1.5 + trial)  # ends of different norms: the path blends the norms too
            t = (0.3, 0.7, 0.9)[trial]
            case = f"two random 16-d vectors of norms {z0.norm():.2f} and {z1.norm():.2f}, t={t}"
            got = _tensor(_call(slerp, z0, z1, t), name, case, (16,))
            _expect_vector(got, reference(z0, z1, t), name, case, [
                (lerp(z0, z1, t), "that is lerp: use the angle Ω = arccos(z0·z1 / (|z0| |z1|))."),
                (reference(z0 / z0.norm(), z1 / z1.norm(), t), "do not normalise z0 and z1: keep their lengths."),
                (reference(z0, z1, 1 - t), "t=0 should give z0 and t=1 z1: swap the weights."),
            ])
            for end, expected in ((0.0, z0), (1.0, z1)):
                case = f"random 16-d vectors, t={end:g}"
                _expect_vector(_tensor(_call(slerp, z0, z1, end), name, case, (16,)), expected, name, case)
        z = torch.randn(16, generator=gen)
        case = "z0 = z1 (parallel ends: sin Ω = 0)"
        got = _tensor(_call(slerp, z, z.clone(), 0.5), name, case, (16,), finite=False)
        if not torch.isfinite(got).all():
            raise _NotYet(f"on {case}, {name} returned NaN: sin Ω is 0 there. When sin Ω is tiny (< 1e-6), "
                          "fall back to the straight line, (1 - t) z0 + t z1.")
        _expect_vector(got, z, name, case)
        return "follows the great circle: every point keeps a typical norm for a Gaussian z."

    return _report("slerp", body)


def check_nearest_neighbour_distances(nearest_neighbour_distances: Callable) -> CheckResult:
    """``nearest_neighbour_distances(samples, training)`` -> each sample's Euclidean distance to its
    nearest training image, shape (N,)."""
    from .metrics import nearest_neighbours

    def body() -> str:
        name = "nearest_neighbour_distances"
        samples = torch.stack([torch.zeros(1, 2, 2), torch.full((1, 2, 2), 3.0)])
        training = torch.stack([torch.full((1, 2, 2), v) for v in (0.5, 2.0, 1.5)])
        case = "2 samples (all 0, all 3) and 3 training images (all 0.5, all 2, all 1.5), each 1x2x2"
        got = _tensor(_call(nearest_neighbour_distances, samples, training), name, case, (2,))
        _expect_vector(got, torch.tensor([1.0, 2.0]), name, case, [
            (torch.tensor([1.0, 4.0]), "take the square root: the Euclidean distance, not its square."),
            (torch.tensor([4.0, 5.0]), "the nearest image is the one at the smallest distance (min, not max)."),
            (torch.tensor([3.0, 3.0]), "that is the second-nearest image: take the smallest distance."),
            (torch.tensor([0.0, 1.0]), "return the distances, not the indices of the nearest images."),
            (torch.tensor([0.5, 1.0]), "sum the squared differences over all pixels (not their mean), then sqrt."),
            (torch.tensor([2.0, 4.0]), "use the Euclidean (L2) distance, not the sum of absolute differences."),
            (torch.tensor([8 / 3, 10 / 3]), "average nothing: each sample's distance is to its single nearest image."),
        ])
        gen = torch.Generator().manual_seed(0)
        for trial in range(2):
            s, r = torch.randn(7, 1, 8, 8, generator=gen), torch.randn(30, 1, 8, 8, generator=gen)
            r[trial * 3] = s[2]  # one sample is a copy of a training image: its distance is 0
            case = f"7 random samples, 30 random training images, sample 3 copied from them (trial {trial + 1})"
            got = _tensor(_call(nearest_neighbour_distances, s, r), name, case, (7,))
            others = torch.cdist(s.flatten(1), r.flatten(1)).sort(dim=1).values
            _expect_vector(got, nearest_neighbours(s, r)[0], name, case, [
                (others[:, 1], "a copied sample is at distance 0 from its original: do not skip the closest image."),
                (others.mean(1), "take the minimum over the training images, not the mean."),
            ], atol=2e-3)  # torch.cdist's fast float32 path is off by ~1e-3 for an exact copy
        return "measures how close each sample comes to the training set: near 0 means a copy."

    return _report("nearest_neighbour_distances", body)


# --- 05: data augmentation -------------------------------------------------------------------------
def check_shift_image(shift_image: Callable) -> CheckResult:
    """``shift_image(images, dx, dy)`` -> the images moved dx pixels right and dy down (whole
    pixels, either sign), with background (-1) where nothing moved in."""
    from .augment import affine

    def reference(images: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
        return affine(images, torch.zeros(len(images)), torch.tensor([[float(dx), float(dy)]] * len(images)))

    def body() -> str:
        name = "shift_image"
        image = torch.tensor([[[[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9]]]])
        for dx, dy in ((1, 0), (0, -1), (-2, 1)):
            case = f"the 3x3 image [[.1, .2, .3], [.4, .5, .6], [.7, .8, .9]] with dx={dx}, dy={dy}"
            got = _tensor(_call(shift_image, image, dx, dy), name, case, (1, 1, 3, 3))
            _expect_vector(got, reference(image, dx, dy), name, case, [
                (torch.roll(image, (dy, dx), dims=(2, 3)), "torch.roll wraps pixels around to the other side; "
                                                           "fill the uncovered pixels with background (-1) instead."),
                (torch.where(reference(image, dx, dy) == -1, torch.zeros(()), reference(image, dx, dy)),
                 "the background is -1 (the digits' pixels are in [-1, 1]), not 0."),
                (reference(image, -dx, -dy), "positive dx moves the picture right and positive dy down: flip signs."),
                (reference(image, dy, dx), "dx moves columns (the last dimension), dy moves rows."),
            ])
        gen = torch.Generator().manual_seed(0)
        for trial, (dx, dy) in enumerate(((2, -3), (-1, -1), (0, 0))):
            images = torch.rand(5, 1, 8, 8, generator=gen) * 2 - 1
            case = f"5 random 8x8 images, dx={dx}, dy={dy} (trial {trial + 1})"
            got = _tensor(_call(shift_image, images, dx, dy), name, case, (5, 1, 8, 8))
            _expect_vector(got, reference(images, dx, dy), name, case)
        images = torch.rand(2, 1, 8, 8, generator=gen)
        case = "2 random 8x8 images moved 9 pixels right (off the image)"
        got = _tensor(_call(shift_image, images, 9, 0), name, case, (2, 1, 8, 8))
        _expect_vector(got, torch.full((2, 1, 8, 8), -1.0), name, case)
        return "moves whole pixels and fills with background: the classic augmentation by hand."

    return _report("shift_image", body)


def check_paired_gain(paired_gain: Callable) -> CheckResult:
    """``paired_gain(method, baseline)`` -> (mean, standard error) of the per-seed differences
    method - baseline: std with N - 1, divided by sqrt(N)."""

    def reference(method, baseline) -> torch.Tensor:
        d = torch.as_tensor(method, dtype=torch.float64) - torch.as_tensor(baseline, dtype=torch.float64)
        return torch.stack([d.mean(), d.std() / len(d) ** 0.5]).float()

    def body() -> str:
        name = "paired_gain"
        method, baseline = [0.9, 0.8, 0.7], [0.85, 0.8, 0.6]
        case = "method=[0.9, 0.8, 0.7], baseline=[0.85, 0.8, 0.6] (differences 0.05, 0, 0.1)"
        got = _tensor(_call(paired_gain, method, baseline), name, case, (2,))
        m, b = torch.tensor(method), torch.tensor(baseline)
        d = m - b
        _expect_vector(got, reference(method, baseline), name, case, [
            (torch.stack([-d.mean(), d.std() / 3**0.5]), "the gain is method minus baseline."),
            (torch.stack([d.mean(), d.std()]), "the standard error of a mean divides the std by √N."),
            (torch.stack([d.mean(), d.std(correction=0) / 3**0.5]), "use the unbiased std (divide by N - 1)."),
            (torch.stack([d.mean(), (m.var() / 3 + b.var() / 3).sqrt()]),
             "pair the seeds: take each seed's difference first, then its spread."),
            (torch.stack([d.mean(), d.std() / 3]), "divide the std by √N, not N."),
        ])
        gen = torch.Generator().manual_seed(0)
        for trial in range(3):
            n = (5, 8, 2)[trial]
            base = 0.85 + 0.05 * torch.rand(n, generator=gen)
            meth = base + 0.02 + 0.01 * torch.randn(n, generator=gen)
            case = f"{n} random seeds (trial {trial + 1})"
            values = (meth.tolist(), base.tolist())
            got = _tensor(_call(paired_gain, *values), name, case, (2,))
            _expect_vector(got, reference(*values), name, case)
        return "is the paired comparison: each seed's luck cancels in its own difference."

    return _report("paired_gain", body)


# --- 06: super-resolution --------------------------------------------------------------------------


def check_psnr(psnr: Callable) -> CheckResult:
    """``psnr(estimate, target, data_range)`` -> 10 log10(data_range^2 / MSE), in decibels."""
    from skimage.metrics import peak_signal_noise_ratio

    def reference(estimate, target, data_range):
        return peak_signal_noise_ratio(target.double().numpy(), estimate.double().numpy(), data_range=data_range)

    def body() -> str:
        name = "psnr"
        target = torch.tensor([[0.0, 0.5, 1.0], [1.5, 1.0, 0.5]], dtype=torch.float64)
        case = "target [[0, 0.5, 1], [1.5, 1, 0.5]], estimate = target + 0.1 everywhere (MSE 0.01), data_range 2"
        got = _scalar(_call(psnr, target + 0.1, target, 2.0), name, case)
        log10 = math.log10
        _expect_close(got, 10 * log10(4 / 0.01), name, case, {
            10 * math.log(4 / 0.01): "use the base-10 logarithm (torch.log10): decibels are 10 log10 of a ratio.",
            log10(4 / 0.01): "multiply by 10: decibels are 10 log10 of a ratio of powers.",
            20 * log10(4 / 0.01): "with the MSE (a squared error) the factor is 10; 20 goes with the RMSE.",
            10 * log10(2 / 0.01): "square the data range: PSNR compares the peak *power*, data_range², with the MSE.",
            10 * log10(1 / 0.01): "use data_range (here 2), not 1, as the peak value.",
            10 * log10(4 / 0.06): "average the squared errors over the pixels (.mean()), do not sum them.",
            10 * log10(4 / 0.1): "square the errors: the MSE, not the mean absolute error.",
            -10 * log10(4 / 0.01): "mind the sign: the ratio is data_range² / MSE, so a good estimate scores high.",
        })
        gen = torch.Generator().manual_seed(0)
        for trial, (data_range, noise) in enumerate(((1.0, 0.05), (255.0, 10.0), (1.0, 0.2))):
            target = torch.rand(2, 1, 12, 10, generator=gen) * data_range
            estimate = target + noise * torch.randn(target.shape, generator=gen)
            _expect_match(psnr, reference, (estimate, target, data_range), name,
                          f"random 2x1x12x10 images, data_range {data_range:g}, noise {noise:g} (trial {trial + 1})")
        ones = torch.ones(1, 1, 4, 4)
        _expect_match(psnr, reference, (torch.zeros_like(ones), ones, 1.0), name,
                      "the worst case: target all 1, estimate all 0, data_range 1 (MSE 1: 0 dB)")
        return "is 10 log10(data_range² / MSE): every 10 dB more is a tenfold smaller squared error."

    return _report("psnr", body)


def check_downsample(downsample: Callable) -> CheckResult:
    """``downsample(images, factor)`` -> the mean of each factor x factor block, shape N x C x H/f x W/f."""

    def body() -> str:
        name = "downsample"
        images = torch.arange(1.0, 9.0).reshape(1, 1, 2, 4)
        case = "images [[1, 2, 3, 4], [5, 6, 7, 8]] (shape 1x1x2x4), factor 2"
        got = _tensor(_call(downsample, images, 2), name, case, (1, 1, 1, 2))
        _expect_vector(got, torch.tensor([[[[3.5, 5.5]]]]), name, case, [
            (torch.tensor([[[[14.0, 22.0]]]]), "average the block: divide its sum by factor² (or use .mean())."),
            (torch.tensor([[[[1.0, 3.0]]]]), "average the whole block instead of keeping one pixel of it."),
            (torch.tensor([[[[6.0, 8.0]]]]), "take the mean of the block, not its maximum."),
            (torch.tensor([[[[2.5, 6.5]]]]), "these blocks are rows, not squares: split each side into (blocks, "
                                             "pixels), reshape(n, c, h // factor, factor, w // factor, factor), "
                                             "then average dimensions 3 and 5."),
        ])
        gen = torch.Generator().manual_seed(0)
        for trial, (shape, factor) in enumerate((((3, 2, 8, 12), 4), ((2, 1, 6, 9), 3), ((1, 3, 4, 10), 2))):
            x = torch.rand(shape, generator=gen)
            n, c, h, w = shape
            case = f"random images of shape {n}x{c}x{h}x{w}, factor {factor} (trial {trial + 1})"
            got = _tensor(_call(downsample, x, factor), name, case, (n, c, h // factor, w // factor))
            _expect_vector(got, F.avg_pool2d(x, factor), name, case, [
                (x[..., ::factor, ::factor], "average the whole block instead of keeping one pixel of it."),
                (F.avg_pool2d(x, factor) * factor**2, "average the block: divide its sum by factor²."),
            ])
        x = torch.rand(2, 1, 5, 5, generator=gen)
        case = "random 2x1x5x5 images, factor 1 (each block is one pixel: nothing changes)"
        _expect_vector(_tensor(_call(downsample, x, 1), name, case, (2, 1, 5, 5)), x, name, case)
        case = "random 2x1x5x5 images, factor 5 (one block: each image's mean)"
        _expect_vector(_tensor(_call(downsample, x, 5), name, case, (2, 1, 1, 1)), x.mean(dim=(2, 3), keepdim=True),
                       name, case)
        return "averages each factor x factor block: what a sensor with larger pixels would record."

    return _report("downsample", body)


# --- 07: text to image -----------------------------------------------------------------------------


def _stroke_images() -> torch.Tensor:
    """Four hand-made 8x8 strokes (ink 1 on a background of -1): /, a 2-pixel-wide |, \\, and a steep /."""
    images = -torch.ones(4, 1, 8, 8)
    for r in range(8):
        images[0, 0, r, 7 - r] = 1.0  # "/": one column right per row up, slant +1
        images[2, 0, r, r] = 1.0  # "\": slant -1
        images[3, 0, r, 5 - r // 2] = 1.0  # leans right, less than 45°
    images[1, 0, 1:7, 3:5] = 1.0  # upright: slant 0
    return images


def _slant_variant(images: torch.Tensor, ink=True, y_up=True, central=True, divide="mu02") -> torch.Tensor:
    """The reference shear mu11 / mu02 (all defaults), or the usual mistakes in computing it."""
    w = (images.double() + 1) / 2 if ink else images.double()
    rows = torch.arange(8, dtype=torch.float64).view(1, 1, 8, 1)
    y = 7 - rows if y_up else rows
    x = torch.arange(8, dtype=torch.float64).view(1, 1, 1, 8)
    mass = w.sum(dim=(1, 2, 3), keepdim=True)
    if central:
        x, y = x - (w * x).sum(dim=(1, 2, 3), keepdim=True) / mass, y - (w * y).sum(dim=(1, 2, 3), keepdim=True) / mass
    mu11, mu02, mu20 = ((w * a * b).sum(dim=(1, 2, 3)) for a, b in ((x, y), (y, y), (x, x)))
    return {"mu02": mu11 / mu02, "mu20": mu11 / mu20, "none": mu11, "angle": torch.atan(mu11 / mu02)}[divide].float()


def check_slant(slant: Callable) -> CheckResult:
    """``slant(images)`` -> mu11 / mu02 of each image's ink (x right, y up), N values."""

    def body() -> str:
        name = "slant"
        images = _stroke_images()
        case = "four hand-made strokes: /, a wide |, \\ and a steep / (expected +1, 0, -1, 0.48)"
        got = _tensor(_call(slant, images), name, case, (4,))
        _expect_vector(got, _slant_variant(images), name, case, [
            (_slant_variant(images, y_up=False), "count y upwards (row 0 is the top, so y = 7 - row): a stroke "
                                                 "leaning right (/) has slant +1."),
            (_slant_variant(images, divide="mu20"), "divide by mu02, the spread of the rows (y), not mu20."),
            (_slant_variant(images, divide="none"), "divide mu11 by mu02: the slant is a ratio, dx per dy."),
            (_slant_variant(images, divide="angle"), "return the ratio mu11 / mu02, not its angle."),
            (_slant_variant(images, ink=False), "weight each pixel by its ink, (x + 1) / 2: the background is -1, "
                                                "which means no ink, not negative ink."),
            (_slant_variant(images, central=False), "use central moments: subtract the ink's centroid from x and y "
                                                    "first."),
        ])
        gen = torch.Generator().manual_seed(0)
        for trial in range(3):
            x = torch.rand(5, 1, 8, 8, generator=gen) * 2 - 1
            case = f"5 random 8x8 images in [-1, 1] (trial {trial + 1})"
            expected = _slant_variant(x)
            _expect_vector(_tensor(_call(slant, x), name, case, (5,)), expected, name, case, [
                (_slant_variant(x, central=False), "use central moments: subtract the centroid first."),
                (_slant_variant(x, ink=False), "weight each pixel by its ink, (x + 1) / 2."),
            ])
        faint = -1 + 0.1 * (_stroke_images() + 1)  # the same strokes with a twentieth of the ink
        case = "the hand-made strokes drawn faintly (ink 0.1 instead of 1)"
        _expect_vector(_tensor(_call(slant, faint), name, case, (4,)), _slant_variant(images), name, case, [
            (torch.zeros(4), "weight by the ink (x + 1) / 2 itself; don't threshold the pixels."),
        ])
        return "is the shear mu11 / mu02 of the ink: +1 for /, 0 upright, -1 for \\, whatever the ink's strength."

    return _report("slant", body)


def _matching_aware(real_right: torch.Tensor, real_wrong: torch.Tensor, fake_right: torch.Tensor) -> torch.Tensor:
    return F.softplus(-real_right).mean() + 0.5 * (F.softplus(real_wrong).mean() + F.softplus(fake_right).mean())


def check_matching_aware_discriminator_loss(matching_aware_discriminator_loss: Callable) -> CheckResult:
    """``(real_right, real_wrong, fake_right)`` logits -> E sp(-s_r) + (E sp(s_w) + E sp(s_f)) / 2 (GAN-INT-CLS)."""

    def body() -> str:
        name = "matching_aware_discriminator_loss"
        rr, rw, fr = torch.tensor([0.0, LN3]), torch.tensor([LN3, LN3]), torch.tensor([0.0, -LN3])
        case = ("real_right=[0, ln 3], real_wrong=[ln 3, ln 3], fake_right=[0, -ln 3] "
                "(D = 1/2, 3/4; 3/4, 3/4; 1/2, 1/4)")
        got = _scalar(_call(matching_aware_discriminator_loss, rr, rw, fr), name, case)
        sp = F.softplus
        a, b, c = sp(-rr).mean().item(), sp(rw).mean().item(), sp(fr).mean().item()
        _expect_close(got, a + (b + c) / 2, name, case, {
            a + b + c: "weight the two fake terms by 1/2 each: Reed et al. average them, so real and fake "
                       "pairs weigh the same.",
            (a + b + c) / 3: "the real pair keeps weight 1; only the two fake terms are averaged (1/2 each).",
            a + c: "add the mismatched term: a real image with the wrong text must count as fake.",
            a + c / 2: "add the mismatched term, softplus(real_wrong) / 2: a real image with the wrong text is fake.",
            a + b: "add the generated images' term, softplus(fake_right) / 2.",
            a + b / 2: "add the generated images' term, softplus(fake_right) / 2.",
            a + (sp(-rw).mean().item() + c) / 2: "a real image with the *wrong* text counts as fake: "
                                                 "softplus(real_wrong), not softplus(-real_wrong).",
            sp(-rw).mean().item() + (sp(rr).mean().item() + c) / 2: "real_right and real_wrong are swapped: the "
                                                                     "image with its own text is the real pair.",
            -(a + (b + c) / 2): "mind the sign: the loss is the negated log-likelihood, softplus(-s_r) for real.",
        })
        gen = torch.Generator().manual_seed(0)
        for trial, n in enumerate((16, 9, 12)):
            args = tuple(2 * torch.randn(n, generator=gen) for _ in range(3))
            _expect_match(matching_aware_discriminator_loss, _matching_aware, args, name,
                          f"random logits, {n} of each (trial {trial + 1})")
        big = torch.tensor([80.0, -80.0])
        _expect_match(matching_aware_discriminator_loss, _matching_aware, (big, -big, big), name, "logits of ±80")
        return "calls a real image real only with its own text: a wrong caption or a generated image is fake."

    return _report("matching_aware_discriminator_loss", body)
