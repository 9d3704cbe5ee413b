"""One `tracehouse serve` process for end-to-end tests.

Starts the real binary in managed mode (it runs its own ClickHouse) in a
throwaway data directory on free ports, reads the `listening <name> <url>`
lines it prints, and stops it the way an operator would: SIGTERM, then wait
for a clean exit. Standard library only, so the dashboard check can use it
without the SDK venv.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]

# Managed ClickHouse 18.16 can take a while to come up on a busy 2-core machine.
STARTUP_TIMEOUT_SECONDS = 180
SHUTDOWN_TIMEOUT_SECONDS = 120
# Batches flush within about a second; this bound only guards against hangs.
TRACE_WAIT_SECONDS = 20
POLL_INTERVAL_SECONDS = 0.2

LISTENER_NAMES = ("dashboard", "otlp-grpc", "otlp-http", "clickhouse")


def tracehouse_binary() -> pathlib.Path:
    """The binary under test: $TRACEHOUSE_BIN, else target/debug/tracehouse."""
    configured = os.environ.get("TRACEHOUSE_BIN")
    binary = pathlib.Path(configured) if configured else REPO_ROOT / "target" / "debug" / "tracehouse"
    if not binary.is_absolute():
        binary = REPO_ROOT / binary
    if not binary.is_file():
        raise FileNotFoundError(
            f"tracehouse binary not found at {binary}: build it with "
            "`cargo build -p tracehouse --bin tracehouse` or set TRACEHOUSE_BIN"
        )
    return binary


def child_environment() -> dict[str, str]:
    """The caller's environment without settings that would change what is tested."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("TRACEHOUSE_") and not name.startswith("OTEL_")
    }
    environment.setdefault("RUST_LOG", "info")
    # Plain text in the log file, which is read back on failures.
    environment["NO_COLOR"] = "1"
    return environment


class TracehouseProcess:
    """A running `tracehouse serve` and small HTTP helpers around it."""

    def __init__(
        self,
        binary: pathlib.Path,
        work_dir: pathlib.Path,
        extra_args: tuple[str, ...] = (),
        ca_file: pathlib.Path | None = None,
    ):
        self.work_dir = work_dir
        # Listeners serving TLS with a certificate of a private CA: trust it.
        self._tls = ssl.create_default_context(cafile=str(ca_file)) if ca_file else None
        self.data_dir = work_dir / "data"
        self.log_path = work_dir / "tracehouse.log"
        self.urls: dict[str, str] = {}
        self._stdout_lines: list[str] = []
        self._all_listening = threading.Event()
        self._log_file = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [
                str(binary),
                "serve",
                "--data-dir",
                str(self.data_dir),
                "--http-addr",
                "127.0.0.1:0",
                "--otlp-grpc-addr",
                "127.0.0.1:0",
                "--otlp-http-addr",
                "127.0.0.1:0",
                *extra_args,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log_file,
            env=child_environment(),
            text=True,
        )
        # Keep draining stdout so the child never blocks on a full pipe.
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            line = line.rstrip("\n")
            self._stdout_lines.append(line)
            parts = line.split(" ", 2)
            if len(parts) == 3 and parts[0] == "listening":
                self.urls[parts[1]] = parts[2]
                if all(name in self.urls for name in LISTENER_NAMES):
                    self._all_listening.set()

    def wait_until_ready(self) -> None:
        """Waits for every listening line, then for `/readyz` to answer 200."""
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not self._all_listening.wait(POLL_INTERVAL_SECONDS):
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"tracehouse exited with {self.process.returncode} before listening\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"tracehouse printed no listening lines in time\n{self.log_tail()}")
        while True:
            status, _ = self.get("/readyz")
            if status == 200:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"/readyz answered {status} until the deadline\n{self.log_tail()}")
            time.sleep(POLL_INTERVAL_SECONDS)

    @property
    def dashboard_url(self) -> str:
        """Base URL of the dashboard and query API, with a trailing slash."""
        return self.urls["dashboard"]

    @property
    def otlp_grpc_url(self) -> str:
        return self.urls["otlp-grpc"]

    @property
    def otlp_http_url(self) -> str:
        return self.urls["otlp-http"]

    def get(self, path: str) -> tuple[int, bytes]:
        """GET a path of the dashboard listener; returns status and body, errors included."""
        url = self.dashboard_url.rstrip("/") + path
        try:
            with urllib.request.urlopen(url, timeout=10, context=self._tls) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def get_json(self, path: str) -> tuple[int, object]:
        status, body = self.get(path)
        return status, json.loads(body)

    def wait_for_trace(self, trace_id: str, span_count: int) -> dict:
        """The trace once it has `span_count` spans; 404s are expected until the batch is written."""
        deadline = time.monotonic() + TRACE_WAIT_SECONDS
        while True:
            status, body = self.get_json(f"/api/v1/traces/{trace_id}")
            if status == 200 and len(body["spans"]) >= span_count:
                return body
            if status not in (200, 404):
                raise AssertionError(f"GET trace {trace_id} answered {status}: {body}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"trace {trace_id} did not reach {span_count} spans: {status} {body}")
            time.sleep(POLL_INTERVAL_SECONDS)

    def metrics(self) -> dict[str, float]:
        """Every sample of `/metrics`, keyed by name with labels as printed."""
        status, body = self.get("/metrics")
        if status != 200:
            raise AssertionError(f"/metrics answered {status}")
        samples = {}
        for line in body.decode().splitlines():
            if not line or line.startswith("#"):
                continue
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
        return samples

    def metric(self, sample: str) -> float:
        """One sample's value; 0 when the series does not exist yet."""
        return self.metrics().get(sample, 0.0)

    def clickhouse_count(self, sql: str) -> int:
        """The single number `sql` answers on the managed ClickHouse (database `tracehouse`)."""
        url = self.urls["clickhouse"].rstrip("/") + "/?database=tracehouse"
        request = urllib.request.Request(url, data=sql.encode(), method="POST")
        # The managed server has no password-less user: read as its read-only one.
        request.add_header("X-ClickHouse-User", "tracehouse_reader")
        request.add_header("X-ClickHouse-Key", self.clickhouse_password("tracehouse_reader"))
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.read().decode().strip() or 0)

    def clickhouse_password(self, user: str) -> str:
        """`user`'s password, from the managed server's credentials file."""
        credentials = (self.data_dir / "clickhouse" / "credentials").read_text()
        for line in credentials.splitlines():
            name, _, password = line.partition("=")
            if name == user:
                return password.strip()
        raise KeyError(f"no {user} in the credentials file")

    def log_tail(self, lines: int = 40) -> str:
        self._log_file.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(["--- tracehouse stderr (tail) ---", *text[-lines:]])

    def stop(self) -> int:
        """SIGTERM and wait for a graceful exit; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=SHUTDOWN_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise
        self._reader.join(timeout=5)
        self._log_file.close()
        return self.process.returncode


def start_tracehouse(
    work_dir: pathlib.Path | None = None,
    extra_args: tuple[str, ...] = (),
    ca_file: pathlib.Path | None = None,
) -> TracehouseProcess:
    """Starts the binary in `work_dir` (a new temp dir by default), with `extra_args` after
    `serve`'s own, and waits until it is ready (trusting `ca_file` when its listeners serve TLS)."""
    if work_dir is None:
        work_dir = pathlib.Path(tempfile.mkdtemp(prefix="tracehouse-e2e-"))
    server = TracehouseProcess(tracehouse_binary(), work_dir, extra_args, ca_file)
    try:
        server.wait_until_ready()
    except BaseException:
        server.stop()
        raise
    return server
