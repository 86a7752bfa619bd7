"""A self-check leaves the learner's session as it found it.

A learner's function that calls ``sys.exit()`` or raises another ``BaseException`` is reported like
any other error of the learner's code, while ``KeyboardInterrupt`` still interrupts. A function
that changes PyTorch's session-wide settings (autograd on or off, the default dtype, the thread
count, the default device) has them put back by the check, whose message says what changed.
"""

import sys

import pytest
import torch
import torch.nn.functional as F

from ganlib import exercises


def right(fake_logits):
    return F.softplus(-fake_logits).mean()


def check(fn, capsys):
    result = exercises.check_non_saturating_loss(fn)
    assert capsys.readouterr().out.strip() == result.message  # the learner sees exactly the verdict
    return result


@pytest.fixture(autouse=True)
def settings():
    """Each test starts from known settings and must end with them (the check puts them back)."""
    torch.set_num_threads(1)
    before = (torch.is_grad_enabled(), torch.get_default_dtype(), torch.get_num_threads(), torch.get_default_device())
    yield
    after = (torch.is_grad_enabled(), torch.get_default_dtype(), torch.get_num_threads(), torch.get_default_device())
    torch.set_grad_enabled(before[0]), torch.set_default_dtype(before[1]), torch.set_default_device(before[3])
    assert after == before, "a check left PyTorch's settings changed"


class LearnersOwnStop(BaseException):
    pass


def exit_bare(f):
    sys.exit()


def exit_with_code(f):
    sys.exit(3)


def builtin_exit(f):
    exit()


def raise_base_exception(f):
    raise LearnersOwnStop("stopped here")


@pytest.mark.parametrize("fn, said", [
    (exit_bare, "SystemExit: your function called `sys.exit()` or `exit()` (line {line}: `sys.exit()`)"),
    (exit_with_code, "SystemExit: your function called `sys.exit(3)` or `exit()` (line {line}: `sys.exit(3)`)"),
    (builtin_exit, "SystemExit: your function called `sys.exit()` or `exit()` (line {line}: `exit()`)"),
    (raise_base_exception, "LearnersOwnStop: stopped here (line {line}: `raise LearnersOwnStop(\"stopped here\")`)"),
])
def test_sys_exit_and_other_base_exceptions_are_the_learners_errors(fn, said, capsys):
    result = check(fn, capsys)  # returns: nothing escapes as a traceback
    assert not result.passed
    assert result.message.startswith("💥 Your non_saturating_loss raised an error: ")
    assert said.format(line=fn.__code__.co_firstlineno + 1) in result.message  # the learner's own line


def test_keyboard_interrupt_still_interrupts_and_leaves_the_settings_as_they_were(capsys):
    def interrupted(f):
        torch.set_grad_enabled(False)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        exercises.check_non_saturating_loss(interrupted)
    assert torch.is_grad_enabled()


def no_grad_left_on(f):
    torch.set_grad_enabled(False)
    return right(f)


def float64_default(f):
    torch.set_default_dtype(torch.float64)
    return right(f)


def three_threads(f):
    torch.set_num_threads(3)
    return right(f)


def meta_device(f):
    torch.set_default_device("meta")
    return right(f)


@pytest.mark.parametrize("fn, said", [
    (no_grad_left_on, "turned autograd off (`torch.set_grad_enabled(False)`; for a few lines without gradients use "
                      "`with torch.no_grad():`"),
    (float64_default, "changed the default dtype from torch.float32 to torch.float64 (`torch.set_default_dtype`"),
    (three_threads, "changed PyTorch's thread count from 1 to 3 (`torch.set_num_threads`"),
    (meta_device, "changed the default device from cpu to meta (`torch.set_default_device`"),
])
def test_a_changed_setting_is_put_back_and_named(fn, said, capsys):
    # Each function returns the right value; what it left behind is the fault.
    result = check(fn, capsys)
    assert not result.passed
    assert result.message.startswith("❌ Not yet: Your function ") and said in result.message
    assert "That change would have stayed for the rest of the notebook" in result.message
    # The settings fixture asserts they are back; here, the notebook's next cell works as before.
    x = torch.ones(2, requires_grad=True)
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0] and torch.ones(1).dtype == torch.float32


def test_every_change_is_named_and_an_error_says_so_too(capsys):
    def everything(f):
        torch.set_grad_enabled(False)
        torch.set_default_dtype(torch.float64)
        torch.set_num_threads(2)
        return right(f)

    result = check(everything, capsys)
    assert "turned autograd off" in result.message and "default dtype" in result.message
    assert "thread count from 1 to 2" in result.message and "Those changes would have stayed" in result.message

    def breaks_after_changing(f):
        torch.set_grad_enabled(False)
        return f @ torch.zeros(5)

    result = check(breaks_after_changing, capsys)
    assert result.message.startswith("💥 Your non_saturating_loss raised an error: RuntimeError")
    assert "Also, your function turned autograd off" in result.message


def test_turning_autograd_on_inside_no_grad_is_named_too(capsys):
    def grad_on(f):
        torch.set_grad_enabled(True)
        return right(f)

    with torch.no_grad():
        result = check(grad_on, capsys)
        assert not torch.is_grad_enabled()  # the caller's setting, restored
    assert "turned autograd on (`torch.set_grad_enabled(True)`" in result.message


def test_a_check_that_needs_autograd_is_not_broken_by_a_learner_who_turned_it_off(capsys):
    # The gradient penalty's check differentiates after the learner's call: with autograd still off
    # it could not, and would blame the learner's penalty. Put back at once, it names the real fault.
    def penalty_then_off(D, real, fake, weight=10.0):
        eps = torch.rand(len(real), 1)
        x = (eps * real + (1 - eps) * fake).requires_grad_(True)
        (grad,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
        value = weight * (grad.norm(dim=1) - 1).pow(2).mean()
        torch.set_grad_enabled(False)
        return value

    result = exercises.check_gradient_penalty(penalty_then_off)
    capsys.readouterr()
    assert not result.passed and "turned autograd off" in result.message
    assert torch.is_grad_enabled()


def test_a_right_answer_that_changes_nothing_still_passes(capsys):
    def careful(f):
        with torch.no_grad():
            f.sum()
        return right(f)

    assert check(careful, capsys).passed
