"""Getting the workshop ready for a class on a shared server (JupyterHub, Binder): one command, once.

:func:`prepare_classroom` fills one folder that every attendee reads and nobody writes:

- ``synthetic/``: the built-in cohort, whole;
- ``cache/``: the backbone embedding of every slice under every preprocessing the notebooks use,
  with the memo of file digests, so no attendee's notebook runs the backbone on them;
- ``weights/``: a copy of the backbone weights file, so attendees' servers need no download;
- ``classroom.env``: the ``export`` lines (:func:`export_lines`) that point an attendee's server
  at this folder (``source`` it, or copy them into the spawner's environment).

What an attendee computes anew (a preprocessing of their own) goes to their own cache
(``RSNA_WORKSHOP_CACHE``). See ``docs/classroom.md``.

>>> report = prepare_classroom("/srv/rsna_workshop")           # doctest: +SKIP
>>> print("\\n".join(export_lines(report)))                      # doctest: +SKIP
export RSNA_WORKSHOP_DATA=/srv/rsna_workshop
...
"""

from __future__ import annotations

import shlex
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from .. import config
from ..datasets import from_rsna
from ..imaging import Preprocess
from ..model import WEIGHTS_ENV, WEIGHTS_FILENAME, embed, resolve_weights, shared_backbone
from ..synthetic import build_cohort
from .recipes import RECIPES

ENV_FILE = "classroom.env"
#: Lesson 6 compares the brain window with three windows as colours; no recipe holds that one.
THREE_WINDOWS = Preprocess(multi_window=True)


@dataclass(frozen=True)
class ClassroomReport:
    """What :func:`prepare_classroom` made: the folder and its parts, and what it took."""

    folder: Path
    n_slices: int
    preprocessings: tuple[str, ...]
    weights: Path
    seconds: float

    @property
    def cohort(self) -> Path:
        """The cohort attendees read (``RSNA_WORKSHOP_DATA`` points at its parent)."""
        return self.folder / config.cohort_dir().name

    @property
    def cache(self) -> Path:
        """The shared, read-only embedding cache."""
        return self.folder / "cache"


def classroom_preprocessings() -> list[Preprocess]:
    """Every preprocessing a notebook embeds the cohort with: the recipes' and lesson 6's."""
    found = {recipe.preprocess.key: recipe.preprocess for recipe in RECIPES.values()}
    found.setdefault(THREE_WINDOWS.key, THREE_WINDOWS)
    return list(found.values())


def prepare_classroom(folder: str | Path, *, progress: bool = True, scale: float = 1.0) -> ClassroomReport:
    """Build the cohort into ``folder``, embed all of it for every notebook, copy the weights there.

    A second call does only what is missing (the cohort and the embeddings are kept). Run it as
    the instructor, then make ``folder`` read-only for the class. ``scale`` shrinks the cohort
    (tests; the notebooks need the whole cohort).
    """
    start = time.perf_counter()
    folder = Path(folder).expanduser().resolve()
    weights = _copy_weights(folder / "weights")
    print(f"Backbone weights: {weights}", flush=True)
    print(f"Building the synthetic cohort in {folder} (once; about two minutes on two cores)...", flush=True)
    report = build_cohort(folder / config.cohort_dir().name, scale=scale)
    print(f"Cohort: {report.n_slices:,} slices in {report.path}", flush=True)
    cohort = from_rsna(report.path, "hemorrhage")
    preprocessings = classroom_preprocessings()
    for number, preprocess in enumerate(preprocessings, start=1):
        print(f"Embeddings {number}/{len(preprocessings)}: {preprocess.describe()}", flush=True)
        embed(cohort.with_preprocess(preprocess), cache_dir=folder / "cache", progress=progress)
    done = ClassroomReport(folder, report.n_slices, tuple(p.key for p in preprocessings), weights,
                           time.perf_counter() - start)
    (folder / ENV_FILE).write_text(f"# Written by rsna-workshop classroom prepare {folder}\n"
                                   + "\n".join(export_lines(done)) + "\n")
    return done


def _copy_weights(target_folder: Path) -> Path:
    """The backbone weights file copied into ``target_folder`` (downloaded first if need be)."""
    shared_backbone()  # finds the weights, or downloads them into the Keras cache, or says what to do
    source = resolve_weights().path
    target = target_folder / WEIGHTS_FILENAME
    if source != target:
        target_folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return target


def export_lines(report: ClassroomReport) -> list[str]:
    """The shell lines that point an attendee's server at the prepared folder."""
    return [
        f"export {config.DATA_ENV}={shlex.quote(str(report.folder))}",
        f"export {config.SHARED_CACHE_ENV}={shlex.quote(str(report.cache))}",
        f'export {config.CACHE_ENV}="$HOME/.cache/rsna_workshop"',
        f"export {WEIGHTS_ENV}={shlex.quote(str(report.weights))}",
    ]
