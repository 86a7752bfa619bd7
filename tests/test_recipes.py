"""ganlib.recipes: each recipe builds what its name says, and the decay schedule is the stated one."""

from dataclasses import replace

import pytest
import torch

from ganlib import data, models, recipes, training


@pytest.mark.parametrize("name", list(recipes.RECIPES))
def test_each_recipe_builds_the_constraints_it_names(name):
    recipe = recipes.RECIPES[name]
    gan = recipes.build_2d(recipe)
    D = gan.discriminator
    assert isinstance(D, models.PackedDiscriminator) == (recipe.pack > 1)
    has_sn = any(hasattr(m, "parametrizations") for m in D.modules())
    assert has_sn == recipe.spectral_norm
    assert (gan.penalty is not None) == bool(recipe.gradient_penalty or recipe.r1)
    assert getattr(gan.penalty, "every", 1) == recipe.penalty_every
    assert gan.weight_clip == recipe.weight_clip and gan.n_critic == recipe.n_critic
    assert gan.loss.name == recipe.loss
    assert gan.g_optimizer.param_groups[0]["lr"] == recipe.lr_g and gan.d_optimizer.param_groups[0]["lr"] == recipe.lr_d


def test_names_in_the_notebooks_exist():
    for name in ("GAN", "PacGAN2", "WGAN (clipping)", "WGAN-GP", "SNGAN (hinge)", "R1", "TTUR",
                 "R1 + TTUR + decay (recommended)", "WGAN (clipping, lr 3e-3)", "WGAN-GP (gan_toy.py settings)",
                 "WGAN-GP (lambda 0.1, lr 3e-3)"):
        assert recipes.RECIPES[name].name == name


def test_step_length_counts_decayed_steps_at_their_mean_rate():
    assert recipes.RECIPES["GAN"].step_length == pytest.approx(6.0)  # 6,000 x 1e-3
    assert recipes.RECIPES["WGAN (clipping)"].step_length == pytest.approx(0.1)  # 2,000 x 5e-5
    # 3,000 steps at 2e-3, then 3,000 decaying linearly to 0 (mean 1e-3): 6 + 3 = 9
    assert recipes.RECIPES["R1 + TTUR + decay (recommended)"].step_length == pytest.approx(9.0)


def test_the_toy_settings_recipe_is_the_wgan_gp_authors():
    toy = recipes.RECIPES["WGAN-GP (gan_toy.py settings)"]
    assert (toy.gradient_penalty, toy.hidden, toy.lr_g, toy.lr_d, toy.betas, toy.batch_size, toy.n_critic) == (
        0.1, 512, 1e-4, 1e-4, (0.5, 0.9), 256, 5)
    gan = recipes.build_2d(toy)
    assert gan.generator.net[0].out_features == 512 and gan.discriminator.net[0].out_features == 512


_TRAIN = training.train


def _learning_rates_per_step(monkeypatch, recipe, **kwargs):
    """(lr_g, lr_d) at each step of ``train_recipe``, and the models it trained."""
    seen = []

    def spy(gan, batches, steps, progress=False):
        seen.extend([(gan.g_optimizer.param_groups[0]["lr"], gan.d_optimizer.param_groups[0]["lr"])] * steps)
        return _TRAIN(gan, batches, steps, progress=False)

    monkeypatch.setattr(training, "train", spy)
    training.seed_everything(0)
    gan = recipes.build_2d(recipe)
    recipes.train_recipe(gan, recipe, data.toy_loader("ring", n=256, batch_size=32), **kwargs)
    return seen, gan


def test_decay_lowers_both_rates_linearly_to_near_zero(monkeypatch):
    recipe = replace(recipes.RECIPES["TTUR"], steps=600, decay=0.5, hidden=8, batch_size=32)
    seen, gan = _learning_rates_per_step(monkeypatch, recipe)
    assert len(seen) == 600 and gan.step == 600
    assert set(seen[:300]) == {(1e-3, 2e-3)}  # the constant first half
    # then stairs of 100 steps at the mid-stair fraction of the rates: 5/6, 3/6, 1/6
    for k, left in enumerate((5 / 6, 3 / 6, 1 / 6)):
        stair = seen[300 + 100 * k: 400 + 100 * k]
        assert len(set(stair)) == 1
        assert stair[0] == (pytest.approx(1e-3 * left), pytest.approx(2e-3 * left))


def test_a_callback_sees_the_run_without_changing_it(monkeypatch):
    recipe = replace(recipes.RECIPES["TTUR"], steps=250, decay=0.4, hidden=8, batch_size=32)
    plain_rates, plain = _learning_rates_per_step(monkeypatch, recipe)
    called_at = []
    rates, watched = _learning_rates_per_step(monkeypatch, recipe, callback=lambda g: called_at.append(g.step),
                                              every=70)
    assert called_at == [70, 140, 210, 250]
    assert rates == plain_rates
    for a, b in zip(plain.generator.parameters(), watched.generator.parameters(), strict=True):
        assert torch.equal(a, b)  # the same batches, noise and rates: the same weights, bit for bit
    with pytest.raises(ValueError, match="every=0"):
        recipes.train_recipe(watched, recipe, data.toy_loader("ring", n=256, batch_size=32), every=0)


