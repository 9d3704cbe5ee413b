#!/usr/bin/env bash
# Builds Tracehouse and runs `tracehouse serve` with a managed local ClickHouse,
# installing ClickHouse first if it is missing. Extra arguments go to `serve`,
# e.g. `bash scripts/run.sh --retention-days 3`. Stop it with Ctrl-C.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$TRACEHOUSE_ROOT"

ensure_clickhouse
log "building tracehouse (release)"
cargo build --release --quiet --bin tracehouse
exec "${CARGO_TARGET_DIR:-$TRACEHOUSE_ROOT/target}/release/tracehouse" serve "$@"
