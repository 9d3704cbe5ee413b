"""User dashboards (`--dashboards-dir`) in headless Chromium: a Tracehouse of
its own, started with a directory holding a valid dashboard and a refused
one, is sent a small scenario over OTLP/HTTP. The dashboard index, the valid
dashboard and the refused one's error page must render their content, run
the page script under the Content-Security-Policy and leave the console
empty. Screenshots go to target/screenshots/.
"""

from __future__ import annotations

import html
import json
import pathlib
import time
import urllib.request

import pytest

from test_dashboard_home import run_chromium
from test_dashboard_pages import SCREENSHOTS, console_lines, group, resource, span
from tracehouse_process import start_tracehouse

HOSTILE_FUNCTION = "<svg onload=alert(1)>"
REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]
# Every chart kind; shared with tests/tests/pages/user_dashboards.rs.
TEAM = (REPO_ROOT / "tests" / "dashboards" / "team.yaml").read_text()


@pytest.fixture(scope="module")
def with_dashboards(tmp_path_factory):
    directory = tmp_path_factory.mktemp("dashboards")
    (directory / "team.yaml").write_text(TEAM)
    (directory / "broken.yaml").write_text(TEAM.replace("name: team", "name: broken").replace("chart: table", "chart: pie"))
    server = start_tracehouse(tmp_path_factory.mktemp("tracehouse-dashboards"),
                              ("--dashboards-dir", str(directory)))
    try:
        start = time.time_ns() - 20 * 60 * 1_000_000_000
        spans = [span(f"ee01{index:028x}", index, start + index * 60 * 1_000_000_000, 30 + index, index == 0,
                      "declined" if index == 2 else None) for index in range(8)]
        hostile = [span(f"ee02{index:028x}", index, start + index * 60 * 1_000_000_000, 12, False) for index in range(3)]
        body = {"resourceSpans": [group(resource("checkout", "checkout", 512, "1"), spans),
                                  group(resource("evil</script>", HOSTILE_FUNCTION, 128, "1"), hostile)]}
        request = urllib.request.Request(f"{server.otlp_http_url}/v1/traces", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
        deadline = time.monotonic() + 30
        while True:
            status, answer = server.get_json("/api/v1/functions")
            if status == 200 and answer["totals"]["invocations"] >= 11:
                break
            assert time.monotonic() < deadline, f"functions not ingested: {answer}"
            time.sleep(0.3)
        yield server
    finally:
        exit_code = server.stop()
        assert exit_code == 0, f"tracehouse exited with {exit_code}\n{server.log_tail()}"


PAGES = [
    ("dashboards", "/dashboards", ["Dashboards", "Team <board>", "refused", "broken.yaml, line 39"]),
    ("user-dashboard", "/dashboards/team",
     ["Team <board>", "Invocations", "vs previous window", "Checkout latency", "Cost by function",
      "Most expensive functions", "Every function", "checkout", HOSTILE_FUNCTION,
      'function "nobody" not found']),
    ("declared-overview", "/", ["Invocations", "Projected monthly", "Cost by function", "Most expensive functions"]),
    ("declared-function", "/functions/checkout", ["Versions", "Latency, cold against warm", "Cold-start rate"]),
    ("refused-dashboard", "/dashboards/broken",
     ["Dashboard file refused", "broken.yaml, line", "panels[6].chart: unknown variant `pie`"]),
]


@pytest.mark.parametrize("name,path,expected", PAGES, ids=[page[0] for page in PAGES])
def test_user_dashboard_pages_render_with_a_quiet_console(with_dashboards, name, path, expected):
    url = with_dashboards.dashboard_url.rstrip("/") + path
    completed = run_chromium("--enable-logging=stderr", "--v=0", "--dump-dom", url)
    dom = completed.stdout
    for text_expected in expected:
        assert text_expected in html.unescape(dom), f"{name}: {text_expected!r} missing"
    assert 'class="js"' in dom, f"{name}: the page script did not run"
    assert "<svg onload" not in dom and "<board>" not in dom, f"{name}: telemetry left unescaped"
    assert console_lines(completed.stderr) == [], f"{name}: console not empty"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    screenshot = SCREENSHOTS / f"{name}.png"
    screenshot.unlink(missing_ok=True)
    run_chromium(f"--screenshot={screenshot}", url)
    assert screenshot.stat().st_size > 10_000, f"{name}: screenshot looks empty"


def test_a_refused_file_is_logged_at_start_with_file_line_and_field(with_dashboards):
    log = with_dashboards.log_path.read_text(errors="replace")
    refused = [line for line in log.splitlines() if "dashboard file refused" in line]
    assert len(refused) == 1, log[-4000:]
    assert "broken.yaml, line 39, column 12: panels[6].chart: unknown variant `pie`" in refused[0], refused[0]
