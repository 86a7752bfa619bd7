"""Every self-check passes the right answer and answers each kind of wrong one with a hint."""

import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from ganlib import exercises


def run(check, fn, capsys):
    result = check(fn)
    printed = capsys.readouterr().out.strip()
    assert printed == result.message  # the learner sees exactly the verdict
    return result


# --- value_function ---------------------------------------------------------------------
def vf_right(r, f):
    return F.logsigmoid(r).mean() + F.logsigmoid(-f).mean()


def vf_naive(r, f):  # right formula, but log(sigmoid) underflows for large logits
    return torch.log(torch.sigmoid(r)).mean() + torch.log(1 - torch.sigmoid(f)).mean()


VALUE_WRONG = {
    "negated": (lambda r, f: -vf_right(r, f), "minus V"),
    "sum not mean": (lambda r, f: F.logsigmoid(r).sum() + F.logsigmoid(-f).sum(), "should return"),
    "log D on fakes": (lambda r, f: F.logsigmoid(r).mean() + F.logsigmoid(f).mean(), "log(1 - D(G(z)))"),
    "no reduction": (lambda r, f: F.logsigmoid(r) + F.logsigmoid(-f), "shape (2,)"),
    "returns None": (lambda r, f: None, "forget `return`"),
    "raises": (lambda r, f: r @ torch.zeros(3), "raised an error: RuntimeError"),
    "stub": (lambda r, f: (_ for _ in ()).throw(NotImplementedError()), "replace `raise NotImplementedError()`"),
    "unstable": (vf_naive, "use F.softplus or F.logsigmoid"),
    "returns a string": (lambda r, f: "V", "returned a str"),
    "real and fake swapped": (lambda r, f: F.logsigmoid(-r).mean() + F.logsigmoid(f).mean(), "swapped"),
    "the two terms averaged": (lambda r, f: (F.logsigmoid(r).mean() + F.logsigmoid(-f).mean()) / 2, "half of V"),
    "one mean over both batches": (lambda r, f: torch.cat([F.logsigmoid(r), F.logsigmoid(-f)]).mean(), "half of V"),
    "sum, not mean (twice V here)": (lambda r, f: F.logsigmoid(r).sum() + F.logsigmoid(-f).sum(), "twice V"),
}


def test_a_check_does_not_modify_the_learners_inputs(capsys):
    def mutating(r, f):
        r.mul_(0)
        return vf_right(r, f)

    result = run(exercises.check_value_function, mutating, capsys)
    assert not result.passed  # the learner zeroed its copy, so the value is wrong...
    assert exercises._checking._REAL.tolist() == [0.0, pytest.approx(1.0986, abs=1e-4)]  # ...and ours is intact


# --- optimal_discriminator ----------------------------------------------------------------
OPTIMAL_WRONG = {
    "swapped": (lambda pd, pg: pg / (pd + pg), "probability that x is *real*"),
    "ratio": (lambda pd, pg: pd / pg, "divide by the sum"),
    "constant half": (lambda pd, pg: torch.full_like(pd, 0.5), "D*(x) = p_data(x)"),
    "scalar": (lambda pd, pg: (pd / (pd + pg)).mean(), "shape (4,)"),
    "None": (lambda pd, pg: None, "forget `return`"),
}


# --- discriminator_step / generator_step --------------------------------------------------
def d_step(G, D, opt, real, latent_dim, detach=True, zero=True, loss="d", step=True):
    z = torch.randn(len(real), latent_dim)
    fake = G(z).detach() if detach else G(z)
    if loss == "d":
        value = F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()
    else:
        value = F.softplus(-D(fake)).mean()
    if zero:
        opt.zero_grad()
    value.backward()
    if step:
        opt.step()
    return value


D_WRONG = {
    "not detached": (lambda *a: d_step(*a, detach=False), "Detach the fakes"),
    "no zero_grad": (lambda *a: d_step(*a, zero=False), "zero_grad()"),
    "generator loss": (lambda *a: d_step(*a, loss="g"), "that is the generator's loss"),
    "no optimizer step": (lambda *a: d_step(*a, step=False), "did not change"),
    "returns None": (lambda *a: d_step(*a) and None, "forget `return`"),
    "negated loss, named as a sign": (lambda *a: -d_step(*a), "mind the sign"),
    "the two terms averaged": (lambda *a: d_step(*a) / 2, "half the loss"),
    "terms swapped": (lambda G, D, opt, real, k: (lambda fake: F.softplus(D(real)).mean()
                                                  + F.softplus(-D(fake)).mean())(G(torch.randn(len(real), k)).detach()),
                      "swapped"),
    "leaves G frozen": (lambda G, D, opt, real, k: (G.requires_grad_(False), d_step(G, D, opt, real, k))[1], "frozen"),
}


def g_step(G, D, opt, batch_size, latent_dim, loss="ns", zero=True, step=True, step_d=False, detach=False,
           no_grad=False, freeze_d=False, zero_after=False, backward=True):
    if freeze_d:
        D.requires_grad_(False)  # and, the mistake, never requires_grad_(True) again
    with torch.set_grad_enabled(not no_grad):
        fake = G(torch.randn(batch_size, latent_dim))
    fake_logits = D(fake.detach() if detach else fake)
    value = F.softplus(-fake_logits).mean() if loss == "ns" else -F.softplus(fake_logits).mean()
    if zero:
        opt.zero_grad()
    if backward:
        value.backward()
    if zero_after:
        opt.zero_grad()
    if step:
        opt.step()
    if step_d:
        with torch.no_grad():
            for p in D.parameters():
                p -= 0.01 * p.grad
    return value


G_WRONG = {
    "minimax loss": (lambda *a: g_step(*a, loss="mm"), "saturating"),
    "no zero_grad": (lambda *a: g_step(*a, zero=False), "zero_grad()"),
    "no step": (lambda *a: g_step(*a, step=False), "did not change"),
    "updates D too": (lambda *a: g_step(*a, step_d=True), "keep D fixed"),
    "raises": (lambda G, D, opt, n, k: G(torch.randn(n, k + 1)), "raised an error"),
    "detached fakes, named": (lambda *a: g_step(*a, detach=True), "because the fakes were detached"),
    "fakes made under no_grad": (lambda *a: g_step(*a, no_grad=True), "fakes were detached"),
    "leaves D frozen": (lambda *a: g_step(*a, freeze_d=True), "left the discriminator frozen"),
    "zero_grad between backward and step": (lambda *a: g_step(*a, zero_after=True), "cleared"),
    "no backward": (lambda *a: g_step(*a, backward=False), "Call g_loss.backward()"),
    "negated loss, named as a sign": (lambda *a: -g_step(*a), "mind the sign"),
}


# --- non_saturating_loss / hinge_discriminator_loss ------------------------------------------
NS_WRONG = {
    "minimax": (lambda f: -F.softplus(f).mean(), "saturating"),
    "sign": (lambda f: -F.softplus(-f).mean(), "mind the sign"),
    "unstable": (lambda f: -torch.log(torch.sigmoid(f)).mean(), "stay finite"),
    "per sample": (lambda f: F.softplus(-f), "shape (2,)"),
}


