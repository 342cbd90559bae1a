# shellcheck shell=bash
# Shared setup for scripts/test.sh and scripts/demo.sh (sourced, not run).
#
# Why: both README commands must work on a fresh Debian machine with only the package
# registries reachable, so the venv, the editable install and (for tests) Debian's Chromium
# are created here when missing, and skipped when already in place.
# Never: download browsers from anywhere but apt (`playwright install` cannot reach its CDN),
# write secrets anywhere, or touch the user's Jupyter/IPython state when running tests.

RTW_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RTW_VENV="${RTW_VENV:-$RTW_REPO/.venv}"
RTW_PY="$RTW_VENV/bin/python"
export DEBIAN_FRONTEND=noninteractive
export PIP_DISABLE_PIP_VERSION_CHECK=1

rtw_log() { printf '\033[1m[rtwidgets]\033[0m %s\n' "$*" >&2; }

rtw_is_root() { [ "$(id -u)" = "0" ]; }

# apt-get install PACKAGES..., as root only; says what to run otherwise.
rtw_apt_install() {
  if ! rtw_is_root; then
    rtw_log "missing system packages: $*. Run: sudo apt-get install -y $*"
    return 1
  fi
  if [ -z "${RTW_APT_UPDATED:-}" ]; then
    apt-get update -q || return 1
    RTW_APT_UPDATED=1
  fi
  apt-get install -y -q --no-install-recommends "$@"
}

# Create the venv if missing and (re)install the project when pyproject.toml changed since
# the last install. EXTRAS is the pip extras spec, e.g. "test,dev" or "lab".
rtw_ensure_venv() {
  local extras="$1"
  local base_py="${PYTHON:-python3}"
  if [ ! -x "$RTW_PY" ]; then
    if ! command -v "$base_py" >/dev/null 2>&1; then
      rtw_apt_install python3 python3-venv python3-pip || return 1
    fi
    if ! "$base_py" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
      rtw_log "rtwidgets needs Python >= 3.10; $base_py is $("$base_py" -V 2>&1). Set PYTHON=python3.X"
      return 1
    fi
    rtw_log "creating $RTW_VENV"
    if ! "$base_py" -m venv "$RTW_VENV" 2>/dev/null; then
      # Debian splits venv/ensurepip into python3-venv.
      rm -rf "$RTW_VENV"
      rtw_apt_install python3-venv || return 1
      "$base_py" -m venv "$RTW_VENV" || return 1
    fi
  fi
  # One stamp per extras spec, holding the hash of pyproject.toml it was installed from;
  # "test,dev" includes "lab", so a test install also satisfies the demo.
  local hash
  hash="$(sha256sum "$RTW_REPO/pyproject.toml" | cut -d' ' -f1)"
  local stamp="$RTW_VENV/.rtwidgets-installed-${extras//,/-}"
  local full="$RTW_VENV/.rtwidgets-installed-test-dev"
  if "$RTW_PY" -c 'import rtwidgets' >/dev/null 2>&1 \
     && { [ "$(cat "$stamp" 2>/dev/null)" = "$hash" ] || [ "$(cat "$full" 2>/dev/null)" = "$hash" ]; }; then
    return 0
  fi
  rtw_log "installing rtwidgets[$extras] into $RTW_VENV"
  "$RTW_PY" -m pip install -q --upgrade pip || return 1
  "$RTW_PY" -m pip install -q -e "$RTW_REPO[$extras]" || return 1
  echo "$hash" > "$stamp"
}

# Debian's Chromium for the browser tests (Playwright drives it by executable_path).
rtw_ensure_chromium() {
  local chromium="${RTW_CHROMIUM:-/usr/bin/chromium}"
  if [ ! -x "$chromium" ]; then
    rtw_log "installing Debian's chromium for the browser tests"
    rtw_apt_install chromium fonts-liberation || return 1
  fi
}

# Put every piece of Jupyter / IPython / matplotlib / browser state under one temp dir, so
# tests never read or write $HOME. Sets RTW_TMP; the caller removes it.
rtw_temp_state() {
  RTW_TMP="$(mktemp -d -t rtwidgets-state.XXXXXX)"
  export RTW_TMP
  export JUPYTER_CONFIG_DIR="$RTW_TMP/jupyter-config"
  export JUPYTER_DATA_DIR="$RTW_TMP/jupyter-data"
  export JUPYTER_RUNTIME_DIR="$RTW_TMP/jupyter-runtime"
  export IPYTHONDIR="$RTW_TMP/ipython"
  export MPLCONFIGDIR="$RTW_TMP/matplotlib"
  export XDG_CACHE_HOME="$RTW_TMP/xdg-cache"
  export XDG_CONFIG_HOME="$RTW_TMP/xdg-config"
  export XDG_DATA_HOME="$RTW_TMP/xdg-data"
  export JUPYTER_PLATFORM_DIRS=1
  mkdir -p "$JUPYTER_CONFIG_DIR" "$JUPYTER_DATA_DIR" "$JUPYTER_RUNTIME_DIR" "$IPYTHONDIR" \
    "$MPLCONFIGDIR" "$XDG_CACHE_HOME" "$XDG_CONFIG_HOME" "$XDG_DATA_HOME"
}
