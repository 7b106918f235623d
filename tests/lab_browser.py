"""A real JupyterLab in Debian's headless Chromium, for the browser test and the screenshots.

:func:`jupyterlab` starts a JupyterLab server on 127.0.0.1 with a token and its own settings,
workspace and IPython folders (nothing of the user's is read or written); :func:`chromium`
starts Debian's ``chromium`` through Playwright with a fresh profile. Both stop what they started
when their ``with`` block ends, also on failure. :class:`Lab` opens a notebook in that browser,
runs it as Run All does and reads what an attendee sees: outputs, widgets, pictures, colours.

Every PNG that matplotlib writes in the server's kernels carries, in a PNG text field, the size
of the smallest text it drew, in pixels of that PNG (a test-only IPython startup file, see
:data:`MEASURE_TEXT`); with the picture's size on screen that gives the text size on screen.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from PIL import Image

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1280, "height": 720}
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}
TEXT_KEY = "Smallest text px"
MEASURE_TEXT = f'''"""Test-only: record in each PNG matplotlib writes the size of the smallest text drawn."""
import matplotlib.backend_bases, matplotlib.text

_print_figure, _draw = matplotlib.backend_bases.FigureCanvasBase.print_figure, matplotlib.text.Text.draw


def _print_figure_measured(self, filename, *args, dpi=None, format=None, metadata=None, **kwargs):
    if format != "png":
        return _print_figure(self, filename, *args, dpi=dpi, format=format, metadata=metadata, **kwargs)
    sizes = []

    def draw(text, renderer):
        if text.get_visible() and text.get_text().strip():
            sizes.append(text.get_fontsize())
        return _draw(text, renderer)

    matplotlib.text.Text.draw = draw
    try:
        self.figure.draw_without_rendering()
    finally:
        matplotlib.text.Text.draw = _draw
    pixels = self.figure.dpi if dpi in (None, "figure") else dpi
    metadata = dict(metadata or {{}})
    if sizes:
        metadata["{TEXT_KEY}"] = f"{{min(sizes) * pixels / 72:.2f}}"
    return _print_figure(self, filename, *args, dpi=dpi, format=format, metadata=metadata, **kwargs)


matplotlib.backend_bases.FigureCanvasBase.print_figure = _print_figure_measured
'''
# No notification fetches (offline), no autosave (the test's copies stay as opened), every cell
# laid out (not only those in view), so each picture's size on screen can be measured.
SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}


def find_chromium() -> str | None:
    """Debian's chromium, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def chromium_or_skip() -> str:
    """Debian's chromium; without it the calling test is skipped, or fails in CI
    (``RSNA_WORKSHOP_CI=1``, where ``.ci/run`` installs it)."""
    import pytest

    executable = find_chromium()
    if executable is None:
        message = "Debian's chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("RSNA_WORKSHOP_CI"):
            pytest.fail(message)
        pytest.skip(message)
    return executable


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, server: subprocess.Popen, log: Path, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"JupyterLab did not answer within {seconds:.0f} s:\n{log.read_text()[-3000:]}")


def _stop(server: subprocess.Popen) -> None:
    """SIGTERM (the server shuts its kernels down), then SIGKILL the group if it lingers."""
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)


@contextlib.contextmanager
def jupyterlab(root: Path, home: Path):
    """A JupyterLab serving ``root``; yields ``(url, server process)``, the url with its token.

    ``home`` receives the server's settings, workspaces, runtime files, IPython folder and log.
    """
    settings = home / "settings"
    for name, values in SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    startup = home / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    (startup / "00-measure-text.py").write_text(MEASURE_TEXT)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "IPYTHONDIR": str(home / "ipython"),
           "JUPYTER_PLATFORM_DIRS": "1"}
    token, port = secrets.token_hex(16), _free_port()
    log = home / "jupyterlab.log"
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
               f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={home / 'workspaces'}",
               "--LabApp.expose_app_in_browser=True", "--ServerApp.allow_root=True"]
    with open(log, "w") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_up(f"{url}/api/status?token={token}", server, log)
        yield f"{url}/lab/tree/{{}}?token={token}", server
    finally:
        _stop(server)


@contextlib.contextmanager
def chromium(executable: str):
    """A Playwright browser context on Debian's chromium with a fresh profile, at 1280 x 720."""
    from playwright.sync_api import sync_playwright  # the test extra; absent in a plain install

    with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=executable, headless=True, args=CHROMIUM_ARGS,
            viewport=VIEWPORT)
        try:
            yield context
        finally:
            context.close()


