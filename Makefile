# SUIT Studio. `make run` opens the studio on a demo document; `make test` runs every test.
# Both install what is missing first (Debian/Ubuntu packages via apt-get, Go modules via the proxy).

SHELL := /bin/bash
export LANG := en_US.UTF-8
export LC_ALL := en_US.UTF-8
export PATH := $(PATH):/usr/local/go/bin
GO ?= go
FUZZTIME ?= 60s
BIN := bin

.PHONY: all deps build run test test-go test-long test-gui bench fuzz package vet clean demo-cli

all: build

deps:
	@scripts/install-deps.sh
	@$(GO) mod download

build: deps
	$(GO) build -o $(BIN)/suit ./cmd/suit
	$(GO) build -o $(BIN)/suit-studio .

# Opens the studio on a demo document, with the built-in device simulator.
run: deps
	@scripts/run-studio.sh

# A tour of the command line on the spec's examples (no display needed).
demo-cli: deps
	@scripts/demo-cli.sh

vet:
	$(GO) vet ./...

# Every test: unit, vector, CLI script, SoftHSM2, pty and Fyne-driver tests, then the real
# studio under Xvfb with a screenshot of each main view. With -short: the long sweeps (every
# mutation of every byte, every power-cut point, every lossy-link seed) run a sample; under
# 10 minutes on a 2-core machine. `make test-long` runs them complete.
test: deps vet test-go test-gui

test-go:
	$(GO) test -short -timeout 20m ./...

# Every test without -short: the complete sweeps (.ci/run adds it when time allows).
test-long: deps
	$(GO) test -timeout 45m ./...

test-gui:
	@scripts/gui-screenshot-test.sh

bench: deps
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./...

# Runs each fuzz target for $(FUZZTIME) (not part of CI).
fuzz: deps
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# A desktop bundle built by `fyne package` from FyneApp.toml.
package: deps
	@scripts/package.sh

clean:
	rm -rf $(BIN)
