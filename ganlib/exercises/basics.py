"""Self-checks for notebooks 00-03 (introduction, objective, training algorithm, losses) and 12, the
appendix to 03 on the divergences behind the losses."""

from __future__ import annotations

import copy
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


# --- 00: introduction ---------------------------------------------------------------------
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
                hint = _("x and y are swapped: the first column is radius * cos(angle).")
            elif torch.allclose(got.norm(dim=1), torch.full((n_modes,), radius), atol=1e-4):
                hint = _("the points are on the circle, but at other angles: use angle_k = 2 pi k / n_modes, "
                         "k = 0..n-1.")
            else:
                hint = _("each centre is (radius cos(angle_k), radius sin(angle_k)).")
            raise _NotYet(_("on {case}, expected {expected}. {hint}", case=case,
                            expected=[[round(v, 3) for v in row] for row in expected.tolist()], hint=hint))
        return _("puts n_modes centres evenly on the circle, starting at angle 0.")

    return _report("ring_means", body)


def _high_quality_reference(samples: torch.Tensor, means: torch.Tensor, std: float) -> torch.Tensor:
    return (torch.cdist(samples, means).min(dim=1).values < 3 * std).float().mean()


def check_high_quality_fraction(high_quality_fraction: Callable) -> CheckResult:
    """``high_quality_fraction(samples, means, std)`` -> share of samples within 3 std of the nearest mean."""

    def body() -> str:
        name = "high_quality_fraction"
        means = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
        samples = torch.tensor([[0.02, 0.0], [0.9, 0.05], [0.5, 0.0], [1.0, -0.029], [3.0, 3.0]])
        case = _("means (0,0), (1,0), std 0.01, samples (0.02,0), (0.9,0.05), (0.5,0), (1,-0.029), (3,3)")
        got = _scalar(_call(high_quality_fraction, samples, means, 0.01), name, case)
        _expect_close(got, 2 / 5, name, case, {
            2.0: _("return the fraction of samples (a number from 0 to 1), not the count."),
            1 / 5: _("measure each sample's distance to its *nearest* mean, not to the first one."),
            0.0: _("high quality means a distance *under 3 standard deviations* (3 * std), not under std."),
        })
        gen = torch.Generator().manual_seed(0)
        for trial in range(3):
            means = torch.randn(6, 2, generator=gen) * 3
            samples = means[torch.randint(6, (200,), generator=gen)] + 0.08 * torch.randn(200, 2, generator=gen)
            case = _("200 random samples around 6 random means (trial {trial})", trial=trial + 1)
            _expect_match(high_quality_fraction, _high_quality_reference, (samples, means, 0.05), name, case)
        return _("counts the samples within 3 standard deviations of their nearest mean.")

    return _report("high_quality_fraction", body)


