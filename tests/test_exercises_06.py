"""Notebook 06's self-checks pass the right answers and answer each kind of wrong one with a hint."""

import math

import pytest
import torch
import torch.nn.functional as F
from test_exercises import _hang, _raise, check_battery, run, scalar_battery

from ganlib import exercises


@pytest.fixture(autouse=True)
def short_time_limit(monkeypatch):
    monkeypatch.setattr(exercises, "TIME_LIMIT", 0.5)  # "hangs" answers cost half a second


# --- psnr ------------------------------------------------------------------------------------
def psnr_right(estimate, target, data_range):
    return 10 * torch.log10(data_range**2 / ((estimate - target) ** 2).mean())


def _mse(e, t):
    return ((e - t) ** 2).mean()


PSNR_EXAMPLE = 10 * math.log10(4 / 0.01)  # the check's hand case: MSE 0.01, data_range 2


def test_psnr_battery(capsys):
    battery = scalar_battery(psnr_right, PSNR_EXAMPLE) | {
        "natural log": (lambda e, t, r: 10 * torch.log(r**2 / _mse(e, t)), "base-10 logarithm"),
        "no factor 10": (lambda e, t, r: torch.log10(r**2 / _mse(e, t)), "multiply by 10"),
        "20 with the MSE": (lambda e, t, r: 20 * torch.log10(r**2 / _mse(e, t)), "20 goes with the RMSE"),
        "data range not squared": (lambda e, t, r: 10 * torch.log10(r / _mse(e, t)), "square the data range"),
        "data range ignored": (lambda e, t, r: 10 * torch.log10(1 / _mse(e, t)), "use data_range"),
        "sum of squares": (lambda e, t, r: 10 * torch.log10(r**2 / ((e - t) ** 2).sum()), "do not sum them"),
        "mean absolute error": (lambda e, t, r: 10 * torch.log10(r**2 / (e - t).abs().mean()), "square the errors"),
        "negated": (lambda e, t, r: -psnr_right(e, t, r), "mind the sign"),
        "ratio upside down": (lambda e, t, r: 10 * torch.log10(_mse(e, t) / r**2), "mind the sign"),
        "10 log10 of max / RMSE": (lambda e, t, r: 10 * torch.log10(r / _mse(e, t).sqrt()), "should return"),
        "peak of the target, not data_range": (lambda e, t, r: 10 * torch.log10(t.max() ** 2 / _mse(e, t)),
                                               "should return"),
        "MSE of the first image only": (lambda e, t, r: psnr_right(e[:1], t[:1], r), "random"),
    }
    check_battery(exercises.check_psnr, battery, capsys)


