"""The ``rsna-workshop`` command line: one subcommand per job, each a thin call into the package."""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

from . import config, evaluation
from .datasets import SPLITS, download_project
from .errors import NotebookError, WorkshopError
from .model import Classifier, backbone, train
from .synthetic import build_cohort
from .version import __version__
from .workshop import open_data
from .workshop.classroom import export_lines, prepare_classroom
from .workshop.lessons import format_table, run_lessons
from .workshop.recipes import SETTINGS_CHOICES
from .workshop.runner import run_notebooks


def _doctor(args: argparse.Namespace) -> int:
    import importlib.metadata as md

    print(f"rsna_workshop {__version__} on Python {platform.python_version()} ({platform.system()})")
    for package in ("tensorflow", "keras", "numpy", "pydicom", "scikit-learn", "matplotlib"):
        try:
            print(f"  {package:13s} {md.version(package)}")
        except md.PackageNotFoundError:
            print(f"  {package:13s} not installed")
    try:
        source = backbone.resolve_weights()
        where = source.path or backbone.WEIGHTS_URL
        print(f"weights:   found ({source.origin}): {where}")
    except WorkshopError as error:
        print(f"weights:   MISSING\n{error}")
    print(f"data:      {config.data_dir()}")
    print(f"cohort:    {config.cohort_dir()}")
    print(f"cache:     {config.cache_dir()}")
    import tensorflow as tf  # deferred: TensorFlow takes seconds to import

    gpus = tf.config.list_physical_devices("GPU")
    print(f"GPU:       {', '.join(g.name for g in gpus) if gpus else 'none visible (CPU is fine)'}")
    return 0


def _weights_install(args: argparse.Namespace) -> int:
    target = backbone.install_weights(args.path)
    print(f"Weights verified ({backbone.BACKBONE_PARAMS:,} parameters) and installed: {target}")
    return 0


def _weights_where(args: argparse.Namespace) -> int:
    source = backbone.resolve_weights()
    print(f"{source.origin}: {source.path or backbone.WEIGHTS_URL}")
    return 0


def _data_build(args: argparse.Namespace) -> int:
    report = build_cohort(args.out, seed=args.seed, force=args.force, scale=args.scale, progress=True)
    if report.built:
        print(
            f"Built the cohort in {report.seconds:.1f} s: {report.n_slices} slices, "
            f"{report.nbytes / 1e6:.0f} MB on disk: {report.path}"
        )
    else:
        print(f"The cohort is already built ({report.n_slices} slices), nothing to do: {report.path}")
    return 0


def _data_download(args: argparse.Namespace) -> int:
    print(download_project(args.name))
    return 0