HINGE_WRONG = {
    "no clipping": (lambda r, f: (1 - r).mean() + (1 + f).mean(), "clip at zero"),
    "swapped": (lambda r, f: F.relu(1 + r).mean() + F.relu(1 - f).mean(), "swapped"),
    "wasserstein": (lambda r, f: f.mean() - r.mean(), "should return"),
}


# --- Batteries: at least 20 wrong answers per check, across every kind of mistake ------------


@pytest.fixture(autouse=True)
def short_time_limit(monkeypatch):
    monkeypatch.setattr(exercises, "TIME_LIMIT", 0.5)  # "hangs" answers cost half a second


def _raise(exc):
    raise exc


def _hang(*args):
    while True:
        time.sleep(0.01)


def generic_battery(right, mutating):
    """Mistakes any check must name, whatever its answer's shape: ``right`` is the right answer,
    ``mutating`` a right answer that also changes one of its inputs in place."""
    return {
        "returns None": (lambda *a: None, "forget `return`"),
        "returns a string": (lambda *a: "answer", "returned a str"),
        "returns NaN": (lambda *a: torch.as_tensor(right(*a)) * float("nan"), "NaN"),
        "raises ValueError": (lambda *a: _raise(ValueError("bad input")), "ValueError: bad input"),
        "divides by zero": (lambda *a: 1 / 0, "ZeroDivisionError"),
        "still a stub": (lambda *a: _raise(NotImplementedError()), "replace `raise NotImplementedError()`"),
        "hangs": (_hang, "still running after 0.5 s"),
        "mutates its input": (mutating, "changed its input"),
    }


def scalar_battery(right, example_value, tensor_arg=0):
    """Generic mistakes for a check whose answer is one number; argument ``tensor_arg`` is a tensor."""

    def mutate_then_right(*a):
        out = right(*a)
        a[tensor_arg].add_(1.0)
        return out

    return {
        "10% too large": (lambda *a: right(*a) * 1.1, "should return"),
        "shifted by 0.5": (lambda *a: right(*a) + 0.5, "should return"),
        "halved": (lambda *a: right(*a) / 2, "should return"),
        "returns None": (lambda *a: None, "forget `return`"),
        "returns a string": (lambda *a: "answer", "returned a str"),
        "returns a list": (lambda *a: [float(torch.as_tensor(right(*a)).detach())], "returned a list"),
        "returns NaN": (lambda *a: right(*a) * float("nan"), "NaN"),
        "returns inf": (lambda *a: right(*a) + float("inf"), "inf"),
        "raises ValueError": (lambda *a: _raise(ValueError("bad shapes")), "ValueError: bad shapes"),
        "divides by zero": (lambda *a: 1 / 0, "ZeroDivisionError"),
        "still a stub": (lambda *a: _raise(NotImplementedError()), "replace `raise NotImplementedError()`"),
        "hangs": (_hang, "still running after 0.5 s"),
        "mutates its input": (mutate_then_right, "changed its input"),
        "integer dtype": (lambda *a: torch.as_tensor(right(*a)).round().long(), "dtype torch.int64"),
        "boolean result": (lambda *a: torch.as_tensor(right(*a)) > -100, "dtype torch.bool"),
        "one value per sample (3,)": (lambda *a: torch.as_tensor(right(*a)).repeat(3), "shape (3,)"),
        "a 2x2 tensor": (lambda *a: torch.as_tensor(right(*a)).expand(2, 2), "shape (2, 2)"),
        "right on the example only": (lambda *a: torch.tensor(example_value), "random"),
    }


def check_battery(check, battery, capsys):
    assert len(battery) >= 20, f"only {len(battery)} wrong answers"
    for kind, (fn, hint) in battery.items():
        result = check(fn)
        printed = capsys.readouterr().out.strip()
        assert not result.passed, f"{kind}: accepted a wrong answer"
        assert hint in result.message, f"{kind}: expected {hint!r} in {result.message!r}"
        assert printed == result.message


def test_value_function_battery(capsys):
    battery = scalar_battery(vf_right, -0.9808292530117262) | VALUE_WRONG
    check_battery(exercises.check_value_function, battery, capsys)


def test_non_saturating_battery(capsys):
    right = lambda f: F.softplus(-f).mean()  # noqa: E731
    battery = scalar_battery(right, 1.5 * 0.6931471805599453) | NS_WRONG
    battery["sum not mean"] = (lambda f: F.softplus(-f).sum(), "should return")
    check_battery(exercises.check_non_saturating_loss, battery, capsys)


def test_hinge_battery(capsys):
    right = lambda r, f: F.relu(1 - r).mean() + F.relu(1 + f).mean()  # noqa: E731
    battery = scalar_battery(right, 1.5) | HINGE_WRONG
    battery["only the real term"] = (lambda r, f: F.relu(1 - r).mean(), "should return")
    battery["margin 0"] = (lambda r, f: F.relu(-r).mean() + F.relu(f).mean(), "should return")
    check_battery(exercises.check_hinge_discriminator_loss, battery, capsys)


def hq_right(samples, means, std):
    return (torch.cdist(samples, means).min(dim=1).values < 3 * std).float().mean()


def test_high_quality_fraction_battery(capsys):
    battery = scalar_battery(hq_right, 0.4)
    battery |= {
        "count, not fraction": (lambda s, m, std: (torch.cdist(s, m).min(1).values < 3 * std).sum().float(),
                                "fraction"),
        "first mean only": (lambda s, m, std: ((s - m[0]).norm(dim=1) < 3 * std).float().mean(), "nearest"),
        "one std, not three": (lambda s, m, std: (torch.cdist(s, m).min(1).values < std).float().mean(), "3 * std"),
        "squared distance": (lambda s, m, std: (torch.cdist(s, m).min(1).values ** 2 < 3 * std).float().mean(),
                             "should return"),
    }
    check_battery(exercises.check_high_quality_fraction, battery, capsys)


def ring_right(n, radius):
    angles = torch.arange(n) * 2 * torch.pi / n
    return radius * torch.stack([angles.cos(), angles.sin()], 1)


def test_ring_means_battery(capsys):
    battery = {
        "x and y swapped": (lambda n, r: ring_right(n, r).flip(1), "swapped"),
        "angles off by one step": (lambda n, r: ring_right(n, r).roll(1, 0) * 1.0 if n != 8 else ring_right(n, r)
                                   .roll(1, 0), "other angles"),
        "360 degrees read as 2 pi in degrees": (lambda n, r: r * torch.stack(
            [torch.cos(torch.arange(n) * 360.0 / n), torch.sin(torch.arange(n) * 360.0 / n)], 1), "angle"),
        "ignores the radius": (lambda n, r: ring_right(n, 1.0), "expected"),
        "radius squared": (lambda n, r: ring_right(n, r * r), "expected"),
        "hard-coded 8 modes": (lambda n, r: ring_right(8, r), "shape"),
        "transposed": (lambda n, r: ring_right(n, r).T, "shape"),
        "flattened": (lambda n, r: ring_right(n, r).flatten(), "shape"),
        "one extra mode": (lambda n, r: ring_right(n + 1, r), "shape"),
        "returns None": (lambda n, r: None, "forget `return`"),
        "returns a string": (lambda n, r: "ring", "returned a str"),
        "returns NaN": (lambda n, r: ring_right(n, r) * float("nan"), "NaN"),
        "raises": (lambda n, r: _raise(TypeError("no")), "TypeError: no"),
        "still a stub": (lambda n, r: _raise(NotImplementedError()), "replace `raise NotImplementedError()`"),
        "hangs": (_hang, "still running"),
        "right on the example only": (lambda n, r: ring_right(8, 1.0), "shape"),
        "cos for both": (lambda n, r: ring_right(n, r)[:, :1].repeat(1, 2), "expected"),
        "diameter for radius": (lambda n, r: ring_right(n, 2 * r), "expected"),
        "negative angles ok? no: clockwise": (lambda n, r: ring_right(n, r) * torch.tensor([1.0, -1.0]), "angles"),
        "half circle": (lambda n, r: r * torch.stack([torch.cos(torch.arange(n) * torch.pi / n),
                                                      torch.sin(torch.arange(n) * torch.pi / n)], 1), "angles"),
    }
    check_battery(exercises.check_ring_means, battery, capsys)


