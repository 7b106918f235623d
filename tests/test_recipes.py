"""The experiment recipes and the one resolver from a name or path to a data set."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from helpers import make_class_folders, make_rsna

from rsna_workshop.datasets import ORIGINAL_PROJECTS, TrainingSettings, write_tm
from rsna_workshop.errors import DataError, SettingsError
from rsna_workshop.imaging import Preprocess
from rsna_workshop.workshop import get_recipe, open_data, resolve

BALANCED = {"normal": 1000, "hemorrhage": 1000}
THREE = {"normal": 80, "intraparenchymal": 80, "subdural": 80}
GRAY, RED = Preprocess(), Preprocess(color_code=True)
# name: (counts per class, epochs, learning rate, the pictures, original project):
# the original workshop's settings, batch 16 throughout
EXPECTED = {
    "experiment1": ({"normal": 30, "hemorrhage": 30}, 15, 0.00003, GRAY, "original-small"),
    "experiment2": ({"normal": 1000, "hemorrhage": 30}, 15, 0.00003, GRAY, "original-imbalanced"),
    "experiment3": (BALANCED, 15, 0.00008, GRAY, "original-balanced"),
    "experiment4": (BALANCED, 75, 0.00005, GRAY, "original-balanced"),
    "experiment4-250": (BALANCED, 250, 0.00005, GRAY, "original-balanced"),
    "experiment5": (BALANCED, 15, 0.00008, RED, "original-color"),
    "experiment5-masked": (BALANCED, 15, 0.00008, Preprocess(color_code=True, inside_skull=True), None),
    "experiment5-translucent": (BALANCED, 15, 0.00008, Preprocess(color_code=True, opacity=0.5), None),
    "experiment5-3class-gray": (THREE, 80, 0.00002, GRAY, "original-3class-gray"),
    "experiment5-3class-color": (THREE, 80, 0.00002, RED, "original-3class-color"),
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


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_recipe_gives_its_images_settings_and_positive_class(cohort, name):
    counts, epochs, rate, preprocess, original = EXPECTED[name]
    recipe = get_recipe(name)
    data = open_data(name, seed=0, source=cohort)
    assert data.counts() == counts and data.classes == tuple(counts)
    assert data.preprocess == preprocess
    assert data.name == name and data.settings == TrainingSettings(epochs=epochs, batch_size=16, learning_rate=rate)
    assert data.settings == recipe.settings
    assert f"{epochs} epochs" in recipe.description and f"{rate:.5f}" in recipe.description
    assert data.positive == (None if len(counts) == 3 else "hemorrhage")
    assert recipe.original == original and (original is None or original in ORIGINAL_PROJECTS)


def test_same_seed_same_images_across_experiments_3_4_5(cohort):
    three = ids(open_data("experiment3", seed=4, source=cohort))
    for name in ("experiment4", "experiment4-250", "experiment5", "experiment5-masked", "experiment5-translucent"):
        assert ids(open_data(name, seed=4, source=cohort)) == three
    assert ids(open_data("experiment3", seed=5, source=cohort)) != three
    gray = open_data("experiment5-3class-gray", seed=1, source=cohort)
    assert ids(open_data("experiment5-3class-color", seed=1, source=cohort)) == ids(gray)


def test_smaller_recipes_draw_from_the_larger_ones(cohort):
    first = set(ids(open_data("experiment1", seed=2, source=cohort)))
    second = set(ids(open_data("experiment2", seed=2, source=cohort)))
    third = set(ids(open_data("experiment3", seed=2, source=cohort)))
    assert first < third and second < third


def test_too_small_a_source_says_how_many_there_are(tmp_path):
    small = make_rsna(tmp_path / "small", [(f"ID_n{i}", (), "P") for i in range(40)]
                      + [(f"ID_h{i}", ("subdural",), "P") for i in range(12)], dicom=False)
    with pytest.raises(DataError, match="Asked for 30 'hemorrhage' images but the data set has only 12"):
        open_data("experiment1", source=small)


def test_experiment5_trains_exactly_like_experiment3_so_only_the_picture_differs():
    three = get_recipe("experiment3")
    for name in ("experiment5", "experiment5-masked", "experiment5-translucent"):
        recipe = get_recipe(name)
        assert (recipe.counts, recipe.rule, recipe.settings) == (three.counts, three.rule, three.settings)
        assert recipe.preprocess.color_code and not three.preprocess.color_code
    assert get_recipe("experiment4").original_changes == ("epochs", "learning_rate")


def test_the_original_look_tints_blood_red_over_the_gray_instead_of_replacing_it():
    clot = np.full((64, 64), 70.0, np.float32)  # 70 HU: in the blood range, light grey (223) in the brain window
    assert get_recipe("experiment5").preprocess(clot)[0, 0].tolist() == [255, 0, 0]
    assert get_recipe("experiment5-translucent").preprocess(clot)[0, 0].tolist() == [239, 112, 112]
    brain = np.full((64, 64), 35.0, np.float32)  # grey matter: not painted in either look
    assert (get_recipe("experiment5-translucent").preprocess(brain)
            == get_recipe("experiment3").preprocess(brain)).all()


@pytest.mark.parametrize("name,epochs", [("experiment1", 50), ("experiment3", 50), ("experiment4", 75),
                                         ("experiment4-250", 250), ("experiment5-3class-color", 50)])
def test_teachable_machines_defaults_stay_available(name, epochs):
    settings = get_recipe(name).training_settings("teachable-machine")
    assert settings == TrainingSettings(epochs=epochs, batch_size=16, learning_rate=0.001)
    assert get_recipe(name).training_settings("original") == get_recipe(name).settings
    with pytest.raises(SettingsError, match="settings must be one of original, teachable-machine"):
        get_recipe(name).training_settings("fast")


def test_unknown_recipe_lists_the_valid_names():
    with pytest.raises(DataError, match="No recipe called 'experiment6'. Recipes: experiment1, experiment2"):
        get_recipe("experiment6")


def test_recipes_use_the_builtin_cohort_by_default(cohort, monkeypatch):
    monkeypatch.setattr(resolve, "ensure_cohort", lambda: cohort)
    data = open_data("experiment1", seed=3)
    assert ids(data) == ids(open_data("experiment1", seed=3, source=cohort))
    assert data.settings == TrainingSettings(epochs=15, batch_size=16, learning_rate=0.00003)
    assert open_data("experiment3", color_code=True).preprocess == Preprocess(color_code=True)


def test_open_data_recognises_each_source(tmp_path):
    folder = make_class_folders(tmp_path / "mine", counts=(2, 2), classes=("bleed", "normal"))
    data = open_data(folder)
    assert data.counts() == {"bleed": 2, "normal": 2} and data.positive == "bleed"
    assert data.settings == TrainingSettings(epochs=50, batch_size=16, learning_rate=0.001)

    project = write_tm(data, tmp_path / "mine.tm", epochs=20)
    data = open_data(project, classes=["normal", "bleed"])
    assert data.classes == ("normal", "bleed") and data.settings.epochs == 20

    rsna = make_rsna(tmp_path / "rsna")
    data = open_data(rsna, classes=["normal", "intraparenchymal"], color_code=True)
    assert data.counts() == {"normal": 12, "intraparenchymal": 3}
    assert data.preprocess == Preprocess(color_code=True) and data.positive == "intraparenchymal"
    assert open_data(rsna, classes=["subdural"]).classes == ("normal", "subdural")
    assert open_data(folder, positive="normal").positive == "normal"


def test_open_data_explains_what_it_accepts(tmp_path):
    with pytest.raises(DataError, match="neither a recipe .*experiment1.*original-small"):
        open_data(tmp_path / "nothing_here")
    folder = make_class_folders(tmp_path / "mine", counts=(1, 1))
    with pytest.raises(DataError, match=r"Classes \['cat'\] are not in"):
        open_data(folder, classes=["cat"])


def write_original(downloads, name, counts, epochs, learning_rate):
    """An original project as the tests' stand-in, already in the downloads folder."""
    downloads.mkdir(parents=True, exist_ok=True)
    manifest = {"type": "image", "appdata": {"trainEpochs": epochs, "trainBatchSize": 16,
                                             "trainLearningRate": learning_rate}}
    png = (make_class_folders(downloads.parent / "png", counts=(1, 1)) / "normal" / "000.png").read_bytes()
    with zipfile.ZipFile(downloads / f"{name}.tm", "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        for label, n in counts.items():
            for k in range(n):
                archive.writestr(f"{label}-!-{k}.png", png)


def test_original_source_uses_the_files_own_settings_and_says_where_it_falls_back(
        tmp_path, monkeypatch, capsys, cohort):
    monkeypatch.setenv("RSNA_WORKSHOP_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("RSNA_WORKSHOP_OFFLINE", "1")
    monkeypatch.setattr(resolve, "ensure_cohort", lambda: cohort)
    downloads = tmp_path / "data" / "downloads"
    write_original(downloads, "original-small", {"Normal": 3, "Hemorrhage": 3}, 15, 0.00003)
    write_original(downloads, "original-balanced", {"Normal": 4, "Hemorrhage": 4}, 15, 0.00008)

    small = open_data("experiment1", source="original")
    assert small.counts() == {"Normal": 3, "Hemorrhage": 3} and small.positive == "Hemorrhage"
    assert small.settings == TrainingSettings(epochs=15, batch_size=16, learning_rate=0.00003)
    longer = open_data("experiment4", source="original")  # lesson 4: the same file, longer, slower
    assert longer.settings == TrainingSettings(epochs=75, batch_size=16, learning_rate=0.00005)
    assert capsys.readouterr().out == ""

    masked = open_data("experiment5-masked", source="original")
    assert masked.counts() == {"normal": 1000, "hemorrhage": 1000}
    assert "published no project for 'experiment5-masked'" in capsys.readouterr().out
    with pytest.raises(DataError, match="Cannot download 'original-imbalanced'.*RSNA_WORKSHOP_OFFLINE"):
        open_data("experiment2", source="original")
