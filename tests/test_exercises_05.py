"""Wrong answers the checks of notebook 05 (data augmentation) must reject, each with its hint."""

import torch
from test_exercises import check_battery, generic_battery, run, short_time_limit  # noqa: F401 (autouse fixture)

from ganlib import exercises


def shift_right(images, dx, dy):
    out = torch.full_like(images, -1.0)
    h, w = images.shape[-2:]
    if abs(dx) >= w or abs(dy) >= h:
        return out
    out[..., max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        images[..., max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out


def _mutating_shift(images, dx, dy):
    out = shift_right(images, dx, dy)
    images.fill_(0)
    return out


def _no_bounds_check(images, dx, dy):
    return shift_right(images, dx, dy) if abs(dx) < 8 else images


def test_shift_image_battery(capsys):
    e = "should return"
    battery = {
        "roll wraps around": (lambda x, dx, dy: torch.roll(x, (dy, dx), dims=(2, 3)), "wraps pixels around"),
        "background 0": (lambda x, dx, dy: torch.where(shift_right(x, dx, dy) == -1, 0.0, shift_right(x, dx, dy)),
                         "not 0"),
        "direction flipped": (lambda x, dx, dy: shift_right(x, -dx, -dy), "flip signs"),
        "axes swapped": (lambda x, dx, dy: shift_right(x, dy, dx), "dx moves columns"),
        "ignores dy": (lambda x, dx, dy: shift_right(x, dx, 0), e),
        "ignores dx": (lambda x, dx, dy: shift_right(x, 0, dy), e),
        "returns the input": (lambda x, dx, dy: x, e),
        "only the first image": (lambda x, dx, dy: shift_right(x[:1], dx, dy), "should return shape"),
        "drops the channel": (lambda x, dx, dy: shift_right(x, dx, dy)[:, 0], "should return shape"),
        "crops instead of padding": (lambda x, dx, dy: x[..., : x.shape[-1] - abs(dx)], "should return shape"),
        "wrong off the image": (_no_bounds_check, e),
        "off by one": (lambda x, dx, dy: shift_right(x, dx + (dx > 0), dy), e),
        "scales the pixels": (lambda x, dx, dy: shift_right(x, dx, dy) * 0.5, e),
        **generic_battery(shift_right, _mutating_shift),
    }
    check_battery(exercises.check_shift_image, battery, capsys)


def gain_right(method, baseline):
    d = torch.tensor(method, dtype=torch.float64) - torch.tensor(baseline, dtype=torch.float64)
    return d.mean(), d.std() / len(d) ** 0.5


def _diffs(m, b):
    return torch.tensor(m) - torch.tensor(b)


def _mutating_gain(method, baseline):
    out = gain_right(method, baseline)
    method.append(1.0)
    return out


def test_paired_gain_battery(capsys):
    e = "should return"
    battery = {
        "baseline minus method": (lambda m, b: gain_right(b, m), "method minus baseline"),
        "standard deviation, not error": (lambda m, b: (_diffs(m, b).mean(), _diffs(m, b).std()), "by √N"),
        "biased std": (lambda m, b: (_diffs(m, b).mean(), _diffs(m, b).std(correction=0) / len(m) ** 0.5),
                       "unbiased std"),
        "unpaired error": (lambda m, b: (_diffs(m, b).mean(),
                                         (torch.tensor(m).var() / len(m) + torch.tensor(b).var() / len(b)).sqrt()),
                           "pair the seeds"),
        "divides by N": (lambda m, b: (_diffs(m, b).mean(), _diffs(m, b).std() / len(m)), "not N"),
        "only the mean": (lambda m, b: _diffs(m, b).mean(), "should return shape"),
        "three numbers": (lambda m, b: (*gain_right(m, b), 0.0), "should return shape"),
        "all the differences": (lambda m, b: _diffs(m, b), "should return shape"),
        "ratio instead of difference": (lambda m, b: gain_right([x / y for x, y in zip(m, b, strict=True)],
                                                                 [1.0] * len(b)), e),
        "median instead of mean": (lambda m, b: (_diffs(m, b).median(), gain_right(m, b)[1]), e),
        "variance instead of std": (lambda m, b: (_diffs(m, b).mean(), _diffs(m, b).var() / len(m) ** 0.5), e),
        "in percent": (lambda m, b: tuple(100 * v for v in gain_right(m, b)), e),
        "only the hand case": (lambda m, b: (0.05, 0.05 / 3**0.5), e),
        **generic_battery(gain_right, _mutating_gain),
    }
    check_battery(exercises.check_paired_gain, battery, capsys)


def test_the_right_answers_pass(capsys):
    for check, right in ((exercises.check_shift_image, shift_right), (exercises.check_paired_gain, gain_right)):
        result = run(check, right, capsys)
        assert result.passed and result.message.startswith("✅ Correct"), result.message
