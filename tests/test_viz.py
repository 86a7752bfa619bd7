import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from ganlib import viz


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_show_images_lays_out_a_grid_and_maps_minus1_1_to_black_white():
    images = torch.full((16, 1, 8, 8), -1.0)
    images[3] = 1.0
    ax = viz.show_images(images, nrow=8, title="digits")
    shown = ax.get_images()[0].get_array()
    # make_grid with padding 1: 2 rows and 8 columns of 8x8 tiles, 1-pixel borders.
    assert shown.shape == (2 * 9 + 1, 8 * 9 + 1, 3)
    tile = lambda row, col: np.asarray(shown[1 + 9 * row : 9 + 9 * row, 1 + 9 * col : 9 + 9 * col])  # noqa: E731
    assert np.allclose(tile(0, 0), 0.0) and np.allclose(tile(0, 3), 1.0)
    assert ax.get_title() == "digits"


@pytest.mark.parametrize("shape", [(8, 8), (4, 2, 8, 8), (4, 8, 8)])
def test_show_images_names_a_wrong_shape(shape):
    with pytest.raises(ValueError, match=r"images: expected N x C x H x W"):
        viz.show_images(torch.zeros(shape))


def test_plot_history_draws_the_recorded_curves():
    history = {"d_loss": [1.0, 0.5], "g_loss": [0.7, 0.9], "d_real": [0.6, 0.55], "d_fake": [0.4, 0.45]}
    ax_loss, ax_d = viz.plot_history(history, smooth=1)
    assert [list(line.get_ydata()) for line in ax_loss.get_lines()] == [[1.0, 0.5], [0.7, 0.9]]
    ys = [list(line.get_ydata()) for line in ax_d.get_lines()]
    assert ys[:2] == [[0.6, 0.55], [0.4, 0.45]] and ys[2] == [0.5, 0.5]  # the 1/2 reference line


def test_plot_history_smooths_with_a_trailing_moving_average():
    values = [float(v) for v in range(10)]
    history = dict.fromkeys(("d_loss", "g_loss", "d_real", "d_fake"), values)
    ax_loss, _ = viz.plot_history(history, smooth=4)
    raw, smoothed = ax_loss.get_lines()[:2]
    assert list(raw.get_ydata()) == values
    # Mean of steps t-3..t, drawn at step t: for 0..9 that is t - 1.5, from t = 3.
    np.testing.assert_allclose(smoothed.get_xdata(), np.arange(3, 10))
    np.testing.assert_allclose(smoothed.get_ydata(), np.arange(3, 10) - 1.5)
    assert smoothed.get_color() == raw.get_color() and smoothed.get_label() == "discriminator"


@pytest.mark.parametrize("smooth", [0, -3, 2.5])
def test_plot_history_names_a_bad_window(smooth):
    with pytest.raises(ValueError, match=r"^smooth="):
        viz.plot_history({}, smooth=smooth)


