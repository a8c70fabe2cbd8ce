#!/usr/bin/env bash
# A tour of the suit command line on the spec's official examples: inspect, verify, re-create,
# sign and sever. Needs ../shared/spec/vectors beside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
V=../shared/spec/vectors
[ -d "$V" ] || { echo "demo-cli: the spec vectors are not at $V" >&2; exit 1; }
go build -o bin/suit ./cmd/suit
S=bin/suit
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
step $S show --key $V/public_key.pem $V/example2.hex
step $S show --source $V/example0.hex
$S show --source $V/example0.hex > "$T/example0.yaml"
step $S create -o "$T/example0.suit" "$T/example0.yaml"
step $S sign --key $V/private_key.pem -o "$T/example0.signed.suit" "$T/example0.suit"
step $S verify --key $V/public_key.pem "$T/example0.signed.suit"
step $S sever -o "$T/example2.severed.suit" $V/example2.hex
step $S verify --key $V/public_key.pem "$T/example2.severed.suit"