def test_optimal_discriminator_battery(capsys):
    right = lambda pd, pg: pd / (pd + pg)  # noqa: E731

    def mutate(pd, pg):
        out = right(pd, pg)
        pd.zero_()
        return out

    battery = OPTIMAL_WRONG | {
        "difference": (lambda pd, pg: pd - pg, "D*(x)"),
        "p_data alone": (lambda pd, pg: pd, "D*(x)"),
        "plus a half": (lambda pd, pg: right(pd, pg) + 0.5, "D*(x)"),
        "log of it": (lambda pd, pg: torch.log(right(pd, pg) + 1e-9), "D*(x)"),
        "transposed column": (lambda pd, pg: right(pd, pg)[:, None], "shape (4,)"),
        "a list of the right values": (lambda pd, pg: [0.75, 0.5, 0.0], "shape (4,)"),
        "a string": (lambda pd, pg: "D*", "expected a tensor"),
        "NaN": (lambda pd, pg: right(pd, pg) * float("nan"), "NaN"),
        "raises": (lambda pd, pg: _raise(RuntimeError("boom")), "RuntimeError: boom"),
        "still a stub": (lambda pd, pg: _raise(NotImplementedError()), "replace `raise NotImplementedError()`"),
        "hangs": (_hang, "still running"),
        "mutates its input": (mutate, "changed its input"),
        "integer": (lambda pd, pg: (right(pd, pg) > 0.6).long(), "D*(x)"),
        "right on the example only": (lambda pd, pg: torch.tensor([0.75, 0.5, 0.0, 1.0])[:len(pd)],
                                      "random densities"),
        "ratio to the max": (lambda pd, pg: pd / torch.maximum(pd, pg), "D*(x)"),
        "squared": (lambda pd, pg: right(pd, pg) ** 2, "D*(x)"),
    }
    check_battery(exercises.check_optimal_discriminator, battery, capsys)


def _step_battery(right, kind):
    def returns(value):
        return lambda *a: (right(*a), value)[1]

    battery = {
        "returns None": (returns(None), "forget `return`"),
        "returns a string": (returns("done"), "returned a str"),
        "returns NaN": (lambda *a: right(*a) * float("nan"), "NaN"),
        "loss 10% too large": (lambda *a: right(*a) * 1.1, "should return"),
        "per-sample loss": (lambda *a: right(*a).repeat(3), "shape (3,)"),
        "integer loss": (lambda *a: right(*a).long(), "dtype torch.int64"),
        "raises": (lambda *a: _raise(ValueError("no")), "ValueError: no"),
        "still a stub": (lambda *a: _raise(NotImplementedError()), "replace `raise NotImplementedError()`"),
        "hangs": (_hang, "still running"),
    }
    return battery


def d_zero_after(G, D, opt, real, k):
    loss = F.softplus(-D(real)).mean() + F.softplus(D(G(torch.randn(len(real), k)).detach())).mean()
    loss.backward()
    opt.zero_grad()
    opt.step()
    return loss


def d_step_first(G, D, opt, real, k):
    opt.step()  # with whatever gradients were lying there
    loss = F.softplus(-D(real)).mean() + F.softplus(D(G(torch.randn(len(real), k)).detach())).mean()
    opt.zero_grad()
    loss.backward()
    return loss


def test_discriminator_step_battery(capsys):
    def mutate_real(G, D, opt, real, k):
        out = d_step(G, D, opt, real, k)
        real.add_(1.0)
        return out

    def two_steps(G, D, opt, real, k):
        d_step(G, D, opt, real, k)
        return d_step(G, D, opt, real, k)

    battery = _step_battery(d_step, "d") | D_WRONG | {
        "mutates the real batch": (mutate_real, "changed its input"),
        "two updates": (two_steps, "should return"),
        "hinge loss instead": (lambda G, D, opt, real, k: (lambda fake: (
            F.relu(1 - D(real)).mean() + F.relu(1 + D(fake)).mean()))(G(torch.randn(len(real), k)).detach()),
            "should return"),
        "real and fake swapped": (lambda G, D, opt, real, k: d_step(G, D, opt, G(torch.randn(len(real), k)).detach(),
                                                                    k), "should return"),
        "noise of the wrong size": (lambda G, D, opt, real, k: d_step(G, D, opt, real, k + 1), "raised an error"),
        "updates G too": (lambda G, D, opt, real, k: d_step(G, D, opt, real, k, detach=False), "Detach"),
        "zero_grad after backward": (d_zero_after, "did not change"),
        "step before backward": (d_step_first, "should return"),
        "sum instead of mean": (lambda G, D, opt, real, k: d_step(G, D, opt, real, k) * len(real), "should return"),
        "negated loss": (lambda G, D, opt, real, k: -d_step(G, D, opt, real, k), "should return"),
    }
    check_battery(exercises.check_discriminator_step, battery, capsys)


def g_zero_after(G, D, opt, n, k):
    loss = F.softplus(-D(G(torch.randn(n, k)))).mean()
    loss.backward()
    opt.zero_grad()
    opt.step()
    return loss


def test_generator_step_battery(capsys):
    def twice(G, D, opt, n, k):
        g_step(G, D, opt, n, k)
        return g_step(G, D, opt, n, k)

    battery = _step_battery(g_step, "g") | G_WRONG | {
        "two updates": (twice, "should return"),
        "least squares instead": (lambda G, D, opt, n, k: 0.5 * ((D(G(torch.randn(n, k))) - 1) ** 2).mean(),
                                  "should return"),
        "wrong batch size": (lambda G, D, opt, n, k: g_step(G, D, opt, 2 * n, k), "should return"),
        "detached fakes, G cannot learn": (lambda G, D, opt, n, k: F.softplus(-D(G(torch.randn(n, k)).detach()))
                                           .mean(), "did not change"),
        "zero_grad after backward": (g_zero_after, "did not change"),
        "sum instead of mean": (lambda G, D, opt, n, k: g_step(G, D, opt, n, k) * n, "should return"),
        "negated loss": (lambda G, D, opt, n, k: -g_step(G, D, opt, n, k), "should return"),
        "mean D output as loss": (lambda G, D, opt, n, k: (g_step(G, D, opt, n, k), D(G(torch.randn(n, k))).mean())[1],
                                  "should return"),
    }
    check_battery(exercises.check_generator_step, battery, capsys)


