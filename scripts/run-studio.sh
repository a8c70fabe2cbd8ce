#!/usr/bin/env bash
# Builds SUIT Studio and opens it on the demo document: a manifest for the embedded demo firmware
# (vendor example.com, model demo-board), ready to sign. With no signing key configured yet, the
# demo makes a P-256 demo key in the studio's state folder, so that "Send to simulator" (Ctrl+R)
# signs the demo and the built-in simulated device applies it. Installs nothing: `make run` runs
# scripts/install-deps.sh first. Extra arguments go to the studio (e.g. a file to open instead).
set -euo pipefail
cd "$(dirname "$0")/.."
export LANG="${LANG:-en_US.UTF-8}"
GO="${GO:-go}"
mkdir -p bin
"$GO" build -o bin/suit-studio .
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "run-studio: no display (DISPLAY and WAYLAND_DISPLAY are unset); run it in a desktop session, or under xvfb-run to try it headless" >&2
  exit 1
fi
if [ "$#" -gt 0 ]; then
  exec bin/suit-studio "$@"
fi
exec bin/suit-studio -demo
