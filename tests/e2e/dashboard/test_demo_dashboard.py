"""What a newcomer sees after `tracehouse serve --demo` (the README's first
command with `--demo`), in headless Chromium: within a minute, the overview
shows at least five functions across providers and architectures with
costs, cold starts and errors, and a firing alert; a function page shows the
deploy that made it slower; the chain and broken-chain pages have content.
The overview and function screenshots are the README's
(docs/images/overview.png and function.png are copies of them).
"""

from __future__ import annotations

import html
import pathlib
import time

import pytest

from test_dashboard_home import run_chromium
from tracehouse_process import start_tracehouse

REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]
SCREENSHOTS = REPO_ROOT / "target" / "screenshots"
READY_WITHIN_SECONDS = 60


def demo_is_ready(server) -> bool:
    """Five functions of several providers and architectures, and a firing alert."""
    _, listed = server.get_json("/api/v1/functions?from=now-3h")
    functions = listed.get("functions", [])
    providers = {function["provider"] for function in functions}
    archs = {function["arch"] for function in functions}
    _, alerts = server.get_json("/api/v1/alerts")
    firing = [rule for rule in alerts.get("snapshot", {}).get("rules", []) if rule["state"] == "firing"]
    return len(functions) >= 5 and len(providers) >= 3 and len(archs) >= 2 and bool(firing)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    server = start_tracehouse(tmp_path_factory.mktemp("demo"), ("--demo",))
    started = time.monotonic()
    while not demo_is_ready(server):
        if time.monotonic() - started > READY_WITHIN_SECONDS:
            tail = server.log_tail()
            server.stop()
            pytest.fail(f"the demo did not fill the dashboard within {READY_WITHIN_SECONDS} s\n{tail}")
        time.sleep(1)
    yield server
    assert server.stop() == 0, server.log_tail()


def page_text(server, path: str) -> str:
    completed = run_chromium("--dump-dom", server.dashboard_url.rstrip("/") + path)
    return html.unescape(completed.stdout)


def screenshot(server, path: str, name: str, height: int) -> pathlib.Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / f"{name}.png"
    target.unlink(missing_ok=True)
    run_chromium(f"--window-size=1440,{height}", f"--screenshot={target}", server.dashboard_url.rstrip("/") + path)
    assert target.stat().st_size > 50_000, f"{name}: screenshot looks empty"
    return target


def test_the_overview_answers_a_newcomer(demo):
    text = page_text(demo, "/?from=now-3h")
    for expected in ("Most expensive functions", "charge-payment", "Cold starts", "Firing alerts", "payment errors"):
        assert expected in text, f"overview: {expected!r} missing"
    assert "No alert is firing." not in text
    screenshot(demo, "/?from=now-3h", "demo-overview", 1660)


def test_a_function_page_shows_the_deploy_that_made_it_slower(demo):
    text = page_text(demo, "/functions/charge-payment?from=now-3h")
    for expected in ("Versions", "slower", "were cold starts"):
        assert expected in text, f"function page: {expected!r} missing"
    screenshot(demo, "/functions/charge-payment?from=now-3h", "demo-function", 1880)


def test_broken_chains_are_listed(demo):
    text = page_text(demo, "/chains/broken?from=now-3h")
    assert "Broken chains" in text
    assert "No broken hand-offs" not in text, "the demo loses messages: the page must list some"


def a_failed_chain_of_several_traces(server) -> str | None:
    """A trace id whose chain spans several traces and names a root cause."""
    _, found = server.get_json("/api/v1/traces?from=now-3h&status=error&limit=50")
    for summary in found.get("traces", []):
        _, chain = server.get_json(f"/api/v1/chains/{summary['trace_id']}?from=now-3h")
        if len(chain.get("trace_ids", [])) >= 2 and chain.get("root_cause"):
            return summary["trace_id"]
    return None


def test_a_failed_chain_spans_several_traces_and_names_its_root_cause(demo):
    trace_id = a_failed_chain_of_several_traces(demo)
    assert trace_id, "the demo's failures cascade down the chain: one must span several traces"
    text = page_text(demo, f"/chains/{trace_id}?from=now-3h")
    for expected in ("Root cause", "Critical path", "Graph"):
        assert expected in text, f"chain page: {expected!r} missing"
