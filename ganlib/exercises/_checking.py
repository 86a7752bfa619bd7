"""What every check shares: calling the learner's function safely, and reporting.

Every sentence a learner reads is written ``_("English template with {fields}", field=value)``
(``prose.sentence``): the template is looked up by that literal in the learner's language
(``GANLIB_LANG``; locale/<lang>/ganlib.po, extracted by ``python -m ganlib.translation update``), so it
is never an f-string; code identifiers, numbers and reprs go in as values, and English fragments that
are values themselves (a hint, a case's description) are written with ``_`` where they are made.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import signal
import sysconfig
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..prose import sentence as _


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
        result = CheckResult(True, _("✅ Correct: {name} {summary}", name=name, summary=body()))
    except _NotYet as exc:
        result = CheckResult(False, _("❌ Not yet: {problem}", problem=exc))
    except _LearnerError as exc:
        result = CheckResult(False, _("💥 Your {name} raised an error: {error}", name=name, error=exc))
    except Exception as exc:  # a check must never crash the learner's notebook
        result = CheckResult(False, _("❌ Not yet: the check could not use what {name} returned ({error}).",
                                      name=name, error=exc))
    print(result.message)
    return result


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


_HERE = os.path.dirname(os.path.abspath(__file__))  # the checks' own frames are not the learner's
_LIBRARIES = tuple({sysconfig.get_paths()[key] for key in ("purelib", "platlib", "stdlib")})


def _in_library(filename: str) -> bool:
    return filename.startswith(_LIBRARIES) or filename.startswith("<frozen ")  # frozen: e.g. exit()'s own module


def _settings() -> dict:
    """PyTorch's session-wide settings a learner's function could leave changed behind it."""
    return {"grad": torch.is_grad_enabled(), "dtype": torch.get_default_dtype(),
            "threads": torch.get_num_threads(), "device": torch.get_default_device()}


def _put_back(before: dict) -> str:
    """Restore the settings ``before`` the learner's call; say, in a sentence, which ones it changed."""
    now, changed = _settings(), []
    if now["grad"] != before["grad"]:
        torch.set_grad_enabled(before["grad"])
        changed.append(_("turned autograd on (`torch.set_grad_enabled(True)`; for a few lines without gradients use "
                         "`with torch.no_grad():`, which ends with its block)") if now["grad"] else
                       _("turned autograd off (`torch.set_grad_enabled(False)`; for a few lines without gradients "
                         "use `with torch.no_grad():`, which ends with its block)"))
    if now["dtype"] != before["dtype"]:
        torch.set_default_dtype(before["dtype"])
        changed.append(_("changed the default dtype from {before} to {now} (`torch.set_default_dtype`; convert "
                         "the tensors you need instead, e.g. `x.double()`)", before=before["dtype"], now=now["dtype"]))
    if now["threads"] != before["threads"]:
        torch.set_num_threads(before["threads"])
        changed.append(_("changed PyTorch's thread count from {before} to {now} (`torch.set_num_threads`; the "
                         "notebook's `training.setup` chooses it)", before=before["threads"], now=now["threads"]))
    if now["device"] != before["device"]:
        torch.set_default_device(before["device"])
        changed.append(_("changed the default device from {before} to {now} (`torch.set_default_device`; move "
                         "the tensors you need instead, e.g. `x.to(device)`)", before=before["device"],
                         now=now["device"]))
    if not changed:
        return ""
    changes = changed[0]
    for change in changed[1:]:
        changes = _("{changes}; it {change}", changes=changes, change=change)
    if len(changed) == 1:
        return _("your function {changes}. That change would have stayed for the rest of the notebook and broken "
                 "later cells far from here; the check undid it. A function should leave PyTorch's settings as it "
                 "found them.", changes=changes)
    return _("your function {changes}. Those changes would have stayed for the rest of the notebook and broken "
             "later cells far from here; the check undid them. A function should leave PyTorch's settings as it "
             "found them.", changes=changes)


