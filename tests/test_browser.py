"""The six notebooks in a real JupyterLab in Chromium, as an attendee and an instructor see them.

One JupyterLab server and one browser serve every notebook. Each notebook is opened (it must not
be marked modified), run with Run All until the kernel is idle, and must show no error output, no
widget that failed or is still loading, no broken picture, no figure that needs horizontal
scrolling or has text under ~12 px on a 1280 x 720 screen, and no browser console error. Its
widgets are then driven as an attendee would, in the light theme and again in the dark theme, and
every widget text must keep a WCAG AA contrast of 4.5:1 in both.

Screenshots of both themes go to ``$RSNA_WORKSHOP_SCREENSHOTS`` when set (``make screenshots``),
else to the test's temporary folder. Without Debian's chromium the test is skipped, except in CI
(``RSNA_WORKSHOP_CI=1``), where ``.ci/run`` installs it and a missing browser is a failure.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest
from PIL import Image

from lab_browser import Lab, chromium, chromium_or_skip, jupyterlab

from rsna_workshop.show import widgets
from rsna_workshop.workshop.runner import workshop_notebooks

pytestmark = pytest.mark.slow

NOTEBOOKS = workshop_notebooks()
NOTEBOOK_SECONDS = 900  # a cold notebook 5 (empty caches) on 2 busy cores
MIN_TEXT_PX = 11.5  # "about 12 px": the smallest figure text on screen
MIN_CONTRAST = 4.5  # WCAG AA for normal text
TOGETHER_MS = 100  # a status line and its picture count as one update within this


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """One JupyterLab on copies of the notebooks, one Chromium tab on it; both stopped after."""
    executable = chromium_or_skip()
    root = tmp_path_factory.mktemp("notebooks")
    for path in NOTEBOOKS:
        shutil.copy(path, root / path.name)
    with jupyterlab(root, tmp_path_factory.mktemp("jupyterlab")) as (url, server), \
            chromium(executable) as context:
        yield Lab(context, url)
    assert server.poll() is not None, "the JupyterLab server is still running"


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("RSNA_WORKSHOP_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def upload(tmp_path_factory) -> Path:
    """A folder with a head-CT-like PNG per theme to upload to the preview (two, so the second
    upload changes what the preview shows)."""
    folder = tmp_path_factory.mktemp("upload")
    yy, xx = np.mgrid[:256, :256]
    for theme, radius in (("light", 100), ("dark", 80)):
        picture = np.where(np.hypot(yy - 128, xx - 128) < radius, 90, 0).astype(np.uint8)
        Image.fromarray(picture).save(folder / f"slice-{theme}.png")
    return folder


# ---- what an attendee does with each widget ----------------------------------------------------


def press_train(lab: Lab, cell: int, theme: str) -> None:
    """Train model: the curve picture changes once per epoch (up to the frame limit), then the
    under-the-hood panel; the status counts the epochs."""
    epochs = int(lab.cell(cell).locator("input[type=number]").first.input_value())
    lab.watch(cell)
    lab.cell(cell).get_by_role("button", name="Train model").click()
    lab.page.wait_for_function("() => window.__watch.log.some(e => e.text?.includes('Done in'))",
                               timeout=120_000)
    log = lab.watched()
    pictures = [e for e in log if e["what"] == "picture"]
    frames = len(range(0, epochs, widgets.live_every(epochs)))
    assert len(pictures) >= frames + 1, f"{theme}: {len(pictures)} pictures for {epochs} epochs"
    assert any(f"Epoch 1/{epochs}" in e.get("text", "") for e in log), f"{theme}: no epoch 1 status"


def move_handle(lab: Lab, cell: int, handle: str, dx: float) -> None:
    """Drag a slider handle ``dx`` pixels with the mouse."""
    box = lab.cell(cell).locator(handle).first.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    lab.page.mouse.move(x, y)
    lab.page.mouse.down()
    lab.page.mouse.move(x + dx, y, steps=5)
    lab.page.mouse.up()


def changed_together(lab: Lab, cell: int, act, theme: str) -> None:
    """Do ``act``; the status line and the picture must both change, in one update."""
    before = lab.widget_texts(cell)
    lab.watch(cell)
    act()
    lab.page.wait_for_function(
        "() => window.__watch.log.some(e => e.what === 'picture') && "
        "window.__watch.log.some(e => e.what === 'status')", timeout=30_000)
    lab.page.wait_for_timeout(300)
    log = lab.watched()
    picture = min(e["t"] for e in log if e["what"] == "picture")
    status = min(e["t"] for e in log if e["what"] == "status")
    assert lab.widget_texts(cell) != before, f"{theme}: the status line did not change"
    assert -5 <= status - picture <= TOGETHER_MS, \
        f"{theme}: status {status - picture:+.0f} ms after the picture, not one update"


def back_and_forth(theme: str, dx: float) -> float:
    """Move one way in the light theme and back in the dark, so screenshots show a usual state."""
    return -dx if theme == "light" else dx


def move_threshold(lab: Lab, cell: int, theme: str) -> None:
    """Move the threshold; slider, status line and picture fit the notebook's view at once."""
    fits(lab, cell, theme)
    changed_together(lab, cell, lambda: move_handle(lab, cell, ".noUi-handle", back_and_forth(theme, 60)),
                     theme)