# --- 01: the objective --------------------------------------------------------------------
def check_value_function(value_function: Callable) -> CheckResult:
    """``value_function(real_logits, fake_logits)`` -> V(D, G) on a batch (§4)."""

    def body() -> str:
        name = "value_function"
        expected = losses.value_function(_REAL, _FAKE).item()
        hand = _hand()
        got = _scalar(_call(value_function, _REAL, _FAKE), name, hand)
        _expect_close(got, expected, name, hand, {
            -expected: _("that is minus V, the discriminator's loss; V itself is E[log D(x)] + E[log(1 - D(G(z)))]."),
            math.log(0.5 * 0.75) + math.log(0.5 * 0.25): _("average over the batch (mean), don't multiply."),
            0.5 * (math.log(0.5) + math.log(0.75)) + 0.5 * (math.log(0.5) + math.log(0.25)):
                _("the second term is log(1 - D(G(z))), not log D(G(z))."),
            F.logsigmoid(-_REAL).mean().item() + F.logsigmoid(_FAKE).mean().item(): _(
                "real and fake are swapped: E[log D(x)] takes the real logits, E[log(1 - D(G(z)))] = "
                "logsigmoid(-fake_logits) the fake ones."),
            expected / 2: _("that is half of V: add the two expectations, don't average them (one .mean() over both "
                            "batches together averages them too)."),
            2 * expected: _("that is twice V: average each term over its batch with .mean(), don't sum."),
        })
        for seed in range(3):
            r, f = _random_logits(seed), _random_logits(seed + 10, n=9)
            _expect_match(value_function, losses.value_function, (r, f), name,
                          _("random logits (seed {seed}; {real} real, {fake} fake)", seed=seed, real=16, fake=9))
        big = torch.tensor([60.0, -60.0])
        _expect_match(value_function, losses.value_function, (big, big), name,
                      _("logits ±60 (D(x) within 1e-26 of 0 or 1)"))
        return _("matches V(D, G) on hand-checked, random and extreme logits.")

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
            raise _NotYet(_("on {case}, expected {expected}. Hint: divide by the sum p_data + p_g, not by p_g alone.",
                            case=case, expected=expected.tolist()))
        if not torch.isfinite(got).all():
            raise _NotYet(_("on {case}, {name} returned NaN or inf values; expected {expected}.",
                            case=case, name=name, expected=expected.tolist()))
        if torch.allclose(got, expected, atol=1e-6):
            gen = torch.Generator().manual_seed(0)
            for trial in range(3):
                p_data, p_g = torch.rand(7, generator=gen) + 0.01, torch.rand(7, generator=gen) + 0.01
                case = _("random densities at 7 points (trial {trial})", trial=trial + 1)
                got = _tensor(_call(optimal_discriminator, p_data, p_g), name, case, (7,))
                if not torch.allclose(got, p_data / (p_data + p_g), atol=1e-5):
                    raise _NotYet(_("right on the first case but not on {case}: expected {expected}, got {got}. "
                                    "Compute from the inputs.", case=case,
                                    expected=[round(v, 3) for v in (p_data / (p_data + p_g)).tolist()],
                                    got=[round(v, 3) for v in got.tolist()]))
            return _("is p_data / (p_data + p_g): 3/4 where data are 3x likelier, 1/2 where both agree.")
        if torch.allclose(got, 1 - expected, atol=1e-6):
            hint = _("you have p_g / (p_data + p_g): D* is the probability that x is *real*.")
        else:
            hint = _("at each point, D*(x) = p_data(x) / (p_data(x) + p_g(x)).")
        raise _NotYet(_("on {case}, expected {expected}; got {got}. {hint}", case=case, expected=expected.tolist(),
                        got=[round(v, 4) for v in got.tolist()], hint=hint))

    return _report("optimal_discriminator", body)


def _pair(value, name: str, case: str) -> tuple[float, float]:
    """The learner's (x, y): two numbers (floats, one-element tensors or arrays)."""
    if value is None:
        raise _NotYet(_("{name} returned None on {case}; did you forget `return x, y`?", name=name, case=case))
    if isinstance(value, torch.Tensor) and value.numel() == 2:
        value = value.flatten().tolist()
    try:
        x, y = value
        return float(x), float(y)
    except (TypeError, ValueError, RuntimeError):
        raise _NotYet(_("{name} returned {type} {value} on {case}; expected the pair of new positions, "
                        "`return x, y`.", name=name, type=type(value).__name__, value=repr(value)[:60],
                        case=case)) from None


def _extragradient_reference(x: float, y: float, eta: float) -> tuple[float, float]:
    x_trial, y_trial = x - eta * y, y + eta * x         # a trial simultaneous step ...
    return x - eta * y_trial, y + eta * x_trial         # ... whose gradients move the original point