def png_text_px(data: bytes) -> float | None:
    """The smallest text of a matplotlib PNG in its own pixels (None: no text or not measured)."""
    value = Image.open(io.BytesIO(data)).text.get(TEXT_KEY)
    return float(value) if value else None


JS_STATE = """() => {
  const w = jupyterapp.shell.currentWidget, cells = [...w.content.model.cells];
  return {dirty: w.context.model.dirty, kernel: w.sessionContext.session?.kernel?.status,
          pending: cells.filter(c => c.type === 'code' && c.executionCount === null).length,
          running: cells.filter(c => c.type === 'code' && c.executionState === 'running').length,
          errors: cells.flatMap((c, i) => c.type === 'code'
                  ? [...Array(c.outputs.length).keys()].map(k => c.outputs.get(k).toJSON())
                      .filter(o => o.output_type === 'error').map(o => `cell ${i}: ${o.ename}: ${o.evalue}`) : [])};
}"""
JS_TAG_CELLS = """() => {
  const w = jupyterapp.shell.currentWidget;
  [...w.content.model.cells].forEach((c, i) => w.content.widgets[i].node.dataset.cell = i);
  return [...w.content.model.cells].map(c => c.sharedModel.getSource());
}"""
JS_IMAGES = """async (scope) => {
  const out = [];
  for (const img of document.querySelectorAll(scope + ' img')) {
    const cell = img.closest('[data-cell]'), shown = img.offsetParent !== null;
    let data = null;
    if (shown && img.naturalWidth && (img.src.startsWith('blob:') || img.src.startsWith('data:image/png'))) {
      const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
      let text = ''; for (const b of bytes) text += String.fromCharCode(b);
      data = btoa(text);
    }
    out.push({cell: cell ? +cell.dataset.cell : -1, shown, src: img.src.slice(0, 40),
              natural: img.naturalWidth, width: img.getBoundingClientRect().width,
              complete: img.complete, png: data});
  }
  return out;
}"""
JS_OVERFLOW = """(scope) => [...document.querySelectorAll(scope + ' .jp-OutputArea-output')]
  .filter(o => o.scrollWidth > o.clientWidth + 1)
  .map(o => ({cell: +o.closest('[data-cell]').dataset.cell, scroll: o.scrollWidth, client: o.clientWidth}))"""
# Every text node inside a widget: its colour against the first opaque background behind it.
JS_CONTRAST = """(scope) => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
                                   .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const background = el => { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor);
                              if (c.length === 3 || c[3] > 0.5) return c.slice(0, 3); } return [255, 255, 255]; };
  const out = [], walker = document.createTreeWalker(document.querySelector(scope), NodeFilter.SHOW_TEXT);
  for (let node; (node = walker.nextNode());) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el.closest('.jupyter-widgets') || el.offsetParent === null) continue;
    const fg = lum(rgb(getComputedStyle(el).color)), bg = lum(background(el));
    out.push({text: node.textContent.trim().slice(0, 60), cell: +el.closest('[data-cell]').dataset.cell,
              ratio: (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05)});
  }
  return out;
}"""
# Record when a widget's picture and status line change (the picture's src, the line's text).
JS_WATCH = """([scope, cell]) => {
  const node = document.querySelector(`${scope} [data-cell="${cell}"]`), log = [];
  const observer = new MutationObserver(records => { for (const r of records) {
    const t = performance.now(), el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
    if (r.type === 'attributes' && el.tagName === 'IMG') log.push({t, what: 'picture'});
    else if (el.closest('.widget-html')) log.push({t, what: 'status', text: el.closest('.widget-html').textContent});
  }});
  observer.observe(node, {subtree: true, attributes: true, attributeFilter: ['src'], childList: true, characterData: true});
  window.__watch = {log, observer};
}"""


