"""ipywidgets for a projected notebook: train like Teachable Machine, move a threshold, window a
slice, colour-code blood, preview an upload.

Each function returns one widget (a ``VBox``) to display. Pictures are PNGs in an
``ipywidgets.Image``, so they update in place and need no kernel to render; like inline figures
they are shown at their own size, shrunk to fit a narrow window, and stay hidden until there is
something to show. Status lines take JupyterLab's theme colours, so they read in light and dark
themes. A picture and its status line change together: the picture is computed first, then both
are set. Each box carries ``controls`` (name to control widget), ``image`` (the picture widget),
``status`` (an HTML line) and its update function, so a test (or an instructor) can drive it by
setting a control's value or calling the function directly. Works with ipywidgets 7 and 8.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import ipywidgets as widgets
import numpy as np
from PIL import Image

from .. import ct, imaging
from ..errors import ImageError, WorkshopError
from ..model import train
from ..synthetic import generate_slice
from . import figures, pictures
from .style import new_figure

PICTURE_DPI = 72
LIVE_FRAMES = 30  # the most curve pictures one training run draws (one per epoch up to 30 epochs)
BATCH_SIZES = (16, 32, 64, 128, 256, 512)  # Teachable Machine's choices
BIG = widgets.Layout(width="600px")
NARROW = widgets.Layout(width="420px")  # controls beside a picture
STYLE = {"description_width": "140px"}
NO_HOUNSFIELD = (".tm", ".png", ".jpg", ".jpeg")  # picture files: already windowed, no HU
TEXT_COLOR, ERROR_COLOR = "var(--jp-ui-font-color1)", "var(--jp-error-color1)"  # follow the theme


def figure_png(fig, dpi: int = PICTURE_DPI) -> bytes:
    """A matplotlib figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def array_png(array: np.ndarray) -> bytes:
    """A uint8 gray or RGB array as PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(buffer, format="png")
    return buffer.getvalue()


def picture(width: str | None = None) -> widgets.Image:
    """An empty PNG picture widget, hidden until :func:`show` gives it a picture.

    Shown at the PNG's own size (or ``width``), never wider than the notebook, like an inline figure.
    """
    return widgets.Image(format="png", layout=widgets.Layout(width=width, max_width="100%",
                                                             height="auto", display="none"))


def show(image: widgets.Image, png: bytes) -> None:
    """Put a PNG in a picture widget and make it visible."""
    image.value = png
    image.layout.display = None


def html_line(text: str = "") -> widgets.HTML:
    """A status line in a font big enough for a projector, in the theme's text colour."""
    line = widgets.HTML()
    set_line(line, text)
    return line


def set_line(line: widgets.HTML, text: str, color: str = TEXT_COLOR) -> None:
    """Replace a status line's text (``color``: a CSS colour, e.g. :data:`ERROR_COLOR`)."""
    line.value = f"<div style='font-size:20px; line-height:1.3; color:{color}'>{text}</div>"


def live_every(epochs: int) -> int:
    """Draw the live curves every this many epochs, so a run draws at most ``LIVE_FRAMES``."""
    return max(1, math.ceil(epochs / LIVE_FRAMES))


def curves_png(history: dict) -> bytes:
    """The accuracy and loss curves so far, as the training panel shows them."""
    fig, axes = new_figure(1, 2, size=(14, 5))
    figures.draw_curves(axes[0, 0], history, "accuracy")
    figures.draw_curves(axes[0, 1], history, "loss")
    return figure_png(fig)


def panel(controls: dict, image: widgets.Image, status: widgets.HTML, beside: bool = False,
          **functions) -> widgets.VBox:
    """Lay controls, status line and picture out top to bottom (``beside``: the picture left of
    the controls and status line); attach them for tests."""
    if beside:
        box = widgets.VBox([widgets.HBox([image, widgets.VBox([*controls.values(), status])])])
    else:
        box = widgets.VBox([*controls.values(), status, image])
    box.controls, box.image, box.status = controls, image, status
    for name, function in functions.items():
        setattr(box, name, function)
    return box


def hu_of(source) -> np.ndarray:
    """Hounsfield units from a 2-D array, a ``CTSlice`` or a DICOM file path.

    A file of pictures without Hounsfield units (PNG, JPEG, or a Teachable Machine project as the
    original workshop published) cannot be windowed: a built-in synthetic slice with a bleed
    stands in, and one printed line says so.
    """
    if isinstance(source, (str, Path)):
        if Path(source).suffix.lower() in NO_HOUNSFIELD:
            print(f"{Path(source).name} holds pictures without Hounsfield units, which windowing "
                  f"needs: this explorer shows a slice of the built-in synthetic cohort instead.")
            return generate_slice(0, level=0.55, subtypes=("intraparenchymal",)).hu
        return ct.read_ct(source).hu
    hu = np.asarray(getattr(source, "hu", source), dtype=np.float32)
    if hu.ndim != 2:
        raise ImageError(f"Expected one CT slice as a 2-D array of HU, got shape {hu.shape}. "
                         f"Pass a slice, e.g. ct.read_ct(path).hu.")
    return hu