def check_extragradient_step(extragradient_step: Callable) -> CheckResult:
    """``extragradient_step(x, y, eta)`` -> (x, y) after one extragradient step on f(x, y) = x·y."""

    def body() -> str:
        name = "extragradient_step"
        x, y, eta = 1.0, 0.5, 0.1
        case = "x=1, y=0.5, eta=0.1"
        got = _pair(_call(extragradient_step, x, y, eta), name, case)
        expected = _extragradient_reference(x, y, eta)
        wrong = {  # what a near-miss returns on this case, and what to say
            (x - eta * y, y + eta * x): _("that is the plain simultaneous step, which spirals out. Take a trial "
                                          "step first, then move the *original* (x, y) with the gradients at the "
                                          "trial point."),
            (x - eta * (y + eta * x), y + eta * x): _("that is the alternating step (y first, then x), which "
                                                      "orbits. Both updates of the real step use the trial point's "
                                                      "gradients."),
            (x - eta * y, y + eta * (x - eta * y)): _("that is the alternating step (x first, then y), which "
                                                      "orbits. Both updates of the real step use the trial point's "
                                                      "gradients."),
            (x - eta * y - eta * (y + eta * x), y + eta * x + eta * (x - eta * y)): _(
                "you took the real step from the trial point; it starts from the original (x, y), using only the "
                "trial point's gradients."),
            (x + eta * (y + eta * x), y - eta * (x - eta * y)): _("mind the signs: x minimises x·y (x <- x - eta * "
                                                                  "gradient), y maximises it (y <- y + eta * "
                                                                  "gradient)."),
            expected[::-1]: _("x and y are swapped in what you return: `return x, y`."),
        }
        def same(a: tuple[float, float], b: tuple[float, float]) -> bool:  # float32 answers pass too
            return all(math.isclose(u, v, rel_tol=1e-5, abs_tol=1e-7) for u, v in zip(a, b, strict=True))

        if not same(got, expected):
            hint = next((h for pair, h in wrong.items() if same(got, pair)),
                        _("trial: x~ = x - eta*y, y~ = y + eta*x; then x <- x - eta*y~, y <- y + eta*x~."))
            raise _NotYet(_("on {case}, expected ({x:.4f}, {y:.4f}); yours returned ({got_x:.4f}, {got_y:.4f}).",
                            case=case, x=expected[0], y=expected[1], got_x=got[0], got_y=got[1]) + _hint(hint))
        for start, eta in (((-0.3, 2.0), 0.3), ((0.7, -0.2), 0.05)):
            case = f"x={start[0]}, y={start[1]}, eta={eta}"
            got = _pair(_call(extragradient_step, *start, eta), name, case)
            expected = _extragradient_reference(*start, eta)
            if not same(got, expected):
                raise _NotYet(_("right on the first case but not on {case}: expected ({x:.4f}, {y:.4f}), got "
                                "({got_x:.4f}, {got_y:.4f}). Use the arguments, not constants.", case=case,
                                x=expected[0], y=expected[1], got_x=got[0], got_y=got[1]))
        x, y = 1.0, 0.5
        run = _("the 150-step run")
        for _step in range(150):
            x, y = _pair(_call(extragradient_step, x, y, 0.1), name, run)
        radius, expected_radius = math.hypot(x, y), math.hypot(1.0, 0.5) * (1 - 0.1**2 + 0.1**4) ** 75
        if not math.isclose(radius, expected_radius, rel_tol=1e-4):
            raise _NotYet(_("after 150 steps from (1, 0.5) the distance to (0, 0) should be {expected:.4f}; yours "
                            "is {radius:.4f}. Does your function keep state between calls?",
                            expected=expected_radius, radius=radius))
        return _("converges: 150 steps from (1, 0.5) bring the distance to the equilibrium from 1.118 to "
                 "{radius:.3f}, where plain simultaneous steps spiral out to 2.358.", radius=radius)

    return _report("extragradient_step", body)


# --- 02: the training algorithm --------------------------------------------------------------
def _tiny_models(seed: int = 0):
    from ..models import MLPDiscriminator, MLPGenerator

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
    who = {"generator": _("generator"), "discriminator": _("discriminator")}[player]
    if _same(model, before):
        raise _NotYet(_("the {player}'s weights did not change; call {opt}.step() after backward().",
                        player=who, opt=optimizer))
    if not _close(model, reference):
        raise _NotYet(_("the {player}'s update differs from one Adam step on this loss. Did you call "
                        "{opt}.zero_grad() before loss.backward()? Old gradients were left on {letter}.",
                        player=who, opt=optimizer, letter=letter))


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
        case = _("a tiny G and D, {real} real points, noise of size {noise}", real=16, noise=3)
        got = _scalar(loss, name, case)
        with torch.no_grad():
            swapped = (F.softplus(D(real)).mean() + F.softplus(-D(fake)).mean()).item()
        _expect_close(got, ref_loss.item(), name, case, {
            losses.LOSSES["non_saturating"].generator(D(fake)).item(): _(
                "that is the generator's loss; step 6 uses the discriminator's: softplus(-real_logits).mean() + "
                "softplus(fake_logits).mean()."),
            -ref_loss.item(): _("mind the sign: that is V, which D maximises; its loss is -V = "
                                "softplus(-real_logits).mean() + softplus(fake_logits).mean(), a positive number."),
            ref_loss.item() / 2: _("that is half the loss: add the two means, don't average them."),
            swapped: _("real and fake are swapped: softplus(-logits) on the real batch pushes D(x) up, "
                       "softplus(logits) on the fakes pushes D(G(z)) down."),
        })
        if not all(p.requires_grad for p in G1.parameters()):
            raise _NotYet(_("your function left the generator frozen (requires_grad_(False) without "
                            "requires_grad_(True) afterwards), so the next generator_step could not train it. "
                            "Detaching the fakes is enough to keep step 6 away from G."))
        if any(p.grad is not None and p.grad.abs().sum() > 0 for p in G1.parameters()):
            raise _NotYet(_("the generator received gradients from the discriminator's loss. Detach the fakes "
                            "(G(z).detach()) or generate them under torch.no_grad(): step 6 must not reach G."))
        if not _same(G1, G):
            raise _NotYet(_("the generator's weights changed; step 6 updates the discriminator only."))
        _expect_one_adam_step(D1, before=D, reference=D0, player="discriminator")
        return _("computes the discriminator's loss on real and detached fake samples and takes one step.")

    return _report("discriminator_step", body)


