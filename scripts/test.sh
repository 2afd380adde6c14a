#!/usr/bin/env bash
# Runs every test of the solution against local PostgreSQL and RabbitMQ (installed and started when
# needed) and ends with one line: "N passed, N failed[, N skipped]".
#
# Usage: scripts/test.sh [extra dotnet test arguments]      e.g. --filter "FullyQualifiedName~Tenancy"
#   INSIGHTS_TEST_POSTGRES, INSIGHTS_TEST_POSTGRES_STORE, INSIGHTS_TEST_RABBITMQ, INSIGHTS_TEST_RABBITMQ_MANAGEMENT
#     point the tests at other servers (INSIGHTS_TEST_POSTGRES_STORE: a second PostgreSQL server, the tenant store of
#     the scale-out tests; locally a second cluster, 'store2' on port 5433); when all are set to non-local servers, set
#     INSIGHTS_TEST_SKIP_SERVICES=1 to skip starting the local ones.
#   INSIGHTS_TEST_PROMETHEUS    the prometheus binary the tests start (default: Debian's, installed when missing)
#   INSIGHTS_TEST_REDOCLY       the Redocly CLI that lints the OpenAPI document (default: @redocly/cli, pinned, installed
#     with npm into .tools/redocly)
#   INSIGHTS_TEST_CHROMIUM      the browser of the Swagger sign-in test (default: Debian's chromium, installed when
#     missing; when it cannot be installed or started, that test is skipped and says why)
# Before the .NET tests it runs `promtool test rules` on deploy/prometheus/ and renders the Kubernetes example overlay
# with `kubectl kustomize` (the tests check what it renders).
# The exit code is that of dotnet test, or 1 when those checks failed.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/lib/services.sh
source scripts/lib/services.sh

dotnet_env
if [ "${INSIGHTS_TEST_SKIP_SERVICES:-0}" != 1 ]; then
  ensure_postgres
  # A second server for tenant stores: a cluster of its own, another port.
  INSIGHTS_PG_PORT=5433 INSIGHTS_PG_CLUSTER=store2 ensure_postgres
  ensure_rabbitmq
fi
if [ -z "${INSIGHTS_TEST_PROMETHEUS:-}" ]; then
  ensure_prometheus
fi
if [ -z "${INSIGHTS_TEST_CHROMIUM:-}" ]; then
  ensure_chromium || echo "warning: no chromium; the browser test will be skipped" >&2
fi
if [ -z "${INSIGHTS_TEST_REDOCLY:-}" ]; then
  ensure_redocly || echo "warning: no Redocly CLI; the OpenAPI lint test will fail" >&2
fi

export INSIGHTS_TEST_POSTGRES="${INSIGHTS_TEST_POSTGRES:-Host=127.0.0.1;Port=5432;Database=insights;Username=insights;Password=insights}"
export INSIGHTS_TEST_POSTGRES_STORE="${INSIGHTS_TEST_POSTGRES_STORE:-Host=127.0.0.1;Port=5433;Database=insights;Username=insights;Password=insights}"
export INSIGHTS_TEST_RABBITMQ="${INSIGHTS_TEST_RABBITMQ:-amqp://guest:guest@127.0.0.1:5672/}"
export INSIGHTS_TEST_RABBITMQ_MANAGEMENT="${INSIGHTS_TEST_RABBITMQ_MANAGEMENT:-http://guest:guest@127.0.0.1:15672}"
export INSIGHTS_TEST_PROMETHEUS="${INSIGHTS_TEST_PROMETHEUS:-${INSIGHTS_PROMETHEUS_RESOLVED:-$(command -v prometheus || true)}}"
export INSIGHTS_TEST_CHROMIUM="${INSIGHTS_TEST_CHROMIUM:-${INSIGHTS_CHROMIUM_RESOLVED:-$(command -v chromium || true)}}"
export INSIGHTS_TEST_REDOCLY="${INSIGHTS_TEST_REDOCLY:-${INSIGHTS_REDOCLY_RESOLVED:-}}"

results="$repo/TestResults"
rm -rf "$results"
mkdir -p "$results"

# Sums one attribute of the <Counters .../> element over the given trx files.
counter_sum() {
  local attribute=$1 file value total=0
  shift
  for file in "$@"; do
    value=$(tr '\n\r' '  ' <"$file" |
      grep -o '<Counters [^>]*>' |
      grep -o " $attribute=\"[0-9]*\"" |
      head -n 1 |
      tr -dc '0-9' || true)
    total=$((total + ${value:-0}))
  done
  printf '%s\n' "$total"
}

# Prints "N passed, N failed[, N skipped]" for the trx files of this run; fails when there are none.
summarize() {
  local -a trx=()
  local file total executed passed failed skipped
  while IFS= read -r -d '' file; do
    trx+=("$file")
  done < <(find "$results" -type f -name '*.trx' -print0)
  [ "${#trx[@]}" -gt 0 ] || return 1

  total=$(counter_sum total "${trx[@]}")
  executed=$(counter_sum executed "${trx[@]}")
  passed=$(counter_sum passed "${trx[@]}")
  failed=$(($(counter_sum failed "${trx[@]}") + $(counter_sum error "${trx[@]}") +
    $(counter_sum timeout "${trx[@]}") + $(counter_sum aborted "${trx[@]}")))
  skipped=$((total - executed))
  if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    echo "error: dotnet test exited with code $status without a failed test (a build error or a test host crash; see above)" >&2
  fi
  if [ "$skipped" -gt 0 ]; then
    printf '%s passed, %s failed, %s skipped\n' "$passed" "$failed" "$skipped"
  else
    printf '%s passed, %s failed\n' "$passed" "$failed"
  fi
}

status=0
checks=0

# The alert rules and their unit tests (promtool ships beside prometheus).
promtool=$(dirname "$INSIGHTS_TEST_PROMETHEUS")/promtool
[ -x "$promtool" ] || promtool=$(command -v promtool || true)
if [ -z "$promtool" ]; then
  echo "error: promtool not found (Debian package prometheus)" >&2
  checks=1
elif ! "$promtool" check rules deploy/prometheus/insights-rules.yml ||
  ! "$promtool" test rules deploy/prometheus/insights-rules.test.yml; then
  echo "error: the alert rules in deploy/prometheus/ fail promtool" >&2
  checks=1
fi

# The Kubernetes manifests must render; K8sManifestTests checks the rendered objects against the service.
export INSIGHTS_TEST_K8S_RENDERED="$results/k8s-example.yaml"
if ! kubectl kustomize deploy/k8s/overlays/example >"$INSIGHTS_TEST_K8S_RENDERED"; then
  echo "error: kubectl kustomize deploy/k8s/overlays/example failed" >&2
  rm -f "$INSIGHTS_TEST_K8S_RENDERED"
  checks=1
fi

dotnet test Insights.sln -c Release \
  --results-directory "$results" \
  --logger "trx;LogFilePrefix=insights" \
  "$@" || status=$?

if ! summarize; then
  if [ "$status" -eq 0 ]; then
    echo "error: dotnet test produced no test results under $results" >&2
    status=1
  fi
fi
if [ "$status" -eq 0 ] && [ "$checks" -ne 0 ]; then
  status=1
fi
exit "$status"
