#!/usr/bin/env bash
# Installs what the tests and the quickstart need on a fresh Debian/Ubuntu machine (idempotent):
# redis-server (Orleans cluster mode tests), kubectl (manifest checks), fonts-dejavu-core (DejaVu Sans, embedded in
# the Experiments assembly at build time so report plots have text on machines without fonts), chromium (the
# dashboard's browser tests drive this system browser headless; nothing downloads one), tmux (a test reads the live
# watch screen) and the Brown corpus.
# With --build: only what building orch needs (npm for the dashboard's chart library, the font), as ./orch asks.
set -euo pipefail
BUILD_ONLY=0; [[ "${1:-}" == --build ]] && BUILD_ONLY=1
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

missing=()
command -v npm >/dev/null || missing+=(npm)
[[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]] || missing+=(fonts-dejavu-core)
if ((!BUILD_ONLY)); then
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v kubectl >/dev/null || missing+=(kubernetes-client)
  [[ -x /usr/bin/chromium ]] || missing+=(chromium)
  command -v tmux >/dev/null || missing+=(tmux)
fi
if ((${#missing[@]})); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
((BUILD_ONLY)) || "$ROOT/scripts/fetch-brown.sh"