def check_generator_step(generator_step: Callable) -> CheckResult:
    """``generator_step(G, D, g_optimizer, batch_size, latent_dim) -> loss``: step 7 of §3.1."""

    def body() -> str:
        name = "generator_step"
        G, D = _tiny_models(seed=1)
        G0, D0 = copy.deepcopy(G), copy.deepcopy(D)
        G1, D1 = copy.deepcopy(G), copy.deepcopy(D)
        _stale_gradients(G1)
        reached_g = []  # a backward pass that reaches G's weights calls these hooks
        for p in G1.parameters():
            p.register_hook(lambda grad: reached_g.append(1))
        opt1 = torch.optim.Adam(G1.parameters(), lr=0.01)
        torch.manual_seed(321)
        loss = _call(generator_step, G1, D1, opt1, 16, 3, copy_args=False)
        torch.manual_seed(321)
        ref_loss = losses.LOSSES["non_saturating"].generator(D0(G0(torch.randn(16, 3))))
        opt_ref = torch.optim.Adam(G0.parameters(), lr=0.01)
        opt_ref.zero_grad()
        ref_loss.backward()
        opt_ref.step()
        case = _("a tiny G and D, batch {batch}, noise of size {noise}", batch=16, noise=3)
        got = _scalar(loss, name, case)
        torch.manual_seed(321)
        with torch.no_grad():
            minimax = losses.LOSSES["minimax"].generator(D(G(torch.randn(16, 3)))).item()
        _expect_close(got, ref_loss.item(), name, case, {
            minimax: _("that is the saturating minimax loss log(1 - D(G(z))); use the non-saturating "
                       "-log D(G(z)) = softplus(-fake_logits).mean()."),
            -ref_loss.item(): _("mind the sign: the generator minimises -log D(G(z)) = "
                                "softplus(-fake_logits).mean(), a positive number."),
        })
        if not _same(D1, D):
            raise _NotYet(_("the discriminator's weights changed during the generator's step; keep D fixed "
                            "(step only g_optimizer)."))
        if not all(p.requires_grad for p in D1.parameters()):
            raise _NotYet(_("your function left the discriminator frozen: D.requires_grad_(False) without "
                            "D.requires_grad_(True) before returning. The next discriminator_step would then fail "
                            "(its loss would have nothing to differentiate). Re-enable D at the end, or leave it "
                            "as it is: stepping only g_optimizer already keeps D fixed."))
        if _same(G1, G):
            if not reached_g and any(p.grad is not None for p in D1.parameters()):
                raise _NotYet(_("the generator's weights did not change: no gradient reached G, because the fakes "
                                "were detached (or made under torch.no_grad()), so backward() stopped at D. In step "
                                "7 the loss must flow back through D into G: score G(z) itself, not "
                                "G(z).detach()."))
            if not reached_g:
                raise _NotYet(_("the generator's weights did not change: no gradient reached G. Call "
                                "g_loss.backward() before g_optimizer.step()."))
            if all(p.grad is None or not p.grad.any() for p in G1.parameters()):
                raise _NotYet(_("the generator's weights did not change: its gradients were cleared before the "
                                "update. Call g_optimizer.zero_grad() before g_loss.backward(), not between "
                                "backward() and step()."))
        _expect_one_adam_step(G1, before=G, reference=G0, player="generator")
        return _("updates the generator with the non-saturating loss and leaves the discriminator unchanged.")

    return _report("generator_step", body)


