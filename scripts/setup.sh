#!/usr/bin/env bash
# Installs what the tests and the quickstart need on a fresh Debian/Ubuntu machine (idempotent):
# redis-server (Orleans cluster mode tests), kubectl (manifest checks), fonts-dejavu-core (DejaVu Sans, embedded in
# the Experiments assembly at build time so report plots have text on machines without fonts), chromium (the
# dashboard's browser tests drive this system browser headless; nothing downloads one) and the Brown corpus.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v kubectl >/dev/null || missing+=(kubernetes-client)
command -v npm >/dev/null || missing+=(npm)
[[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]] || missing+=(fonts-dejavu-core)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
if ((${#missing[@]})); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
"$ROOT/scripts/fetch-brown.sh"