def g_step_frozen_then_released(G, D, opt, n, k):
    D.requires_grad_(False)  # freezing D during G's step is fine when it is released afterwards
    loss = g_step(G, D, opt, n, k)
    D.requires_grad_(True)
    return loss


def test_generator_step_that_freezes_d_and_releases_it_passes(capsys):
    assert run(exercises.check_generator_step, g_step_frozen_then_released, capsys).passed


AS_TYPES = {  # any real scalar passes where a number is expected
    "a Python float": lambda value: torch.as_tensor(value).item(),
    "a NumPy float32": lambda value: np.float32(torch.as_tensor(value).item()),
    "a NumPy 0-d float32 array": lambda value: np.array(torch.as_tensor(value).item(), dtype=np.float32),
    "a 0-d tensor": lambda value: torch.as_tensor(value).detach().reshape(()),
    "a one-element tensor": lambda value: torch.as_tensor(value).detach().reshape(1),
}
SCALAR_CHECKS = {
    "value_function": (exercises.check_value_function, vf_right),
    "maximum_likelihood_cost": (exercises.check_maximum_likelihood_cost, lambda f: -0.5 * f.exp().mean()),
    "kl_divergence": (exercises.check_kl_divergence, lambda lp, lq, dx: (lp.exp() * (lp - lq)).sum() * dx),
    "high_quality_fraction": (exercises.check_high_quality_fraction, lambda *a: hq_right(*a)),
    "non_saturating_loss": (exercises.check_non_saturating_loss, lambda f: F.softplus(-f).mean()),
    "hinge_discriminator_loss": (exercises.check_hinge_discriminator_loss,
                                 lambda r, f: F.relu(1 - r).mean() + F.relu(1 + f).mean()),
    "discriminator_step": (exercises.check_discriminator_step, d_step),
    "generator_step": (exercises.check_generator_step, g_step),
}


@pytest.mark.parametrize("check", SCALAR_CHECKS)
@pytest.mark.parametrize("kind", AS_TYPES)
def test_a_right_answer_passes_as_any_real_scalar_type(check, kind, capsys):
    check_fn, right = SCALAR_CHECKS[check]
    convert = AS_TYPES[kind]
    result = run(check_fn, lambda *a: convert(right(*a)), capsys)
    assert result.passed, result.message


@settings(max_examples=25, deadline=None)
@given(st.floats(0.5, 2.0).filter(lambda c: abs(c - 1) > 0.01), st.floats(-0.5, 0.5))
def test_any_rescaled_or_shifted_value_function_is_rejected(scale, shift):
    result = exercises.check_value_function(lambda r, f: scale * vf_right(r, f) + shift)
    assert not result.passed


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-30, 30), min_size=1, max_size=20), st.lists(st.floats(-30, 30), min_size=1, max_size=20))
def test_reference_losses_agree_with_their_definitions_for_any_logits(real, fake):
    from ganlib import losses

    # log sigmoid(r) = -log(1 + e^-r) and log(1 - sigmoid(f)) = -log(1 + e^f), by NumPy's logaddexp.
    expected = -np.logaddexp(0, -np.array(real)).mean() - np.logaddexp(0, np.array(fake)).mean()
    got = losses.value_function(torch.tensor(real, dtype=torch.float64), torch.tensor(fake, dtype=torch.float64))
    assert got.item() == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert exercises.check_non_saturating_loss(lambda x: F.softplus(-x).mean()).passed


# --- 08-11 --------------------------------------------------------------------------------
def rkl_right(counts):
    q = counts / counts.sum()
    return np.log(len(counts)) + torch.special.xlogy(q, q).sum()


def test_reverse_kl_battery(capsys):
    battery = scalar_battery(rkl_right, 0.6931471805599453) | {
        "entropy, not reverse KL": (lambda c: -torch.special.xlogy(c / c.sum(), c / c.sum()).sum(), "should return"),
        "0 log 0 left as NaN": (lambda c: np.log(len(c)) + (c / c.sum() * (c / c.sum()).log()).sum(), "0 * log 0"),
        "log2": (lambda c: rkl_right(c) / np.log(2), "natural log"),
        "sign flipped": (lambda c: -rkl_right(c), "mind the sign"),
        "counts not normalised": (lambda c: np.log(len(c)) + torch.special.xlogy(c, c).sum(), "normalise the counts"),
    }
    check_battery(exercises.check_reverse_kl, battery, capsys)


def test_minimax_slope_battery(capsys):
    right = lambda f: -torch.sigmoid(f).mean()  # noqa: E731
    battery = scalar_battery(right, -0.375) | {
        "non-saturating slope": (lambda f: -(1 - torch.sigmoid(f)).mean(), "non-saturating"),
        "sign": (lambda f: torch.sigmoid(f).mean(), "mind the sign"),
        "sigmoid's derivative": (lambda f: (torch.sigmoid(f) * (1 - torch.sigmoid(f))).mean(), "sigmoid's own"),
        "sum": (lambda f: -torch.sigmoid(f).sum(), "mean"),
    }
    check_battery(exercises.check_minimax_slope, battery, capsys)


def fd1_right(r, f):
    return (r.mean() - f.mean()) ** 2 + (r.std() - f.std()) ** 2


def test_frechet_distance_1d_battery(capsys):
    battery = scalar_battery(fd1_right, 11.0) | {
        "biased variance": (lambda r, f: (r.mean() - f.mean()) ** 2 + (r.std(correction=0) - f.std(correction=0)) ** 2,
                            "unbiased"),
        "variances": (lambda r, f: (r.mean() - f.mean()) ** 2 + (r.var() - f.var()) ** 2, "standard deviations"),
        "unsquared means": (lambda r, f: (r.mean() - f.mean()).abs() + (r.std() - f.std()) ** 2, "square the"),
        "square root": (lambda r, f: fd1_right(r, f).sqrt(), "no square root"),
    }
    check_battery(exercises.check_frechet_distance_1d, battery, capsys)


def is_right(p):
    return torch.exp((p * (p / p.mean(0)).log()).sum(1).mean())


def test_inception_score_battery(capsys):
    battery = scalar_battery(is_right, 1.3171) | {
        "no exp": (lambda p: (p * (p / p.mean(0)).log()).sum(1).mean(), "exponential"),
        "KL reversed": (lambda p: torch.exp((p.mean(0) * (p.mean(0) / p).log()).sum(1).mean()), "goes from p(y|x)"),
        "log2": (lambda p: torch.exp((p * (p / p.mean(0)).log2()).sum(1).mean()), "natural logs"),
        "marginal over classes": (lambda p: torch.exp((p * (p / p.mean(1, keepdim=True)).log()).sum(1).mean()),
                                  "should return"),
    }
    check_battery(exercises.check_inception_score, battery, capsys)


def _input_gradient(D, x):
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    return g


def gp_right(D, real, fake, weight=10.0):
    eps = torch.rand(len(real), 1)
    return weight * (_input_gradient(D, eps * real + (1 - eps) * fake).norm(dim=1) - 1).pow(2).mean()


