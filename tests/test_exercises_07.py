"""Notebook 07's self-checks pass the right answer and answer each kind of wrong one with a hint."""

import math

import torch
import torch.nn.functional as F
from test_exercises import _hang, _raise, check_battery, run, scalar_battery, short_time_limit  # noqa: F401 (autouse)

from ganlib import exercises


# --- slant -------------------------------------------------------------------------------------------
def _moments(images, ink=True, y_up=True, central=True):
    w = (images + 1) / 2 if ink else images
    rows = torch.arange(8.0).view(1, 1, 8, 1)
    y = 7 - rows if y_up else rows
    x = torch.arange(8.0).view(1, 1, 1, 8)
    if central:
        mass = w.sum(dim=(1, 2, 3), keepdim=True)
        x, y = x - (w * x).sum(dim=(1, 2, 3), keepdim=True) / mass, y - (w * y).sum(dim=(1, 2, 3), keepdim=True) / mass
    return tuple((w * a * b).sum(dim=(1, 2, 3)) for a, b in ((x, y), (y, y), (x, x)))


def slant_right(images):
    mu11, mu02, _ = _moments(images)
    return mu11 / mu02


def _variant(**kwargs):
    def wrong(images):
        mu11, mu02, _ = _moments(images, **kwargs)
        return mu11 / mu02

    return wrong


def _thresholded(images):
    return slant_right(torch.where(images > 0, 1.0, -1.0))


def _mutating(images):
    out = slant_right(images)
    images.add_(1.0)
    return out


SLANT_WRONG = {
    # the usual mistakes in the formula
    "rows counted downwards": (_variant(y_up=False), "count y upwards"),
    "divided by mu20": (lambda im: _moments(im)[0] / _moments(im)[2], "not mu20"),
    "mu11 alone": (lambda im: _moments(im)[0], "divide mu11 by mu02"),
    "an angle": (lambda im: torch.atan(slant_right(im)), "not its angle"),
    "raw pixels as weights": (_variant(ink=False), "weight each pixel by its ink"),
    "raw moments": (_variant(central=False), "central moments"),
    "thresholded ink": (_thresholded, "should return"),  # right on the solid strokes, wrong on random images
    "inverse ratio": (lambda im: _moments(im)[1] / _moments(im)[0], "NaN or inf"),  # mu11 = 0 upright
    "transposed images": (lambda im: slant_right(im.transpose(2, 3)), "should return"),
    "10% too large": (lambda im: slant_right(im) * 1.1, "should return"),
    "shifted": (lambda im: slant_right(im) + 0.5, "should return"),
    "right on the example only": (lambda im: torch.tensor([1.0, 0.0, -1.0, 0.47619047])[: len(im)], "random"),
    # shapes and types
    "mean over the batch": (lambda im: slant_right(im).mean(), "should return shape (4,)"),
    "keeps the dimensions": (lambda im: slant_right(im).view(-1, 1), "shape (4, 1)"),
    "returns None": (lambda im: None, "forget `return`"),
    "returns a string": (lambda im: "slant", "returned a str"),
    "returns NaN": (lambda im: slant_right(im) * float("nan"), "NaN or inf"),
    # errors
    "raises ValueError": (lambda im: _raise(ValueError("bad shapes")), "ValueError: bad shapes"),
    "divides by zero": (lambda im: 1 / 0, "ZeroDivisionError"),
    "still a stub": (lambda im: _raise(NotImplementedError()), "replace `raise NotImplementedError()`"),
    "hangs": (_hang, "still running after 0.5 s"),
    "mutates its input": (_mutating, "changed its input"),
}


def test_slant_battery(capsys):
    check_battery(exercises.check_slant, SLANT_WRONG, capsys)


# --- matching_aware_discriminator_loss -------------------------------------------------------------
def ma_right(rr, rw, fr):
    return F.softplus(-rr).mean() + 0.5 * (F.softplus(rw).mean() + F.softplus(fr).mean())


def _naive(rr, rw, fr):  # the right formula with log(sigmoid), which overflows for large logits
    s = torch.sigmoid
    return -torch.log(s(rr)).mean() - 0.5 * (torch.log(1 - s(rw)).mean() + torch.log(1 - s(fr)).mean())


MA_WRONG = {
    "no halves": (lambda rr, rw, fr: F.softplus(-rr).mean() + F.softplus(rw).mean() + F.softplus(fr).mean(),
                  "by 1/2 each"),
    "mean of three": (lambda rr, rw, fr: (F.softplus(-rr).mean() + F.softplus(rw).mean() + F.softplus(fr).mean()) / 3,
                      "keeps weight 1"),
    "no mismatched term": (lambda rr, rw, fr: F.softplus(-rr).mean() + F.softplus(fr).mean(), "add the mismatched"),
    "no mismatched term, half fake": (lambda rr, rw, fr: F.softplus(-rr).mean() + 0.5 * F.softplus(fr).mean(),
                                      "add the mismatched"),
    "no fake term": (lambda rr, rw, fr: F.softplus(-rr).mean() + F.softplus(rw).mean(), "generated images' term"),
    "wrong text as real": (lambda rr, rw, fr: F.softplus(-rr).mean() + 0.5 * (F.softplus(-rw).mean()
                                                                              + F.softplus(fr).mean()), "*wrong* text"),
    "right and wrong swapped": (lambda rr, rw, fr: ma_right(rw, rr, fr), "swapped"),
    "negated": (lambda rr, rw, fr: -ma_right(rr, rw, fr), "mind the sign"),
    "unstable logs": (_naive, "F.softplus"),
}


def test_matching_aware_battery(capsys):
    ln3 = math.log(3)
    example = (math.log(2) + math.log(4 / 3)) / 2 + 0.5 * (math.log(4) + (math.log(2) + math.log(4 / 3)) / 2)
    assert math.isclose(example, ma_right(torch.tensor([0.0, ln3]), torch.tensor([ln3, ln3]),
                                          torch.tensor([0.0, -ln3])).item(), rel_tol=1e-6)
    battery = scalar_battery(ma_right, example) | MA_WRONG
    check_battery(exercises.check_matching_aware_discriminator_loss, battery, capsys)


def test_the_right_answers_pass(capsys):
    for check, right in ((exercises.check_slant, slant_right),
                         (exercises.check_matching_aware_discriminator_loss, ma_right)):
        result = run(check, right, capsys)
        assert result.passed and result.message.startswith("✅ Correct")