# ---- training ----------------------------------------------------------------------------------


def training_panel(dataset, seed: int = 0, trainer=train) -> widgets.VBox:
    """Teachable Machine's training panel: epochs, batch size, learning rate and a Train button.

    Progress and the accuracy and loss curves update every epoch (every few epochs on long
    runs, see :func:`live_every`); at the end the "under the hood" panel appears and the result
    is kept as ``box.result``. ``box.train()`` does what
    the button does. ``trainer`` is :func:`rsna_workshop.model.train` (or a stand-in in tests).
    """
    settings = dataset.settings
    controls = {
        "epochs": widgets.BoundedIntText(settings.epochs, min=1, max=1000,
                                         description="Epochs", layout=BIG, style=STYLE),
        "batch_size": widgets.Dropdown(options=sorted({*BATCH_SIZES, settings.batch_size}),
                                       value=settings.batch_size,
                                       description="Batch size", layout=BIG, style=STYLE),
        "learning_rate": widgets.BoundedFloatText(settings.learning_rate, min=1e-6, max=1.0,
                                                  step=0.0001, description="Learning rate",
                                                  layout=BIG, style=STYLE),
        "train": widgets.Button(description="Train model", button_style="primary",
                                layout=widgets.Layout(width="300px", height="50px")),
        "progress": widgets.IntProgress(value=0, min=0, max=1, description="Epoch",
                                        layout=BIG, style=STYLE),
    }
    image, status = picture(), html_line("Press <b>Train model</b>.")

    def show_epoch(epoch: int, history: dict) -> None:
        """Per-epoch callback: move the progress bar, redraw the curves, then the status line."""
        total = controls["epochs"].value
        controls["progress"].max, controls["progress"].value = total, epoch
        if epoch == total or (epoch - 1) % live_every(total) == 0:
            show(image, curves_png(history))
        set_line(status, f"Epoch {epoch}/{total}: train accuracy {history['accuracy'][-1]:.2f}, "
                         f"test accuracy {history['test_accuracy'][-1]:.2f}")

    def train(_button=None):
        """Train with the chosen settings; show the under-the-hood panel at the end."""
        controls["train"].disabled = True
        set_line(status, "Training...")
        try:
            box.result = trainer(
                dataset, epochs=controls["epochs"].value,
                batch_size=controls["batch_size"].value,
                learning_rate=controls["learning_rate"].value, seed=seed, on_epoch=show_epoch,
            )
        except Exception as error:  # show any failure on the projector too, then raise it as usual
            set_line(status, f"Training failed: {error}", color=ERROR_COLOR)
            raise
        finally:
            controls["train"].disabled = False
        history = box.result.history
        show(image, figure_png(figures.under_the_hood(box.result)))
        set_line(status, f"Done in {getattr(box.result, 'seconds', 0):.1f} s: final test "
                         f"accuracy {history['test_accuracy'][-1]:.2f}")
        return box.result

    controls["train"].on_click(train)
    box = panel(controls, image, status, train=train, show_epoch=show_epoch)
    box.result = None
    return box


# ---- decision threshold ------------------------------------------------------------------------


def threshold_explorer(result, positive=None) -> widgets.VBox:
    """A decision-threshold slider; the confusion matrix, ROC operating point, sensitivity and
    specificity follow it live. ``box.metrics`` is what is shown."""
    controls = {"threshold": widgets.FloatSlider(0.5, min=0.01, max=0.99, step=0.01,
                                                 description="Threshold", layout=BIG, style=STYLE,
                                                 continuous_update=False, readout_format=".2f")}
    image, status = picture("900px"), html_line()  # slider, status and picture in one 720 px screen

    def redraw(change=None):
        fig = figures.threshold_figure(result, controls["threshold"].value, positive)
        box.metrics = fig.data["metrics"]
        show(image, figure_png(fig))
        set_line(status, f"Threshold {controls['threshold'].value:.2f}: sensitivity "
                         f"{box.metrics.sensitivity} &nbsp; specificity {box.metrics.specificity}")

    controls["threshold"].observe(redraw, names="value")
    box = panel(controls, image, status, redraw=redraw)
    redraw()
    return box


# ---- window and colour coding ------------------------------------------------------------------


