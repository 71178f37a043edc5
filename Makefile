# Task runner for the few commands beyond the README's two. `make help` lists them.
PG_URL ?= postgres://postgres@127.0.0.1:5432/postgres

.PHONY: help run test test-pg lint coverage bench fuzz fmt ci

help:
	@echo "run      serve on the embedded SQLite default (loyalty.db)"
	@echo "test     the test suite on SQLite (no database server needed)"
	@echo "test-pg  the test suite on SQLite and PostgreSQL (LOYALTY_TEST_POSTGRES_URL, default $(PG_URL))"
	@echo "lint     rustfmt check and clippy with warnings as errors"
	@echo "coverage line coverage of the whole suite (needs cargo-llvm-cov), failing under 78%"
	@echo "bench    the benchmark harness against PostgreSQL and SQLite (BENCH_SECONDS per run)"
	@echo "fuzz     schemathesis against /api/openapi.json on SQLite and PostgreSQL: no 5xx (FUZZ_MAX_EXAMPLES)"
	@echo "fmt      format the code"
	@echo "ci       what CI runs (.ci/run)"

run:
	cargo run --release -- serve

test:
	cargo test --workspace

test-pg:
	LOYALTY_TEST_POSTGRES_URL=$${LOYALTY_TEST_POSTGRES_URL:-$(PG_URL)} cargo test --workspace -- --include-ignored

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

coverage:
	LOYALTY_TEST_POSTGRES_URL=$${LOYALTY_TEST_POSTGRES_URL:-$(PG_URL)} cargo llvm-cov --workspace --fail-under-lines 78 -- --include-ignored

bench:
	bash bench/run.sh

fuzz:
	LOYALTY_TEST_POSTGRES_URL=$${LOYALTY_TEST_POSTGRES_URL:-$(PG_URL)} bash fuzz/run.sh

fmt:
	cargo fmt --all

ci:
	bash .ci/run
