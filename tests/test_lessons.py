"""The lessons check: each lesson's band passes on the original workshop's figures and fails when
its own figure is off."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from rsna_workshop import cli
from rsna_workshop.workshop import lessons

CLASSES = ("normal", "hemorrhage")


def fake_result(test_acc, cm=((10, 0), (0, 10)), train_acc=None, test_loss=(0.5, 0.5)):
    """A result with the given test accuracy, confusion matrix (rows true) and curves."""
    cm = np.array(cm)
    pairs = [(i, j) for (i, j), n in np.ndenumerate(cm) for _ in range(n)]
    labels = np.array([i for i, _ in pairs])
    probabilities = np.eye(2)[[j for _, j in pairs]] * 0.8 + 0.1
    history = {"accuracy": [train_acc or test_acc], "test_accuracy": [test_acc], "test_loss": list(test_loss)}
    return SimpleNamespace(classes=CLASSES, positive="hemorrhage", test_labels=labels,
                           test_probabilities=probabilities, history=history)


GOOD = {
    "experiment1": fake_result(0.6),
    "experiment2": fake_result(0.97, cm=((150, 0), (4, 1))),
    "experiment3": fake_result(0.72, cm=((110, 40), (40, 110))),
    "experiment4": fake_result(0.72, train_acc=0.9, test_loss=(0.5, 0.6)),
    "experiment4-250": fake_result(0.70, train_acc=0.99, test_loss=(0.5, 0.9)),
    "experiment5": fake_result(0.85),
    "experiment5-3class-gray": fake_result(0.53),
    "experiment5-3class-color": fake_result(0.78),
}


def rows_for(results, split="teachable"):
    seen = set()

    def trainer(name, seed, used_split):
        seen.add((name, seed, used_split))
        return results[name]

    rows = lessons.run_lessons(seeds=2, split=split, trainer=trainer)
    assert seen == {(name, seed, split) for name in results for seed in (0, 1)}  # each once per seed
    return rows


def test_all_lessons_pass_on_the_original_workshops_figures():
    rows = rows_for(GOOD)
    assert [row["pass"] for row in rows] == [True] * 5
    assert rows[1]["measured"] == {"test_accuracy": 0.97, "found": 0.2}
    assert rows[3]["measured"]["loss_rise_75"] == pytest.approx(0.2)
    assert set(rows[0]) == {"lesson", "measured", "band", "pass"}


@pytest.mark.parametrize("recipe,bad,lesson", [
    ("experiment1", fake_result(0.9), 0),
    ("experiment2", fake_result(0.97, cm=((150, 0), (2, 3))), 1),
    ("experiment3", fake_result(0.72, cm=((140, 10), (70, 80))), 2),
    ("experiment4", fake_result(0.72, train_acc=0.75, test_loss=(0.5, 0.6)), 3),
    ("experiment5", fake_result(0.75), 4),
])
def test_each_band_fails_when_its_figure_is_off(recipe, bad, lesson):
    rows = rows_for({**GOOD, recipe: bad}, split="patient")
    assert [row["pass"] for row in rows] == [i != lesson for i in range(5)]


def test_table_shows_each_lesson_and_verdict():
    rows = rows_for({**GOOD, "experiment1": fake_result(0.9)})
    table = lessons.format_table(rows).splitlines()
    assert len(table) == 6 and table[1].endswith("FAIL") and table[2].endswith("pass")
    assert "test_accuracy 0.900" in table[1]


def test_train_recipe_uses_the_original_settings_or_teachable_machines(monkeypatch):
    used = []
    monkeypatch.setattr(lessons, "open_data", lambda recipe, seed: FakeData(recipe.settings))
    monkeypatch.setattr(lessons, "train", lambda data, seed, split: used.append((data.settings, split)))
    lessons.train_recipe("experiment3", 0, "patient")
    lessons.train_recipe("experiment3", 0, "teachable", settings="teachable-machine")
    assert [(s.epochs, s.learning_rate, split) for s, split in used] == [(15, 0.00008, "patient"),
                                                                        (50, 0.001, "teachable")]
    with pytest.raises(ValueError, match="settings must be one of original, teachable-machine"):
        lessons.run_lessons(seeds=1, settings="quick", trainer=lambda *args: None)


class FakeData:
    def __init__(self, settings):
        self.settings = settings

    def with_settings(self, settings):
        return FakeData(settings)


def test_lessons_command_reports_both_splits_and_fails_when_one_does(monkeypatch, capsys, tmp_path):
    calls = []

    def fake_run(seeds, split, settings):
        calls.append((seeds, split, settings))
        return rows_for({**GOOD, "experiment1": fake_result(0.9)} if split == "patient" else GOOD, split)

    monkeypatch.setattr(cli, "run_lessons", fake_run)
    status = cli.main(["lessons", "--seeds", "2", "--json", str(tmp_path / "t.json")])
    out = capsys.readouterr().out
    assert status == 1 and calls == [(2, "teachable", "original"), (2, "patient", "original")]
    assert "teachable split, original settings, mean of 2 seeds:" in out and "patient split" in out
    assert out.count("FAIL") == 1
    assert set(json.loads((tmp_path / "t.json").read_text())) == {"teachable", "patient"}
    assert cli.main(["lessons", "--seeds", "2", "--split", "teachable", "--settings", "teachable-machine"]) == 0
    assert calls[-1] == (2, "teachable", "teachable-machine")