def _where(exc: BaseException) -> str:
    """The learner's own line: skip this file's frames and those of installed libraries (torch, numpy)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if os.path.dirname(f.filename) != _HERE and not _in_library(f.filename)]
    # The template starts with the space English puts before a parenthesis (a translation may drop it).
    return _(" (line {line}: `{code}`)", line=frames[-1].lineno, code=(frames[-1].line or "").strip()) if frames else ""


def _call(fn: Callable, *args, copy_args: bool = True):
    """Call the learner's function (on copies of ``args`` unless the check made them for it),
    within the time limit; summarise any error in one line; reject changes to its inputs and to
    PyTorch's session-wide settings (put back before anything else runs)."""
    if copy_args:
        args = copy.deepcopy(args)
    before = _snapshot(args)
    from . import TIME_LIMIT  # the package's, read at each call: `exercises.TIME_LIMIT = 30` takes effect

    settings = _settings()
    try:
        with _time_limit(TIME_LIMIT):
            result = fn(*args)
    except KeyboardInterrupt:  # the learner pressed stop: interrupt, as any cell would
        _put_back(settings)
        raise
    except BaseException as exc:  # sys.exit() and the like are errors of the learner's code too
        changed = _put_back(settings)
        also = _(" Also, {changes}", changes=changed) if changed else ""  # a sentence after another one
        if isinstance(exc, _TimeUp):
            raise _NotYet(_("your function was still running after {seconds:g} s, so the check stopped it. Look "
                            "for a loop that never ends.{also}", seconds=TIME_LIMIT, also=also)) from None
        if isinstance(exc, NotImplementedError):
            raise _LearnerError(_("NotImplementedError: replace `raise NotImplementedError()` with your code.{also}",
                                  also=also)) from None
        if isinstance(exc, SystemExit):
            raise _LearnerError(_(
                "SystemExit: your function called `sys.exit({code})` or `exit()`{where}, which would stop the cell "
                "(or the kernel); return a value instead.{also}",
                code="" if exc.code is None else repr(exc.code), where=_where(exc), also=also)) from None
        # Python's own words (the error's type and message) in every language.
        raise _LearnerError(f"{type(exc).__name__}: {exc}{_where(exc)}{also}") from None
    changed = _put_back(settings)
    if changed:
        raise _NotYet(changed[0].upper() + changed[1:])
    for position, (arg, copy_before) in enumerate(zip(args, before, strict=True)):
        if copy_before is not None and _changed(arg, copy_before):
            raise _NotYet(_("your function changed its input (argument {position}) in place. Compute new tensors "
                            "instead (e.g. `x * 2`, not `x.mul_(2)` or `x[...] = ...`): callers still need their "
                            "data.", position=position + 1))
    return result


def _scalar(value, name: str, case: str) -> float:
    """The learner's one number as a float: any real scalar is accepted (a Python float or int, a
    NumPy scalar such as float32, a one-element tensor or array)."""
    if value is None:
        raise _NotYet(_("{name} returned None on {case}; did you forget `return`?", name=name, case=case))
    kind = "tensor"
    if type(value).__module__ == "numpy" and hasattr(value, "dtype") and value.dtype.kind in "biuf":
        kind, value = "NumPy array", torch.as_tensor(value)  # a NumPy scalar or array, judged as a tensor
    if isinstance(value, torch.Tensor):
        kind = _("tensor") if kind == "tensor" else _("NumPy array")
        if value.numel() != 1:
            raise _NotYet(_("{name} returned a {kind} of shape {shape} on {case}; expected a single number (a "
                            "0-dimensional tensor). Average over the batch with .mean().",
                            name=name, kind=kind, shape=tuple(value.shape), case=case))
        if not (value.dtype.is_floating_point or value.dtype.is_complex):
            raise _NotYet(_("{name} returned a {kind} of dtype {dtype} on {case}; a loss is a real number (float). "
                            "Avoid integer division, .long() or comparisons in the result.",
                            name=name, kind=kind, dtype=value.dtype, case=case))
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _NotYet(_("{name} returned a {type} on {case}; expected a tensor holding one number.",
                        name=name, type=type(value).__name__, case=case))
    if math.isnan(value):
        raise _NotYet(_("{name} returned NaN on {case}: look for 0/0, inf - inf or the log of a negative number.",
                        name=name, case=case))
    if not math.isfinite(value):
        raise _NotYet(_("{name} returned {value} on {case}. Logits this large overflow exp() or log(); use "
                        "F.softplus or F.logsigmoid, which stay finite.", name=name, value=value, case=case))
    return float(value)


