#!/usr/bin/env bash
# Installs the Debian packages that building and testing SUIT Studio needs, only those missing.
set -euo pipefail
pkgs=(gcc libc6-dev pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev
  libxi-dev libxxf86vm-dev xvfb xauth x11-utils imagemagick softhsm2 opensc openssl locales
  python3 python3-click python3-cryptography python3-intelhex python3-cbor2 python3-yaml xdotool)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get -o DPkg::Lock::Timeout=600 update -q >&2
  $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" >&2
fi
if ! command -v go >/dev/null 2>&1; then
  echo "install-deps: Go is not installed; install Go 1.26 or newer (https://go.dev/dl) and retry" >&2
  exit 1
fi
# Fyne reads the locale from LANG/LC_ALL; make sets en_US.UTF-8, so make sure it exists.
if command -v locale-gen >/dev/null 2>&1 && ! locale -a 2>/dev/null | grep -qi '^en_US\.utf-\?8$'; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  if [ -f /etc/locale.gen ]; then
    $sudo sed -i 's/^# *en_US.UTF-8 UTF-8/en_US.UTF-8 UTF-8/' /etc/locale.gen
    grep -q '^en_US.UTF-8 UTF-8' /etc/locale.gen || echo 'en_US.UTF-8 UTF-8' | $sudo tee -a /etc/locale.gen >/dev/null
  fi
  $sudo locale-gen >&2 || echo "install-deps: could not generate the en_US.UTF-8 locale (Fyne will fall back to English)" >&2
fi
