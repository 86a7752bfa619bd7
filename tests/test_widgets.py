"""The playground's code paths, driven as a learner would drive them (buttons, sliders)."""

import base64

import pytest
import torch

from ganlib import data, widgets


@pytest.fixture
def playground():
    return widgets.Playground(run_steps=7)


def test_starts_untrained_and_steps_from_code(playground):
    assert playground.gan.step == 0
    playground.step(3)
    assert playground.gan.step == 3 and len(playground.gan.history["d_loss"]) == 3
    assert "step 3" in playground.status.value


def test_displays_as_a_widget_with_a_static_png_fallback(playground):
    bundle = playground._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    png = base64.b64decode(bundle["image/png"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png == playground.image.value


def test_buttons_step_run_and_reset(playground):
    playground.step_button.click()
    assert playground.gan.step == 1
    playground.run_button.click()
    assert playground.gan.step == 8
    assert not any(b.disabled for b in (playground.step_button, playground.run_button, playground.reset_button))
    playground.reset_button.click()
    assert playground.gan.step == 0 and playground.gan.history["d_loss"] == []


def test_changing_the_data_loss_or_k_starts_again_with_them(playground):
    playground.step(2)
    playground.dataset.value = "grid"
    assert playground.gan.step == 0
    nearest = torch.cdist(playground.real[:500], data.GRID.means).min(dim=1).values
    assert nearest.max() < 0.5  # grid samples, not ring samples
    playground.loss.value = "hinge"
    playground.k.value = 3
    assert playground.gan.loss.name == "hinge" and playground.gan.n_critic == 3
    playground.step(1)
    assert next(iter(playground.gan.d_optimizer.state.values()))["step"].item() == 3


def test_learning_rates_change_in_place(playground):
    playground.step(2)
    playground.lr_g.value = 1e-4
    playground.lr_d.value = 3e-4
    assert playground.gan.step == 2
    assert playground.gan.g_optimizer.param_groups[0]["lr"] == pytest.approx(1e-4)
    assert playground.gan.d_optimizer.param_groups[0]["lr"] == pytest.approx(3e-4)


def test_generator_arrows_are_the_negative_loss_gradient_by_finite_differences(playground):
    playground.step(20)
    x = torch.tensor([[0.3, -0.2], [0.9, 0.1]], dtype=torch.float64)
    playground.gan.discriminator.double()
    arrows = playground.generator_arrows(x)
    loss = playground.gan.loss.generator
    h = 1e-6
    for i in range(2):
        for j in range(2):
            plus, minus = x.clone(), x.clone()
            plus[i, j] += h
            minus[i, j] -= h
            numeric = (loss(playground.gan.discriminator(plus)) - loss(playground.gan.discriminator(minus))) / (2 * h)
            assert arrows[i, j].item() == pytest.approx(-numeric.item(), rel=1e-5, abs=1e-9)


def test_data_without_modes_still_draws(playground):
    playground.dataset.value = "moons"
    playground.step(2)
    assert playground.coverage == [] and playground.image.value[:4] == b"\x89PNG"


@pytest.mark.parametrize("kwargs, match", [
    ({"dataset": "circle"}, r"^dataset='circle'"),
    ({"loss": "bce"}, r"^loss='bce'"),
    ({"batch_size": 100}, r"^batch_size=100"),
    ({"k": 0}, r"^k=0"),
])
def test_bad_settings_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        widgets.Playground(**kwargs)


def test_bad_step_count_is_named(playground):
    with pytest.raises(ValueError, match=r"^n=0"):
        playground.step(0)


def test_the_field_panel_titles_the_true_size_of_the_longest_arrow(playground, monkeypatch):
    playground.step(2)
    fake = playground.gan.sample(500)
    monkeypatch.setattr(playground.gan, "sample", lambda n: fake[:n])  # the figure sees these samples
    title = playground.figure().axes[0].get_title()
    assert title.startswith("step 2 · longest arrow |∂loss/∂x| = ")
    expected = playground.generator_arrows(fake[:80]).norm(dim=1).max().item()
    assert title.endswith(f"= {expected:.2g}")


def test_latent_walk_draws_pixels_without_smoothing():
    from ganlib import models

    walk = widgets.LatentWalk(models.DCGANGenerator(latent_dim=4, image_size=8, width=8), latent_dim=4, steps=3)
    images = [im for ax in walk.figure().axes for im in ax.get_images()]
    assert len(images) == 4 and all(im.get_interpolation() == "nearest" for im in images)