def _train(args: argparse.Namespace) -> int:
    dataset = open_data(args.data, seed=args.seed, classes=args.classes, color_code=args.color_code,
                        positive=args.positive)
    result = train(dataset, epochs=args.epochs, learning_rate=args.learning_rate,
                   batch_size=args.batch_size, seed=args.seed, split=args.split, progress=True)
    print(evaluation.summary(result))
    if args.json:
        Path(args.json).write_text(json.dumps(evaluation.report(result), indent=2))
        print(f"Wrote {args.json}")
    if args.save:
        result.save(args.save)
        print(f"Saved the model to {args.save}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    classifier = Classifier.load(args.model_dir)
    for image, probabilities in zip(args.images, classifier.predict(args.images)):
        ranked = sorted(zip(classifier.classes, probabilities), key=lambda pair: -pair[1])
        print(image + ": " + ", ".join(f"{name} {p:.1%}" for name, p in ranked))
    return 0


def _lessons(args: argparse.Namespace) -> int:
    splits = SPLITS if args.split == "both" else (args.split,)
    tables = {}
    for split in splits:
        tables[split] = run_lessons(seeds=args.seeds, split=split, settings=args.settings)
        print(f"{split} split, {args.settings} settings, mean of {args.seeds} seeds:")
        print(format_table(tables[split]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(tables, indent=2))
        print(f"Wrote {args.json}")
    return 0 if all(row["pass"] for rows in tables.values() for row in rows) else 1


def _notebooks_run(args: argparse.Namespace) -> int:
    try:
        run_notebooks(Path(args.out), names=args.names, timeout=args.timeout)
    except NotebookError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def _classroom_prepare(args: argparse.Namespace) -> int:
    report = prepare_classroom(args.folder)
    print(f"\nReady in {report.seconds:.0f} s: {report.n_slices:,} slices, embedded for "
          f"{len(report.preprocessings)} preprocessings, in {report.folder}")
    print(f"Make it read-only for the class:  chmod -R a+rX,a-w {report.folder}")
    print("Set these in every attendee's server environment (see docs/classroom.md):\n")
    print("\n".join(export_lines(report)))
    return 0


class _HelpFormatter(argparse.HelpFormatter):
    """Keeps each subcommand's purpose on its own line (argparse under-counts nested indents)."""

    def __init__(self, prog: str):
        super().__init__(prog, max_help_position=32)
        self._action_max_length = 16


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rsna-workshop",
        description="Hands-on workshop: train and judge a hemorrhage classifier on head CT.",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(parent, name, handler, help_text):
        sub = parent.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    command(commands, "doctor", _doctor, "check versions, weights, data folders and GPU")

    weights_cmd = commands.add_parser("weights", help="find or install the MobileNetV2 weights")
    weights_sub = weights_cmd.add_subparsers(dest="action", metavar="ACTION", required=True)
    install = command(weights_sub, "install", _weights_install, "verify a weights file, copy it into the Keras cache")
    install.add_argument("path", help=f"a local copy of {backbone.WEIGHTS_FILENAME}")
    command(weights_sub, "where", _weights_where, "show where the weights will come from")

    data_cmd = commands.add_parser("data", help="build the synthetic cohort or download project files")
    data_sub = data_cmd.add_subparsers(dest="action", metavar="ACTION", required=True)
    build = command(data_sub, "build", _data_build, "build the built-in synthetic head CT cohort (once)")
    build.add_argument("--out", type=Path, default=None, help="target folder (default: data/synthetic)")
    build.add_argument("--seed", type=int, default=0, help="random seed of the cohort")
    build.add_argument("--scale", type=float, default=1.0, help="fraction of the full cohort (quick tries)")
    build.add_argument("--force", action="store_true", help="draw every slice again, even those on disk")
    download = command(data_sub, "download", _data_download, "download an original workshop project file (online)")
    download.add_argument("name", help="project name, e.g. experiment1")

    train = command(commands, "train", _train, "train the Teachable Machine model on a data set")
    train.add_argument("data", help="a recipe (experiment1 ...), an original project (original-small ...), "
                                    "a .tm file, an RSNA folder or a folder of class folders")
    train.add_argument("--epochs", type=int, help="training epochs (default: the data's own)")
    train.add_argument("--learning-rate", type=float, help="Adam learning rate (default: the data's own)")
    train.add_argument("--batch-size", type=int, help="mini-batch size (default: the data's own)")
    train.add_argument("--seed", type=int, default=0, help="seed for split, initialisation and shuffling")
    train.add_argument("--color-code", action="store_true", help="paint blood-range pixels red")
    train.add_argument("--classes", nargs="+", help="class names to keep, in order")
    train.add_argument("--positive", help="the class that means disease (default: guessed from the names)")
    train.add_argument("--split", choices=SPLITS, default="teachable",
                       help="teachable: random slices per class; patient: whole patients")
    train.add_argument("--json", help="write the result as JSON here")
    train.add_argument("--save", help="save the trained model to this folder")

    predict = command(commands, "predict", _predict, "class probabilities for new images or DICOM files")
    predict.add_argument("model_dir", help="a folder written by train --save")
    predict.add_argument("images", nargs="+", help="PNG, JPEG or DICOM files")

    lessons = command(commands, "lessons", _lessons, "check that all five lessons happen on the built-in cohort")
    lessons.add_argument("--seeds", type=int, default=5, help="seeds to average over")
    lessons.add_argument("--split", choices=(*SPLITS, "both"), default="both",
                         help="teachable: random slices per class; patient: whole patients; both (default)")
    lessons.add_argument("--settings", choices=SETTINGS_CHOICES, default="original",
                         help="original: the original workshop's epochs and learning rates (default); "
                              "teachable-machine: Teachable Machine's defaults (50 epochs, 0.001)")
    lessons.add_argument("--json", help="write the tables (one per split) as JSON here")

    classroom_cmd = commands.add_parser("classroom", help="prepare a shared server for a class")
    classroom_sub = classroom_cmd.add_subparsers(dest="action", metavar="ACTION", required=True)
    classroom = command(classroom_sub, "prepare", _classroom_prepare,
                        "build the cohort and fill the shared embedding cache for every notebook")
    classroom.add_argument("folder", help="the shared folder to fill (attendees read it, nobody writes it)")

    notebooks_cmd = commands.add_parser("notebooks", help="execute the workshop notebooks")
    notebooks_sub = notebooks_cmd.add_subparsers(dest="action", metavar="ACTION", required=True)
    run = command(notebooks_sub, "run", _notebooks_run, "execute the notebooks, write them and HTML to --out")
    run.add_argument("--out", default="build", help="output folder (default: build)")
    run.add_argument("--names", nargs="+", help="only these notebooks (file names or numbers)")
    run.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand. A :class:`WorkshopError` is printed as one line (exit status 2);
    anything else is a bug and raises with its traceback."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except WorkshopError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