class Halfplane(torch.nn.Module):
    """logit = 4 x: D(x) = sigmoid(4 x), above 1/2 exactly where x > 0."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor([4.0, 0.0]))

    def forward(self, x):
        return x @ self.w


def test_plot_discriminator_2d_shows_the_probability_field_and_points():
    real = torch.tensor([[1.0, 1.0], [-1.0, -1.0]])
    fake = torch.tensor([[0.5, 0.0]])
    ax = viz.plot_discriminator_2d(Halfplane(), real, fake, bounds=(-2, 2, -2, 2), resolution=41)
    assert ax.get_xlim() == (-2, 2) and ax.get_ylim() == (-2, 2)
    real_pts, fake_pts = (c.get_offsets() for c in ax.collections if c.get_label() in ("real", "generated"))
    np.testing.assert_allclose(real_pts, real.numpy())
    np.testing.assert_allclose(fake_pts, fake.numpy())
    field = next(c for c in ax.collections if hasattr(c, "levels"))
    assert list(field.levels) == pytest.approx(np.linspace(0, 1, 11).tolist())


def test_plot_discriminator_2d_frames_the_data_by_default():
    real = torch.tensor([[0.0, 0.0], [4.0, 2.0]])
    ax = viz.plot_discriminator_2d(Halfplane(), real)
    xmin, xmax = ax.get_xlim()
    assert xmin < 0 and xmax > 4


def test_plot_modes_draws_every_modes_3_sigma_circle_and_the_first_n_samples():
    from ganlib import data

    samples = data.sample_toy("grid", 50, seed=0)
    ax = viz.plot_modes(samples, data.GRID, n=20, title="grid")
    circles = [p for p in ax.patches if isinstance(p, plt.Circle)]
    assert len(circles) == 25
    assert all(c.get_radius() == pytest.approx(3 * data.GRID.std) for c in circles)
    centres = sorted(tuple(round(v, 6) for v in c.center) for c in circles)
    assert centres == sorted(tuple(round(v, 6) for v in m) for m in data.GRID.means.tolist())
    (points,) = ax.collections
    np.testing.assert_allclose(points.get_offsets(), samples[:20].numpy())
    assert ax.get_title() == "grid"
    assert len(viz.plot_modes(samples, data.GRID, n=None).collections[0].get_offsets()) == 50


def test_plot_modes_names_a_wrong_shape():
    from ganlib import data

    with pytest.raises(ValueError, match="N x 2"):
        viz.plot_modes(torch.zeros(5, 3), data.RING)


def test_plot_history_marks_the_equilibrium_losses_and_the_cool_down():
    history = dict.fromkeys(("d_loss", "g_loss", "d_real", "d_fake"), [1.0] * 10)
    ax_loss, ax_d = viz.plot_history(history, smooth=1, loss="non_saturating", cool_down=6)
    levels = sorted(line.get_ydata()[0] for line in ax_loss.get_lines()[2:])
    # At D = 1/2: the non-saturating G loss is -log(1/2); D's BCE, a sum of two means, is 2 * -log(1/2).
    assert levels == [pytest.approx(0.693147, abs=1e-6), pytest.approx(1.386294, abs=1e-6)]
    for ax in (ax_loss, ax_d):
        (span,) = ax.patches
        x_left, x_right = span.get_x(), span.get_x() + span.get_width()
        assert (x_left, x_right) == (6, 10)
    assert [t.get_text() for t in ax_loss.texts] == ["D's loss at D = 1/2: 1.386", "G's loss at D = 1/2: 0.693",
                                                     "cool-down"]
    for ax in (ax_loss, ax_d):  # labelled level at the top of the band, where the curves do not cross it
        (label,) = (t for t in ax.texts if t.get_text() == "cool-down")
        assert label.xy == (6, 1) and label.get_rotation() == 0 and label.get_va() == "top"
    assert len(ax_loss.get_legend().get_texts()) == 2  # only the two curves
    # Each label sits at the right end, on the side of its line away from where its curve ends:
    # both curves end at 1.0, below D's line (1.386) and above G's (0.693).
    d_label, g_label = ax_loss.texts[:2]
    assert d_label.xy[0] == g_label.xy[0] == 1 and d_label.get_ha() == g_label.get_ha() == "right"
    assert d_label.get_va() == "bottom" and g_label.get_va() == "top"
    high = dict.fromkeys(("d_loss", "g_loss", "d_real", "d_fake"), [2.0] * 10)
    d_label, g_label = viz.plot_history(high, smooth=1, loss="non_saturating")[0].texts[:2]
    assert d_label.get_va() == g_label.get_va() == "top"  # both curves above both lines: labels below
    ax_loss, _ = viz.plot_history(history, smooth=1, loss="minimax")
    assert sorted(line.get_ydata()[0] for line in ax_loss.get_lines()[2:]) == [
        pytest.approx(-0.693147, abs=1e-6), pytest.approx(1.386294, abs=1e-6)]


def test_plot_history_names_a_loss_without_known_equilibrium():
    with pytest.raises(ValueError, match=r"^loss='wasserstein'"):
        viz.plot_history(dict.fromkeys(("d_loss", "g_loss", "d_real", "d_fake"), [1.0]), loss="wasserstein")


def test_plot_discriminator_2d_can_leave_the_colour_bar_to_a_shared_one():
    fig, axes = plt.subplots(1, 2)
    for ax in axes:
        viz.plot_discriminator_2d(Halfplane(), torch.zeros(3, 2), bounds=(-1, 1, -1, 1), resolution=11, ax=ax,
                                  colorbar=False)
    assert len(fig.axes) == 2  # no colour-bar axes were added
    fig.colorbar(axes[0].collections[0], ax=axes)
    assert len(fig.axes) == 3


class Scaled(torch.nn.Module):
    """logit = a x: another half-plane discriminator, steeper or flatter than Halfplane's 4 x."""

    def __init__(self, a):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor([float(a), 0.0]))

    def forward(self, x):
        return x @ self.w


