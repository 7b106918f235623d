"""The experiment recipes: counts, hyperparameters, preprocessing and identical images across lessons."""

from __future__ import annotations

import pytest

import rsna_workshop.synthetic
from rsna_workshop.datasets import DataError, open_data, preprocessing
from rsna_workshop.recipes import RECIPES, get_recipe
from test_datasets import make_rsna

# name: (counts per class, epochs, colour-coded, inside the skull only)
EXPECTED = {
    "experiment1": ({"normal": 30, "hemorrhage": 30}, 15, False, False),
    "experiment2": ({"normal": 1000, "hemorrhage": 30}, 50, False, False),
    "experiment3": ({"normal": 1000, "hemorrhage": 1000}, 50, False, False),
    "experiment4": ({"normal": 1000, "hemorrhage": 1000}, 75, False, False),
    "experiment4-250": ({"normal": 1000, "hemorrhage": 1000}, 250, False, False),
    "experiment5": ({"normal": 1000, "hemorrhage": 1000}, 50, True, False),
    "experiment5-masked": ({"normal": 1000, "hemorrhage": 1000}, 50, True, True),
    "experiment5-3class-gray": ({"normal": 80, "intraparenchymal": 80, "subdural": 80}, 50, False, False),
    "experiment5-3class-color": ({"normal": 80, "intraparenchymal": 80, "subdural": 80}, 50, True, False),
}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """A cohort-shaped folder (empty image files: sampling never opens them): 1100 normal slices,
    1100 with hemorrhage of which 100 intraparenchymal only and 100 subdural only."""
    slices = (
        [(f"ID_n{i:04d}", (), f"P{i % 50}") for i in range(1100)]
        + [(f"ID_i{i:04d}", ("intraparenchymal",), f"P{i % 50}") for i in range(100)]
        + [(f"ID_s{i:04d}", ("subdural",), f"P{i % 50}") for i in range(100)]
        + [(f"ID_m{i:04d}", ("subarachnoid", "subdural"), f"P{i % 50}") for i in range(900)]
    )
    return make_rsna(tmp_path_factory.mktemp("cohort"), slices, dicom=False)


def ids(dataset):
    return [item.id for item in dataset.items]


def test_the_table_holds_every_lesson():
    assert list(RECIPES) == list(EXPECTED)
    for name, recipe in RECIPES.items():
        counts, epochs, color, masked = EXPECTED[name]
        assert recipe.name == name and recipe.counts == counts and recipe.epochs == epochs
        assert recipe.batch_size == 16 and recipe.learning_rate == 0.001
        assert recipe.preprocess == preprocessing(color_code=color, inside_skull=masked)
        assert recipe.title and len(recipe.description) > 60


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_recipe_samples_its_counts(cohort, name):
    recipe = get_recipe(name)
    data = recipe.dataset(seed=0, source=cohort)
    assert data.counts() == EXPECTED[name][0]
    assert data.classes == tuple(EXPECTED[name][0])
    assert data.preprocess == recipe.preprocess and data.name == name
    assert data.train_defaults == {"epochs": recipe.epochs, "batch_size": 16, "learning_rate": 0.001}


def test_same_seed_same_images_across_experiments_3_4_5(cohort):
    three = ids(RECIPES["experiment3"].dataset(seed=4, source=cohort))
    for name in ("experiment4", "experiment4-250", "experiment5", "experiment5-masked"):
        assert ids(RECIPES[name].dataset(seed=4, source=cohort)) == three
    assert ids(RECIPES["experiment3"].dataset(seed=5, source=cohort)) != three
    gray = RECIPES["experiment5-3class-gray"].dataset(seed=1, source=cohort)
    assert ids(RECIPES["experiment5-3class-color"].dataset(seed=1, source=cohort)) == ids(gray)


def test_smaller_recipes_draw_from_the_larger_ones(cohort):
    first = set(ids(RECIPES["experiment1"].dataset(seed=2, source=cohort)))
    second = set(ids(RECIPES["experiment2"].dataset(seed=2, source=cohort)))
    third = set(ids(RECIPES["experiment3"].dataset(seed=2, source=cohort)))
    assert first < third and second < third


def test_too_small_a_source_says_how_many_there_are(tmp_path):
    small = make_rsna(tmp_path / "small", [(f"ID_n{i}", (), "P") for i in range(40)]
                      + [(f"ID_h{i}", ("subdural",), "P") for i in range(12)], dicom=False)
    with pytest.raises(DataError, match="Asked for 30 'hemorrhage' images but the data set has only 12"):
        RECIPES["experiment1"].dataset(source=small)


def test_unknown_recipe_lists_the_valid_names():
    with pytest.raises(DataError, match="No recipe called 'experiment6'. Recipes: experiment1, experiment2"):
        get_recipe("experiment6")


def test_recipes_use_the_builtin_cohort_by_default(cohort, monkeypatch):
    monkeypatch.setattr(rsna_workshop.synthetic, "ensure_cohort", lambda: cohort)
    data, defaults = open_data("experiment1", seed=3)
    assert data.counts() == {"normal": 30, "hemorrhage": 30}
    assert ids(data) == ids(RECIPES["experiment1"].dataset(seed=3, source=cohort))
    assert defaults == {"epochs": 15, "batch_size": 16, "learning_rate": 0.001}
    colour, _ = open_data("experiment3", color_code=True)
    assert colour.preprocess == preprocessing(color_code=True)