class Lab:
    """One browser tab on the JupyterLab of :func:`jupyterlab`, with its console errors collected."""

    def __init__(self, context, url: str):
        self.page, self.url, self.console, self.scope = context.new_page(), url, [], ""
        self.page.on("console", lambda m: m.type == "error" and self.console.append(m.text))
        self.page.on("pageerror", lambda e: self.console.append(f"page error: {e}"))
        self.page.on("dialog", lambda dialog: dialog.accept())  # "leave the page?" after a failure

    def open(self, name: str) -> list[str]:
        """Open notebook ``name`` and wait for its kernel; returns the cells' sources."""
        self.page.goto(self.url.format(name) + "&reset")  # a fresh workspace: only this notebook
        self.page.wait_for_function("window.jupyterapp?.shell.currentWidget?.context", timeout=60_000)
        self.page.evaluate("async () => { const w = jupyterapp.shell.currentWidget; "
                           "await w.context.ready; await w.sessionContext.ready; }")
        self.page.wait_for_function("jupyterapp.shell.currentWidget.sessionContext.session?.kernel?.status"
                                    " === 'idle'", timeout=60_000)
        self.scope = "#" + self.page.evaluate("() => jupyterapp.shell.currentWidget.content.node.id")
        return self.page.evaluate(JS_TAG_CELLS)

    def close(self) -> None:
        """Shut the open notebook's kernel down and close it unsaved (the copy stays as it was)."""
        self.page.evaluate("async () => { const w = jupyterapp.shell.currentWidget; if (!w?.context) return; "
                           "w.context.model.dirty = false; await w.sessionContext.session?.shutdown(); "
                           "w.dispose(); }")

    def state(self) -> dict:
        """Dirty flag, kernel status, code cells not run yet, and error outputs so far."""
        return self.page.evaluate(JS_STATE)

    def run_all(self, timeout: float) -> dict:
        """Run all cells (the Run All command) and wait until all ran and the kernel is idle,
        or an error output appears; returns :meth:`state`."""
        self.page.evaluate("() => { const w = jupyterapp.shell.currentWidget; jupyterapp.shell.activateById(w.id); "
                           "return jupyterapp.commands.execute('notebook:run-all-cells'); }")
        start = time.monotonic()
        while time.monotonic() < start + timeout:
            self.page.wait_for_timeout(1000)
            state = self.state()
            if state["errors"] or (state["pending"] == 0 and state["running"] == 0
                                   and state["kernel"] == "idle"):
                return state
            if time.monotonic() > start + 60 and state["running"] == 0 and state["kernel"] == "idle":
                raise RuntimeError(f"Run All did not run the cells: {state}")
        raise TimeoutError(f"the notebook was still running after {timeout:.0f} s: {self.state()}")

    def theme(self, name: str) -> None:
        """Switch JupyterLab's theme ('light' or 'dark') and wait until it applies."""
        light = "true" if name == "light" else "false"
        self.page.evaluate(f"() => jupyterapp.commands.execute('apputils:change-theme', "
                           f"{{theme: '{THEMES[name]}'}})")
        self.page.wait_for_function(f"document.body.dataset.jpThemeLight === '{light}'", timeout=30_000)
        self.page.wait_for_timeout(500)

    def cell(self, index: int):
        """A locator for cell ``index`` (as numbered by :meth:`open`)."""
        return self.page.locator(f'{self.scope} [data-cell="{index}"]')

    def show(self, index: int) -> None:
        """Scroll cell ``index`` to the top of the notebook."""
        self.page.evaluate(f"() => {{ const w = jupyterapp.shell.currentWidget; "
                           f"w.content.scrollToItem({index}, 'start'); }}")
        self.page.wait_for_timeout(300)
        self.cell(index).evaluate("c => c.scrollIntoView({block: 'start'})")
        self.page.wait_for_timeout(300)

    def text(self) -> str:
        """All text of the open notebook."""
        return self.page.locator(self.scope).inner_text()

    def images(self) -> list[dict]:
        """Every picture in the notebook: cell, shown or not, natural and on-screen width, and the
        smallest text on screen in pixels (None where the PNG carries no measure)."""
        found = self.page.evaluate(JS_IMAGES, self.scope)
        for image in found:
            png = image.pop("png")
            text = png_text_px(base64.b64decode(png)) if png else None
            image["text_px"] = text * image["width"] / image["natural"] if text and image["natural"] else None
        return found

    def overflowing(self) -> list[dict]:
        """Outputs wider than their area (they would need horizontal scrolling)."""
        return self.page.evaluate(JS_OVERFLOW, self.scope)

    def contrast(self) -> list[dict]:
        """Every visible widget text with its WCAG contrast ratio against its background."""
        return self.page.evaluate(JS_CONTRAST, self.scope)

    def watch(self, index: int) -> None:
        """Start recording picture and status changes in cell ``index``."""
        self.page.evaluate(JS_WATCH, [self.scope, index])

    def watched(self) -> list[dict]:
        """The changes recorded since :meth:`watch` (time in ms, 'picture' or 'status')."""
        return self.page.evaluate("() => { window.__watch.observer.disconnect(); return window.__watch.log; }")

    def widget_texts(self, index: int) -> str:
        """All text of the widgets in cell ``index``."""
        return self.cell(index).locator(".jp-OutputArea").inner_text()
