#!/usr/bin/env bash
# Runs the service locally in Development: PostgreSQL on 127.0.0.1:5432 (installed and started when
# needed), the in-memory bus, and development tokens signed with the local development key.
#
# Usage: scripts/run.sh [extra host arguments]
#   INSIGHTS_URL   address to listen on (default http://127.0.0.1:5080)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/lib/services.sh
source scripts/lib/services.sh

dotnet_env
ensure_postgres

url=${INSIGHTS_URL:-http://127.0.0.1:5080}

export ASPNETCORE_ENVIRONMENT=Development
export ConnectionStrings__Insights="Host=127.0.0.1;Port=5432;Database=insights;Username=insights;Password=insights"
export Bus__Transport=InMemory
export Authentication__RequireHttpsMetadata=false

cat <<BANNER

Insights (Development, in-memory bus) on $url
  Swagger UI:   $url/swagger
  Dev token:    scripts/dev-token.sh --admin            (or --tenant <id>)
                dotnet run --project src/Insights.Api -- dev-token --admin   (or --tenant <id>)
                In Swagger: Authorize, paste the token.
  Stop:         Ctrl+C

BANNER

exec dotnet run --project src/Insights.Api -c Release --no-launch-profile -- --urls "$url" "$@"
