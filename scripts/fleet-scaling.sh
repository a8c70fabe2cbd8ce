#!/bin/sh
# Measures how 'suit serve' scales: N simulated devices ('suit sim fleet') update from it over
# CoAP and HTTP on 127.0.0.1; prints devices updated per second and the server process's peak
# resident memory (VmHWM), a fresh server per protocol. Usage: scripts/fleet-scaling.sh [N ...]   (default 1 10 100 1000)
set -eu
cd "$(dirname "$0")/.."
V=../shared/spec/vectors
go build -o bin/suit ./cmd/suit
W=$(mktemp -d)
SRV=
trap '[ -n "$SRV" ] && kill $SRV 2>/dev/null; rm -rf "$W"' EXIT
mkdir "$W/srv"
head -c 16384 /dev/urandom > "$W/srv/fw.bin"
printf '%-6s %6s %10s %10s %14s\n' proto N seconds devices/s server-VmHWM
SRV=
for proto in coap http; do
  # a fresh server per protocol, so that its peak memory is that protocol's
  [ -n "$SRV" ] && kill $SRV && wait $SRV 2>/dev/null || true
  rm -f "$W/addrs"
  bin/suit serve --http 127.0.0.1:0 --coap 127.0.0.1:0 --addr-file "$W/addrs" "$W/srv" > "$W/serve.log" 2>&1 &
  SRV=$!
  for i in $(seq 50); do [ -s "$W/addrs" ] && break; sleep 0.1; done
  HTTP=$(grep http "$W/addrs"); COAP=$(grep coap "$W/addrs")
  base=$HTTP; [ $proto = coap ] && base=$COAP
  cat > "$W/fw.yaml" <<YAML
manifest:
  sequence-number: 1
  components: [[h'00']]
  shared-sequence:
    - override-parameters:
        vendor-identifier: {domain: example.com}
        class-identifier: {vendor-domain: example.com, model: sensor-v2}
        image-file: srv/fw.bin
    - vendor-identifier: 15
    - class-identifier: 15
  install:
    - override-parameters:
        uri: "$base/fw.bin"
    - fetch: 15
    - image-match: 15
  validate:
    - image-match: 15
  invoke:
    - invoke: 15
YAML
  bin/suit create --force -o "$W/fw.unsigned" "$W/fw.yaml"
  bin/suit sign --force --key $V/private_key.pem -o "$W/srv/fw-$proto.suit" "$W/fw.unsigned"
  for n in ${*:-1 10 100 1000}; do
    out=$(bin/suit sim fleet --devices "$n" --server "$base/fw-$proto.suit" --report - \
      --trust $V/public_key.pem --vendor-domain example.com --model sensor-v2 | tail -1)
    secs=$(echo "$out" | sed -n 's/.* in \([0-9.]*\) s .*/\1/p')
    rate=$(echo "$out" | sed -n 's/.*(\([0-9.]*\) devices updated per second).*/\1/p')
    hwm=$(grep VmHWM /proc/$SRV/status | awk '{print $2 " " $3}')
    printf '%-6s %6s %10s %10s %14s\n' $proto $n "$secs" "$rate" "$hwm"
  done
done
