#!/usr/bin/env bash
# Validates the operations files without a Docker engine or network access to the stack:
#
#   1. promtool check rules   deploy/prometheus/alerts.yml
#   2. promtool test rules    deploy/prometheus/alerts.test.yml   (alert unit tests)
#   3. promtool check config  deploy/prometheus/prometheus.yml    (also re-checks the rules)
#   4. docker compose config -q, when a compose CLI is installed (it needs no engine)
#   5. deploy/validate/check-ops.mjs: docker-compose.yml, Dockerfile, Prometheus scrape jobs and
#      Grafana provisioning cross-checked; every dashboard panel has a datasource and queries
#      holdfast_ metrics listed in deploy/metrics.json; alert expressions likewise
#   6. promtool check rules on the dashboard's PromQL (each panel target as a recording rule)
#   7. prettier --check on the operations files, eslint on eslint.config.js and the checker
#
# promtool comes from Debian's `prometheus` package; when it is missing and this runs as root
# with apt-get, it is installed (set VALIDATE_OPS_NO_INSTALL=1 to forbid that).
# Exits non-zero when any step fails; every step runs either way.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

failures=()
passes=0
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

step() {
  # step NAME CMD...: runs CMD, shows its output indented, records the result.
  local name="$1"
  shift
  echo "== $name"
  if "$@" >"$TMP/out" 2>&1; then
    sed 's/^/   /' "$TMP/out"
    echo "   -> ok"
    passes=$((passes + 1))
  else
    local rc=$?
    sed 's/^/   /' "$TMP/out"
    echo "   -> FAILED (exit $rc)"
    failures+=("$name")
  fi
}

skip() {
  echo "== $1"
  echo "   -> skipped: $2"
}

# --- promtool ----------------------------------------------------------------------------------
ensure_promtool() {
  command -v promtool >/dev/null 2>&1 && return 0
  if [ "${VALIDATE_OPS_NO_INSTALL:-0}" = 1 ]; then
    echo "promtool not found and VALIDATE_OPS_NO_INSTALL=1" >&2
    return 1
  fi
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "promtool not found; install Debian's 'prometheus' package (needs root and apt-get)" >&2
    return 1
  fi
  echo "promtool not found: installing Debian's prometheus package" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >"$TMP/apt.log" 2>&1 &&
    apt-get install -y -qq --no-install-recommends prometheus >>"$TMP/apt.log" 2>&1 || {
    tail -n 20 "$TMP/apt.log" >&2
    return 1
  }
  command -v promtool >/dev/null 2>&1
}

if ensure_promtool; then
  echo "promtool: $(promtool --version 2>&1 | head -n 1)"
  step "promtool check rules deploy/prometheus/alerts.yml" \
    promtool check rules deploy/prometheus/alerts.yml
  step "promtool test rules deploy/prometheus/alerts.test.yml" \
    promtool test rules deploy/prometheus/alerts.test.yml
  step "promtool check config deploy/prometheus/prometheus.yml" \
    promtool check config deploy/prometheus/prometheus.yml
  have_promtool=1
else
  echo "== promtool"
  echo "   -> FAILED: promtool unavailable"
  failures+=("promtool available")
  have_promtool=0
fi

# --- compose CLI (optional: the checker below parses the file either way) ---------------------
if docker compose version >/dev/null 2>&1; then
  step "docker compose config -q" docker compose -f docker-compose.yml config -q
elif command -v docker-compose >/dev/null 2>&1 && docker-compose version >/dev/null 2>&1; then
  step "docker-compose config -q" docker-compose -f docker-compose.yml config -q
else
  skip "docker compose config -q" "no compose CLI here; docker-compose.yml is parsed and checked below"
fi

# --- structural checks ---------------------------------------------------------------------------
step "deploy/validate/check-ops.mjs (compose, Dockerfile, scrape jobs, alerts, dashboard)" \
  node deploy/validate/check-ops.mjs --promql-out "$TMP/dashboard-rules.yml"

if [ "$have_promtool" = 1 ] && [ -s "$TMP/dashboard-rules.yml" ]; then
  step "promtool check rules <dashboard PromQL>" promtool check rules "$TMP/dashboard-rules.yml"
else
  echo "== promtool check rules <dashboard PromQL>"
  echo "   -> FAILED: promtool or the extracted expressions are missing"
  failures+=("dashboard PromQL")
fi

# --- formatting of the operations files ---------------------------------------------------------
OPS_FILES=(
  eslint.config.js .prettierrc.json docker-compose.yml docs/operations.md
  deploy/metrics.json deploy/validate/check-ops.mjs
  deploy/prometheus/prometheus.yml deploy/prometheus/alerts.yml deploy/prometheus/alerts.test.yml
  deploy/grafana/provisioning/datasources/prometheus.yml
  deploy/grafana/provisioning/dashboards/holdfast.yml
  deploy/grafana/dashboards/holdfast.json
)
if [ -x node_modules/.bin/prettier ]; then
  step "prettier --check (operations files)" node_modules/.bin/prettier --check "${OPS_FILES[@]}"
else
  skip "prettier --check (operations files)" "node_modules/.bin/prettier missing (run pnpm install)"
fi

if [ -x node_modules/.bin/eslint ]; then
  step "eslint (config loads; lints the operations scripts)" \
    node_modules/.bin/eslint --max-warnings 0 eslint.config.js deploy/validate/check-ops.mjs
else
  skip "eslint" "node_modules/.bin/eslint missing (run pnpm install)"
fi

echo
if [ "${#failures[@]}" -eq 0 ]; then
  echo "validate-ops: all $passes steps passed"
  exit 0
fi
echo "validate-ops: ${#failures[@]} step(s) failed:"
printf '  - %s\n' "${failures[@]}"
exit 1
