#!/usr/bin/env bash
# The README's first command: set up and open JupyterLab on the quickstart notebook.
#
#   bash scripts/demo.sh            # then open the printed URL
#   PORT=9999 bash scripts/demo.sh
#
# Why: a person should be one command away from watching a call. The quickstart starts the
# emulator inside the kernel, so nothing else needs to run and no API key is needed.
# JupyterLab listens on 127.0.0.1 only, with a fresh token printed in the URL; with no
# display (a server, a container) it opens no browser and the URL is what you copy.
set -euo pipefail

# shellcheck source=scripts/_setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/_setup.sh"
cd "$RTW_REPO"

rtw_ensure_venv "lab"

PORT="${PORT:-$("$RTW_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
TOKEN="$("$RTW_PY" -c 'import secrets; print(secrets.token_hex(24))')"
NOTEBOOK="notebooks/01_quickstart.ipynb"
URL="http://127.0.0.1:$PORT/lab/tree/$NOTEBOOK?token=$TOKEN"

ARGS=(--ip=127.0.0.1 "--port=$PORT" --ServerApp.port_retries=0
      "--IdentityProvider.token=$TOKEN" "--ServerApp.root_dir=$RTW_REPO")
rtw_is_root && ARGS+=(--allow-root)
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ "$(uname)" != "Darwin" ]; then
  ARGS+=(--no-browser)
fi

rtw_log "JupyterLab on the quickstart (Ctrl-C to stop):"
echo
echo "    $URL"
echo
exec "$RTW_VENV/bin/jupyter" lab "$NOTEBOOK" "${ARGS[@]}"
