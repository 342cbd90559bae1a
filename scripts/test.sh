#!/usr/bin/env bash
# The README's second command: set up and run every check, browser tests included.
#
#   bash scripts/test.sh            # everything
#   bash scripts/test.sh -k console # extra arguments go to the tests/ pytest run
#
# Why one script: CI (`.ci/run`) and people run exactly the same thing. It creates .venv if
# missing, installs rtwidgets[test,dev] when pyproject.toml changed, installs Debian's
# Chromium when /usr/bin/chromium is missing (as root), then runs ruff, mypy --strict,
# lint-imports (the layer contracts in pyproject.toml [tool.importlinter]),
# pytest over tests/ (the browser tests start JupyterLab and the emulator themselves), and
# nbval over notebooks/. Every step runs even if an earlier one failed; the exit status is
# non-zero if any failed, and a pytest run that collects nothing (exit 5) is a failure.
# Jupyter, IPython, matplotlib and browser state live in a temp dir, never in $HOME.
set -uo pipefail

# shellcheck source=scripts/_setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/_setup.sh"
cd "$RTW_REPO" || exit 2

rtw_ensure_venv "test,dev" || { rtw_log "setup failed: could not prepare $RTW_VENV"; exit 2; }
rtw_ensure_chromium || { rtw_log "setup failed: Chromium is needed for the browser tests"; exit 2; }
rtw_temp_state
if [ -z "${RTW_KEEP_TMP:-}" ]; then
  trap 'rm -rf "$RTW_TMP"' EXIT
else
  rtw_log "keeping test state in $RTW_TMP"
fi

# Tests talk to the local emulator only: a real key in the environment must neither reach
# api.openai.com nor change what the real-API notebook records (its cells skip without one).
unset OPENAI_API_KEY OPENAI_WEBHOOK_SECRET OPENAI_BASE_URL OPENAI_ORG_ID OPENAI_PROJECT_ID

BIN="$RTW_VENV/bin"
declare -a SUMMARY=()
FAILED=0

# run_step NAME COMMAND... : run, time, record; pytest's exit 5 (nothing collected) fails.
run_step() {
  local name="$1"; shift
  rtw_log "── $name: $*"
  local start end rc
  start=$(date +%s)
  "$@" </dev/null
  rc=$?
  end=$(date +%s)
  local verdict="ok"
  if [ "$rc" -eq 5 ] && [[ "$name" == pytest* ]]; then
    verdict="FAILED (no tests collected)"
  elif [ "$rc" -ne 0 ]; then
    verdict="FAILED (exit $rc)"
  fi
  [ "$verdict" = "ok" ] || FAILED=1
  SUMMARY+=("$(printf '%-18s %-28s %5ss' "$name" "$verdict" "$((end - start))")")
}

T0=$(date +%s)
run_step "ruff" "$BIN/ruff" check .
run_step "mypy" "$BIN/mypy" --strict rtwidgets
run_step "import-linter" "$BIN/lint-imports" --no-cache
run_step "pytest tests" "$BIN/pytest" tests -ra "$@"
run_step "pytest notebooks" "$BIN/pytest" -ra --nbval --nbval-current-env notebooks/ \
  --nbval-sanitize-with tests/notebooks/sanitize.cfg --nbval-cell-timeout=180

echo
rtw_log "summary ($(( $(date +%s) - T0 ))s total)"
for line in "${SUMMARY[@]}"; do echo "  $line"; done
if [ "$FAILED" -ne 0 ]; then
  rtw_log "FAILED"
  exit 1
fi
rtw_log "all checks passed"