def test_run_2d_measures_2500_samples_and_a_bad_recipe_is_named():
    recipe = replace(recipes.RECIPES["GAN"], steps=20, hidden=16, batch_size=64)
    result, seconds = recipes.run_2d(recipe, "ring", seed=0)
    assert sum(result.counts.tolist()) == round(result.high_quality * 2500) and seconds > 0
    with pytest.raises(ValueError, match="choose one penalty"):
        recipes.build_2d(replace(recipe, gradient_penalty=10.0, r1=1.0))


def test_run_digits_returns_a_finite_fid():
    recipe = replace(recipes.RECIPES["TTUR"], steps=5)
    fid, seconds = recipes.run_digits(recipe, seed=0)
    assert torch.isfinite(torch.tensor(fid)) and fid > 0 and seconds > 0


def test_build_digits_networks_and_their_two_additions_counted_by_hand():
    plain = recipes.build_digits(recipes.DIGITS)
    # G: z (32) -> 32 x 4 x 4 (no bias), BatchNorm, one transposed convolution to 1 x 8 x 8 (with bias).
    # D: one strided convolution 1 -> 32 (with bias), then a linear layer from 32 x 4 x 4 to the logit.
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    assert count(plain.generator) == 32 * 512 + 2 * 32 + 32 * 16 + 1 == 16_961
    assert count(plain.discriminator) == 16 * 32 + 32 + 512 + 1 == 1_057
    bigger = recipes.build_digits(recipes.DIGITS, d_hidden=128, refine=True)
    # refine: z -> 64 x 4 x 4, BatchNorm, transposed convolution 64 -> 32 (no bias), BatchNorm, 3x3 convolution 32 -> 1.
    assert count(bigger.generator) == 32 * 1024 + 2 * 64 + 64 * 32 * 16 + 2 * 32 + 32 * 9 + 1 == 66_017
    # d_hidden: the features (512) -> 128 units -> the logit.
    assert count(bigger.discriminator) == 16 * 32 + 32 + 512 * 128 + 128 + 128 + 1 == 66_337
    head = bigger.discriminator.head
    assert isinstance(head[1], torch.nn.LeakyReLU) and head[0].out_features == 128
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in bigger.discriminator.modules())  # R1 needs none
    torch.manual_seed(0)
    images = bigger.sample(5)
    assert images.shape == (5, 1, 8, 8) and images.abs().max() <= 1
    assert bigger.discriminator(images).shape == (5,)
    for kwargs in ({"n_classes": 10}, {"image_size": 28}):
        gan = recipes.build_digits(recipes.DIGITS, d_hidden=16, refine=True, **kwargs)
        labels = torch.arange(3) if "n_classes" in kwargs else None
        fake = gan.sample(3, labels)
        assert fake.shape[-1] == kwargs.get("image_size", 8) and gan.discriminator(fake, labels).shape == (3,)
    with pytest.raises(ValueError, match=r"^d_hidden=-1"):
        recipes.build_digits(recipes.DIGITS, d_hidden=-1)


def test_the_bigger_digits_networks_train_with_the_recipe():
    recipe = replace(recipes.DIGITS, steps=30)
    training.seed_everything(0)
    gan = recipes.build_digits(recipe, d_hidden=32, refine=True)
    images, _ = data.load_digits(split="train")
    recipes.train_recipe(gan, recipe, data.tensor_loader(images, batch_size=64, seed=0))
    assert gan.step == 30 and all(torch.isfinite(torch.tensor(gan.history["d_loss"])))
    assert getattr(gan.penalty, "every", 1) == 4  # the recipe's lazy R1 reaches the new discriminator


def test_paired_change_pairs_by_seed():
    runs = [{"recipe": "A", "dataset": "ring", "seed": s, "modes": m} for s, m in ((0, 5), (1, 7), (2, 6), (3, 1))]
    runs += [{"recipe": "B", "dataset": "ring", "seed": s, "modes": m} for s, m in ((0, 6), (1, 9), (2, 6), (9, 8))]
    mean, se, seeds = recipes.paired_change(runs, "A", "B", "ring", "modes")
    # differences 1, 2, 0 on seeds 0-2 (seed 3 and 9 unpaired): mean 1, sample std 1, standard error 1 / sqrt(3)
    assert seeds == [0, 1, 2] and mean == pytest.approx(1.0) and se == pytest.approx(3 ** -0.5)
    with pytest.raises(ValueError, match="share 0 seed"):
        recipes.paired_change(runs, "A", "B", "grid", "modes")