def window_explorer(source) -> widgets.VBox:
    """Window presets plus centre and width sliders on one CT slice (array, CTSlice or DICOM).

    The slice sits beside its controls, so the whole explorer fits a 1280 x 720 projector.
    """
    hu = hu_of(source)
    center, width = imaging.WINDOWS["brain"]
    controls = {
        "preset": widgets.Dropdown(options=[*imaging.WINDOWS, "custom"], value="brain",
                                   description="Window", layout=NARROW, style=STYLE),
        "center": widgets.IntSlider(int(center), min=-1000, max=2000, description="Centre (HU)",
                                    layout=NARROW, style=STYLE),
        "width": widgets.IntSlider(int(width), min=1, max=4000, description="Width (HU)",
                                   layout=NARROW, style=STYLE),
    }
    image, status = picture("420px"), html_line()
    status.layout.width = NARROW.width

    def apply_preset(change=None):
        name = controls["preset"].value
        if name in imaging.WINDOWS:
            c, w = imaging.WINDOWS[name]
            with controls["center"].hold_trait_notifications(), \
                 controls["width"].hold_trait_notifications():
                controls["center"].value, controls["width"].value = int(c), int(w)

    def redraw(change=None):
        c, w = controls["center"].value, controls["width"].value
        preset = next((n for n, cw in imaging.WINDOWS.items() if cw == (c, w)), "custom")
        if controls["preset"].value != preset and change is not None:
            controls["preset"].value = preset  # sliders moved off (or onto) a preset
        show(image, array_png(imaging.window(hu, (c, w))))
        set_line(status, f"Window {c} / {w}: {c - w / 2:g} HU and below black, "
                         f"{c + w / 2:g} HU and above white")

    controls["preset"].observe(apply_preset, names="value")
    controls["center"].observe(redraw, names="value")
    controls["width"].observe(redraw, names="value")
    box = panel(controls, image, status, redraw=redraw, beside=True)
    redraw()
    return box


def color_code_explorer(source) -> widgets.VBox:
    """Paint a HU range red on a brain-window slice: range slider, opacity, skull mask on/off.

    Shows the plain slice beside the colour-coded one, or beside the painted pixels' outline in
    blue for colour-blind eyes; ``box.painted_fraction`` is the share of pixels painted.
    """
    hu = hu_of(source)
    low, high = imaging.BLOOD_HU
    controls = {
        "blood_hu": widgets.IntRangeSlider(value=(int(low), int(high)), min=-100, max=300,
                                           description="Paint HU", layout=BIG, style=STYLE),
        "opacity": widgets.FloatSlider(1.0, min=0.0, max=1.0, step=0.05, description="Opacity",
                                       layout=BIG, style=STYLE),
        "inside_skull": widgets.Checkbox(False, description="Only inside the skull",
                                         layout=BIG, style=STYLE),
        "outline": widgets.Checkbox(False, description="Blue outline instead (colour-blind view)",
                                    layout=BIG, style=STYLE),
    }
    image, status = picture(), html_line()
    plain = imaging.window(hu, "brain")

    def redraw(change=None):
        lo, hi = controls["blood_hu"].value
        skull = controls["inside_skull"].value
        opacity = controls["opacity"].value
        painted = imaging.blood_pixels(hu, (lo, hi), skull)  # once: the skull mask is the slow part
        box.painted_fraction = float(painted.mean()) if opacity else 0.0
        outline = controls["outline"].value
        coded = imaging.outline_blood(hu, painted) if outline else \
            imaging.color_code(hu, opacity=opacity, painted=painted)
        gap = np.full((hu.shape[0], 8, 3), 255, np.uint8)
        show(image, array_png(np.hstack([np.repeat(plain[..., None], 3, axis=2), gap, coded])))
        shown_as = "outlined in blue" if outline else "painted red"
        set_line(status, f"{lo} to {hi} HU {shown_as}: {box.painted_fraction:.1%} of the pixels")

    for control in controls.values():
        control.observe(redraw, names="value")
    box = panel(controls, image, status, redraw=redraw)
    redraw()
    return box


# ---- preview -----------------------------------------------------------------------------------


def uploaded_files(value) -> list[tuple[str, bytes]]:
    """``(name, content)`` of each file in a ``FileUpload`` value, in ipywidgets 7's format (a
    dict by name of ``{"metadata": ..., "content": ...}``) or 8's (a sequence of dicts)."""
    if isinstance(value, dict):
        return [(name, bytes(entry["content"])) for name, entry in value.items()]
    return [(entry["name"], bytes(entry["content"])) for entry in value]


def preview(result) -> widgets.VBox:
    """Upload a PNG, JPEG or DICOM; see the model's probability for each class as bars.

    ``box.show_file(name, content)`` does what an upload does and returns the probabilities.
    """
    classifier = result.classifier
    controls = {"upload": widgets.FileUpload(accept=".dcm,.dicom,.png,.jpg,.jpeg",
                                             multiple=False, description="Upload image",
                                             layout=widgets.Layout(width="300px", height="50px"))}
    image, status = picture(), html_line("Upload a head CT slice (DICOM, PNG or JPEG).")

    def show_file(name: str, content: bytes) -> dict:
        try:
            picture_224 = imaging.load_image(bytes(content), classifier.preprocess, name=name)
        except WorkshopError as error:
            set_line(status, f"Cannot use this file: {error}", color=ERROR_COLOR)
            return {}
        probabilities = np.asarray(classifier.predict(picture_224[None]), dtype=float).reshape(-1)
        fig = pictures.probability_figure(picture_224, result.classes, probabilities)
        best = int(probabilities.argmax())
        show(image, figure_png(fig))
        set_line(status, f"{name}: <b>{result.classes[best]}</b> ({probabilities[best]:.0%})")
        return fig.data["probabilities"]

    def on_upload(change):
        for name, content in uploaded_files(change["new"]):
            show_file(name, content)

    controls["upload"].observe(on_upload, names="value")
    return panel(controls, image, status, show_file=show_file)