def test_plot_discriminator_2d_relative_to_draws_the_change_on_a_symmetric_scale():
    fig, ax = plt.subplots()
    viz.plot_discriminator_2d(Halfplane(), torch.zeros(3, 2), bounds=(-2, 2, -2, 2), resolution=41, ax=ax,
                              relative_to=Scaled(2))
    field = next(c for c in ax.collections if hasattr(c, "levels"))
    # The change sigmoid(4x) - sigmoid(2x) on the grid's 41 x values, computed here independently.
    xs = np.linspace(-2, 2, 41)
    largest = np.abs(1 / (1 + np.exp(-4 * xs)) - 1 / (1 + np.exp(-2 * xs))).max()
    assert field.levels[0] == pytest.approx(-largest, rel=1e-5) and field.levels[-1] == pytest.approx(largest, rel=1e-5)
    assert len(field.levels) == 11 and field.levels[5] == pytest.approx(0, abs=1e-9)
    assert fig.axes[-1].get_ylabel() == "change in D(x)"


def test_plot_discriminator_2d_logit_draws_the_raw_output_on_a_symmetric_scale():
    fig, ax = plt.subplots()
    viz.plot_discriminator_2d(Halfplane(), torch.zeros(3, 2), bounds=(-2, 2, -2, 2), resolution=41, ax=ax, logit=True)
    field = next(c for c in ax.collections if hasattr(c, "levels"))
    # logit = 4 x on x in [-2, 2]: from -8 to 8, symmetric about 0
    assert field.levels[0] == pytest.approx(-8) and field.levels[-1] == pytest.approx(8)
    assert field.levels[5] == pytest.approx(0, abs=1e-9)
    assert fig.axes[-1].get_ylabel() == "D's output (logit)"
    plt.close(fig)


def test_generator_arrows_match_the_closed_form_gradient():
    # Non-saturating loss on logits f = 4 x1: mean softplus(-f), so -d/dx1 = 4 sigmoid(-4 x1) / N and 0 along x2.
    fake = torch.tensor([[0.0, 1.0], [0.5, -0.3], [-1.0, 0.2]])
    arrows = viz.generator_arrows(Halfplane(), "non_saturating", fake)
    expected = 4 * torch.sigmoid(-4 * fake[:, 0]) / len(fake)
    torch.testing.assert_close(arrows[:, 0], expected)
    torch.testing.assert_close(arrows[:, 1], torch.zeros(3))


def test_plot_generator_arrows_draws_the_longest_at_the_given_share_of_the_frame():
    fig, ax = plt.subplots()
    ax.set(xlim=(-2, 2), ylim=(-2, 2))
    fake = torch.tensor([[0.0, 1.0], [0.5, -0.3], [-1.0, 0.2]])
    arrows = viz.plot_generator_arrows(Halfplane(), "non_saturating", fake, ax=ax, length=0.1)
    (quiver,) = ax.collections
    drawn = np.hypot(quiver.U, quiver.V)
    assert drawn.max() == pytest.approx(0.1 * 4)  # 10% of the 4-wide frame
    np.testing.assert_allclose(drawn / drawn.max(), (arrows.norm(dim=1) / arrows.norm(dim=1).max()).numpy(),
                               rtol=1e-5)
    with pytest.raises(ValueError, match=r"^length=0"):
        viz.plot_generator_arrows(Halfplane(), "non_saturating", fake, ax=ax, length=0)