def fits(lab: Lab, cell: int, theme: str) -> None:
    """The widget of cell ``cell`` is no taller than the part of the notebook on screen."""
    widget = lab.cell(cell).locator(".jp-OutputArea-output").first.bounding_box()
    view = lab.page.locator(lab.scope).bounding_box()
    assert widget["height"] <= view["height"], f"{theme}: the widget is {widget['height']:.0f} px " \
                                               f"tall, the notebook shows {view['height']:.0f} px"


def choose_bone_window(lab: Lab, cell: int, theme: str) -> None:
    """The bone preset; the whole explorer (controls, status, slice) fits the notebook's view."""
    fits(lab, cell, theme)
    changed_together(lab, cell, lambda: lab.cell(cell).locator("select").first.select_option("bone"),
                     theme)
    assert "Window 600 / 2800" in lab.widget_texts(cell)
    lab.cell(cell).locator("select").first.select_option("brain")


def move_paint_range(lab: Lab, cell: int, theme: str) -> None:
    changed_together(lab, cell, lambda: move_handle(lab, cell, ".noUi-handle-lower",
                                                    back_and_forth(theme, 40)), theme)


def upload_slice(upload: Path):
    def act(lab: Lab, cell: int, theme: str) -> None:
        def choose_file():
            with lab.page.expect_file_chooser() as chooser:
                lab.cell(cell).get_by_role("button", name="Upload image").click()
            chooser.value.set_files(str(upload / f"slice-{theme}.png"))

        changed_together(lab, cell, choose_file, theme)
        assert f"slice-{theme}.png:" in lab.widget_texts(cell)
    return act


def drivers(upload: Path) -> dict:
    """What to do with the widget a cell makes, by the call in its source."""
    return {"widgets.training_panel(": press_train, "widgets.threshold_explorer(": move_threshold,
            "widgets.window_explorer(": choose_bone_window,
            "widgets.color_code_explorer(": move_paint_range, "widgets.preview(": upload_slice(upload)}


# ---- checks ------------------------------------------------------------------------------------


def check_page(lab: Lab, theme: str) -> None:
    """What must hold in every theme: widgets rendered, pictures sound and readable, nothing
    wider than the screen, widget text contrast. Lists every problem at once."""
    text = lab.text()
    problems = [f"a widget shows '{sign}'" for sign in ("Error displaying widget", "Loading widget...")
                if sign in text]
    for image in lab.images():
        where = f"cell {image['cell']}"
        if image["shown"] and not image["natural"]:
            problems.append(f"{where}: a broken picture ({image['src']})")
        if image["text_px"] is not None and image["text_px"] < MIN_TEXT_PX:
            problems.append(f"{where}: figure text {image['text_px']:.1f} px on screen")
    problems += [f"cell {o['cell']}: {o['scroll']} px wide in {o['client']} px" for o in lab.overflowing()]
    problems += [f"cell {t['cell']}: contrast {t['ratio']:.1f}:1 for '{t['text']}'" for t in lab.contrast()
                 if t["ratio"] < MIN_CONTRAST]
    assert not problems, f"{theme} theme:\n" + "\n".join(problems)


def tagged_cells(path: Path) -> list[int]:
    """The cells the notebook marks for screenshots (code cells, where the lesson happens)."""
    cells = nbformat.read(path, as_version=4).cells
    return [i for i, c in enumerate(cells) if c.cell_type == "code" and "screenshot" in c.metadata.get("tags", [])]


def screenshot(lab: Lab, cell: int, target: Path) -> None:
    """The screen as projected: the file browser folded away, cell ``cell`` at the top."""
    lab.page.evaluate("() => jupyterapp.shell.collapseLeft()")
    lab.show(cell)
    buffer = lab.page.screenshot()
    lab.page.evaluate("() => jupyterapp.shell.expandLeft()")
    Image.open(io.BytesIO(buffer)).convert("RGB").save(target, optimize=True)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_in_jupyterlab_light_and_dark(lab, path, screenshots, upload):
    sources = lab.open(path.name)
    try:
        assert not lab.state()["dirty"], "the notebook is marked modified as soon as it opens"
        state = lab.run_all(NOTEBOOK_SECONDS)
        assert not state["errors"], state["errors"]
        lab.page.wait_for_timeout(1000)
        widget_cells = {i: act for i, source in enumerate(sources)
                        for call, act in drivers(upload).items() if call in source}
        shots = {"lesson": tagged_cells(path)[0]} | ({"widget": min(widget_cells)} if widget_cells else {})
        for theme in ("light", "dark"):
            lab.theme(theme)  # also back to light after the previous notebook's dark
            check_page(lab, theme)
            for cell, act in widget_cells.items():
                lab.show(cell)
                act(lab, cell, theme)
            check_page(lab, theme)
            for name, cell in shots.items():
                screenshot(lab, cell, screenshots / f"{path.stem}-{name}-{theme}.png")
    finally:
        errors, lab.console[:] = list(lab.console), []
        lab.close()
    assert not errors, f"browser console errors: {errors}"
