"""The loss landscape: gradient descent that crawls, settles, bounces or diverges, as the text says."""

import numpy as np
import pytest

from rsna_workshop.errors import SettingsError
from rsna_workshop.show import landscape as L


def test_gradient_matches_finite_differences():
    for x, y in [(0.3, -1.1), (2.0, 2.5), (-1.3, -1.2)]:
        h = 1e-5
        numeric = [(L.loss(x + h, y) - L.loss(x - h, y)) / (2 * h),
                   (L.loss(x, y + h) - L.loss(x, y - h)) / (2 * h)]
        np.testing.assert_allclose(L.gradient(x, y), numeric, rtol=1e-5, atol=1e-7)


def test_two_valleys_deep_one_lower_and_both_flat_at_the_bottom():
    deep, shallow = L.valley_bottoms()
    assert L.loss(*deep) < L.loss(*shallow) - 0.5
    for bottom in (deep, shallow):
        assert np.hypot(*L.gradient(*bottom)) < 1e-6


@pytest.mark.parametrize(
    "rate,outcome", [(0.01, "crawling"), (0.3, "settled"), (1.0, "bouncing"), (2.5, "diverged")]
)
def test_learning_rate_decides_how_the_walk_ends(rate, outcome):
    walk = L.describe(L.descend(rate, L.DEFAULT_START, steps=40))
    assert walk.outcome == outcome
    if outcome == "settled":
        assert walk.valley == "deep" and walk.final_loss == pytest.approx(L.loss(*L.valley_bottoms()[0]))
    if outcome == "crawling":
        assert walk.final_loss < walk.start_loss  # downhill, just slowly
    if outcome == "diverged":
        assert walk.final_loss > walk.start_loss


def test_the_start_decides_the_valley():
    assert L.describe(L.descend(0.3, (-2.6, 2.2), steps=60)).valley == "shallow"
    assert L.describe(L.descend(0.3, (3.0, 3.2), steps=60)).valley == "deep"


def test_noisy_walks_repeat_with_a_seed_and_differ_across_seeds():
    a = L.descend(0.3, steps=30, noise=0.5, seed=1)
    assert np.array_equal(a, L.descend(0.3, steps=30, noise=0.5, seed=1))
    assert not np.allclose(a, L.descend(0.3, steps=30, noise=0.5, seed=2))


@pytest.mark.parametrize("kwargs,message", [({"learning_rate": 0}, "learning_rate must be positive"),
                                            ({"steps": 0}, "steps must be at least 1")])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(SettingsError, match=message):
        L.descend(**kwargs)


def test_landscape_figure_titles_the_outcome():
    fig = L.landscape_figure(0.01)
    assert "crawling" in fig._suptitle.get_text() and "0.01" in fig._suptitle.get_text()
    path = L.descend(0.01, L.DEFAULT_START, 40)
    loss_per_step = fig.axes[1].lines[0].get_ydata()  # axes: map, loss per step, colour bar
    np.testing.assert_allclose(loss_per_step, L.loss(path[:, 0], path[:, 1]))


def test_learning_rates_figure_has_one_panel_per_rate_with_its_outcome():
    fig = L.learning_rates_figure((0.01, 0.3, 2.5))
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["learning rate 0.01\ncrawling", "learning rate 0.3\nsettled",
                      "learning rate 2.5\ndiverged"]


def test_reruns_figure_shows_different_final_losses_and_repeats_with_its_seed():
    def finals(fig):
        return [text.get_text() for text in fig.axes[0].get_legend().get_texts()]

    first = finals(L.reruns_figure(runs=4, seed=0))
    assert len(first) == 4 and len(set(first)) == 4
    assert finals(L.reruns_figure(runs=4, seed=0)) == first


def test_explorer_redraws_when_a_slider_moves(monkeypatch):
    drawn = []
    monkeypatch.setattr(L, "landscape_figure", lambda *args: drawn.append(args) or "figure")
    box = L.landscape_explorer()
    rate = box.children[0].children[0]
    rate.value = 1.0
    assert drawn[-1][0] == pytest.approx(1.0) and drawn[-1][1] == L.DEFAULT_START


def test_the_toy_loss_never_goes_below_zero_and_the_deep_valley_nearly_reaches_it():
    _, _, heights = L._loss_grid()
    deep, shallow = L.valley_bottoms()
    assert heights.min() >= 0 and 0 <= L.loss(*deep) < 0.05 < L.loss(*shallow)


@pytest.mark.parametrize("draw", [lambda: L.landscape_figure(0.31622776601683794),
                                  L.learning_rates_figure, L.reruns_figure])
def test_landscape_figures_use_the_projector_style(draw):
    fig = draw()
    fig.canvas.draw()
    sizes = [t.get_fontsize() for t in fig.findobj(lambda a: hasattr(a, "get_fontsize"))
             if t.get_visible() and getattr(t, "get_text", lambda: "")().strip()]
    assert min(sizes) >= 17  # the style's smallest size, as in every other figure
    title = fig.get_suptitle()
    assert "0.316228" not in title and ("0.32" in title or "Same start" in title or not title)


def test_explorer_labels_are_not_cut():
    box = L.landscape_explorer()
    sliders = [w for row in box.children[:2] for w in row.children]
    assert [s.description for s in sliders] == ["learning rate", "steps", "start x", "start y"]
    assert all(s.style.description_width == "initial" for s in sliders)
