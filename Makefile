# vigil: two commands matter.
#   make run   set everything up on a fresh machine and serve the app on the embedded default
#   make test  install what the tests need and run every test (unit, integration, golden, browser)
# Every step skips what is already installed, so a second run is quick.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

CARGO_LEPTOS_VERSION := 0.3.6
# The wasm-bindgen CLI must match the library version locked in Cargo.lock exactly.
WASM_BINDGEN_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/ {getline; gsub(/[^0-9.]/, "", $$0); print; exit}' Cargo.lock)
ADDR ?= 127.0.0.1:3000
# cargo-leptos's own release profile is fat LTO in one codegen unit: minutes of
# single-threaded optimisation for a tool that here only drives cargo,
# wasm-bindgen and a small CSS/JS minify. Installed tools build without it.
FAST_INSTALL := CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
# cargo-leptos unoptimised: its compile is the largest step of a cold `make
# test` (9.5 min as above, 4.1 min at opt-level 0), and a build with it takes
# as long as with the optimised one, its time being cargo's and rustc's
# (measured in docs/benchmarks.md, "CI time").
LEPTOS_INSTALL := $(FAST_INSTALL) CARGO_PROFILE_RELEASE_OPT_LEVEL=0
APT_STAMP := target/.apt-test-packages
export PATH := $(HOME)/.cargo/bin:$(PATH)
# Tests that need ClickHouse fail instead of skipping when the server is missing.
export VIGIL_REQUIRE_CLICKHOUSE := 1
# The PostgreSQL state tests run (they start their own server) and fail if it cannot start.
export VIGIL_REQUIRE_POSTGRES := 1

.PHONY: run test build build-linted setup setup-test lint unit golden e2e e2e-run bench screenshots clean-data

## make run: build the release site and serve it on http://$(ADDR)
run: setup build
	./target/release/vigil serve --addr $(ADDR) --site-root target/site

# scripts/wasm-opt-passthrough comes first on PATH: it says why wasm-opt is skipped.
LEPTOS_BUILD := PATH="$(CURDIR)/scripts/wasm-opt-passthrough:$$PATH" cargo leptos build --release
build: setup
	$(LEPTOS_BUILD)

# The same build for `make test`, linted as it compiles: clippy-driver
# compiles the workspace's crates (the browser's hydrate build of `app`
# among them, which no test compiles), so no separate wasm32 clippy pass
# compiles every dependency a second time (docs/benchmarks.md, "CI time").
build-linted: setup
	$(CLIPPY_AS_RUSTC) $(LEPTOS_BUILD)

## make test: every test, with whatever it needs installed first. Each step
## runs as its own `make STEP` and the wall time of each is printed at the end.
test:
	scripts/timed_steps.sh setup setup-test lint unit golden build-linted e2e-run

setup:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	@if cargo leptos --version 2>/dev/null | grep -q "$(CARGO_LEPTOS_VERSION)"; then :; else \
		echo "installing cargo-leptos $(CARGO_LEPTOS_VERSION) (compiles for several minutes, once)"; \
		$(LEPTOS_INSTALL) cargo install cargo-leptos@$(CARGO_LEPTOS_VERSION) --locked; fi
	@if wasm-bindgen --version 2>/dev/null | grep -q " $(WASM_BINDGEN_VERSION)$$"; then :; else \
		echo "installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION) (matches Cargo.lock)"; \
		$(FAST_INSTALL) cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --force; fi

# Debian packages the tests use: a real ClickHouse server, PostgreSQL (the shared
# state's tests start their own server), Chromium for the browser tests, openssl (the
# https tests make their own CA), and pandas (from PyPI) for the golden reference bands.
setup-test: $(APT_STAMP) end2end/node_modules/.installed
	@cargo nextest --version >/dev/null 2>&1 || $(FAST_INSTALL) cargo install cargo-nextest --locked
	@python3 -c 'import pandas' 2>/dev/null || python3 -m pip install --quiet 'pandas>=2'

$(APT_STAMP):
	@command -v clickhouse-server >/dev/null && command -v chromium >/dev/null && command -v openssl >/dev/null && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q clickhouse-server chromium openssl postgresql; }
	@mkdir -p target && touch $@

end2end/node_modules/.installed: end2end/package.json end2end/package-lock.json
	cd end2end && npm ci --no-audit --no-fund
	@touch $@

# Clippy's lints run as the code compiles: the native ones in `make unit`
# (below), the browser's in `make build-linted`; here the formatting.
lint:
	cargo fmt --all --check

# clippy-driver compiles the workspace's own crates while the tests build, as
# `cargo clippy` has it do for `cargo check` (the same two variables): every
# lint of `clippy --all-targets -D warnings` fails this step before a test
# runs, and a cold machine compiles the tree once instead of a check pass and
# then a build (docs/benchmarks.md, "CI time"). Dependencies build with rustc.
CLIPPY_AS_RUSTC := RUSTC_WORKSPACE_WRAPPER=clippy-driver CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__

# cargo-nextest runs the test binaries side by side (.config/nextest.toml);
# it skips doctests, which cargo test runs after it, and the benches, which
# are only compiled (and so linted).
unit:
	$(CLIPPY_AS_RUSTC) cargo test --workspace --benches --no-run
	$(CLIPPY_AS_RUSTC) cargo nextest run --workspace
	$(CLIPPY_AS_RUSTC) cargo test --workspace --doc

# The golden bands come from pandas itself; regenerate them and fail on any drift.
golden:
	python3 scripts/golden_iqr.py
	git diff --exit-code -- detect/tests/golden

# The browser tests run the release build, the same artefact `make run` serves.
e2e: build e2e-run

# The browser tests alone, on the site `make build` left.
e2e-run:
	cd end2end && VIGIL_BIN=../target/release/vigil VIGIL_SITE_ROOT=../target/site node --test --test-concurrency=1 tests/

## make bench: throughput figures (see docs/benchmarks.md)
bench: setup-test
	scripts/bench_iqr_vs_pandas.sh 1000000 5 5,96,672 5
	scripts/bench_iqr_vs_pandas.sh 1000000 5 96,672 3 0.1
	scripts/bench_detect_csv_vs_pandas.sh 1000000 3 5
	scripts/bench_detectors.sh
	cargo bench -p detect --bench live_check
	cargo test --release -p server --test alerting_bench -- --ignored --nocapture --test-threads 1
	cargo test --release -p server --test load_bench -- --ignored --nocapture
	cargo test --release -p server --test failover_bench -- --ignored --nocapture --test-threads 1
	cargo test --release -p server --test burst_bench -- --ignored --nocapture
	cargo test --release -p server --test slices_bench -- --ignored --nocapture --test-threads 1
	VIGIL_BENCH_ROUNDS=1 cargo test --release -p server --test clickhouse_slices_bench -- --ignored --nocapture --test-threads 1
	cargo run --release -p server --bin vigil -- eval --experiments --runs 20 --aa-runs 0 --users 50000
	$(MAKE) build && cd end2end && VIGIL_BIN=../target/release/vigil VIGIL_SITE_ROOT=../target/site node bench/perf_budget.mjs
	scripts/bench_load.sh
	$(MAKE) screenshots

## make screenshots: every page at 375 and 1280 px, with and without data, as PNGs in target/screenshots/
screenshots: setup-test build
	cd end2end && VIGIL_BIN=../target/release/vigil VIGIL_SITE_ROOT=../target/site node bench/screenshots.mjs

clean-data:
	rm -rf data
