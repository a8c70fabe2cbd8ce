#!/usr/bin/env bash
# Starts the real SUIT Studio under Xvfb and takes a screenshot of each main view (start, editor,
# inspector) in the default theme, and of the editor in the light theme (editor-light, through
# SUIT_STUDIO_THEME=light), then checks that each rendered: the expected size, and not blank (many colours,
# real contrast). Then it opens a 256 KiB envelope (an integrated payload) with
# `suit-studio -view inspector FILE` (inspector-256k): the window must appear and the view become
# ready within the time limit, and the window must stay within the screen. Exits non-zero otherwise. Every step has a timeout; the whole run takes well
# under three minutes. Screenshots are kept in $SCREENSHOT_DIR (default bin/screenshots).
set -euo pipefail
cd "$(dirname "$0")/.."
export LANG="${LANG:-en_US.UTF-8}"
GO="${GO:-go}"
OUT="${SCREENSHOT_DIR:-bin/screenshots}"
W=1280 H=900
for tool in Xvfb import identify convert xwininfo; do
  command -v "$tool" >/dev/null || { echo "gui-screenshot-test: $tool is missing; run scripts/install-deps.sh" >&2; exit 1; }
done
mkdir -p "$OUT" bin
timeout 300 "$GO" build -o bin/suit-studio .
timeout 300 "$GO" build -o bin/suit ./cmd/suit

work="$(mktemp -d)"
xvfb_pid="" app_pid=""
cleanup() {
  [ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null || true
  [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# A free display number.
disp=""
for n in $(seq 90 140); do
  if [ ! -e "/tmp/.X11-unix/X$n" ] && [ ! -e "/tmp/.X$n-lock" ]; then disp=":$n"; break; fi
done
[ -n "$disp" ] || { echo "gui-screenshot-test: no free X display number" >&2; exit 1; }
Xvfb "$disp" -screen 0 "${W}x${H}x24" -nolisten tcp >"$work/xvfb.log" 2>&1 &
xvfb_pid=$!
export DISPLAY="$disp"
for _ in $(seq 1 50); do xwininfo -root >/dev/null 2>&1 && break; sleep 0.1; done
xwininfo -root >/dev/null 2>&1 || { echo "gui-screenshot-test: Xvfb did not start:" >&2; cat "$work/xvfb.log" >&2; exit 1; }

# Fresh state and settings: no recent files, no recovery files, the default theme.
export XDG_STATE_HOME="$work/state" XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/data" HOME="$work/home"
export LIBGL_ALWAYS_SOFTWARE=1
mkdir -p "$HOME"

# A 256 KiB firmware image carried in the envelope (integrated payload), built with suit create.
mkdir -p "$work/big"
head -c 262144 /dev/urandom >"$work/big/fw.bin"
cat >"$work/big/big.yaml" <<'YAML'
manifest:
  sequence-number: 1
  components: [[h'00']]
  shared-sequence:
    - override-parameters:
        vendor-identifier: {domain: example.com}
        class-identifier: {vendor-domain: example.com, model: big-board}
        image-file: fw.bin
    - vendor-identifier: 15
    - class-identifier: 15
  install:
    - override-parameters:
        uri: "#firmware"
    - fetch: 2
    - image-match: 15
  validate:
    - image-match: 15
  invoke:
    - invoke: 2
integrated-payloads:
  - key: "#firmware"
    file: fw.bin
YAML
(cd "$work/big" && timeout 60 "$OLDPWD/bin/suit" create -o big.suit big.yaml) || { echo "gui-screenshot-test: suit create failed" >&2; exit 1; }
big_file="$work/big/big.suit"

fail=0
for shot in start editor inspector editor-light inspector-256k; do
  view="${shot%-light}" theme="" args=(-demo)
  [ "$shot" != "$view" ] && theme=light
  if [ "$shot" = inspector-256k ]; then view=inspector args=("$big_file"); fi
  png="$OUT/$shot.png"
  rm -f "$png"
  t0=$(date +%s%N)
  SUIT_STUDIO_THEME="$theme" SUIT_STUDIO_SCREENSHOT_VIEW="$view" timeout 60 bin/suit-studio "${args[@]}" >"$work/$shot.log" 2>&1 &
  app_pid=$!
  # Wait for the window to be mapped and the view to have its content (at most 40 s).
  mapped=""
  for _ in $(seq 1 400); do
    if grep -q "view $view ready" "$work/$shot.log" && xwininfo -root -tree 2>/dev/null | grep -q 'SUIT Studio"'; then mapped=1; break; fi
    kill -0 "$app_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$mapped" ]; then
    echo "FAIL $shot: the studio window did not appear, or its view never became ready" >&2
    sed 's/^/  /' "$work/$shot.log" >&2
    fail=1
  else
    child="$(pgrep -P "$app_pid" | head -1)"
    rss="$(awk '/^VmRSS/ {print int($2/1024) " MB"}' "/proc/${child:-$app_pid}/status" 2>/dev/null || true)"
    echo "     $shot: view ready $(( ($(date +%s%N) - t0) / 1000000 )) ms after start, resident memory ${rss:-unknown}"
    sleep 2 # let it draw the frames after the content arrived
    timeout 20 import -window root "$png"
    # The window stays within the screen (no view may grow it past the screen).
    ww="$(xwininfo -root -tree | grep -m1 'SUIT Studio' | sed -E 's/.* ([0-9]+)x([0-9]+)\+.*/\1/')"
    if [ -n "$ww" ] && [ "$ww" -gt "$W" ]; then echo "FAIL $shot: the window is $ww px wide, wider than the ${W}-px screen" >&2; fail=1; fi
  fi
  kill "$app_pid" 2>/dev/null || true
  wait "$app_pid" 2>/dev/null || true
  app_pid=""
  [ -f "$png" ] || { fail=1; continue; }
  size="$(identify -format '%wx%h' "$png")"
  colours="$(identify -format '%k' "$png")"
  # Standard deviation of the grey levels (0..1): a blank or single-colour screen is near 0.
  sd="$(convert "$png" -colorspace Gray -format '%[fx:standard_deviation]' info:)"
  # Part of the screen the window covers with something other than the background.
  ok=1
  [ "$size" = "${W}x${H}" ] || { echo "FAIL $shot: screenshot is $size, want ${W}x${H}" >&2; ok=0; }
  [ "$colours" -ge 16 ] || { echo "FAIL $shot: only $colours colours: nothing rendered" >&2; ok=0; }
  awk -v s="$sd" 'BEGIN { exit !(s > 0.05) }' || { echo "FAIL $shot: contrast $sd is too low: blank window" >&2; ok=0; }
  # The light theme must really be light: mostly bright pixels.
  if [ "$theme" = light ]; then
    mean="$(convert "$png" -colorspace Gray -format '%[fx:mean]' info:)"
    awk -v m="$mean" 'BEGIN { exit !(m > 0.6) }' || { echo "FAIL $shot: mean brightness $mean: the light theme is not applied" >&2; ok=0; }
  fi
  if [ "$ok" = 1 ]; then
    echo "ok   $shot: $png ($size, $colours colours, contrast $sd)"
  else
    fail=1
  fi
done
exit "$fail"
