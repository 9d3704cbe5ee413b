"""Shared pytest fixtures: one real `tracehouse serve` per test session."""

from __future__ import annotations

import shutil

import pytest

from tracehouse_process import TracehouseProcess, start_tracehouse


@pytest.fixture(scope="session")
def tracehouse(tmp_path_factory: pytest.TempPathFactory) -> TracehouseProcess:
    work_dir = tmp_path_factory.mktemp("tracehouse")
    server = start_tracehouse(work_dir)
    yield server
    exit_code = server.stop()
    if exit_code != 0:
        pytest.fail(f"tracehouse exited with {exit_code} after SIGTERM\n{server.log_tail()}")
    # Keep the log for a failed run; the ClickHouse data is never worth keeping.
    shutil.rmtree(server.data_dir, ignore_errors=True)