def test_gradient_penalty_battery(capsys):
    battery = scalar_battery(gp_right, 160.0, tensor_arg=1) | {
        "right on the example only": (lambda D, r, f, weight=10.0: torch.tensor(160.0), "cannot train D"),
        "no weight": (lambda D, r, f, weight=10.0: gp_right(D, r, f, 1.0), "multiply by the weight"),
        "squared norm": (lambda D, r, f, weight=10.0: weight * (_input_gradient(D, r).pow(2).sum(1) - 1).pow(2).mean(),
                         "not its squared norm"),
        "R1 instead": (lambda D, r, f, weight=10.0: weight * _input_gradient(D, r).pow(2).sum(1).mean(), "that is R1"),
        "on real samples only": (lambda D, r, f, weight=10.0: weight * (_input_gradient(D, r).norm(dim=1) - 1)
                                 .pow(2).mean(), "segments between real and fake"),
        "one eps for all": (lambda D, r, f, weight=10.0: weight * (_input_gradient(D, 0.3 * r + 0.7 * f).norm(dim=1)
                                                                  - 1).pow(2).mean(), "one per sample"),
        "detached": (lambda D, r, f, weight=10.0: gp_right(D, r, f, weight).detach(), "cannot train D"),
        "gradient without graph": (lambda D, r, f, weight=10.0: weight * (
            torch.autograd.grad(D(r.requires_grad_(True)).sum(), r)[0].norm(dim=1) - 1).pow(2).mean() * 1.0,
            "cannot train D"),
    }
    check_battery(exercises.check_gradient_penalty, battery, capsys)


def r1_right(D, real, gamma=10.0):
    return gamma / 2 * _input_gradient(D, real).pow(2).sum(1).mean()


def test_r1_penalty_battery(capsys):
    battery = scalar_battery(r1_right, 20.0, tensor_arg=1) | {
        "no half": (lambda D, r, gamma=10.0: 2 * r1_right(D, r, gamma), "gamma / 2 times"),
        "no gamma": (lambda D, r, gamma=10.0: r1_right(D, r, 2.0), "multiply by gamma / 2"),
        "unsquared norm": (lambda D, r, gamma=10.0: gamma / 2 * _input_gradient(D, r).norm(dim=1).mean(),
                           "square the gradient"),
        "detached": (lambda D, r, gamma=10.0: r1_right(D, r, gamma).detach(), "does not reach D's weights"),
        "sum over the batch": (lambda D, r, gamma=10.0: gamma / 2 * _input_gradient(D, r).pow(2).sum(),
                               "should return"),
    }
    check_battery(exercises.check_r1_penalty, battery, capsys)


def ra_d(r, f):
    return F.softplus(-(r - f.mean())).mean() + F.softplus(f - r.mean()).mean()


def ra_g(r, f):
    return F.softplus(-(f - r.mean())).mean() + F.softplus(r - f.mean()).mean()


def test_relativistic_discriminator_battery(capsys):
    battery = scalar_battery(ra_d, ra_d(exercises._checking._REAL, exercises._checking._FAKE).item()) | {
        "ordinary loss": (lambda r, f: F.softplus(-r).mean() + F.softplus(f).mean(), "ordinary loss"),
        "generator's": (ra_g, "generator's loss"),
        "unstable": (lambda r, f: -torch.log(torch.sigmoid(r - f.mean())).mean()
                     - torch.log(1 - torch.sigmoid(f - r.mean())).mean(), "F.softplus"),
    }
    check_battery(exercises.check_relativistic_discriminator_loss, battery, capsys)


def test_relativistic_generator_battery(capsys):
    battery = scalar_battery(ra_g, ra_g(exercises._checking._REAL, exercises._checking._FAKE).item()) | {
        "discriminator's": (ra_d, "discriminator's loss"),
        "first term only": (lambda r, f: F.softplus(-(f - r.mean())).mean(), "keep the second term"),
        "unstable": (lambda r, f: -torch.log(torch.sigmoid(f - r.mean())).mean()
                     - torch.log(1 - torch.sigmoid(r - f.mean())).mean(), "F.softplus"),
    }
    check_battery(exercises.check_relativistic_generator_loss, battery, capsys)


# --- extragradient_step (notebook 01) -------------------------------------------------------
def eg_right(x, y, eta):
    x_trial, y_trial = x - eta * y, y + eta * x
    return x - eta * y_trial, y + eta * x_trial


def eg_with_state():
    calls = []

    def step(x, y, eta):  # right on the first call, then drifts: keeps state between calls
        calls.append(1)
        new_x, new_y = eg_right(x, y, eta)
        return new_x * (1 + 1e-3 * (len(calls) > 3)), new_y

    return step


def eg_then(transform):
    return lambda x, y, eta: transform(*eg_right(x, y, eta))


EXTRAGRADIENT_WRONG = {
    "simultaneous": (lambda x, y, eta: (x - eta * y, y + eta * x), "plain simultaneous step"),
    "alternating, y first": (lambda x, y, eta: (x - eta * (y + eta * x), y + eta * x), "alternating step (y first"),
    "alternating, x first": (lambda x, y, eta: (x - eta * y, y + eta * (x - eta * y)), "alternating step (x first"),
    "real step from the trial point": (lambda x, y, eta: (x - eta * y - eta * (y + eta * x),
                                                          y + eta * x + eta * (x - eta * y)), "from the trial point"),
    "signs flipped": (lambda x, y, eta: (x + eta * (y + eta * x), y - eta * (x - eta * y)), "mind the signs"),
    "swapped output": (eg_then(lambda x, y: (y, x)), "swapped"),
    "returns None": (lambda x, y, eta: None, "forget `return x, y`"),
    "returns x only": (eg_then(lambda x, y: x), "expected the pair"),
    "returns three values": (eg_then(lambda x, y: (x, y, 0.0)), "expected the pair"),
    "returns a string": (lambda x, y, eta: "x, y", "expected the pair"),
    "raises": (lambda x, y, eta: _raise(ValueError("no")), "ValueError: no"),
    "still a stub": (lambda x, y, eta: _raise(NotImplementedError()), "replace `raise NotImplementedError()`"),
    "hangs": (lambda x, y, eta: _hang(), "still running"),
    "constant eta": (lambda x, y, eta: eg_right(x, y, 0.1), "Use the arguments"),
    "half a step": (lambda x, y, eta: eg_right(x, y, eta / 2), "Hint: trial"),
    "two steps": (lambda x, y, eta: eg_right(*eg_right(x, y, eta), eta), "Hint: trial"),
    "trial step only for x": (lambda x, y, eta: (x - eta * (y + eta * x), y + eta * x), "alternating"),
    "the gradient's factor eta twice": (lambda x, y, eta: (x - eta**2 * (y + eta * x), y + eta**2 * (x - eta * y)),
                                        "Hint: trial"),
    "keeps state": (eg_with_state(), "keep state"),
    "float32 off by a rounding": (eg_then(lambda x, y: (x + 1e-3, y)), "Hint: trial"),
    "NaN": (eg_then(lambda x, y: (float("nan"), y)), "Hint: trial"),
}


def test_extragradient_step_battery(capsys):
    check_battery(exercises.check_extragradient_step, EXTRAGRADIENT_WRONG, capsys)


def test_extragradient_step_accepts_tensors_and_float32(capsys):
    result = run(exercises.check_extragradient_step, lambda x, y, eta: torch.tensor(eg_right(x, y, eta)), capsys)
    assert result.passed
    # The message's radius is the closed form r0 (1 - eta^2 + eta^4)^(n/2), computed independently here.
    assert f"{np.hypot(1, 0.5) * (1 - 0.01 + 1e-4) ** 75:.3f}" in result.message