class _CountingAdam(torch.optim.Adam):
    """Adam that counts its steps, so a check can tell which optimizer the learner stepped."""

    def __init__(self, params, lr: float):
        super().__init__(params, lr=lr)
        self.steps = 0

    def step(self, closure=None):
        self.steps += 1
        return super().step(closure)


def _reference_train_step(G, D, real, latent_dim: int, seed: int, zero_d: bool = True):
    """One correct iteration (steps 3-7) on G and D in place, from ``seed``; returns both losses."""
    d_optimizer, g_optimizer = torch.optim.Adam(D.parameters(), lr=0.01), torch.optim.Adam(G.parameters(), lr=0.01)
    torch.manual_seed(seed)
    fake = G(torch.randn(len(real), latent_dim)).detach()
    d_loss = F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()
    if zero_d:
        d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    g_loss = F.softplus(-D(G(torch.randn(len(real), latent_dim)))).mean()
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    return d_loss.item(), g_loss.item()


def check_train_step(train_step: Callable) -> CheckResult:
    """``train_step(G, D, g_optimizer, d_optimizer, real, latent_dim) -> (d_loss, g_loss)``: one
    iteration of §3.1 (steps 3-7), the three bugs of notebook 02's exercise fixed."""

    def body() -> str:
        name = "train_step"
        G, D = _tiny_models(seed=2)
        real = torch.randn(16, 2, generator=torch.Generator().manual_seed(3))
        G1, D1 = copy.deepcopy(G), copy.deepcopy(D)
        for model in (G1, D1):
            _stale_gradients(model)  # as a previous iteration would have left them
        d_optimizer, g_optimizer = _CountingAdam(D1.parameters(), lr=0.01), _CountingAdam(G1.parameters(), lr=0.01)
        g_backward_passes = []
        first_g_weight = next(G1.parameters())
        first_g_weight.register_hook(lambda grad: g_backward_passes.append(1))
        torch.manual_seed(7)
        returned = _call(train_step, G1, D1, g_optimizer, d_optimizer, real.clone(), 3, copy_args=False)
        G_ref, D_ref = copy.deepcopy(G), copy.deepcopy(D)
        d_expected, g_expected = _reference_train_step(G_ref, D_ref, real, 3, seed=7)
        G_stale, D_stale = copy.deepcopy(G), copy.deepcopy(D)
        _stale_gradients(D_stale)
        _reference_train_step(G_stale, D_stale, real, 3, seed=7, zero_d=False)

        if d_optimizer.steps > 1:
            raise _NotYet(_("d_optimizer.step() ran {count} times in one iteration. The generator's update must "
                            "step only g_optimizer: a d_optimizer.step() there moves D with the gradients G's loss "
                            "left on it, so D is not held fixed (bug: D stepped in G's update).",
                            count=d_optimizer.steps))
        if d_optimizer.steps == 0 or _same(D1, D):
            raise _NotYet(_("the discriminator's weights did not change. Its update is zero_grad(), then "
                            "d_loss.backward(), then d_optimizer.step(), in that order."))
        if g_optimizer.steps != 1:
            raise _NotYet(_("g_optimizer.step() ran {count} times; the generator steps once per iteration.",
                            count=g_optimizer.steps))
        if len(g_backward_passes) > 1:
            raise _NotYet(_("the generator's weights received gradients from the discriminator's loss as well as "
                            "its own (bug: the fakes for D's update are not detached). Here g_optimizer.zero_grad() "
                            "happens to clear them, so it only wastes work; without that zero_grad they would push "
                            "G to help D. Use G(z).detach() for D's update."))
        if not _close(D1, D_ref):
            if _close(D1, D_stale):
                raise _NotYet(_("the discriminator's update used last iteration's gradients too (bug: no "
                                "d_optimizer.zero_grad() before d_loss.backward()). PyTorch adds new gradients to "
                                "the old ones in .grad; zero_grad() clears them."))
            raise _NotYet(_("the discriminator's update differs from one Adam step on its loss with detached "
                            "fakes. Keep the buggy version's structure (noise drawn for D, then new noise for G) "
                            "and fix only the three bugs."))
        if not _close(G1, G_ref):
            raise _NotYet(_("the generator's update differs from one Adam step on the non-saturating loss. Call "
                            "g_optimizer.zero_grad() before g_loss.backward(), and draw new noise for G's step."))
        if not isinstance(returned, (tuple, list)) or len(returned) != 2:
            raise _NotYet(_("{name} should return the pair (d_loss, g_loss); yours returned {type}.",
                            name=name, type=type(returned).__name__))
        case = _("a tiny G and D, {real} real points, noise of size {noise}", real=16, noise=3)
        for returned_loss, loss, expected_loss in zip(returned, ("d_loss", "g_loss"), (d_expected, g_expected),
                                                      strict=True):
            what = _("{name}'s {loss}", name=name, loss=loss)
            _expect_close(_scalar(returned_loss, what, case), expected_loss, what, case)
        return _("detaches the fakes, clears old gradients before each backward, and steps each optimizer once: "
                 "all three bugs fixed.")

    return _report("train_step", body)


