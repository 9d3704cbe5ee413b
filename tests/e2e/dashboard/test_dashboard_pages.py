"""Every dashboard page in headless Chromium against a real Tracehouse filled
with a known scenario over OTLP/HTTP: a function whose second version is
slower, cold starts, a function with hostile names, and a chain whose
consumer fails. Each page must render its content, run its script under the
Content-Security-Policy (the DOM then carries the `js` class), and leave the
browser console empty: a CSP violation, a failed asset or a script error
shows up there. Screenshots go to target/screenshots/.
"""

from __future__ import annotations

import json
import pathlib
import time
import urllib.parse
import urllib.request

import pytest

from test_dashboard_home import chromium_binary, run_chromium  # noqa: F401  (shared launcher)

REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]
SCREENSHOTS = REPO_ROOT / "target" / "screenshots"
MS = 1_000_000
SECOND = 1_000_000_000
HOSTILE_FUNCTION = "<svg onload=alert(1)>"
PRODUCER_TRACE = "aaaa0000000000000000000000000001"
CONSUMER_TRACE = "bbbb0000000000000000000000000002"


def text(key: str, value: str) -> dict:
    return {"key": key, "value": {"stringValue": value}}


def resource(service: str, function: str, memory_mb: int, version: str) -> dict:
    return {"attributes": [
        text("service.name", service), text("faas.name", function), text("cloud.provider", "aws"),
        text("cloud.region", "eu-west-1"), text("host.arch", "x86_64"), text("faas.version", version),
        {"key": "faas.max_memory", "value": {"intValue": str(memory_mb)}},
        text("faas.instance", f"{function}-{version}"),
    ]}


def span(trace: str, index: int, start: int, duration_ms: int, cold: bool, error: str | None = None) -> dict:
    body = {
        "traceId": trace, "spanId": f"{index + 1:016x}", "name": "handle request", "kind": 2,
        "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + duration_ms * MS),
        "attributes": [{"key": "faas.coldstart", "value": {"boolValue": cold}},
                       text("note", "</script><script>alert(2)</script>")],
    }
    if error:
        body["status"] = {"code": 2, "message": error}
    return body


def group(res: dict, spans: list[dict]) -> dict:
    return {"resource": res, "scopeSpans": [{"scope": {"name": "e2e"}, "spans": spans}]}


def scenario(now: int) -> dict:
    start = now - 40 * 60 * SECOND
    groups = []
    for version, offset, warm_ms, prefix in (("v1", 0, 20, "dd01"), ("v2", 900, 90, "dd02")):
        spans = [span(f"{prefix}{index:028x}", index, start + (offset + index * 60) * SECOND,
                      warm_ms + (350 if index == 0 else index % 4 * 3), index == 0)
                 for index in range(12)]
        groups.append(group(resource("resize-image", "resize-image", 1024, version), spans))
    hostile = [span(f"cccc{index:028x}", index, start + index * 90 * SECOND, 15, False,
                    "<img src=x onerror=alert(1)>" if index % 2 == 0 else None) for index in range(6)]
    groups.append(group(resource("evil</script>", HOSTILE_FUNCTION, 128, "1"), hostile))
    chain_start = start + 1800 * SECOND
    producer = {"traceId": PRODUCER_TRACE, "spanId": "00000000000000a1", "name": "POST /orders", "kind": 2,
                "startTimeUnixNano": str(chain_start), "endTimeUnixNano": str(chain_start + 30 * MS)}
    consumer = {"traceId": CONSUMER_TRACE, "spanId": "00000000000000b1", "name": "charge", "kind": 5,
                "startTimeUnixNano": str(chain_start + 530 * MS), "endTimeUnixNano": str(chain_start + 600 * MS),
                "links": [{"traceId": PRODUCER_TRACE, "spanId": "00000000000000a1"}],
                "status": {"code": 2, "message": "card declined"}}
    groups.append(group(resource("orders", "orders", 256, "1"), [producer]))
    groups.append(group(resource("billing", "billing", 256, "1"), [consumer]))
    return {"resourceSpans": groups}


