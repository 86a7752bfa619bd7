"""Every self-check passes the right answer and answers each kind of wrong one with a hint."""

import pytest
import torch
import torch.nn.functional as F

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
}


def test_value_function_right_answer_passes(capsys):
    assert run(exercises.check_value_function, vf_right, capsys).passed


@pytest.mark.parametrize("kind", VALUE_WRONG)
def test_value_function_wrong_answers_get_a_specific_hint(kind, capsys):
    fn, hint = VALUE_WRONG[kind]
    result = run(exercises.check_value_function, fn, capsys)
    assert not result.passed and hint in result.message


def test_a_check_does_not_modify_the_learners_inputs(capsys):
    def mutating(r, f):
        r.mul_(0)
        return vf_right(r, f)

    result = run(exercises.check_value_function, mutating, capsys)
    assert not result.passed  # the learner zeroed its copy, so the value is wrong...
    assert exercises._REAL.tolist() == [0.0, pytest.approx(1.0986, abs=1e-4)]  # ...and ours is intact


# --- optimal_discriminator ----------------------------------------------------------------
OPTIMAL_WRONG = {
    "swapped": (lambda pd, pg: pg / (pd + pg), "probability that x is *real*"),
    "ratio": (lambda pd, pg: pd / pg, "divide by the sum"),
    "constant half": (lambda pd, pg: torch.full_like(pd, 0.5), "D*(x) = p_data(x)"),
    "scalar": (lambda pd, pg: (pd / (pd + pg)).mean(), "shape (4,)"),
    "None": (lambda pd, pg: None, "forget `return`"),
}


def test_optimal_discriminator_right_answer_passes(capsys):
    assert run(exercises.check_optimal_discriminator, lambda pd, pg: pd / (pd + pg), capsys).passed


@pytest.mark.parametrize("kind", OPTIMAL_WRONG)
def test_optimal_discriminator_wrong_answers(kind, capsys):
    fn, hint = OPTIMAL_WRONG[kind]
    result = run(exercises.check_optimal_discriminator, fn, capsys)
    assert not result.passed and hint in result.message


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
}


def test_discriminator_step_right_answer_passes(capsys):
    assert run(exercises.check_discriminator_step, d_step, capsys).passed


@pytest.mark.parametrize("kind", D_WRONG)
def test_discriminator_step_wrong_answers(kind, capsys):
    fn, hint = D_WRONG[kind]
    result = run(exercises.check_discriminator_step, fn, capsys)
    assert not result.passed and hint in result.message


def g_step(G, D, opt, batch_size, latent_dim, loss="ns", zero=True, step=True, step_d=False):
    fake_logits = D(G(torch.randn(batch_size, latent_dim)))
    value = F.softplus(-fake_logits).mean() if loss == "ns" else -F.softplus(fake_logits).mean()
    if zero:
        opt.zero_grad()
    value.backward()
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
}


def test_generator_step_right_answer_passes(capsys):
    assert run(exercises.check_generator_step, g_step, capsys).passed


@pytest.mark.parametrize("kind", G_WRONG)
def test_generator_step_wrong_answers(kind, capsys):
    fn, hint = G_WRONG[kind]
    result = run(exercises.check_generator_step, fn, capsys)
    assert not result.passed and hint in result.message


# --- non_saturating_loss / hinge_discriminator_loss ------------------------------------------
NS_WRONG = {
    "minimax": (lambda f: -F.softplus(f).mean(), "saturating"),
    "sign": (lambda f: -F.softplus(-f).mean(), "mind the sign"),
    "unstable": (lambda f: -torch.log(torch.sigmoid(f)).mean(), "stay finite"),
    "per sample": (lambda f: F.softplus(-f), "shape (2,)"),
}


def test_non_saturating_right_answer_passes(capsys):
    assert run(exercises.check_non_saturating_loss, lambda f: F.softplus(-f).mean(), capsys).passed


@pytest.mark.parametrize("kind", NS_WRONG)
def test_non_saturating_wrong_answers(kind, capsys):
    fn, hint = NS_WRONG[kind]
    result = run(exercises.check_non_saturating_loss, fn, capsys)
    assert not result.passed and hint in result.message


HINGE_WRONG = {
    "no clipping": (lambda r, f: (1 - r).mean() + (1 + f).mean(), "clip at zero"),
    "swapped": (lambda r, f: F.relu(1 + r).mean() + F.relu(1 - f).mean(), "swapped"),
    "wasserstein": (lambda r, f: f.mean() - r.mean(), "should return"),
}


def test_hinge_right_answer_passes(capsys):
    assert run(exercises.check_hinge_discriminator_loss, lambda r, f: F.relu(1 - r).mean() + F.relu(1 + f).mean(),
               capsys).passed


@pytest.mark.parametrize("kind", HINGE_WRONG)
def test_hinge_wrong_answers(kind, capsys):
    fn, hint = HINGE_WRONG[kind]
    result = run(exercises.check_hinge_discriminator_loss, fn, capsys)
    assert not result.passed and hint in result.message
