"""Click a cell of the confusion matrix to see the slices behind it, with the model's probabilities
and, if wanted, where it looked (Grad-CAM).

>>> confusion_explorer(result)            # doctest: +SKIP
"""

from __future__ import annotations

import ipywidgets as widgets

from .. import evaluation
from .pictures import slices_figure
from .widgets import figure_png, html_line, panel, picture, set_line

SHOWN = 8  # slices shown per cell, the most confident calls first


def confusion_explorer(result, shown: int = SHOWN) -> widgets.VBox:
    """The confusion matrix as a grid of buttons (rows: the truth, columns: the model's call).

    Pressing a button shows that cell's slices; the "Where did it look?" box adds Grad-CAM.
    ``box.open_cell(true, predicted)`` does what pressing a button does; ``box.cases`` lists the
    slices shown.
    """
    classes = tuple(result.classes)
    matrix = evaluation.result_confusion(result)
    buttons = {(i, j): _cell_button(int(matrix[i, j]), i == j) for i in range(len(classes))
               for j in range(len(classes))}
    saliency = widgets.Checkbox(False, description="Where did it look? (Grad-CAM, slower)",
                                layout=widgets.Layout(width="500px"))
    image, status = picture(), html_line("Press a cell of the matrix to see its slices.")
    chosen = {"cell": None}

    def open_cell(true: int, predicted: int) -> list:
        chosen["cell"] = (true, predicted)
        members = evaluation.confusion_cell(result, true, predicted)
        title = f"Truly {classes[true]}, called {classes[predicted]}: {len(members)} slices"
        fig = slices_figure(result, members[:shown], title, saliency=saliency.value)
        image.value = figure_png(fig)
        more = f" (the {shown} most confident calls shown)" if len(members) > shown else ""
        set_line(status, f"{title}{more}.")
        box.cases = fig.data["cases"]
        return box.cases

    for (i, j), button in buttons.items():
        button.on_click(lambda _button, i=i, j=j: open_cell(i, j))
    saliency.observe(lambda change: chosen["cell"] and open_cell(*chosen["cell"]), names="value")
    grid = _grid(classes, buttons)
    box = panel({"matrix": grid, "saliency": saliency}, image, status, open_cell=open_cell)
    box.buttons, box.cases = buttons, []
    return box


def _cell_button(count: int, diagonal: bool) -> widgets.Button:
    """A cell: its count, marked right or wrong in words (the theme's own colours keep it legible)."""
    return widgets.Button(description=f"{count} {'right' if diagonal else 'wrong'}",
                          tooltip="right answers" if diagonal else "mistakes",
                          layout=widgets.Layout(width="120px", height="60px"))


def _grid(classes: tuple, buttons: dict) -> widgets.GridBox:
    """Column headings (the model's call), then one row per true class with its heading."""
    n = len(classes)
    cells = [widgets.HTML("<b>truth \\u2193 / model \\u2192</b>")]
    cells += [widgets.HTML(f"<b>{name}</b>") for name in classes]
    for i, name in enumerate(classes):
        cells.append(widgets.HTML(f"<b>{name}</b>"))
        cells += [buttons[i, j] for j in range(n)]
    return widgets.GridBox(cells, layout=widgets.Layout(
        grid_template_columns=f"200px repeat({n}, 130px)", grid_gap="6px", align_items="center"))

