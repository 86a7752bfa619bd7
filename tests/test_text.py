"""ganlib.text against independent computations: hand-made strokes, numpy's quantiles, the loss's formula."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats

from ganlib import text


def blank(n=1):
    return -torch.ones(n, 1, 8, 8)


def stroke(pixels, value=1.0):
    """One 8x8 image, ink ``value`` at the (row, col) ``pixels`` on a background of -1."""
    image = blank()
    for r, c in pixels:
        image[0, 0, r, c] = value
    return image


# --- ink mass and slant ---------------------------------------------------------------------------
def test_ink_mass_counts_the_ink_of_each_pixel():
    image = stroke([(0, 0), (1, 1)]) + 0  # two full pixels
    image[0, 0, 2, 2] = 0.0  # half a pixel of ink
    assert text.ink_mass(image).tolist() == [pytest.approx(2.5, abs=1e-6)]
    assert text.ink_mass(blank()).tolist() == [0.0]
    assert text.ink_mass(torch.ones(1, 1, 8, 8)).tolist() == [64.0]


@pytest.mark.parametrize("pixels, expected", [
    ([(r, 7 - r) for r in range(8)], 1.0),  # "/": one column right per row up
    ([(r, r) for r in range(8)], -1.0),  # "\"
    ([(r, c) for r in range(1, 7) for c in (3, 4)], 0.0),  # an upright bar two pixels wide
    ([(r, 4 + (7 - r) // 2) for r in range(8)], None),  # a steeper "/": slope from numpy's least squares
])
def test_slant_of_hand_made_strokes(pixels, expected):
    rows, cols = np.array(pixels, dtype=float).T
    y_up = 7 - rows
    if expected is None:  # for equal weights, mu11 / mu02 is the least-squares slope of x on y
        expected = np.polyfit(y_up, cols, 1)[0]
        assert 0.3 < expected < 0.6
    assert text.slant(stroke(pixels)).item() == pytest.approx(expected, abs=1e-6)


def test_slant_does_not_depend_on_the_strength_or_position_of_the_ink():
    pixels = [(r, 7 - r) for r in range(8)]
    faint = stroke(pixels, value=-0.8)  # a tenth of the ink
    assert text.slant(faint).item() == pytest.approx(1.0, abs=1e-6)
    shifted = stroke([(r, c) for r in range(2, 8) for c in (1, 2)] + [(2, 3)])
    moved = torch.roll(shifted, shifts=(-2, 3), dims=(2, 3))
    assert text.slant(moved).item() == pytest.approx(text.slant(shifted).item(), abs=1e-6)


def test_slant_matches_weighted_moments_computed_with_numpy():
    images = torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    for image, got in zip(images, text.slant(images), strict=True):
        w = (image[0].double().numpy() + 1) / 2
        rows, cols = np.indices(w.shape)
        y, x = 7 - rows, cols
        cov = np.cov(np.stack([x.ravel(), y.ravel()]), aweights=w.ravel(), bias=True)
        assert got.item() == pytest.approx(cov[0, 1] / cov[1, 1], rel=1e-5)


# --- tertiles and captions ----------------------------------------------------------------------
def test_tertile_thresholds_are_numpys_quantiles_per_digit():
    gen = torch.Generator().manual_seed(1)
    values, labels = torch.randn(300, generator=gen), torch.arange(300) % 10
    thresholds = text.tertile_thresholds(values, labels)
    for d in range(10):
        expected = np.quantile(values[labels == d].numpy().astype(np.float64), [1 / 3, 2 / 3])
        assert thresholds[d].tolist() == pytest.approx(expected.tolist(), abs=1e-6)


def test_levels_split_by_hand():
    values = torch.tensor([1.0, 2.0, 3.0, 10.0, 20.0, 30.0])
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    thresholds = torch.zeros(10, 2)
    thresholds[0] = torch.tensor([1.5, 2.5])
    thresholds[1] = torch.tensor([15.0, 25.0])
    assert text.levels(values, labels, thresholds).tolist() == [-1, 0, 1, -1, 0, 1]


def test_captions_words_and_articles():
    assert text.caption(7, 1, 1) == "a thick seven slanted right"
    assert text.caption(2, -1, 0) == "a thin two"
    assert text.caption(8) == "an eight"
    assert text.caption(8, 1) == "a thick eight"
    assert text.caption(1, 0, -1) == "a one slanted left"


def test_captions_of_real_digits_split_each_digit_into_thirds():
    from ganlib.data import load_digits

    images, labels = load_digits(split="train")
    caps = text.captions(images, labels)
    assert len(set(caps.texts)) == 90
    for levels in (caps.thickness, caps.slant):
        shares = torch.stack([(levels == lv).float().mean() for lv in (-1, 0, 1)])
        assert torch.allclose(shares, torch.full((3,), 1 / 3), atol=0.02)
    i = 0
    word = text.DIGIT_WORDS[labels[i]]
    assert word in caps.texts[i].split()
    held_out = text.captions(*load_digits(split="test"), reference=caps)
    assert torch.equal(held_out.thickness_thresholds, caps.thickness_thresholds)


# --- vocabulary ------------------------------------------------------------------------------------
def test_tokenize_and_encode():
    assert text.tokenize("A thick SEVEN, slanted right.") == [12, 8, 13, 15]
    assert text.tokenize("an eight") == [9]
    tokens = text.encode(["a two", "a thin nine slanted left"])
    assert tokens.tolist() == [[3, 0, 0, 0], [11, 10, 13, 14]]


@pytest.mark.parametrize("prompt, words", [("a bold seven", "'bold'"), ("thick 7", "'7'"),
                                           ("a seven in italics", "'in', 'italics'")])
def test_unknown_words_are_named_and_the_vocabulary_listed(prompt, words):
    with pytest.raises(ValueError, match="unknown word") as error:
        text.tokenize(prompt)
    assert words in str(error.value) and "zero one two" in str(error.value) and "slanted left right" in str(error.value)


@pytest.mark.parametrize("call, match", [
    (lambda: text.tokenize(""), "no words"),
    (lambda: text.tokenize(7), "expected a string"),
    (lambda: text.encode("a seven"), "list of prompts"),
    (lambda: text.encode([]), "at least one"),
    (lambda: text.caption(10), "digit=10"),
    (lambda: text.caption(3, 2), "thickness=2"),
    (lambda: text.slant(torch.zeros(8, 8)), "images: expected grey images"),
    (lambda: text.levels(torch.zeros(3), torch.zeros(3, dtype=torch.long), torch.zeros(2)), "thresholds"),
    (lambda: text.tertile_thresholds(torch.zeros(4), torch.arange(4)), "tertiles need at least 3"),
    (lambda: text.captions(blank(2), torch.tensor([0, 12])), "0-9"),
])
def test_bad_input_raises_a_clear_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- networks and loss -----------------------------------------------------------------------------
def test_the_matching_aware_loss_by_hand():
    ln3 = math.log(3)
    real_right, real_wrong, fake = torch.tensor([0.0, ln3]), torch.tensor([ln3, ln3]), torch.tensor([0.0, -ln3])
    # -log D on the real pairs (D = 1/2, 3/4); -log(1 - D) on the others (D = 3/4, 3/4 and 1/2, 1/4).
    expected = (math.log(2) + math.log(4 / 3)) / 2 + 0.5 * (math.log(4) + (math.log(2) + math.log(4 / 3)) / 2)
    got = text.matching_aware_discriminator_loss(real_right, real_wrong, fake).item()
    assert got == pytest.approx(expected, rel=1e-6)
    big = torch.tensor([100.0])
    assert text.matching_aware_discriminator_loss(-big, big, big).item() == pytest.approx(200.0, rel=1e-6)


def test_networks_shapes_and_the_encoder_ignores_padding_and_order():
    torch.manual_seed(0)
    G, D = text.TextToImageGenerator(), text.TextToImageDiscriminator()
    tokens = text.encode(["a thick seven slanted right", "a two"])
    images = G(torch.randn(2, G.latent_dim), tokens)
    assert images.shape == (2, 1, 8, 8) and images.abs().max() <= 1
    assert D(images, tokens).shape == (2,)
    encoder = G.encoder
    same = encoder(torch.tensor([[3, 0, 0]])), encoder(torch.tensor([[3]]))
    assert torch.allclose(*same)
    assert torch.allclose(encoder(torch.tensor([[12, 8]])), encoder(torch.tensor([[8, 12]])))
    with pytest.raises(ValueError, match="one text per image"):
        D(images, tokens[:1])
    with pytest.raises(ValueError, match="int64"):
        encoder(torch.zeros(2, 3))


def test_a_short_training_run_records_its_history_and_generates():
    images = torch.rand(32, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    tokens = text.encode([text.caption(i % 10) for i in range(32)])
    gan = text.train(images, tokens, steps=6, batch_size=16, progress=False)
    assert gan.step == 6 and all(len(v) == 6 for v in gan.history.values())
    out = text.generate(gan.generator, "a thin three", n=5, seed=1)
    assert out.shape == (5, 1, 8, 8)
    assert torch.equal(out, text.generate(gan.generator, "a thin three", n=5, seed=1))
    with pytest.raises(ValueError, match="batch_size=64"):
        text.train(images, tokens, steps=1, batch_size=64, progress=False)
    poisoned = images.clone()
    poisoned[3, 0, 2, 2] = math.inf
    with pytest.raises(ValueError, match=r"images hold 1 pixel value\(s\) that are NaN or inf"):
        text.train(poisoned, tokens, steps=1, batch_size=16, progress=False)
    with pytest.raises(ValueError, match="tokens"):
        text.train(images, tokens[:5], steps=1, progress=False)


def test_a_loss_that_turns_nan_stops_training_before_it_changes_a_weight(monkeypatch):
    images = torch.rand(32, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    tokens = text.encode([text.caption(i % 10) for i in range(32)])
    # Reference: two steps, no decay (so the first steps' rates do not depend on the run's length).
    two = text.train(images, tokens, steps=2, batch_size=16, decay=0, progress=False)
    real_loss, calls = text.matching_aware_discriminator_loss, []

    def nan_on_the_third_step(*args):
        calls.append(1)
        loss = real_loss(*args)
        return loss * math.nan if len(calls) == 3 else loss

    monkeypatch.setattr(text, "matching_aware_discriminator_loss", nan_on_the_third_step)
    with pytest.raises(text.NonFiniteLossError, match=r"stopped at step 3: the discriminator loss is nan") as caught:
        text.train(images, tokens, steps=5, batch_size=16, decay=0, progress=False)
    kept = caught.value.gan
    assert kept.step == 2 and all(len(v) == 2 for v in kept.history.values())
    for mine, theirs in ((kept.generator, two.generator), (kept.discriminator, two.discriminator)):
        # Weights and buffers alike: step 3's forward pass had updated G's BatchNorm statistics.
        for a, b in zip(mine.state_dict().values(), theirs.state_dict().values(), strict=True):
            assert torch.equal(a, b)  # the failed step changed nothing
    assert not kept.generator.training  # ready to generate from, as train() returns it


# --- measuring control -------------------------------------------------------------------------------
class _Oracle(torch.nn.Module):
    """A 'classifier' that reads the digit hidden in pixel (0, 0)."""

    def predict(self, images):
        digits = ((images[:, 0, 0, 0] + 1) * 5).round().long().clamp(0, 9)
        return digits, torch.ones(len(images))


def test_measure_control_against_scipy_and_counting():
    gen = torch.Generator().manual_seed(0)
    reference = (torch.rand(200, 1, 8, 8, generator=gen) * 2 - 1, torch.arange(200) % 10)
    digits = torch.arange(60) % 10
    images = torch.rand(60, 1, 8, 8, generator=gen) * 2 - 1
    images[:, 0, 0, 0] = digits / 5 - 1
    images[:6, 0, 0, 0] = -1  # six images read as 0; one of them (the first) was a 0
    thickness, lean = torch.randint(-1, 2, (60,), generator=gen), torch.randint(-1, 2, (60,), generator=gen)
    result = text.measure_control(images, digits, thickness, lean, _Oracle(), reference)
    assert result.read_rate == pytest.approx(55 / 60)
    assert result.read_rate_by_digit[0] == 1.0 and result.read_rate_by_digit[1] == pytest.approx(5 / 6)
    ink = text.ink_mass(images)
    ref_ink = text.ink_mass(reference[0])
    mean = torch.stack([ref_ink[reference[1] == d].mean() for d in range(10)])
    std = torch.stack([ref_ink[reference[1] == d].std() for d in range(10)])
    expected = stats.spearmanr(thickness.numpy(), ((ink - mean[digits]) / std[digits]).numpy()).statistic
    assert result.thickness_rho == pytest.approx(expected, abs=1e-6)
    assert -1 <= result.slant_rho <= 1


def test_prompt_box_shows_a_png_and_reports_unknown_words():
    torch.manual_seed(0)
    box = text.PromptBox(text.TextToImageGenerator(), "a four", n=8)
    assert box.image.value[:4] == b"\x89PNG"
    assert "image/png" in box._repr_mimebundle_()
    box.prompt.value = "a purple four"
    assert "'purple'" in box.status.value
    box.prompt.value = "a thin four"
    assert "8 samples" in box.status.value


def test_matching_aware_loss_agrees_with_binary_cross_entropy():
    gen = torch.Generator().manual_seed(3)
    r, w, f = (torch.randn(7, generator=gen) for _ in range(3))
    bce = F.binary_cross_entropy_with_logits
    expected = bce(r, torch.ones(7)) + 0.5 * (bce(w, torch.zeros(7)) + bce(f, torch.zeros(7)))
    assert text.matching_aware_discriminator_loss(r, w, f).item() == pytest.approx(expected.item(), rel=1e-6)


def test_caption_spread_is_the_mean_distance_between_different_images_of_a_caption():
    features = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 8.0], [1.0, 1.0], [5.0, 5.0], [2.0, 2.0]])
    texts = ["a one", "a one", "a one", "a two", "a two", "a three"]
    spread = text.caption_spread(features, texts)
    # "a one": the pairs (0, 1), (0, 2), (1, 2) are 5, 8 and 5 apart; "a two": one pair, sqrt(32); "a three": no pair.
    assert spread == {"a one": pytest.approx(6.0), "a two": pytest.approx(math.sqrt(32))}
    copies = text.caption_spread(features[[0, 0, 0, 3, 3]], texts[:5])  # one picture per caption
    assert copies == {"a one": 0.0, "a two": 0.0}
    with pytest.raises(ValueError, match=r"features: expected one row per caption \(6 x F\), got \(5, 2\)"):
        text.caption_spread(features[:5], texts)


@pytest.mark.parametrize("matching_aware", [True, False])
def test_the_plain_loss_is_the_matching_aware_one_without_the_mismatched_term(matching_aware):
    images = torch.rand(32, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    tokens = text.encode([text.caption(i % 10, i % 3 - 1) for i in range(32)])
    gan = text.train(images, tokens, steps=1, batch_size=16, r1=0, matching_aware=matching_aware, seed=3,
                     progress=False)
    # Replay the first step by hand, as train's docstring describes it.
    torch.manual_seed(3)
    G, D = text.TextToImageGenerator(), text.TextToImageDiscriminator()
    order = torch.Generator().manual_seed(3)
    index = [b for b in torch.randperm(32, generator=order).split(16) if len(b) == 16][0]
    real, right = images[index], tokens[index]
    fake = G(torch.randn(16, G.latent_dim), right)
    s_r, s_w, s_f = D(torch.cat([real, real, fake]), torch.cat([right, right.roll(1, dims=0), right])).split(16)
    sp = torch.nn.functional.softplus
    expected = sp(-s_r).mean() + 0.5 * sp(s_f).mean() + (0.5 * sp(s_w).mean() if matching_aware else 0)
    assert gan.history["d_loss"][0] == pytest.approx(expected.item(), rel=1e-5)


def test_interpolated_captions_end_at_each_caption_and_mix_the_embeddings_between():
    torch.manual_seed(0)
    G = text.TextToImageGenerator().eval()
    z = torch.randn(3, G.latent_dim)
    images = text.interpolate_captions(G, "a thin seven", "a thick seven", [0.0, 0.5, 1.0], z)
    assert images.shape == (9, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(images[:3], G(z, text.encode(["a thin seven"] * 3)))
        torch.testing.assert_close(images[6:], G(z, text.encode(["a thick seven"] * 3)))
        h = G.encoder(text.encode(["a thin seven", "a thick seven"])).mean(0, keepdim=True).expand(3, -1)
        torch.testing.assert_close(images[3:6], G.body(torch.cat([z, h], dim=1)))
    with pytest.raises(ValueError, match=r"betas=\[1.5\]: expected a non-empty list of numbers in \[0, 1\]"):
        text.interpolate_captions(G, "a two", "a three", [1.5], z)
    with pytest.raises(ValueError, match=r"z: expected n x 32 noise vectors"):
        text.interpolate_captions(G, "a two", "a three", [0.5], z[:, :5])
