#!/usr/bin/env bash
# Runs every check and test of Tracehouse, installing what is missing first:
# formatting, lints, unit and integration tests (against throwaway ClickHouse
# 18.16 servers), the SQL dialect check on ClickHouse 26.9 (chDB) and the
# end-to-end tests with the Python and Node.js OpenTelemetry SDKs and Chromium.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$TRACEHOUSE_ROOT"
# A run builds every target once: incremental caches would double the disk it needs.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

ensure_clickhouse
ensure_zookeeper
ensure_chromium
ensure_python_venv

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
log "cargo test"
cargo test --workspace
log "SQL dialect on ClickHouse 26.9 (chDB)"
"$PYTHON" tests/dialect/check_dialect.py
if [ -f tests/e2e/run.sh ]; then
    log "end-to-end tests"
    TRACEHOUSE_BIN="${TRACEHOUSE_BIN:-$TRACEHOUSE_ROOT/target/debug/tracehouse}" bash tests/e2e/run.sh
fi
log "all tests passed"
