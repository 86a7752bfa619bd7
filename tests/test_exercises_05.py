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


# --- projection_logit ------------------------------------------------------------------------
def projection_right(features, labels, embedding, head):
    return head(features)[:, 0] + (embedding(labels) * features).sum(dim=1)


def _proj(features, labels, embedding):
    return (embedding(labels) * features).sum(dim=1)


def _mutating_projection(features, labels, embedding, head):
    out = projection_right(features, labels, embedding, head)
    features.mul_(0)
    return out


def test_projection_logit_battery(capsys):
    e = "should return"
    battery = {
        "no projection": (lambda f, y, emb, h: h(f)[:, 0], "add the projection"),
        "no unconditional term": (lambda f, y, emb, h: _proj(f, y, emb), "add the unconditional term"),
        "mean over features": (lambda f, y, emb, h: h(f)[:, 0] + (emb(y) * f).mean(dim=1), "not their mean"),
        "a probability": (lambda f, y, emb, h: projection_right(f, y, emb, h).sigmoid(), "not sigmoid(logit)"),
        "multiplied terms": (lambda f, y, emb, h: h(f)[:, 0] * _proj(f, y, emb), "do not multiply them"),
        "rows in order, not by label": (lambda f, y, emb, h: h(f)[:, 0] + (emb.weight[: len(f)] * f).sum(dim=1),
                                        "look up each image's own label"),
        "embedding summed alone": (lambda f, y, emb, h: h(f)[:, 0] + emb(y).sum(dim=1), "multiply the embedding"),
        "keeps head's column": (lambda f, y, emb, h: h(f) + _proj(f, y, emb)[:, None], "take head(features)[:, 0]"),
        "every label against every image": (lambda f, y, emb, h: h(f) + emb(y) @ f.T, "should return shape"),
        "no sum over features": (lambda f, y, emb, h: h(f) + emb(y) * f, "should return shape"),
        "one number for the batch": (lambda f, y, emb, h: projection_right(f, y, emb, h).sum(), "should return shape"),
        "wrong label (y + 1)": (lambda f, y, emb, h: h(f)[:, 0] + _proj(f, (y + 1) % emb.num_embeddings, emb), e),
        "ψ on the embedding": (lambda f, y, emb, h: h(emb(y))[:, 0] + _proj(f, y, emb), e),
        "subtracts the projection": (lambda f, y, emb, h: h(f)[:, 0] - _proj(f, y, emb), e),
        "head's bias dropped": (lambda f, y, emb, h: f @ h.weight[0] + _proj(f, y, emb), e),
        "projection twice": (lambda f, y, emb, h: h(f)[:, 0] + 2 * _proj(f, y, emb), e),
        "right on the example only": (lambda f, y, emb, h: torch.tensor([2.6, 0.6]), "should return shape"),
        **generic_battery(projection_right, _mutating_projection),
    }
    check_battery(exercises.check_projection_logit, battery, capsys)


def test_projection_logit_accepts_the_right_answer_written_other_ways(capsys):
    ways = {
        "index the weights": lambda f, y, emb, h: (f @ h.weight.T + h.bias)[:, 0] + (emb.weight[y] * f).sum(1),
        "einsum": lambda f, y, emb, h: h(f).squeeze(1) + torch.einsum("nk,nk->n", emb(y), f),
        "a batched dot product": lambda f, y, emb, h: h(f)[:, 0] + torch.bmm(emb(y)[:, None], f[:, :, None])[:, 0, 0],
    }
    for kind, fn in ways.items():
        result = run(exercises.check_projection_logit, fn, capsys)
        assert result.passed, f"{kind}: {result.message}"
    assert run(exercises.check_projection_logit, projection_right, capsys).message.startswith("✅ Correct")