# --- train_step: find the three bugs (notebook 02) ---------------------------------------------
def buggy(detach=True, zero_d=True, d_step_in_g=False, zero_g=True, g_loss="non_saturating", reuse_z=False,
          zero_d_after=False, returns="pair"):
    def train_step(G, D, g_optimizer, d_optimizer, real, latent_dim):
        z = torch.randn(len(real), latent_dim)
        fake = G(z).detach() if detach else G(z)
        d_loss = F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()
        if zero_d and not zero_d_after:
            d_optimizer.zero_grad()
        d_loss.backward()
        if zero_d_after:
            d_optimizer.zero_grad()
        d_optimizer.step()
        logits = D(G(z if reuse_z else torch.randn(len(real), latent_dim)))
        g = F.softplus(-logits).mean() if g_loss == "non_saturating" else -F.softplus(logits).mean()
        if zero_g:
            g_optimizer.zero_grad()
        g.backward()
        g_optimizer.step()
        if d_step_in_g:
            d_optimizer.step()
        return {"pair": (d_loss, g), "none": None, "swapped": (g, d_loss), "d only": d_loss}[returns]

    return train_step


def step_g_twice(G, D, g_optimizer, d_optimizer, real, latent_dim):
    out = buggy()(G, D, g_optimizer, d_optimizer, real, latent_dim)
    g_optimizer.step()
    return out


BUG_NAMES = {"d_step_in_g": "D stepped in G's update", "detach": "not detached", "zero_d": "no d_optimizer.zero_grad()"}
TRAIN_STEP_WRONG = {
    "the notebook's buggy step (all three bugs)": (buggy(detach=False, zero_d=False, d_step_in_g=True),
                                                   BUG_NAMES["d_step_in_g"]),
    "only D stepped in G's update": (buggy(d_step_in_g=True), BUG_NAMES["d_step_in_g"]),
    "only not detached": (buggy(detach=False), BUG_NAMES["detach"]),
    "only no zero_grad for D": (buggy(zero_d=False), BUG_NAMES["zero_d"]),
    "not detached, no zero_grad for D": (buggy(detach=False, zero_d=False), BUG_NAMES["detach"]),
    "not detached, D stepped in G's": (buggy(detach=False, d_step_in_g=True), BUG_NAMES["d_step_in_g"]),
    "no zero_grad for D, D stepped in G's": (buggy(zero_d=False, d_step_in_g=True), BUG_NAMES["d_step_in_g"]),
    "no zero_grad for G either": (buggy(zero_g=False), "g_optimizer.zero_grad()"),
    "zero_grad for D after its backward": (buggy(zero_d_after=True), "did not change"),
    "minimax generator loss": (buggy(g_loss="minimax"), "non-saturating"),
    "G reuses D's noise": (buggy(reuse_z=True), "draw new noise"),
    "G stepped twice": (step_g_twice, "ran 2 times"),
    "returns None": (buggy(returns="none"), "should return the pair"),
    "returns d_loss only": (buggy(returns="d only"), "should return the pair"),
    "losses swapped": (buggy(returns="swapped"), "should return"),
    "raises": (lambda *a: _raise(ValueError("no")), "ValueError: no"),
    "still a stub": (lambda *a: _raise(NotImplementedError()), "replace `raise NotImplementedError()`"),
    "hangs": (lambda *a: _hang(), "still running"),
    "does nothing": (lambda *a: (torch.tensor(1.0), torch.tensor(1.0)), "did not change"),
    "only trains D": (lambda G, D, go, do, real, k: (d_step(G, D, do, real, k), torch.tensor(0.0)), "ran 0 times"),
}


def test_train_step_battery(capsys):
    check_battery(exercises.check_train_step, TRAIN_STEP_WRONG, capsys)


# --- maximum_likelihood_cost and kl_divergence (notebook 12, the appendix to 03) ------------------
def ml_right(f):
    return -0.5 * f.exp().mean()


def test_maximum_likelihood_cost_battery(capsys):
    battery = scalar_battery(ml_right, -1.0) | {
        "sign": (lambda f: 0.5 * f.exp().mean(), "mind the sign"),
        "no factor 1/2": (lambda f: -f.exp().mean(), "factor 1/2"),
        "sum, not mean": (lambda f: -0.5 * f.exp().sum(), ".mean()"),
        "exp(-f)": (lambda f: -0.5 * (-f).exp().mean(), "not e^(-f)"),
        "D instead of its odds": (lambda f: -0.5 * torch.sigmoid(f).mean(), "D's odds"),
        "the non-saturating loss": (lambda f: F.softplus(-f).mean(), "should return"),
    }
    check_battery(exercises.check_maximum_likelihood_cost, battery, capsys)


def kl_right(log_p, log_q, dx):
    return (log_p.exp() * (log_p - log_q)).sum() * dx


def test_kl_divergence_battery(capsys):
    battery = scalar_battery(kl_right, 0.4431471805599453) | {
        "arguments swapped (reverse KL)": (lambda lp, lq, dx: kl_right(lq, lp, dx), "the order matters"),
        "sign": (lambda lp, lq, dx: -kl_right(lp, lq, dx), "mind the sign"),
        "no dx": (lambda lp, lq, dx: kl_right(lp, lq, dx) / dx, "multiply the sum by dx"),
        "weighted by log p": (lambda lp, lq, dx: (lp * (lp - lq)).sum() * dx, "not by log_p"),
        "unweighted": (lambda lp, lq, dx: (lp - lq).sum() * dx, "weight each point"),
        "a plain mean": (lambda lp, lq, dx: (lp - lq).mean(), "not a plain mean"),
        "JS instead": (lambda lp, lq, dx: 0.5 * kl_right(lp, torch.logaddexp(lp, lq) - np.log(2), dx)
                       + 0.5 * kl_right(lq, torch.logaddexp(lp, lq) - np.log(2), dx), "closed form"),
    }
    battery["right on the example only"] = (battery["right on the example only"][0], "right on the first case")
    check_battery(exercises.check_kl_divergence, battery, capsys)


RIGHT_ANSWERS = {
    "ring_means": (exercises.check_ring_means, ring_right),
    "high_quality_fraction": (exercises.check_high_quality_fraction, hq_right),
    "value_function": (exercises.check_value_function, vf_right),
    "optimal_discriminator": (exercises.check_optimal_discriminator, lambda pd, pg: pd / (pd + pg)),
    "discriminator_step": (exercises.check_discriminator_step, d_step),
    "generator_step": (exercises.check_generator_step, g_step),
    "non_saturating_loss": (exercises.check_non_saturating_loss, lambda f: F.softplus(-f).mean()),
    "hinge_discriminator_loss": (exercises.check_hinge_discriminator_loss,
                                 lambda r, f: F.relu(1 - r).mean() + F.relu(1 + f).mean()),
    "reverse_kl": (exercises.check_reverse_kl, rkl_right),
    "minimax_slope": (exercises.check_minimax_slope, lambda f: -torch.sigmoid(f).mean()),
    "frechet_distance_1d": (exercises.check_frechet_distance_1d, fd1_right),
    "inception_score": (exercises.check_inception_score, is_right),
    "gradient_penalty": (exercises.check_gradient_penalty, gp_right),
    "r1_penalty": (exercises.check_r1_penalty, r1_right),
    "relativistic_discriminator_loss": (exercises.check_relativistic_discriminator_loss, ra_d),
    "relativistic_generator_loss": (exercises.check_relativistic_generator_loss, ra_g),
    "extragradient_step": (exercises.check_extragradient_step, eg_right),
    "train_step": (exercises.check_train_step, buggy()),
    "maximum_likelihood_cost": (exercises.check_maximum_likelihood_cost, ml_right),
    "kl_divergence": (exercises.check_kl_divergence, kl_right),
}


