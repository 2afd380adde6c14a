#!/usr/bin/env bash
# Prints a development token (and nothing else) on standard output; messages go to standard error.
# Valid only against a host running in Development (scripts/run.sh), which trusts the same local key.
#
# Usage: scripts/dev-token.sh --admin
#        scripts/dev-token.sh --tenant <id> [--minutes N]
#        scripts/dev-token.sh --role operator|viewer
#   e.g. curl -H "Authorization: Bearer $(scripts/dev-token.sh --admin)" http://127.0.0.1:5080/...
#
# Runs the built host assembly directly; it builds first only when the assembly is missing or older than
# anything it is built from.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/lib/services.sh
source scripts/lib/services.sh

dotnet_env

export ASPNETCORE_ENVIRONMENT=Development
export ConnectionStrings__Insights="Host=127.0.0.1;Port=5432;Database=insights;Username=insights;Password=insights"
export Bus__Transport=InMemory
export Authentication__RequireHttpsMetadata=false
# Any log line goes to standard error, so standard output holds only the token.
export Logging__Console__LogToStandardErrorThreshold=Trace

if [ "$#" -eq 0 ]; then
  echo "usage: scripts/dev-token.sh --admin | --role admin|operator|viewer | --tenant <id> [--minutes N]" >&2
  exit 2
fi

assembly=src/Insights.Api/bin/Release/net10.0/Insights.Api.dll

# Prints the first file the assembly is built from that is newer than it, if any.
newer_source() {
  find src migrations appsettings.json global.json Directory.Build.props Directory.Packages.props \
    \( -name bin -o -name obj \) -prune -o -type f -newer "$assembly" -print -quit 2>/dev/null
}

if [ ! -f "$assembly" ] || [ -n "$(newer_source)" ]; then
  echo "Building src/Insights.Api (Release)..." >&2
  if ! dotnet build src/Insights.Api -c Release -nologo -v quiet >&2; then
    echo "error: build of src/Insights.Api failed" >&2
    exit 1
  fi
  # A build that finds the assembly up to date (or a change that does not reach it, such as appsettings.json)
  # leaves its time alone; touching it keeps the next run from building again.
  touch "$assembly"
fi

exec dotnet "$assembly" dev-token "$@"
