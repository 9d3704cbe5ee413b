"""The dashboard's home page, rendered by headless Chromium against a real
Tracehouse: it says storage is ready and shows the OTLP endpoints the
process actually listens on. The screenshot is kept as an artifact
($TRACEHOUSE_E2E_ARTIFACTS, else pytest's temp dir) and checked for the
page's colours, so a page whose styles did not apply fails too.
"""

from __future__ import annotations

import html.parser
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest
from PIL import Image

WINDOW_WIDTH = 1280
WINDOW_HEIGHT = 900
CHROMIUM_TIMEOUT_SECONDS = 90
# Colours of the light theme in web/static/app.css.
HEADER_BACKGROUND = (0x1D, 0x23, 0x2A)
READY_GREEN = (0x17, 0x80, 0x3D)
NOT_READY_RED = (0xB4, 0x23, 0x18)


def chromium_binary() -> str:
    configured = os.environ.get("CHROMIUM_BIN")
    for candidate in ([configured] if configured else []) + ["chromium", "chromium-browser"]:
        found = shutil.which(candidate)
        if found:
            return found
    pytest.fail("chromium not found: install Debian's `chromium` package or set CHROMIUM_BIN")


def run_chromium(*arguments: str) -> subprocess.CompletedProcess:
    """Headless Chromium with a fresh profile and nothing phoning home."""
    with tempfile.TemporaryDirectory(prefix="tracehouse-chromium-") as profile:
        command = [
            chromium_binary(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--window-size={WINDOW_WIDTH},{WINDOW_HEIGHT}",
            *arguments,
        ]
        completed = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=CHROMIUM_TIMEOUT_SECONDS,
            stdin=subprocess.DEVNULL,
        )
    assert completed.returncode == 0, f"chromium failed ({completed.returncode}):\n{completed.stderr[-4000:]}"
    return completed


class HomePage(html.parser.HTMLParser):
    """The facts a person reads off the home page: visible text, the readiness
    marker, and the endpoint table (row header -> cell text)."""

    def __init__(self):
        super().__init__()
        self.text_parts: list[str] = []
        self.ready_markers: list[tuple[str, str]] = []
        self.endpoint_rows: dict[str, str] = {}
        self._open_tags: list[tuple[str, dict]] = []
        self._row_header = ""
        self._row_cell = ""

    def handle_starttag(self, tag, attrs):
        self._open_tags.append((tag, dict(attrs)))
        if tag == "tr":
            self._row_header, self._row_cell = "", ""

    def handle_endtag(self, tag):
        while self._open_tags:
            open_tag, _ = self._open_tags.pop()
            if open_tag == tag:
                break
        if tag == "tr" and self._row_header:
            self.endpoint_rows[self._row_header.strip()] = self._row_cell.strip()

    def handle_data(self, data):
        self.text_parts.append(data)
        open_names = [tag for tag, _ in self._open_tags]
        if "th" in open_names:
            self._row_header += data
        elif "td" in open_names:
            self._row_cell += data
        if self._open_tags and self._open_tags[-1][0] == "span":
            css_class = self._open_tags[-1][1].get("class", "")
            if css_class in ("ok", "bad"):
                self.ready_markers.append((css_class, data.strip()))

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())


def count_pixels_near(
    image: Image.Image, colour: tuple[int, int, int], box: tuple[int, int, int, int], tolerance: int
) -> int:
    """Pixels inside `box` (left, top, right, bottom) within `tolerance` of `colour` in every channel."""
    region = image.crop(box).convert("RGB")
    return sum(
        count
        for count, pixel in region.getcolors(maxcolors=region.width * region.height)
        if all(abs(pixel[channel] - colour[channel]) <= tolerance for channel in range(3))
    )


@pytest.fixture(scope="module")
def artifacts_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    configured = os.environ.get("TRACEHOUSE_E2E_ARTIFACTS")
    directory = pathlib.Path(configured) if configured else tmp_path_factory.mktemp("artifacts")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def test_home_page_dom_shows_ready_and_the_otlp_endpoints(tracehouse, artifacts_dir):
    dom = run_chromium("--dump-dom", tracehouse.dashboard_url).stdout
    (artifacts_dir / "home.html").write_text(dom)

    page = HomePage()
    page.feed(dom)
    assert "Storage: ready" in page.text, page.text
    assert page.ready_markers == [("ok", "ready")]
    assert page.endpoint_rows.get("OTLP/gRPC") == tracehouse.otlp_grpc_url
    assert page.endpoint_rows.get("OTLP/HTTP") == tracehouse.otlp_http_url
    assert f"OTEL_EXPORTER_OTLP_ENDPOINT={tracehouse.otlp_http_url}" in page.text


def test_home_page_screenshot_shows_the_styled_page(tracehouse, artifacts_dir):
    screenshot = artifacts_dir / "home.png"
    screenshot.unlink(missing_ok=True)
    run_chromium(f"--screenshot={screenshot}", tracehouse.dashboard_url)
    print(f"screenshot: {screenshot}")

    with Image.open(screenshot) as image:
        image.load()
    assert image.format == "PNG"
    assert image.size == (WINDOW_WIDTH, WINDOW_HEIGHT)
    # The dark header band spans the page's top rows.
    header_band = (0, 0, WINDOW_WIDTH, 30)
    # (navigation text covers part of the band).
    assert count_pixels_near(image, HEADER_BACKGROUND, header_band, tolerance=2) > WINDOW_WIDTH * 20
    # "ready" is drawn in green, and nothing says "not ready" in red.
    below_header = (0, 50, WINDOW_WIDTH, WINDOW_HEIGHT)
    assert count_pixels_near(image, READY_GREEN, below_header, tolerance=12) > 10
    assert count_pixels_near(image, NOT_READY_RED, below_header, tolerance=12) == 0