# --- downsample ------------------------------------------------------------------------------
def downsample_right(images, factor):
    n, c, h, w = images.shape
    return images.reshape(n, c, h // factor, factor, w // factor, factor).mean(dim=(3, 5))


def mutate_then_right(images, factor):
    out = downsample_right(images.clone(), factor)
    images.mul_(0)
    return out


def test_downsample_battery(capsys):
    battery = {
        "sum, not mean": (lambda x, f: downsample_right(x, f) * f * f, "divide its sum by factor²"),
        "keeps one pixel per block": (lambda x, f: x[..., ::f, ::f], "instead of keeping one pixel"),
        "max pooling": (lambda x, f: F.max_pool2d(x, f), "not its maximum"),
        "rows, not squares": (lambda x, f: x.reshape(*x.shape[:2], x.shape[2] // f, x.shape[3] // f, f, f)
                              .mean(dim=(4, 5)), "these blocks are rows"),
        "hard-coded factor 4": (lambda x, f: F.avg_pool2d(x, 4), "should return shape"),
        "bilinear resize": (lambda x, f: F.interpolate(x, scale_factor=1 / f, mode="bilinear"), "should return"),
        "median of the block": (lambda x, f: x.unfold(2, f, f).unfold(3, f, f).flatten(-2).median(-1).values,
                                "should return"),
        "blocks shifted by one pixel": (lambda x, f: F.avg_pool2d(x.roll(1, dims=3), f), "should return"),
        "height and width swapped": (lambda x, f: F.avg_pool2d(x, f).transpose(2, 3), "should return shape"),
        "channel dimension dropped": (lambda x, f: F.avg_pool2d(x, f)[:, 0], "should return shape"),
        "first channel only": (lambda x, f: F.avg_pool2d(x[:, :1], f), "should return shape"),
        "averages the batch too": (lambda x, f: F.avg_pool2d(x, f).mean(0, keepdim=True), "should return shape"),
        "upsampled back to full size": (lambda x, f: F.avg_pool2d(x, f).repeat_interleave(f, 2)
                                        .repeat_interleave(f, 3), "should return shape"),
        "stride 1": (lambda x, f: F.avg_pool2d(x, f, stride=1), "should return shape"),
        "one mean per image": (lambda x, f: x.mean(dim=(2, 3), keepdim=True), "should return shape"),
        "right on the example only": (lambda x, f: torch.tensor([[[[3.5, 5.5]]]]), "should return shape"),
        "rounded to integers": (lambda x, f: F.avg_pool2d(x, f).round().long(), "should return"),
        "returns None": (lambda x, f: None, "forget `return`"),
        "returns a string": (lambda x, f: "small", "returned a str"),
        "returns NaN": (lambda x, f: F.avg_pool2d(x, f) * float("nan"), "NaN or inf"),
        "raises": (lambda x, f: _raise(RuntimeError("shape mismatch")), "RuntimeError: shape mismatch"),
        "still a stub": (lambda x, f: _raise(NotImplementedError()), "replace `raise NotImplementedError()`"),
        "hangs": (_hang, "still running after 0.5 s"),
        "mutates its input": (mutate_then_right, "changed its input"),
    }
    check_battery(exercises.check_downsample, battery, capsys)


@pytest.mark.parametrize("check, right", [(exercises.check_psnr, psnr_right),
                                          (exercises.check_downsample, downsample_right)])
def test_the_right_answer_passes(check, right, capsys):
    result = run(check, right, capsys)
    assert result.passed and result.message.startswith("✅ Correct")


def test_a_numpy_or_float64_answer_is_accepted_too(capsys):
    from skimage.metrics import peak_signal_noise_ratio

    def skimage_psnr(estimate, target, data_range):
        return peak_signal_noise_ratio(target.numpy(), estimate.numpy(), data_range=data_range)

    assert run(exercises.check_psnr, skimage_psnr, capsys).passed
    assert run(exercises.check_downsample, lambda x, f: downsample_right(x.double(), f).numpy(), capsys).passed


# --- sr_generator_loss ----------------------------------------------------------------------
def sr_loss_right(sr, hr, fake_logits, weight):
    return (sr - hr).abs().mean() + weight * F.softplus(-fake_logits).mean()


SR_LOSS_EXAMPLE = 0.15 + 0.2 * (math.log(2) + math.log(4 / 3)) / 2  # the check's hand case


def _l1(s, h):
    return (s - h).abs().mean()


def test_sr_generator_loss_battery(capsys):
    sp = F.softplus
    battery = scalar_battery(sr_loss_right, SR_LOSS_EXAMPLE) | {
        "squared error": (lambda s, h, f, w: ((s - h) ** 2).mean() + w * sp(-f).mean(), "not the squared error"),
        "root mean squared error": (lambda s, h, f, w: ((s - h) ** 2).mean().sqrt() + w * sp(-f).mean(),
                                    "not the root of the squared error"),
        "no absolute value": (lambda s, h, f, w: (s - h).mean().abs() + w * sp(-f).mean(), "errors of opposite signs"),
        "summed pixel loss": (lambda s, h, f, w: (s - h).abs().sum() + w * sp(-f).mean(), "do not sum them"),
        "no λ": (lambda s, h, f, w: _l1(s, h) + sp(-f).mean(), "multiply the adversarial term"),
        "λ on the pixel loss": (lambda s, h, f, w: w * _l1(s, h) + sp(-f).mean(), "not the pixel loss"),
        "no adversarial term": (lambda s, h, f, w: _l1(s, h), "add λ times the adversarial loss"),
        "no pixel loss": (lambda s, h, f, w: w * sp(-f).mean(), "keep the pixel loss"),
        "minimax generator loss": (lambda s, h, f, w: _l1(s, h) - w * sp(f).mean(), "non-saturating"),
        "discriminator's fake term": (lambda s, h, f, w: _l1(s, h) + w * sp(f).mean(), "mind the sign"),
        "summed adversarial loss": (lambda s, h, f, w: _l1(s, h) + w * sp(-f).sum(), "(.mean())"),
        "log of sigmoid": (lambda s, h, f, w: _l1(s, h) - w * torch.log(torch.sigmoid(f)).mean(), "F.softplus"),
        "logits read as probabilities": (lambda s, h, f, w: _l1(s, h) - w * torch.log(f.clamp(1e-6, 1)).mean(),
                                         "should return"),
        "least-squares adversarial loss": (lambda s, h, f, w: _l1(s, h) + w * ((f - 1) ** 2).mean() / 2,
                                           "should return"),
        "first image only": (lambda s, h, f, w: sr_loss_right(s[:1], h[:1], f[:1], w), "should return"),
        "hard-coded λ = 0.1": (lambda s, h, f, w: _l1(s, h) + 0.1 * sp(-f).mean(), "should return"),
    }
    check_battery(exercises.check_sr_generator_loss, battery, capsys)


def test_sr_generator_loss_right_answers_pass(capsys):
    ways = {
        "reference": sr_loss_right,
        "F.l1_loss and logsigmoid": lambda s, h, f, w: F.l1_loss(s, h) - w * F.logsigmoid(f).mean(),
        "BCE with logits against ones": lambda s, h, f, w: F.l1_loss(s, h) + w * F.binary_cross_entropy_with_logits(
            f, torch.ones_like(f)),
    }
    for kind, fn in ways.items():
        result = run(exercises.check_sr_generator_loss, fn, capsys)
        assert result.passed and result.message.startswith("✅ Correct"), f"{kind}: {result.message}"