# --- 03: losses ------------------------------------------------------------------------------
def check_non_saturating_loss(non_saturating_loss: Callable) -> CheckResult:
    """``non_saturating_loss(fake_logits)`` -> -E[log D(G(z))] = E[softplus(-f)]."""

    def body() -> str:
        name = "non_saturating_loss"
        reference = losses.LOSSES["non_saturating"].generator
        case = "fake_logits=[0, -ln 3] (D(G(z)) = 1/2, 1/4)"
        got = _scalar(_call(non_saturating_loss, _FAKE), name, case)
        _expect_close(got, reference(_FAKE).item(), name, case, {
            losses.LOSSES["minimax"].generator(_FAKE).item(): _("that is the minimax (saturating) loss "
                                                                "log(1 - D(G(z))); the non-saturating loss is "
                                                                "-log D(G(z))."),
            -reference(_FAKE).item(): _("mind the sign: the generator minimises -log D(G(z))."),
        })
        for seed in range(3):
            f = _random_logits(seed)
            _expect_match(non_saturating_loss, reference, (f,), name, _("random logits (seed {seed})", seed=seed))
        rejected = torch.tensor([-200.0, -150.0])
        _expect_match(non_saturating_loss, reference, (rejected,), name,
                      _("logits -200 and -150 (D rejects the fakes completely)"))
        return _("is -log D(G(z)), finite even where D rejects the fakes completely.")

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
            ((1 - r).mean() + (1 + f).mean()).item(): _("clip at zero with F.relu (or clamp(min=0)): a logit beyond "
                                                        "the margin should cost nothing."),
            (F.relu(1 + r).mean() + F.relu(1 - f).mean()).item(): _("real and fake are swapped: real logits should "
                                                                    "be pushed above +1, fake logits below -1."),
        })
        for seed in range(3):
            rr, ff = _random_logits(seed), _random_logits(seed + 5, n=7)
            _expect_match(hinge_discriminator_loss, reference, (rr, ff), name,
                          _("random logits (seed {seed}; {real} real, {fake} fake)", seed=seed, real=16, fake=7))
        return _("is E[max(0, 1 - r)] + E[max(0, 1 + f)].")

    return _report("hinge_discriminator_loss", body)