def _expect_match(fn: Callable, reference: Callable, args: tuple, name: str, case: str) -> None:
    """The learner's ``fn`` returns the same number as ``reference`` on ``args``."""
    _expect_close(_scalar(_call(fn, *args), name, case), float(reference(*args)), name, case)


def _expect_close(got: float, expected: float, name: str, case: str, hints: dict[float, str] | None = None) -> None:
    if math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-6):
        return
    message = _("on {case}, {name} should return {expected:.4f}; yours returned {got:.4f}.",
                case=case, name=name, expected=expected, got=got)
    for wrong_value, hint in (hints or {}).items():
        if math.isclose(got, wrong_value, rel_tol=1e-4, abs_tol=1e-6):
            message += _hint(hint)
            break
    raise _NotYet(message)


def _hint(hint: str) -> str:
    """`` Hint: ...``, the sentence that follows a message (the template starts with the space between
    sentences that English needs and Chinese does not)."""
    return _(" Hint: {hint}", hint=hint)


LN3 = math.log(3)
# sigmoid(0) = 1/2, sigmoid(ln 3) = 3/4, sigmoid(-ln 3) = 1/4: cases one can check by hand.
_REAL = torch.tensor([0.0, LN3])
_FAKE = torch.tensor([0.0, -LN3])


def _hand() -> str:
    """The hand-checkable case in the learner's language (looked up at each check: the language can change)."""
    return _("real_logits=[0, ln 3], fake_logits=[0, -ln 3] (D = 1/2, 3/4 on real; 1/2, 1/4 on fake)")


def _random_logits(seed: int, n: int = 16, scale: float = 2.0) -> torch.Tensor:
    return scale * torch.randn(n, generator=torch.Generator().manual_seed(seed))


def _tensor(value, name: str, case: str, shape: tuple[int, ...], finite: bool = True) -> torch.Tensor:
    if value is None:
        raise _NotYet(_("{name} returned None on {case}; did you forget `return`?", name=name, case=case))
    try:
        value = torch.as_tensor(value, dtype=torch.float32)
    except (TypeError, ValueError, RuntimeError):
        raise _NotYet(_("{name} returned a {type} on {case}; expected a tensor of numbers.",
                        name=name, type=type(value).__name__, case=case)) from None
    if tuple(value.shape) != shape:
        raise _NotYet(_("on {case}, {name} should return shape {shape}; yours has shape {got}.",
                        case=case, name=name, shape=shape, got=tuple(value.shape)))
    if finite and not torch.isfinite(value).all():
        raise _NotYet(_("on {case}, {name} returned NaN or inf values.", case=case, name=name))
    return value


def _expect_vector(got: torch.Tensor, expected: torch.Tensor, name: str, case: str,
                   hints: list[tuple[torch.Tensor, str]] | None = None, atol: float = 1e-4) -> None:
    """``got`` (already shape-checked) equals ``expected`` within ``atol`` (relative to its scale)."""
    scale = max(1.0, float(expected.abs().max()))
    if torch.allclose(got, expected, rtol=0, atol=atol * scale):
        return
    def show(v: torch.Tensor) -> str:
        return "[" + ", ".join(f"{x:.3f}" for x in v.flatten()[:4].tolist()) + (", ...]" if v.numel() > 4 else "]")

    message = _("on {case}, {name} should return {expected}; yours returned {got}.",
                case=case, name=name, expected=show(expected), got=show(got))
    for wrong, hint in hints or []:
        if wrong.shape == got.shape and torch.allclose(got, wrong, rtol=0, atol=atol * scale):
            message += _hint(hint)
            break
    raise _NotYet(message)
