"""The original workshop's Teachable Machine projects: where they are published, downloaded once.

The RSNA 2021 session "How Does AI in Medical Imaging Work? Learn by Creating Your Own Model"
(github.com/dila-ai/RSNA_2021_Workshop) and the RSNA Spotlight 2021 demonstration it grew from
(github.com/kitamura-felipe/RSNASpotlight2021) published their experiments as ``.tm`` files of
real RSNA 2019 slices. Each is downloaded once into the data folder's ``downloads/``.

>>> ORIGINAL_PROJECTS["original-small"].what                 # doctest: +ELLIPSIS
'30 normal + 30 hemorrhage...'
"""

from __future__ import annotations

import os
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .. import config
from ..errors import DataError

SESSION = "https://github.com/dila-ai/RSNA_2021_Workshop/raw/main/"
SPOTLIGHT = "https://github.com/kitamura-felipe/RSNASpotlight2021/raw/main/"


@dataclass(frozen=True)
class OriginalProject:
    """One published project: its name here, where it is published, and what it holds."""

    name: str
    url: str
    what: str


ORIGINAL_PROJECTS = {
    project.name: project
    for project in (
        OriginalProject("original-small", SESSION + "exp/exp_1.tm",
                        "30 normal + 30 hemorrhage, grayscale (experiment 1)"),
        OriginalProject("original-imbalanced", SPOTLIGHT + "experiments/experiment2.tm",
                        "1000 normal + 30 hemorrhage, grayscale (experiment 2)"),
        OriginalProject("original-balanced", SPOTLIGHT + "experiments/experiment3.tm",
                        "1000 normal + 1000 hemorrhage, grayscale (experiments 3 and 4)"),
        OriginalProject("original-3class-gray", SPOTLIGHT + "experiments/experiment4.tm",
                        "normal, intraparenchymal, subdural, 80 each, grayscale"),
        OriginalProject("original-3class-color", SPOTLIGHT + "experiments/experiment5.tm",
                        "normal, intraparenchymal, subdural, 80 each, colour-coded"),
        OriginalProject("original-color", SESSION + "exp/exp_5.tm",
                        "80 normal + 80 hemorrhage, colour-coded (experiment 5)"),
    )
}
"""The original workshop's projects by name (names that no recipe uses)."""


def download_project(name: str, *, progress: bool = True) -> Path:
    """The original workshop's project ``name`` (see :data:`ORIGINAL_PROJECTS`), downloaded once
    into the data folder's ``downloads/``. Offline, a clear error says what to do instead."""
    if name not in ORIGINAL_PROJECTS:
        raise DataError(f"Unknown project '{name}'. Published projects: {', '.join(ORIGINAL_PROJECTS)}.")
    target = config.downloads_dir() / f"{name}.tm"
    if target.is_file():
        return target
    url = ORIGINAL_PROJECTS[name].url
    offline_hint = (
        f"Cannot download '{name}' from {url}"
        + " ({reason}). Without internet, use the built-in cohort instead (DATA_SOURCE = \"builtin\"), "
        f"or copy the file by hand to {target}."
    )
    if config.offline():
        raise DataError(offline_hint.format(reason=f"{config.OFFLINE_ENV} is set"))
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=target.parent, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=30) as response:
            _copy_with_progress(response, out, f"{name}.tm", progress)
        if not zipfile.is_zipfile(partial):
            raise DataError(f"What {url} sent is not a .tm (zip) file; try again later.")
        os.replace(partial, target)
    except (urllib.error.URLError, OSError) as error:
        raise DataError(offline_hint.format(reason=getattr(error, "reason", error))) from None
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return target


def _copy_with_progress(response, out, label: str, progress: bool) -> None:
    from tqdm.auto import tqdm

    size = response.headers.get("Content-Length") if getattr(response, "headers", None) else None
    with tqdm(total=int(size) if size else None, unit="B", unit_scale=True, desc=label,
              disable=not progress) as bar:
        while chunk := response.read(1 << 16):
            out.write(chunk)
            bar.update(len(chunk))