# --- 12: appendix, the divergences behind the losses ---------------------------------------------
def check_maximum_likelihood_cost(maximum_likelihood_cost: Callable) -> CheckResult:
    """``maximum_likelihood_cost(fake_logits)`` -> -1/2 E[exp(f)], Goodfellow's maximum-likelihood cost."""

    def reference(f: torch.Tensor) -> torch.Tensor:
        return -0.5 * f.exp().mean()

    def body() -> str:
        name = "maximum_likelihood_cost"
        hand = torch.tensor([0.0, math.log(3.0), math.log(2.0)])
        case = _("fake_logits=[0, ln 3, ln 2] (D's odds D/(1 - D) = e^f = 1, 3, 2)")
        got = _scalar(_call(maximum_likelihood_cost, hand), name, case)
        _expect_close(got, reference(hand).item(), name, case, {
            1.0: _("mind the sign: the cost is -1/2 E[e^f], so the generator lowers it by raising D's odds."),
            -2.0: _("the factor 1/2 is missing: -1/2 E[e^f]."),
            -3.0: _("average over the batch with .mean(), don't sum."),
            -0.5 * (1 + 1 / 3 + 1 / 2) / 3: _("use e^f (D's odds, D/(1 - D)), not e^(-f)."),
            -0.5 * (1 / 2 + 3 / 4 + 2 / 3) / 3: _("that uses D = sigmoid(f); the cost uses D's odds e^f = "
                                                  "D/(1 - D)."),
        })
        for seed in range(3):
            f = _random_logits(seed)
            _expect_match(maximum_likelihood_cost, reference, (f,), name, _("random logits (seed {seed})", seed=seed))
        return _("is -1/2 E[e^f]: it saturates where D rejects the fakes and grows without limit where D accepts "
                 "them.")

    return _report("maximum_likelihood_cost", body)


def _normal_log_density(x: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    return -0.5 * ((x - mean) / std) ** 2 - math.log(std * math.sqrt(2 * math.pi))


def _closed_form_kl(p: tuple[float, float], q: tuple[float, float]) -> float:
    """KL(N(mu_p, s_p^2) || N(mu_q, s_q^2)), in closed form."""
    (mu_p, s_p), (mu_q, s_q) = p, q
    return math.log(s_q / s_p) + (s_p**2 + (mu_p - mu_q) ** 2) / (2 * s_q**2) - 0.5


def check_kl_divergence(kl_divergence: Callable) -> CheckResult:
    """``kl_divergence(log_p, log_q, dx)`` -> KL(p || q) = sum(p (log p - log q)) dx on a grid."""

    def body() -> str:
        name = "kl_divergence"
        x = torch.linspace(-15, 15, 3001, dtype=torch.float64)
        dx = float(x[1] - x[0])
        for first, (p, q) in zip((True, False), (((0.0, 1.0), (1.0, 2.0)), ((0.5, 1.0), (-1.0, 1.5))), strict=True):
            log_p, log_q = _normal_log_density(x, *p), _normal_log_density(x, *q)
            case = _("p = N({mean_p}, {std_p}²), q = N({mean_q}, {std_q}²) on a grid from -15 to 15 with dx = {dx:g} "
                     "(tensors of float64)", mean_p=p[0], std_p=p[1], mean_q=q[0], std_q=q[1], dx=dx)
            got = _scalar(_call(kl_divergence, log_p, log_q, dx), name, case)
            expected = _closed_form_kl(p, q)
            if math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-6):
                continue
            hints = {
                _closed_form_kl(q, p): _("that is KL(q || p): the order matters. Weight by p, the first argument: "
                                         "sum(p * (log p - log q)) * dx."),
                -expected: _("mind the sign: KL(p || q) = sum(p * (log p - log q)) * dx, never negative."),
                expected / dx: _("multiply the sum by dx: the integral is a sum of areas."),
                float((log_p * (log_p - log_q)).sum() * dx): _("weight by the density p = exp(log_p), not by log_p."),
                float((log_p - log_q).sum() * dx): _("weight each point by the density p = exp(log_p)."),
                float((log_p - log_q).mean()): _("the integral is sum(p * (log p - log q)) * dx, not a plain mean."),
            }
            if first:
                message = _("on {case}, {name} should return {expected:.4f} (the closed form); yours returned "
                            "{got:.4f}.", case=case, name=name, expected=expected, got=got)
            else:
                message = _("right on the first case but not on {case}, {name} should return {expected:.4f} (the "
                            "closed form); yours returned {got:.4f}.", case=case, name=name, expected=expected,
                            got=got)
            if not first and not any(math.isclose(got, v, rel_tol=1e-4) for v in hints):
                message += _(" Compute from the arguments, not from constants.")
            hint = next((h for value, h in hints.items() if math.isclose(got, value, rel_tol=1e-4, abs_tol=1e-6)),
                        None)
            raise _NotYet(message + (_hint(hint) if hint else ""))
        return _("matches the closed form of KL between two Gaussians, in both cases, to 4 digits.")

    return _report("kl_divergence", body)
