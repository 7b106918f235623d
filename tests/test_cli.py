"""The command line: every subcommand listed with its purpose, the documented options, errors in one line."""

import subprocess
import sys

import pytest

from rsna_workshop import cli
from rsna_workshop.cli import build_parser, main
from rsna_workshop.errors import NotebookError

SUBCOMMANDS = ["doctor", "weights", "data", "train", "predict", "lessons", "notebooks"]


def test_help_lists_every_subcommand_with_its_purpose():
    run = subprocess.run(
        [sys.executable, "-m", "rsna_workshop.cli", "--help"], capture_output=True, text=True
    )
    assert run.returncode == 0
    for name in SUBCOMMANDS:
        lines = [line for line in run.stdout.splitlines() if line.strip().startswith(name + " ")]
        assert lines and len(lines[0].split()) > 2, f"{name} has no one-line purpose in --help"


@pytest.mark.parametrize("group,actions", [("weights", ["install", "where"]), ("data", ["build", "download"]), ("notebooks", ["run"])])
def test_group_help_lists_actions(group, actions, capsys):
    with pytest.raises(SystemExit) as stop:
        main([group, "--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert all(action in out for action in actions)


def test_train_parses_the_documented_contract():
    args = build_parser().parse_args(
        ["train", "experiment3", "--epochs", "7", "--learning-rate", "0.01", "--batch-size", "8",
         "--seed", "3", "--color-code", "--classes", "normal", "any", "--json", "r.json", "--save", "m"]
    )
    assert (args.data, args.epochs, args.learning_rate, args.batch_size, args.seed) == ("experiment3", 7, 0.01, 8, 3)
    assert args.color_code and args.classes == ["normal", "any"] and args.json == "r.json"
    assert (args.split, args.positive) == ("teachable", None)
    args = build_parser().parse_args(["lessons", "--seeds", "2", "--split", "patient"])
    assert (args.seeds, args.split) == (2, "patient")


def test_weights_install_of_missing_file_exits_2_with_message(no_weights, capsys):
    assert main(["weights", "install", str(no_weights / "absent.h5")]) == 2
    assert "No weights file" in capsys.readouterr().err


def test_weights_where_without_weights_exits_2(no_weights, capsys):
    assert main(["weights", "where"]) == 2
    assert "weights install" in capsys.readouterr().err


def test_notebooks_run_failure_prints_the_failing_cell_without_traceback(monkeypatch, capsys):
    def fail(*args, **kwargs):
        raise NotebookError("02_class_imbalance.ipynb failed in code cell 5 ('result = train(...)')")

    monkeypatch.setattr(cli, "run_notebooks", fail)
    assert main(["notebooks", "run", "--out", "somewhere"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: 02_class_imbalance.ipynb failed in code cell 5") and "Traceback" not in err
