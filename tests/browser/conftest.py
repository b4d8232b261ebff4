"""Real JupyterLab in real Chromium: a server on a copy of the notebooks, and a browser.

Chromium is Debian's (/usr/bin/chromium), driven by the Python playwright package; no
browser is ever downloaded. Without Chromium the browser tests are skipped with a message,
unless REQUIRE_BROWSER=1 (set by .ci/run), which turns the skip into a failure.

The server, its kernels and Chromium run isolated (tests/isolation.py): their HOME and
Jupyter, IPython and Matplotlib folders lie in the session's temporary folder, so the user's
JupyterLab settings and workspaces are neither read nor overwritten (tests/test_isolation.py
runs a session with a stand-in home and checks it).
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import isolation
from helpers import nav

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NOTEBOOKS = nav.ROOT / "notebooks"


def _need_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = "Chromium not found at /usr/bin/chromium: install it with `apt-get install -y chromium` to run the browser tests"
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(message + " (REQUIRE_BROWSER=1 makes this a failure)", pytrace=False)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.ipynb"))}


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    artifacts: Path
    env: dict[str, str]  # the isolated environment of the server and the browser

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?reset&token={self.token}"


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory):
    """JupyterLab on 127.0.0.1, a free port and a random token, serving a copy of notebooks/ (zh/ included)."""
    _need_chromium()
    root = tmp_path_factory.mktemp("lab")
    env = {**isolation.isolated_environ(tmp_path_factory.mktemp("lab-private")), "NOTEBOOK_DEVICE": "cpu"}
    isolation.prepare(env)
    artifacts = Path(os.environ.get("BROWSER_ARTIFACTS") or tmp_path_factory.mktemp("browser-artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    for path in nav.notebooks(NOTEBOOKS):
        shutil.copy(path, root / path.name)
    shutil.copytree(NOTEBOOKS / "solutions", root / "solutions")  # run_solutions(...) reads them
    shutil.copytree(NOTEBOOKS / "distributed", root / "distributed", ignore=shutil.ignore_patterns("__pycache__"))  # 09's scripts
    (root / "zh").mkdir()  # the Chinese edition, as make lab shows it; its code finds solutions/ one folder up
    for path in nav.notebooks(NOTEBOOKS / "zh"):
        shutil.copy(path, root / "zh" / path.name)
    before = (_digest(NOTEBOOKS), _digest(NOTEBOOKS / "zh"))
    port, token = _free_port(), secrets.token_hex(16)
    log = open(root / "server.log", "w")
    server = subprocess.Popen(
        [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
            "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}", "--expose-app-in-browser",
            "--LabApp.extension_manager=readonly",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2).read()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start; its log: {root / 'server.log'}", pytrace=False)
                time.sleep(0.5)
        yield Lab(url, token, root, artifacts, env)
    finally:
        # Stop the server and every kernel it started (its process group), also after a failure.
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(server.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        log.close()
    assert (_digest(NOTEBOOKS), _digest(NOTEBOOKS / "zh")) == before, "a browser test modified the repository's notebooks"


@pytest.fixture(scope="session")
def playwright_driver():
    """The session's one Playwright driver: its sync API allows only one at a time in a process,
    and the JupyterLab tests and the static-page tests may share a pytest worker."""
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(lab, playwright_driver):
    chromium = playwright_driver.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True, env=lab.env)
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh page in its own browser context (on failure, see pytest_runtest_makereport)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


# ---- Static pages (the site, the slides): Chromium without JupyterLab, offline ----------------

SCREENSHOTS = nav.ROOT / "build" / "screenshots"
LOCAL_HOST = "127.0.0.1"
_SAVED: list[Path] = []  # every screenshot(...) of the session, listed at its end (CI artifacts)


@pytest.fixture(scope="session")
def chromium(tmp_path_factory: pytest.TempPathFactory, playwright_driver):
    """Debian's Chromium for static pages, in an isolated environment (nothing touches $HOME)."""
    env = isolation.isolated_environ(tmp_path_factory.mktemp("chromium-private"))
    browser_ = playwright_driver.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True, env=env)
    try:
        yield browser_
    finally:
        browser_.close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        pass


@pytest.fixture(scope="session")
def serve() -> Iterator[Callable[[Path], str]]:
    """``serve(folder) -> "http://127.0.0.1:PORT/"``: a static file server of that folder.

    Each call starts one server in a thread, on 127.0.0.1 and a free port; all stop at the end
    of the session. Example: ``page.goto(serve(site) + "index.html")``.
    """
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(folder: Path) -> str:
        folder = Path(folder)
        if not folder.is_dir():
            raise ValueError(f"serve(folder): {folder} is not a folder; build it first (e.g. make site)")
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer((LOCAL_HOST, 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://{LOCAL_HOST}:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def offline_page(chromium):
    """A page in a fresh context (1400x1000) where every request to a host other than 127.0.0.1
    is aborted. The page object carries the list of blocked URLs as ``offline_page.blocked``.
    """
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    blocked: list[str] = []

    def route(route_, request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob") or parts.hostname == LOCAL_HOST:
            route_.continue_()
        else:
            blocked.append(request.url)
            route_.abort()

    context.route("**/*", route)
    page_ = context.new_page()
    page_.set_default_timeout(30_000)
    page_.blocked = blocked
    yield page_
    context.close()


@pytest.fixture(scope="session")
def screenshot() -> Callable[..., Path]:
    """``screenshot(page, name) -> Path``: a full-page PNG in build/screenshots/ ($SCREENSHOT_DIR
    overrides), kept as a CI artifact; prints ``screenshot: <path>``.
    """

    def take(page_, name: str) -> Path:
        folder = Path(os.environ.get("SCREENSHOT_DIR") or SCREENSHOTS)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / (name if name.endswith(".png") else f"{name}.png")
        page_.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")
        _SAVED.append(path)
        return path

    return take


def pytest_terminal_summary(terminalreporter) -> None:
    """Name the screenshots taken, also when the tests passed (their own prints are captured)."""
    for path in _SAVED:
        terminalreporter.write_line(f"screenshot: {path}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failed browser test, save a screenshot and name its path in the failure message."""
    outcome = yield
    report = outcome.get_result()
    page, lab_ = item.funcargs.get("page"), item.funcargs.get("lab")
    folder = lab_.artifacts if lab_ is not None else None
    if page is None and item.funcargs.get("offline_page") is not None:  # a static page (site, slides)
        page, folder = item.funcargs["offline_page"], Path(os.environ.get("SCREENSHOT_DIR") or SCREENSHOTS)
    if report.when == "call" and report.failed and page is not None and folder is not None:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in item.name)
        folder.mkdir(parents=True, exist_ok=True)
        shot = folder / f"FAILED-{safe}.png"
        try:
            page.screenshot(path=str(shot), full_page=True)
            note = f"Screenshot of the page at the failure: {shot}"
        except Exception as exc:  # the page may be gone; say so rather than hide the real failure
            note = f"No screenshot ({type(exc).__name__}: {exc})"
        report.longrepr = f"{report.longrepr}\n\n{note}"