@pytest.fixture(scope="module")
def filled(tracehouse):
    request = urllib.request.Request(
        f"{tracehouse.otlp_http_url}/v1/traces",
        data=json.dumps(scenario(time.time_ns())).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
    deadline = time.monotonic() + 30
    while True:
        status, body = tracehouse.get_json("/api/v1/functions")
        if status == 200 and body["totals"]["invocations"] >= 32:
            break
        assert time.monotonic() < deadline, f"functions not ingested: {body}"
        time.sleep(0.3)
    tracehouse.wait_for_trace(CONSUMER_TRACE, 1)
    return tracehouse


PAGES = [
    ("overview", "/", ["Most expensive functions", "resize-image", "Cold starts", "Invocations and errors"]),
    ("functions", "/functions?sort=cost_usd&dir=desc", ["resize-image", "Per million", "orders"]),
    ("function", "/functions/resize-image", ["Versions", "v2", "slower", "were cold starts", "Latency, cold against warm"]),
    ("hostile-function", "/functions/" + urllib.parse.quote(HOSTILE_FUNCTION, safe=""), [HOSTILE_FUNCTION]),
    ("traces", "/traces?status=error", ["billing", "charge"]),
    ("trace", f"/traces/{CONSUMER_TRACE}", ["Waterfall", "card declined", "Links to", PRODUCER_TRACE]),
    ("chain", f"/chains/{CONSUMER_TRACE}", ["Root cause", "card declined", "waited 500 ms", "Critical path"]),
    ("broken-chains", "/chains/broken", ["Broken chains"]),
    ("map", "/map", ["Map", "Shade nodes by"]),
    ("not-found", "/functions/nothing-here", ["Function not found"]),
]


def console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.mark.parametrize("name,path,expected", PAGES, ids=[page[0] for page in PAGES])
def test_page_renders_its_content_with_a_quiet_console(filled, name, path, expected):
    url = filled.dashboard_url.rstrip("/") + path
    completed = run_chromium("--enable-logging=stderr", "--v=0", "--dump-dom", url)
    dom = completed.stdout
    for text_expected in expected:
        assert text_expected in html_text(dom), f"{name}: {text_expected!r} missing"
    assert 'class="js"' in dom, f"{name}: the page script did not run"
    assert "<svg onload" not in dom and "<img src=x" not in dom, f"{name}: telemetry left unescaped"
    assert console_lines(completed.stderr) == [], f"{name}: console not empty"


@pytest.mark.parametrize("name,path", [(page[0], page[1]) for page in PAGES], ids=[page[0] for page in PAGES])
def test_page_screenshot(filled, name, path):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    screenshot = SCREENSHOTS / f"{name}.png"
    screenshot.unlink(missing_ok=True)
    url = filled.dashboard_url.rstrip("/") + path
    run_chromium(f"--screenshot={screenshot}", url)
    assert screenshot.stat().st_size > 10_000, f"{name}: screenshot looks empty"


def html_text(dom: str) -> str:
    """The DOM with entities decoded, so escaped telemetry reads as the user sees it."""
    import html

    return html.unescape(dom)


def test_overview_in_the_dark_theme(filled):
    """With a dark colour scheme the page background turns dark (prefers-color-scheme)."""
    from PIL import Image

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    screenshot = SCREENSHOTS / "overview-dark.png"
    screenshot.unlink(missing_ok=True)
    run_chromium("--force-dark-mode", "--blink-settings=preferredColorScheme=0", f"--screenshot={screenshot}",
                 filled.dashboard_url)
    with Image.open(screenshot) as image:
        background = image.convert("RGB").getpixel((5, image.height - 5))
    assert max(background) < 60, f"background {background} is not dark"