@pytest.mark.parametrize("name", RIGHT_ANSWERS)
def test_the_right_answer_passes(name, capsys):
    check, right = RIGHT_ANSWERS[name]
    result = run(check, right, capsys)
    assert result.passed and result.message.startswith("✅ Correct")


def test_an_error_inside_torch_points_at_the_learners_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "learner.py").write_text(
        "import torch\n\n\ndef nearest(samples, training):\n"
        "    return torch.cdist(samples.flatten(2), training.flatten(2)).min(-1).values\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    from learner import nearest

    result = run(exercises.check_nearest_neighbour_distances, nearest, capsys)
    assert "RuntimeError" in result.message
    assert "(line 5: `return torch.cdist(samples.flatten(2), training.flatten(2)).min(-1).values`)" in result.message


# --- 08-11, second round: the noise floor, the slopes' ratio, the pairing loss, the appendices' ----------
def floor_right(n, k, std, h):
    p = np.pi * (3 * std) ** 2 / (2 * h) ** 2
    return k * (1 - (1 - p) ** n), k * p


def _p(std, h):
    return np.pi * (3 * std) ** 2 / (2 * h) ** 2


def test_expected_noise_floor_battery(capsys):
    e = "should return"
    battery = {
        "n p instead of the chance of none": (lambda n, k, std, h: (n * k * _p(std, h), k * _p(std, h)), "(1 - p)^n"),
        "modes nobody reaches": (lambda n, k, std, h: (k * (1 - _p(std, h)) ** n, k * _p(std, h)), "no* sample"),
        "any mode at all": (lambda n, k, std, h: (1 - (1 - k * _p(std, h)) ** n, k * _p(std, h)), "on its own"),
        "sigma, not 3 sigma": (lambda n, k, std, h: floor_right(n, k, std / 3, h), "3 * std"),
        "area h^2": (lambda n, k, std, h: floor_right(n, k, std * 2, h), "(2h)^2"),
        "a count of samples": (lambda n, k, std, h: (floor_right(n, k, std, h)[0], n * k * _p(std, h)), "a fraction"),
        "one mode's share": (lambda n, k, std, h: (floor_right(n, k, std, h)[0], _p(std, h)), "number of modes"),
        "swapped": (lambda n, k, std, h: floor_right(n, k, std, h)[::-1], "swapped"),
        "one number": (lambda n, k, std, h: floor_right(n, k, std, h)[0], "should return a pair"),
        "three numbers": (lambda n, k, std, h: (*floor_right(n, k, std, h), 0.0), "should return a pair"),
        "modes capped at K": (lambda n, k, std, h: (min(n * k * _p(std, h), k), k * _p(std, h)), e),
        "right on the ring only": (lambda n, k, std, h: (5.655773, 0.003927), e),
        "percent": (lambda n, k, std, h: (floor_right(n, k, std, h)[0], 100 * k * _p(std, h)), e),
        "circle of radius h": (lambda n, k, std, h: (k * (1 - (1 - (3 * std / h) ** 2) ** n),
                                                      k * (3 * std / h) ** 2), e),
        "returns None": (lambda *a: None, "forget `return`"),
        "returns a string": (lambda *a: "answer", "a pair"),
        "returns NaN": (lambda *a: (float("nan"), 0.1), "NaN"),
        "raises ValueError": (lambda *a: _raise(ValueError("bad input")), "ValueError: bad input"),
        "divides by zero": (lambda *a: 1 / 0, "ZeroDivisionError"),
        "still a stub": (lambda *a: _raise(NotImplementedError()), "replace `raise NotImplementedError()`"),
        "hangs": (_hang, "still running after 0.5 s"),
    }
    check_battery(exercises.check_expected_noise_floor, battery, capsys)


def ratio_right(f):
    f = f.clone().requires_grad_(True)
    (a,) = torch.autograd.grad(exercises.hard_questions.losses.LOSSES["minimax"].generator(f), f)
    (b,) = torch.autograd.grad(exercises.hard_questions.losses.LOSSES["non_saturating"].generator(f), f)
    return a / b


def _mutating_ratio(f):
    out = ratio_right(f)
    f.add_(1.0)
    return out


def test_slope_ratio_battery(capsys):
    e = "should return"
    battery = {
        "sign": (lambda f: -ratio_right(f), "mind the sign"),
        "inverted": (lambda f: 1 / ratio_right(f), "not the reverse"),
        "D(G(z))": (lambda f: torch.sigmoid(f), "1 - D(G(z))"),
        "divided by N": (lambda f: ratio_right(f) / len(f), "cancels"),
        "one number": (lambda f: ratio_right(f).mean(), "should return shape"),
        "ratio of means": (lambda f: (torch.sigmoid(f).mean() / (1 - torch.sigmoid(f)).mean()).repeat(len(f)), e),
        "1 - D": (lambda f: 1 - torch.sigmoid(f), e),
        "D / (1 - D) squared": (lambda f: ratio_right(f) ** 2, e),
        "logit itself": (lambda f: f.clone(), e),
        "exp(-f)": (lambda f: torch.exp(-f), e),
        "sigmoid's derivative": (lambda f: torch.sigmoid(f) * (1 - torch.sigmoid(f)), e),
        "one too many": (lambda f: torch.cat([ratio_right(f), torch.ones(1)]), "should return shape"),
        "right on the first case only": (lambda f: torch.tensor([1.0, 1 / 3]), "should return shape"),
        "a 2-d column": (lambda f: ratio_right(f)[:, None], "should return shape"),
        **generic_battery(ratio_right, _mutating_ratio),
    }
    battery["returns a string"] = (lambda *a: "answer", "expected a tensor")
    check_battery(exercises.check_slope_ratio, battery, capsys)


def pairing_right(r, f):
    return F.softplus(f - r).mean(), F.softplus(r - f).mean()


def _mutating_pairing(r, f):
    out = pairing_right(r, f)
    r.add_(1.0)
    return out


def test_pairing_losses_battery(capsys):
    e = "should return"
    battery = {
        "swapped": (lambda r, f: pairing_right(r, f)[::-1], "swapped"),
        "average form": (lambda r, f: (ra_d(r, f), pairing_right(r, f)[1]), "*average* form"),
        "ordinary D loss": (lambda r, f: (F.softplus(-r).mean() + F.softplus(f).mean(), pairing_right(r, f)[1]),
                            "ordinary loss"),
        "summed": (lambda r, f: (F.softplus(f - r).sum(), F.softplus(r - f).sum()), "mean"),
        "G is minus D": (lambda r, f: (pairing_right(r, f)[0], -pairing_right(r, f)[0]), "not minus D's"),
        "average G": (lambda r, f: (pairing_right(r, f)[0], ra_g(r, f)), "*average* form's generator"),
        "one loss": (lambda r, f: pairing_right(r, f)[0], "should return a pair"),
        "unstable": (lambda r, f: (-torch.log(torch.sigmoid(r - f)).mean(), -torch.log(torch.sigmoid(f - r)).mean()),
                     "softplus"),
        "all pairs": (lambda r, f: (F.softplus(f[None, :] - r[:, None]).mean(), F.softplus(r[:, None] - f[None, :])
                                    .mean()), e),
        "hinge instead": (lambda r, f: (F.relu(1 + f - r).mean(), F.relu(1 + r - f).mean()), e),
        "minimax G": (lambda r, f: (pairing_right(r, f)[0], -F.softplus(f - r).mean()), e),
        "right on the hand case only": (lambda r, f: tuple(v.detach() for v in pairing_right(
            exercises._checking._REAL, exercises._checking._FAKE)), e),
        "returns None": (lambda *a: None, "forget `return`"),
        "returns a string": (lambda *a: "answer", "a pair"),
        "returns NaN": (lambda *a: (torch.tensor(float("nan")), torch.tensor(0.1)), "NaN"),
        "raises ValueError": (lambda *a: _raise(ValueError("bad input")), "ValueError: bad input"),
        "divides by zero": (lambda *a: 1 / 0, "ZeroDivisionError"),
        "still a stub": (lambda *a: _raise(NotImplementedError()), "replace `raise NotImplementedError()`"),
        "hangs": (_hang, "still running after 0.5 s"),
        "mutates its input": (_mutating_pairing, "changed its input"),
    }
    check_battery(exercises.check_pairing_losses, battery, capsys)


def bias_right(x, n):
    return torch.cov(x.T).trace() / n


def _mutating_bias(x, n):
    out = bias_right(x, n)
    x.add_(1.0)
    return out


def test_mean_term_bias_battery(capsys):
    battery = scalar_battery(bias_right, 2.0) | {
        "not divided by n": (lambda x, n: torch.cov(x.T).trace(), "divide by n"),
        "biased covariance": (lambda x, n: x.var(0, correction=0).sum() / n, "unbiased"),
        "n squared": (lambda x, n: torch.cov(x.T).trace() / n**2, "not by n squared"),
        "trace of Sigma squared": (lambda x, n: (torch.cov(x.T) @ torch.cov(x.T)).trace() / n, "Sigma squared"),
        "every entry": (lambda x, n: torch.cov(x.T).sum() / n, "the diagonal"),
    }
    check_battery(exercises.check_mean_term_bias, battery, capsys)


def truncated_right(n, d, t, g):
    z = torch.randn(n, d, generator=g)
    while (bad := z.abs() > t).any():
        z[bad] = torch.randn(int(bad.sum()), generator=g)
    return z


def test_truncated_noise_battery(capsys):
    e = "not a normal distribution"
    battery = {
        "clamped": (lambda n, d, t, g: torch.randn(n, d, generator=g).clamp(-t, t), "clamping"),
        "not truncated": (lambda n, d, t, g: torch.randn(n, d, generator=g), "exceeds the threshold"),
        "scaled to the band": (lambda n, d, t, g: torch.randn(n, d, generator=g) * t / 5, "ψ of the sweep"),
        "uniform in the band": (lambda n, d, t, g: (2 * torch.rand(n, d, generator=g) - 1) * t, e),
        "folded": (lambda n, d, t, g: truncated_right(n, d, t, g).abs(), e),
        "rescaled after cutting": (lambda n, d, t, g: truncated_right(n, d, t, g) * 0.5, e),
        "modulo": (lambda n, d, t, g: torch.remainder(torch.randn(n, d, generator=g) + t, 2 * t) - t, e),
        "zeros": (lambda n, d, t, g: torch.zeros(n, d), "barely vary"),
        "wrong shape": (lambda n, d, t, g: truncated_right(d, n, t, g), "should return shape"),
        "one row": (lambda n, d, t, g: truncated_right(1, d, t, g), "should return shape"),
        "flat": (lambda n, d, t, g: truncated_right(n * d, 1, t, g), "should return shape"),
        "integer": (lambda n, d, t, g: truncated_right(n, d, t, g).round(), "barely vary"),
        "returns None": (lambda *a: None, "forget `return`"),
        "returns a string": (lambda *a: "answer", "expected a tensor"),
        "returns NaN": (lambda n, d, t, g: truncated_right(n, d, t, g) * float("nan"), "NaN"),
        "raises ValueError": (lambda *a: _raise(ValueError("bad input")), "ValueError: bad input"),
        "divides by zero": (lambda *a: 1 / 0, "ZeroDivisionError"),
        "still a stub": (lambda *a: _raise(NotImplementedError()), "replace `raise NotImplementedError()`"),
        "hangs": (_hang, "still running after 0.5 s"),
        "too narrow": (lambda n, d, t, g: truncated_right(n, d, t / 2, g), e),
    }
    check_battery(exercises.check_truncated_noise, battery, capsys)


def power_right(w, iterations):
    v = torch.ones(w.shape[1])
    for _ in range(iterations):
        v = w.T @ (w @ v)
        v = v / v.norm()
    return (w @ v).norm()


def _mutating_power(w, iterations):
    out = power_right(w, iterations)
    w.mul_(2.0)
    return out


def test_largest_singular_value_battery(capsys):
    battery = scalar_battery(power_right, 3.0) | {
        "Frobenius": (lambda w, i: w.norm(), "Frobenius"),
        "sigma squared": (lambda w, i: power_right(w, i) ** 2, "sigma squared"),
        "smallest": (lambda w, i: torch.linalg.svdvals(w)[-1], "smallest"),
        "largest entry": (lambda w, i: w.abs().max(), "largest entry"),
        "one iteration": (lambda w, i: power_right(w, 1) * 0.9, "should return"),
    }
    battery["mutates its input"] = (_mutating_power, "changed its input")
    check_battery(exercises.check_largest_singular_value, battery, capsys)


def w1_right(x, y):
    return (x.sort().values - y.sort().values).abs().mean()


def test_wasserstein_1d_battery(capsys):
    battery = scalar_battery(w1_right, 1.0) | {
        "unsorted": (lambda x, y: (x - y).abs().mean(), "sort both"),
        "difference of means": (lambda x, y: (x.mean() - y.mean()).abs(), "lower bound"),
        "summed": (lambda x, y: (x.sort().values - y.sort().values).abs().sum(), "don't sum"),
        "squared": (lambda x, y: (x.sort().values - y.sort().values).pow(2).mean(), "W2 squared"),
        "one sorted": (lambda x, y: (x.sort().values - y).abs().mean(), "should return"),
    }
    check_battery(exercises.check_wasserstein_1d, battery, capsys)


def test_the_new_right_answers_pass(capsys):
    for check, right in ((exercises.check_expected_noise_floor, floor_right),
                         (exercises.check_slope_ratio, ratio_right),
                         (exercises.check_pairing_losses, pairing_right),
                         (exercises.check_mean_term_bias, bias_right),
                         (exercises.check_truncated_noise, truncated_right),
                         (exercises.check_largest_singular_value, power_right),
                         (exercises.check_wasserstein_1d, w1_right)):
        result = run(check, right, capsys)
        assert result.passed and result.message.startswith("✅ Correct"), result.message
