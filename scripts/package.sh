#!/usr/bin/env bash
# Builds a desktop bundle of SUIT Studio with `fyne package`, from FyneApp.toml (name, app ID,
# icon assets/icon.png, version). Output: bin/package/. The fyne tool is run at the version of
# Fyne in go.mod (its modules come through the Go module proxy on first use).
set -euo pipefail
cd "$(dirname "$0")/.."
export LANG="${LANG:-en_US.UTF-8}"
GO="${GO:-go}"
FYNE_TOOL="fyne.io/fyne/v2/cmd/fyne@v2.7.1"
os="${PACKAGE_OS:-$("$GO" env GOOS)}"
out="bin/package"
mkdir -p "$out"
version="$(sed -n 's/^Version *= *"\(.*\)"/\1/p' FyneApp.toml)"
echo "package: building SUIT Studio $version for $os with $FYNE_TOOL" >&2
# fyne package -release counts the Build number up in FyneApp.toml; the committed file stays as
# it is, so that packaging does not leave the tree modified.
saved="$(mktemp)"
cp FyneApp.toml "$saved"
trap 'cp "$saved" FyneApp.toml; rm -f "$saved"' EXIT
# fyne package writes its bundle into the current directory; move it to $out.
before="$(ls -1)"
timeout 900 "$GO" run "$FYNE_TOOL" package -os "$os" -release
comm -13 <(echo "$before") <(ls -1) | while IFS= read -r f; do
  mv -f -- "$f" "$out/"
  echo "package: $out/$f"
done
