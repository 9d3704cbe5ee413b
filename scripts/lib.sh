# Shared helpers of scripts/run.sh and scripts/test.sh: install what is missing.
# Sourced, not run.

TRACEHOUSE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TRACEHOUSE_CACHE="${TRACEHOUSE_CACHE:-$TRACEHOUSE_ROOT/.cache}"
APT_UPDATED=""

log() { printf '==> %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        log "need root to run: $*"; return 1; fi
}

apt_install() {
    if [ -z "$APT_UPDATED" ]; then
        log "apt-get update"
        as_root apt-get update -qq
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# ClickHouse server binary: Debian's clickhouse-server (in /usr/sbin) or a `clickhouse` single binary.
ensure_clickhouse() {
    if command -v clickhouse-server >/dev/null || command -v clickhouse >/dev/null \
        || [ -x /usr/sbin/clickhouse-server ]; then
        return 0
    fi
    apt_install clickhouse-server
    # The package may start a system service on distributions with an init system; Tracehouse runs its own.
    as_root service clickhouse-server stop >/dev/null 2>&1 || true
}

# ZooKeeper for the cluster test (tests/tests/cluster.rs): Debian's package, run by the test itself
# (java on the jars in /usr/share/java), never as a system service.
ensure_zookeeper() {
    if [ -f /usr/share/java/zookeeper.jar ] && command -v java >/dev/null; then
        return 0
    fi
    apt_install zookeeper
    as_root service zookeeper stop >/dev/null 2>&1 || true
}

# Debian's Chromium, for the tests that look at pages in a real browser
# (some integration tests do, not only the end-to-end ones).
ensure_chromium() {
    if [ -n "${CHROMIUM_BIN:-}" ] || command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then
        return 0
    fi
    apt_install chromium
}

# A Python virtual environment for the test tools, in the cache directory.
ensure_python_venv() {
    local venv="$TRACEHOUSE_CACHE/python"
    if [ ! -x "$venv/bin/python" ]; then
        if ! python3 -m venv "$venv" >/dev/null 2>&1; then
            rm -rf "$venv"
            apt_install python3-venv
            python3 -m venv "$venv"
        fi
    fi
    local requirements="$TRACEHOUSE_ROOT/tests/requirements.txt"
    local stamp="$venv/.requirements.sha256"
    local wanted
    wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
        log "installing Python test requirements"
        "$venv/bin/pip" install -q --disable-pip-version-check --no-deps -r "$requirements"
        echo "$wanted" > "$stamp"
    fi
    PYTHON="$venv/bin/python"
    export PYTHON
}