def _pixels_per_image_pixel(ax):
    """Screen pixels per image pixel along x and y, from the axes' box and the image it shows."""
    shown = ax.get_images()[0].get_array()
    box = ax.get_window_extent()
    return box.width / shown.shape[1], box.height / shown.shape[0]


@pytest.mark.parametrize(("side", "expected"), [(8, 6), (28, 2)])
def test_show_images_sizes_its_figure_for_whole_pixels(side, expected):
    # About 0.45 in per image at 100 dpi: 45 screen pixels, rounded to a whole number per image pixel.
    with plt.rc_context({"figure.dpi": 100}):
        ax = viz.show_images(torch.zeros(6, 1, side, side), nrow=3)
        assert _pixels_per_image_pixel(ax) == pytest.approx((expected, expected))
        ax = viz.show_images(torch.zeros(6, 1, side, side), nrow=3, scale=3)
        assert _pixels_per_image_pixel(ax) == pytest.approx((3, 3))


def test_show_images_writes_labels_under_the_images_and_beside_the_rows():
    images = torch.zeros(6, 1, 8, 8)
    ax = viz.show_images(images, nrow=3, scale=4, labels=list("abcdef"), row_labels=["first", "second"])
    shown = ax.get_images()[0].get_array()
    pad = 4  # ceil(13 / 4) image pixels under each row, for the labels
    assert shown.shape == (2 * (8 + pad) + pad, 3 * (8 + pad) + pad, 3)
    texts = {t.get_text(): t.get_position() for t in ax.texts}
    # "e" is the second image of the second row: centred on its column, in the padding under it.
    x, y = texts["e"]
    assert pad + (8 + pad) < x + 0.5 < 2 * (8 + pad) and 2 * (8 + pad) < y + 0.5 < 2 * (8 + pad) + pad
    assert texts["second"][0] < 0 and (8 + pad) < texts["second"][1] < 2 * (8 + pad)
    with pytest.raises(ValueError, match=r"labels: expected one per image \(6\), got 2"):
        viz.show_images(images, labels=["a", "b"])
    with pytest.raises(ValueError, match=r"row_labels: expected one per row of the grid \(2\), got 1"):
        viz.show_images(images, nrow=3, row_labels=["one"])


@pytest.mark.parametrize("scale", [0, 2.5, True])
def test_show_images_names_a_bad_scale(scale):
    with pytest.raises(ValueError, match=r"^scale="):
        viz.show_images(torch.zeros(2, 1, 8, 8), scale=scale)


def test_show_image_panels_draws_each_grid_at_the_same_scale_side_by_side():
    panels = {"real": torch.zeros(16, 1, 8, 8), "generated": torch.ones(8, 1, 8, 8)}
    with plt.rc_context({"figure.dpi": 100}):
        left, right = viz.show_image_panels(panels, nrow=4, scale=5, title="compare")
        assert _pixels_per_image_pixel(left) == pytest.approx((5, 5))
        assert _pixels_per_image_pixel(right) == pytest.approx((5, 5))
    assert (left.get_title(), right.get_title()) == ("real", "generated")
    assert left.get_window_extent().x1 < right.get_window_extent().x0  # side by side, not overlapping
    assert left.figure._suptitle.get_text() == "compare"
    with pytest.raises(ValueError, match="panels: expected a dict"):
        viz.show_image_panels({})
    left, _ = viz.show_image_panels(panels, nrow=4, row_labels=["a", "b", "c", "d"])
    (x, y), = [t.get_position() for t in left.texts if t.get_text() == "c"]
    assert x < 0 and 2 * 9 < y < 3 * 9  # beside the third row of 8x8 images, 1-pixel borders
    with pytest.raises(ValueError, match=r"row_labels: expected one per row of the first grid \(4\), got 1"):
        viz.show_image_panels(panels, nrow=4, row_labels=["a"])


