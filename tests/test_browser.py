"""The course as a learner meets it: JupyterLab in a real (headless) browser, and the static site.

Starts JupyterLab from this environment on a copy of the notebooks and drives it in Debian's
Chromium through playwright. Notebook 02: every cell runs, the playground renders as live
widgets (sliders, buttons, the figure) and answers a click, the tqdm progress bar is a
widget, and no cell shows an error. Notebooks 04 and 07 likewise, with their widgets used as a
learner would: the latent walk's slider and *New ends* button, and the prompt box (a new
prompt, then an unknown word). The static site (one notebook, tests/site_build.py), served
locally: from the home page to the notebook, whose figures load and whose progress bars are
drawn finished, with every script, style and font from the site itself. Screenshots are saved
under build/browser/. Skips, saying why, where Chromium or playwright is missing.
"""

import functools
import http.server
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from site_build import built_site

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NOTEBOOK = "02_training_algorithm.ipynb"
WIDGET_NOTEBOOKS = ("04_image_generation.ipynb", "07_text_to_image.ipynb")

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (test extra)")
if CHROMIUM is None:
    pytest.skip("no Chromium on this machine (Debian: apt-get install chromium)", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a copy of notebooks/, so no output is ever saved into the sources."""
    root = tmp_path_factory.mktemp("lab")
    for name in (NOTEBOOK, *WIDGET_NOTEBOOKS):
        shutil.copy(ROOT / "notebooks" / name, root)
    # The server's own settings: render every cell (no windowing, so every prompt can be
    # read) and ask no questions about news.
    settings = tmp_path_factory.mktemp("settings")
    for plugin, values in (("notebook-extension/tracker", '{"windowingMode": "none"}'),
                           ("apputils-extension/notification", '{"fetchNews": "false"}')):
        path = settings / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(values)
    workspaces = tmp_path_factory.mktemp("workspaces")  # no layout restored from an earlier run
    port, token = _free_port(), "course-browser-test"
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
               f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={workspaces}",
               "--LabApp.news_url=",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if os.name != "nt" and os.geteuid() == 0:
        command.append("--allow-root")
    log = open(root / "server.log", "w")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("JupyterLab did not start:\n" + (root / "server.log").read_text()[-2000:])
            time.sleep(0.5)
    yield base, token
    server.terminate()
    server.wait(timeout=20)
    log.close()


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield chromium
        chromium.close()


def _run_all(browser, lab, notebook: str):
    """Open ``notebook`` in JupyterLab, run all its cells, wait for the last, check for errors."""
    base, token = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    page.goto(f"{base}/lab/tree/{notebook}?reset&token={token}")  # reset: only this notebook open
    page.wait_for_selector(".jp-Notebook .jp-Cell")
    # The course's kernel is connected and idle before anything runs.
    page.get_by_text("Python (GAN course) | Idle").wait_for(timeout=90_000)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    page.get_by_text("[*]:").first.wait_for()

    # Wait until every code cell has run: no "[*]" prompt left and the last one numbered.
    deadline = time.monotonic() + 240
    while True:
        prompts = [t.strip() for t in page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()]
        if prompts and all(t.strip("[]:").isdigit() for t in prompts):
            break
        assert time.monotonic() < deadline, f"cells still running after 240 s: {prompts}"
        time.sleep(1)

    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    error_texts = [t for t in errors.all_inner_texts() if "Traceback" in t or "Error" in t]
    assert not error_texts, f"a cell of {notebook} shows an error:\n" + "\n".join(error_texts)[:2000]
    return page


def _shots() -> Path:
    shots = ROOT / "build" / "browser"
    shots.mkdir(parents=True, exist_ok=True)
    return shots


def _image_source(widget) -> str:
    return widget.locator("img").first.get_attribute("src")


def test_notebook_02_runs_in_jupyterlab_with_live_widgets(lab, browser):
    page = _run_all(browser, lab, NOTEBOOK)
    # The playground: live sliders, buttons and the figure, not a static picture.
    playground = page.locator(".jupyter-widgets.widget-vbox").filter(has=page.locator(".widget-image")).last
    playground.scroll_into_view_if_needed()
    assert playground.locator(".widget-slider, .widget-hslider").count() >= 3  # two learning rates, k
    for label in ("Step", "Run", "Reset"):
        assert playground.get_by_role("button", name=label).count() == 1
    image = playground.locator("img").first
    assert page.evaluate("img => img.naturalWidth", image.element_handle()) > 500
    status = playground.locator(".widget-html").last
    assert "step 200" in status.inner_text()
    playground.get_by_role("button", name="Step").click()
    page.wait_for_function("el => el.innerText.includes('step 201')", arg=status.element_handle())

    # tqdm's bar is a widget (an ipywidgets progress bar), not text.
    assert page.locator(".widget-hprogress, .jupyter-widget-progress").count() >= 1
    playground.screenshot(path=str(_shots() / "playground.png"))
    page.screenshot(path=str(_shots() / "02_training_algorithm.png"), full_page=False)
    page.close()


def test_notebook_04s_latent_walk_follows_its_slider_and_button(lab, browser):
    page = _run_all(browser, lab, WIDGET_NOTEBOOKS[0])
    walk = page.locator(".jupyter-widgets.widget-vbox").filter(has=page.get_by_role("button", name="New ends")).last
    walk.scroll_into_view_if_needed()
    assert page.evaluate("img => img.naturalWidth", walk.locator("img").first.element_handle()) > 500
    before = _image_source(walk)
    walk.locator(".widget-slider, .widget-hslider").first.click()  # jump the slider to where it is clicked
    walk.locator(".widget-slider, .widget-hslider").first.press("End")  # then to t = 1
    page.wait_for_function("([el, src]) => el.querySelector('img').src !== src",
                           arg=[walk.element_handle(), before])
    after_slider = _image_source(walk)
    walk.get_by_role("button", name="New ends").click()
    page.wait_for_function("([el, src]) => el.querySelector('img').src !== src",
                           arg=[walk.element_handle(), after_slider])
    walk.screenshot(path=str(_shots() / "latent_walk.png"))
    page.close()


def test_notebook_07s_prompt_box_draws_a_new_prompt_and_explains_unknown_words(lab, browser):
    page = _run_all(browser, lab, WIDGET_NOTEBOOKS[1])
    box = page.locator(".jupyter-widgets.widget-vbox").filter(has=page.get_by_role("button", name="Generate")).last
    box.scroll_into_view_if_needed()
    before = _image_source(box)
    field = box.locator("input[type='text']").first
    field.fill("a thin one slanted left")
    field.press("Enter")
    page.wait_for_function("([el, src]) => el.querySelector('img').src !== src", arg=[box.element_handle(), before])
    field.fill("a bold seven")
    field.press("Enter")
    box.locator(".widget-html").filter(has_text="unknown word 'bold'").wait_for()
    box.screenshot(path=str(_shots() / "prompt_box.png"))
    shown = _image_source(box)
    field.fill("a thick two")
    box.get_by_role("button", name="Generate").click()
    page.wait_for_function("([el, src]) => el.querySelector('img').src !== src", arg=[box.element_handle(), shown])
    assert "unknown" not in box.locator(".widget-html").first.inner_text()
    box.screenshot(path=str(_shots() / "prompt_box.png"))
    page.close()


@pytest.fixture(scope="module")
def site_server():
    """The static site, served on localhost as a web server would (no kernel, no JupyterLab)."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(built_site())))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_the_static_site_shows_a_notebooks_figures_and_finished_progress_bars(site_server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)
    requests = []
    page.on("request", lambda request: requests.append((request.resource_type, request.url)))
    page.goto(f"{site_server}/index.html")
    assert page.locator("a.right-next").get_attribute("href").startswith("learn/")  # the first notebook
    link = page.locator("article a[href^='learn/']").first
    title = link.inner_text()
    link.click()
    page.wait_for_load_state("load")
    assert page.locator("h1").first.inner_text().endswith(title)

    # Figures: every output image arrived and decoded.
    figures = page.locator("img[src*='_images/']")
    assert figures.count() >= 2
    for i in range(figures.count()):
        figures.nth(i).scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=figures.nth(i).element_handle())

    # Progress bars: drawn by the widgets' manager from the stored state, every one full, and
    # neither a "0%" label nor tqdm's text fallback (the "  0%|" line) anywhere on the page.
    bars = page.locator(".widget-hprogress")
    bars.first.wait_for()
    for i in range(bars.count()):
        fill = bars.nth(i).locator(".progress-bar")
        assert fill.evaluate("el => el.style.width || el.style.height") == "100%"
    labels = page.locator(".widget-hbox .widget-html-content").all_inner_texts()
    assert labels and not [t for t in labels if re.search(r"(^|\s)0\s?%", t)], labels
    assert page.get_by_text(re.compile(r"\b0%\|")).count() == 0
    bars.first.scroll_into_view_if_needed()
    page.screenshot(path=str(_shots() / "site_notebook.png"))

    # Each solution is folded away until asked for: one deliberate click.
    toggle = page.get_by_text("Show the solution").first
    solution = page.locator(".tag_hide-input details").first
    assert toggle.count() and not solution.evaluate("el => el.open")
    toggle.click()
    assert solution.evaluate("el => el.open")

    # Nothing the page runs, draws or shows came from another site (a CDN, a badge service).
    kinds = {kind for kind, _ in requests}
    assert {"script", "stylesheet", "image"} <= kinds, kinds
    off_site = [url for _, url in requests if not url.startswith((site_server, "data:", "blob:"))]
    print(f"requests: {len(requests)}, of which images {sum(k == 'image' for k, _ in requests)}; "
          f"to other sites: {len(off_site)}")
    assert off_site == [], off_site

    # And back home through the page's own navigation.
    page.locator("a.left-prev").click()
    page.wait_for_load_state("load")
    assert page.url.rstrip("/").endswith("index.html")
    page.close()


def test_the_chinese_sites_page_for_00_shows_its_figures_and_leads_to_its_english_twin(site_server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(f"{site_server}/zh/index.html")
    link = page.locator("article a[href^='learn-zh/']").first
    link.click()
    page.wait_for_load_state("load")
    heading = page.locator("h1").first.inner_text()
    assert re.search(r"[\u4e00-\u9fff]", heading), heading  # the notebook's title, in Chinese
    figures = page.locator("img[src*='_images/']")
    assert figures.count() >= 2
    for i in range(figures.count()):
        figures.nth(i).scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=figures.nth(i).element_handle())
    page.screenshot(path=str(_shots() / "site_notebook_zh.png"))
    assert not [url for url in requests if not url.startswith((site_server, "data:", "blob:"))]
    page.locator("p.language-twin a").click()
    page.wait_for_load_state("load")
    assert "/learn/" in page.url and "/zh/" not in page.url
    page.close()
