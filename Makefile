# The two commands of the README: `make demo` (the flash-sale demo against the local Redis and
# MySQL) and `make test` (types, lint, every test). Both bootstrap what a fresh machine lacks.
PNPM_VERSION := 9.15.9
export TURBO_TELEMETRY_DISABLED := 1
export DO_NOT_TRACK := 1

.PHONY: setup services demo test test-only lint check-types bench fleet

setup:
	@pnpm --version 2>/dev/null | grep -q '^9\.' || npm install -g --loglevel=error pnpm@$(PNPM_VERSION)
	pnpm install --frozen-lockfile

services:
	@bash scripts/ensure-services.sh

demo: setup services
	pnpm demo

test: setup services
	bash scripts/ensure-chromium.sh
	pnpm check-types
	pnpm lint
	bash scripts/validate-ops.sh
	pnpm test

test-only: services
	pnpm test

bench: setup services
	pnpm bench

fleet: setup services
	pnpm fleet
