#!/usr/bin/env bash
# End-to-end tests of Tracehouse with the real OpenTelemetry SDKs for Python
# and Node.js, and a headless-Chromium check of every dashboard page.
#
#   tests/e2e/run.sh
#
# Installs what is missing (apt: chromium, clickhouse-server, python3-venv;
# a Python venv in tests/e2e/.venv; npm ci in tests/e2e/node), builds the
# tracehouse binary unless TRACEHOUSE_BIN names one, then runs pytest (Python
# SDK), node --test (JS SDK) and pytest (dashboard in Chromium). Every suite
# runs even if an earlier one failed; the exit status is non-zero if any did.
# A second run reuses everything installed and only rebuilds what changed.
#
# Environment: TRACEHOUSE_BIN (binary to test; built when unset),
# CARGO_TARGET_DIR (honoured when building), TRACEHOUSE_E2E_ARTIFACTS
# (where logs and the screenshot go; a new temp dir when unset),
# CHROMIUM_BIN (browser to use; `chromium` when unset).
set -euo pipefail

E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$E2E_DIR/../.." && pwd)"
VENV_DIR="$E2E_DIR/.venv"
NODE_DIR="$E2E_DIR/node"
started_at=$(date +%s)

log() { printf '\n==> %s\n' "$*"; }
die() { printf 'e2e: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root to run: $*"
  fi
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

have_clickhouse() {
  command -v clickhouse-server >/dev/null 2>&1 || command -v clickhouse >/dev/null 2>&1 ||
    [ -x /usr/sbin/clickhouse-server ] || [ -x /usr/bin/clickhouse ]
}

have_chromium() {
  [ -n "${CHROMIUM_BIN:-}" ] || command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1
}

# --- system packages: only what is absent, one apt-get update if any is -----
command -v python3 >/dev/null 2>&1 || die "python3 is required (3.11 or newer)"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
  die "python3 $(python3 -c 'import platform; print(platform.python_version())') is too old: the pinned packages need 3.11 or newer"
command -v node >/dev/null 2>&1 || die "node is required (20.6 or newer)"
command -v npm >/dev/null 2>&1 || die "npm is required"
node -e 'const [major, minor] = process.versions.node.split(".").map(Number);
  process.exit(major > 20 || (major === 20 && minor >= 6) ? 0 : 1)' ||
  die "node $(node --version) is too old: the OpenTelemetry JS SDK needs 20.6 or newer"

missing_packages=()
have_chromium || missing_packages+=(chromium)
have_clickhouse || missing_packages+=(clickhouse-server)
# Debian's python3 lacks ensurepip (so venv creation) without python3-venv.
if [ ! -x "$VENV_DIR/bin/python" ] && ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  missing_packages+=("python3-venv")
fi
if [ ${#missing_packages[@]} -gt 0 ]; then
  log "installing ${missing_packages[*]} with apt-get"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing_packages[@]}" >/dev/null
fi

# --- Python venv with the pinned SDK ---------------------------------------
requirements="$E2E_DIR/python/requirements.txt"
venv_stamp="$VENV_DIR/.requirements.sha256"
if [ ! -x "$VENV_DIR/bin/python" ] || ! "$VENV_DIR/bin/python" -c 'import sys' >/dev/null 2>&1; then
  log "creating $VENV_DIR"
  rm -rf "$VENV_DIR"
  python3 -m venv "$VENV_DIR"
fi
if [ "$(cat "$venv_stamp" 2>/dev/null)" != "$(sha256_of "$requirements")" ]; then
  log "installing Python packages from python/requirements.txt"
  "$VENV_DIR/bin/python" -m pip install --disable-pip-version-check --no-input -q -r "$requirements"
  sha256_of "$requirements" >"$venv_stamp"
fi

# --- Node packages from the committed lockfile -----------------------------
npm_stamp="$NODE_DIR/node_modules/.package-lock.sha256"
if [ "$(cat "$npm_stamp" 2>/dev/null)" != "$(sha256_of "$NODE_DIR/package-lock.json")" ]; then
  log "installing Node packages with npm ci"
  (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error)
  sha256_of "$NODE_DIR/package-lock.json" >"$npm_stamp"
fi

# --- the binary under test -------------------------------------------------
if [ -z "${TRACEHOUSE_BIN:-}" ]; then
  log "building tracehouse"
  (cd "$REPO_ROOT" && cargo build --quiet -p tracehouse --bin tracehouse)
  target_dir="${CARGO_TARGET_DIR:-target}"
  case "$target_dir" in /*) ;; *) target_dir="$REPO_ROOT/$target_dir" ;; esac
  TRACEHOUSE_BIN="$target_dir/debug/tracehouse"
fi
[ -x "$TRACEHOUSE_BIN" ] || die "TRACEHOUSE_BIN=$TRACEHOUSE_BIN is not an executable"
TRACEHOUSE_BIN="$(cd "$(dirname "$TRACEHOUSE_BIN")" && pwd)/$(basename "$TRACEHOUSE_BIN")"
export TRACEHOUSE_BIN

ARTIFACTS="${TRACEHOUSE_E2E_ARTIFACTS:-$(mktemp -d /tmp/tracehouse-e2e-artifacts.XXXXXX)}"
mkdir -p "$ARTIFACTS"
export TRACEHOUSE_E2E_ARTIFACTS="$ARTIFACTS"
# Keep the work tree free of __pycache__ directories.
export PYTHONDONTWRITEBYTECODE=1

chromium_command="${CHROMIUM_BIN:-$(command -v chromium || command -v chromium-browser)}"
log "versions"
echo "tracehouse: $TRACEHOUSE_BIN"
echo "python: $("$VENV_DIR/bin/python" --version 2>&1), node: $(node --version), npm: $(npm --version)"
# Debian's chromium wrapper script prints shell noise on stderr; only stdout matters.
echo "chromium: $("$chromium_command" --version 2>/dev/null || echo unknown)"

# --- the suites --------------------------------------------------------------
failed_suites=()
summary_lines=()
total_passed=0
total_failed=0

# Runs one suite, teeing its output to a log; never stops the script.
run_suite() {
  local name="$1"
  shift
  log "$name"
  local status=0
  ("$@") 2>&1 | tee "$ARTIFACTS/$name.log" || status=$?
  [ "$status" -eq 0 ] || failed_suites+=("$name (exit $status)")
}

# Counts from a pytest JUnit report: "<passed> <failed>".
pytest_counts() {
  "$VENV_DIR/bin/python" - "$1" <<'PY'
import sys, xml.etree.ElementTree as tree
try:
    root = tree.parse(sys.argv[1]).getroot()
except (OSError, tree.ParseError):
    print(0, 1)
    raise SystemExit
suites = [root] if root.tag == "testsuite" else list(root)
total = sum(int(s.get("tests", 0)) for s in suites)
failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
print(total - failed - skipped, failed)
PY
}

run_pytest_suite() {
  local name="$1" directory="$2"
  run_suite "$name" "$VENV_DIR/bin/python" -m pytest -c "$E2E_DIR/pytest.ini" --rootdir "$E2E_DIR" \
    --junitxml "$ARTIFACTS/$name.xml" "$E2E_DIR/$directory"
  local counts
  counts=$(pytest_counts "$ARTIFACTS/$name.xml")
  total_passed=$((total_passed + ${counts% *}))
  total_failed=$((total_failed + ${counts#* }))
  summary_lines+=("$name: $(grep -E '^=+ .*(passed|failed|error|no tests ran).* =+$' "$ARTIFACTS/$name.log" | tail -1)")
}

run_pytest_suite python-sdk python
run_suite node-sdk bash -c "cd '$NODE_DIR' && exec node --test --test-reporter=spec otlp_sdk.test.js sending_data.test.js otlp_auth.test.js"
node_passed=$(sed -n 's/^ℹ pass \([0-9]*\)$/\1/p' "$ARTIFACTS/node-sdk.log" | tail -1)
node_failed=$(sed -n 's/^ℹ fail \([0-9]*\)$/\1/p' "$ARTIFACTS/node-sdk.log" | tail -1)
total_passed=$((total_passed + ${node_passed:-0}))
total_failed=$((total_failed + ${node_failed:-1}))
summary_lines+=("node-sdk: $(grep -E '^ℹ (tests|pass|fail) [0-9]+$' "$ARTIFACTS/node-sdk.log" | tr '\n' ' ')")
run_pytest_suite dashboard dashboard

# --- summary -----------------------------------------------------------------
log "summary ($(($(date +%s) - started_at)) s; logs and screenshot in $ARTIFACTS)"
printf '%s\n' "${summary_lines[@]}"
if [ -f "$ARTIFACTS/home.png" ]; then
  echo "dashboard screenshot: $ARTIFACTS/home.png"
fi
if [ ${#failed_suites[@]} -gt 0 ] && [ "$total_failed" -eq 0 ]; then
  total_failed=${#failed_suites[@]}
fi
echo "e2e: $total_passed passed, $total_failed failed"
if [ ${#failed_suites[@]} -gt 0 ]; then
  printf 'failed suite: %s\n' "${failed_suites[@]}"
  exit 1
fi
