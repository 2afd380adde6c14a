#!/usr/bin/env bash
# Prints a development token (and nothing else) on standard output; messages go to standard error.
# Valid only against a host running in Development (scripts/run.sh), which trusts the same local key.
#
# Usage: scripts/dev-token.sh --admin
#        scripts/dev-token.sh --tenant <id> [--minutes N]
#   e.g. curl -H "Authorization: Bearer $(scripts/dev-token.sh --admin)" http://127.0.0.1:5080/...
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
  echo "usage: scripts/dev-token.sh --admin | --tenant <id> [--minutes N]" >&2
  exit 2
fi

# Build first with its output on standard error, then run the verb without building.
if ! dotnet build src/Insights.Api -c Release -nologo -v quiet >&2; then
  echo "error: build of src/Insights.Api failed" >&2
  exit 1
fi
exec dotnet run --project src/Insights.Api -c Release --no-build --no-launch-profile -- dev-token "$@"