def test_plot_knn_balls_draws_a_ball_per_point_and_returns_the_share_inside():
    from ganlib import metrics

    manifold = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [5.0, 5.0]])
    queries = torch.tensor([[0.5, 0.5], [3.0, 3.0], [5.0, 5.5], [20.0, 0.0]])
    fig, ax = plt.subplots()
    share = viz.plot_knn_balls(manifold, queries, k=1, ax=ax)
    # radii to the 1st neighbour: 1, 1, 1, 1 and |(5,5)-(1,1)| = 5.66; (0.5, 0.5) is inside, (3, 3) inside the
    # big ball (2.83 from (5, 5)), (5, 5.5) too, (20, 0) in none: 3 of 4, as metrics.precision_recall counts it
    assert share == 0.75 == metrics.precision_recall(manifold, queries, k=1)[0]
    assert len(ax.patches) == 5
    plt.close(fig)
    with pytest.raises(ValueError, match="queries: expected an N x 2"):
        viz.plot_knn_balls(manifold, torch.zeros(3, 3))


def test_plot_knn_balls_zoomed_keeps_the_full_sets_radii_and_share():
    from ganlib import metrics

    # Two points near the origin and one far away: cropped to the origin alone, the pair's 2nd-neighbour
    # radius would not exist; with the full set it reaches the far point (distance 10).
    manifold = torch.tensor([[0.0, 0.0], [0.1, 0.0], [10.0, 0.0]])
    queries = torch.tensor([[0.05, 0.0], [5.0, 0.0], [30.0, 0.0]])
    fig, ax = plt.subplots()
    share = viz.plot_knn_balls(manifold, queries, k=2, ax=ax, bounds=(-1, 1, -1, 1))
    assert share == pytest.approx(metrics.precision_recall(manifold, queries, k=2)[0]) == pytest.approx(2 / 3)
    # every ball reaches into the window (radii 10, 9.9 and 10), so all three are drawn, with their full radii
    assert sorted(round(p.get_radius(), 6) for p in ax.patches) == [9.9, 10.0, 10.0]
    drawn = np.concatenate([c.get_offsets() for c in ax.collections if c.get_label() != ax.collections[0].get_label()])
    np.testing.assert_allclose(drawn, [[0.05, 0.0]])  # only the query in the window
    assert ax.get_xlim() == (-1, 1) and ax.get_ylim() == (-1, 1)
    plt.close(fig)
    with pytest.raises(ValueError, match=r"bounds=\(1, -1, 0, 1\): expected \(xmin, xmax, ymin, ymax\)"):
        viz.plot_knn_balls(manifold, queries, bounds=(1, -1, 0, 1))


def test_plot_knn_balls_counts_tiny_radii_as_precision_recall_does():
    from ganlib import metrics

    # Copies jittered by 1e-4 near (1, 0): radii of about 1e-4, where float32 distances (torch.cdist's matrix
    # product) err by as much as the radii themselves; the share must be precision_recall's, computed in float64.
    gen = torch.Generator().manual_seed(0)
    base = torch.tensor([1.0, 0.0]) + 0.01 * torch.randn(200, 2, generator=gen)
    copies = base.repeat(10, 1) + 1e-4 * torch.randn(2000, 2, generator=gen)
    queries = torch.tensor([1.0, 0.0]) + 0.01 * torch.randn(2000, 2, generator=gen)
    fig, ax = plt.subplots()
    share = viz.plot_knn_balls(copies, queries, k=3, ax=ax, bounds=(0.95, 1.05, -0.05, 0.05))
    plt.close(fig)
    assert share == metrics.precision_recall(copies, queries, k=3)[0]
    assert 0 < share < 0.1  # a few queries land within 1e-4 of a copy: a copier has almost no recall
