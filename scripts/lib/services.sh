# shellcheck shell=bash
#
# Local services for development and CI: PostgreSQL and RabbitMQ on 127.0.0.1.
#
# Source this file, then call:
#   ensure_postgres   install (Debian packages) and start PostgreSQL on 127.0.0.1:5432, with a login
#                     role 'insights' (password 'insights', CREATEDB, CREATEROLE) and a database 'insights';
#                     max_connections >= 300 and max_wal_size >= 4 GB
#   ensure_rabbitmq   install and start RabbitMQ (node rabbit@localhost) with the management plugin,
#                     AMQP on 127.0.0.1:5672 and the management API on 127.0.0.1:15672 (guest/guest)
#   ensure_prometheus install Debian's Prometheus (the `prometheus` and `promtool` binaries); nothing is
#                     started: the tests start their own Prometheus with a configuration of their own
#   ensure_chromium   install Debian's Chromium for the browser tests (Playwright drives it; Playwright's own
#                     browser download is never used)
#   dotnet_env        quiet .NET CLI settings (no telemetry, no banner)
#
# Works on a bare Debian machine without systemd, as root (or with sudo). Every function is
# idempotent: when everything is already up it only checks and prints one line per service.
# Safe under `set -euo pipefail`; the caller's shell options are left alone.
#
# Tunables (environment):
#   INSIGHTS_PG_PORT              PostgreSQL port (default 5432)
#   INSIGHTS_PG_CLUSTER           name of the cluster created when none serves that port (default main)
#   INSIGHTS_PG_MAX_CONNECTIONS   minimum max_connections (default 300)
#   INSIGHTS_PG_WAIT_SECONDS      how long to wait for PostgreSQL (default 60)
#   INSIGHTS_RABBITMQ_NODE        RabbitMQ node name (default rabbit@localhost)
#   INSIGHTS_RABBITMQ_WAIT_SECONDS how long to wait for RabbitMQ (default 90)

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------

_svc_say() { printf '%s\n' "$*"; }

_svc_fail() {
  printf 'error: %s\n' "$*" >&2
  return 1
}

# Runs a command with root rights: directly as root, through sudo otherwise.
_svc_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -E "$@"
  else
    _svc_fail "'$1' needs root rights; run as root or install sudo"
  fi
}

# Runs a command as another OS user, from a directory that user can read.
_svc_as_user() {
  local user=$1
  shift
  if [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u "$user" -- "$@")
  elif [ "$(id -un)" = "$user" ]; then
    (cd / && "$@")
  else
    (cd / && sudo -u "$user" -- "$@")
  fi
}

# Runs a command quietly: output goes to a temporary file that is shown only when the command fails.
# Standard input is /dev/null and output never goes to a pipe, so daemons started by the command
# cannot hold the caller's output open.
_svc_quiet() {
  local label=$1
  shift
  local log status=0
  log=$(mktemp "${TMPDIR:-/tmp}/insights-svc.XXXXXX")
  "$@" </dev/null >"$log" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    printf 'error: %s failed (exit %s): %s\n' "$label" "$status" "$*" >&2
    tail -n 40 "$log" | sed 's/^/  | /' >&2
  fi
  rm -f "$log"
  return "$status"
}

_svc_apt_install() {
  local label=$1
  shift
  _svc_say "$label: installing $* (apt-get)"
  _svc_quiet "$label: apt-get update" _svc_root env DEBIAN_FRONTEND=noninteractive apt-get update || return 1
  # A UTF-8 locale while installing makes the cluster created by the package UTF-8 rather than SQL_ASCII.
  _svc_quiet "$label: apt-get install" _svc_root env DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 LC_ALL=C.UTF-8 \
    apt-get install -y --no-install-recommends "$@" || return 1
}

# Prints the last lines of the given files that exist (for failure reports).
_svc_tail_logs() {
  local file
  for file in "$@"; do
    if [ -s "$file" ]; then
      printf -- '--- tail of %s\n' "$file" >&2
      _svc_root tail -n 30 "$file" | sed 's/^/  | /' >&2 || true
    fi
  done
}

_svc_tcp_open() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# ---------------------------------------------------------------------------------------------
# .NET
# ---------------------------------------------------------------------------------------------

dotnet_env() {
  export DOTNET_CLI_TELEMETRY_OPTOUT=1
  export DOTNET_NOLOGO=1
  export DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------

_pg_installed() {
  command -v pg_ctlcluster >/dev/null 2>&1 &&
    command -v pg_lsclusters >/dev/null 2>&1 &&
    compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null
}

# Highest installed server major version, e.g. "15".
_pg_server_version() {
  local dir best=""
  for dir in /usr/lib/postgresql/*/bin/postgres; do
    [ -x "$dir" ] || continue
    dir=${dir#/usr/lib/postgresql/}
    dir=${dir%%/*}
    if [ -z "$best" ] || [ "${dir%%.*}" -gt "${best%%.*}" ] 2>/dev/null; then
      best=$dir
    fi
  done
  [ -n "$best" ] && printf '%s\n' "$best"
}

# Prints "<version> <cluster>" of the cluster configured for the given port, if any.
_pg_cluster_on_port() {
  pg_lsclusters -h 2>/dev/null | awk -v port="$1" '$3 == port { print $1, $2; exit }'
}

_pg_running() {
  # pg_ctlcluster status: 0 running, 3 not running, 4 no such cluster.
  _svc_root pg_ctlcluster "$1" "$2" status >/dev/null 2>&1
}

_pg_psql() {
  _svc_as_user postgres psql -X -q -A -t -v ON_ERROR_STOP=1 -p "$INSIGHTS_PG_PORT_RESOLVED" -d postgres "$@"
}

# Login role and database 'insights'; the role may create (and force-drop) databases: the tests create their own. It
# may create roles too: tests run a host as a role of their own to rotate its password under the host.
_pg_create_role_and_database() {
  _pg_psql <<'SQL'
SELECT 'CREATE ROLE insights' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'insights')
\gexec
ALTER ROLE insights WITH LOGIN CREATEDB CREATEROLE PASSWORD 'insights';
-- Dropping a test database WITH (FORCE) may have to end an autovacuum worker in it.
GRANT pg_signal_backend TO insights;
-- The benchmarks start each measured phase after a checkpoint, so every phase finds the same WAL state.
GRANT pg_checkpoint TO insights;
SELECT 'CREATE DATABASE insights OWNER insights' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'insights')
\gexec
SQL
}

_pg_wait_ready() {
  local ver=$1 name=$2 port=$3 wait=$4
  local deadline=$((SECONDS + wait))
  until pg_isready -q -h 127.0.0.1 -p "$port" -t 2 >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      _svc_fail "postgres: cluster $ver/$name did not answer on 127.0.0.1:$port within ${wait}s" || true
      _svc_tail_logs "/var/log/postgresql/postgresql-$ver-$name.log"
      return 1
    fi
    sleep 1
  done
}

_pg_start() {
  local ver=$1 name=$2
  # Without systemd nothing creates the socket directory at boot.
  _svc_root install -d -o postgres -g postgres -m 2775 /var/run/postgresql
  if ! _pg_running "$ver" "$name"; then
    _svc_quiet "postgres: start $ver/$name" _svc_root pg_ctlcluster "$ver" "$name" start || {
      _svc_tail_logs "/var/log/postgresql/postgresql-$ver-$name.log"
      return 1
    }
    _svc_say "postgres: started cluster $ver/$name"
  fi
}

ensure_postgres() {
  local port=${INSIGHTS_PG_PORT:-5432}
  local new_name=${INSIGHTS_PG_CLUSTER:-main}
  local min_connections=${INSIGHTS_PG_MAX_CONNECTIONS:-300}
  local wait=${INSIGHTS_PG_WAIT_SECONDS:-60}
  local ver name cluster current hba

  if ! _pg_installed; then
    _svc_apt_install postgres postgresql postgresql-contrib || return 1
    _pg_installed || _svc_fail "postgres: the postgresql package installed no server binaries" || return 1
  fi

  cluster=$(_pg_cluster_on_port "$port")
  if [ -n "$cluster" ]; then
    read -r ver name <<<"$cluster"
  else
    ver=$(_pg_server_version) || _svc_fail "postgres: no server under /usr/lib/postgresql/*/bin" || return 1
    name=$new_name
    _svc_quiet "postgres: create cluster $ver/$name" \
      _svc_root env LANG=C.UTF-8 LC_ALL=C.UTF-8 pg_createcluster --port "$port" --locale C.UTF-8 --encoding UTF8 "$ver" "$name" ||
      return 1
    _svc_say "postgres: created cluster $ver/$name on port $port"
  fi

  _pg_start "$ver" "$name" || return 1
  _pg_wait_ready "$ver" "$name" "$port" "$wait" || return 1
  INSIGHTS_PG_PORT_RESOLVED=$port

  _svc_quiet "postgres: create role and database" _pg_create_role_and_database || return 1

  # Enough connections for several hosts with connection pools.
  current=$(_pg_psql -c 'SHOW max_connections') || return 1
  if [ "$current" -lt "$min_connections" ]; then
    _svc_quiet "postgres: raise max_connections" _pg_psql -c "ALTER SYSTEM SET max_connections = $min_connections" || return 1
    _svc_quiet "postgres: restart $ver/$name" _svc_root pg_ctlcluster "$ver" "$name" restart || {
      _svc_tail_logs "/var/log/postgresql/postgresql-$ver-$name.log"
      return 1
    }
    _pg_wait_ready "$ver" "$name" "$port" "$wait" || return 1
    _svc_say "postgres: max_connections raised from $current to $min_connections"
  fi

  # Ingestion writes about 2.5 KB of WAL per model: with the default 1 GB a checkpoint comes every few hundred
  # thousand models, and every page touched after one is logged whole again. A reload applies it.
  current=$(_pg_psql -c "SELECT setting::bigint FROM pg_settings WHERE name = 'max_wal_size'") || return 1
  if [ "$current" -lt 4096 ]; then
    _svc_quiet "postgres: raise max_wal_size" _pg_psql -c "ALTER SYSTEM SET max_wal_size = '4GB'" -c "SELECT pg_reload_conf()" || return 1
    _svc_say "postgres: max_wal_size raised from ${current} MB to 4 GB"
  fi

  # Password login over TCP (Debian's pg_hba.conf allows scram-sha-256 from 127.0.0.1 by default;
  # add a rule only when a customised file does not).
  if ! PGPASSWORD=insights PGCONNECT_TIMEOUT=5 psql -X -q -h 127.0.0.1 -p "$port" -U insights -d insights \
    -c 'SELECT 1' </dev/null >/dev/null 2>&1; then
    hba=$(_pg_psql -c 'SHOW hba_file') || return 1
    _svc_root sed -i "1i host all insights 127.0.0.1/32 scram-sha-256" "$hba"
    _svc_quiet "postgres: reload $ver/$name" _svc_root pg_ctlcluster "$ver" "$name" reload || return 1
    _svc_say "postgres: added a password rule for 'insights' to $hba"
    if ! PGPASSWORD=insights PGCONNECT_TIMEOUT=5 psql -X -q -h 127.0.0.1 -p "$port" -U insights -d insights \
      -c 'SELECT 1' </dev/null >/dev/null 2>&1; then
      _svc_fail "postgres: password login as 'insights' over 127.0.0.1:$port fails; check $hba"
      return 1
    fi
  fi

  _svc_say "postgres: ready on 127.0.0.1:$port (PostgreSQL $ver, database insights, user insights)"
}

# ---------------------------------------------------------------------------------------------
# RabbitMQ
# ---------------------------------------------------------------------------------------------

# Debian's wrappers (/usr/sbin/rabbitmq-server, rabbitmqctl, rabbitmq-diagnostics) switch to the
# 'rabbitmq' user, whose home is /var/lib/rabbitmq, so the server and the CLI tools share the cookie
# /var/lib/rabbitmq/.erlang.cookie. The node name is passed explicitly so a host name that does not
# resolve cannot break anything.

_rmq() {
  _svc_root env RABBITMQ_NODENAME="$INSIGHTS_RABBITMQ_NODE_RESOLVED" "$@"
}

_rmq_ping() {
  _rmq rabbitmq-diagnostics -q -n "$INSIGHTS_RABBITMQ_NODE_RESOLVED" ping </dev/null >/dev/null 2>&1
}

_rmq_home() {
  local home
  home=$(getent passwd rabbitmq | cut -d: -f6)
  printf '%s\n' "${home:-/var/lib/rabbitmq}"
}

# Makes the state directories and the cookie belong to the rabbitmq user (a server once started by hand
# as root leaves root-owned files the real server cannot read), and gives root the same cookie so
# Erlang tools run directly as root agree with the server.
_rmq_fix_ownership_and_cookie() {
  local home cookie dir
  home=$(_rmq_home)
  cookie="$home/.erlang.cookie"
  for dir in "$home" /var/log/rabbitmq; do
    _svc_root install -d -o rabbitmq -g rabbitmq -m 0755 "$dir"
    if _svc_root find "$dir" -xdev ! -user rabbitmq -print -quit 2>/dev/null | grep -q .; then
      _svc_root chown -R rabbitmq:rabbitmq "$dir"
    fi
  done
  if ! _svc_root test -s "$cookie"; then
    _svc_root sh -c "umask 077; tr -dc A-Z </dev/urandom | head -c 20 >'$cookie'"
  fi
  _svc_root chown rabbitmq:rabbitmq "$cookie"
  _svc_root chmod 0400 "$cookie"
  if [ "$(id -u)" -eq 0 ] && [ -n "${HOME:-}" ] && [ "$HOME" != "$home" ] && [ -d "$HOME" ]; then
    if ! cmp -s "$cookie" "$HOME/.erlang.cookie"; then
      install -m 0400 "$cookie" "$HOME/.erlang.cookie"
    fi
  fi
}

_rmq_plugin_enabled_in_file() {
  local file=/etc/rabbitmq/enabled_plugins
  [ -r "$file" ] && grep -q 'rabbitmq_management[],. ]' "$file"
}

_rmq_logs() {
  local node=$INSIGHTS_RABBITMQ_NODE_RESOLVED
  _svc_tail_logs "${_INSIGHTS_RMQ_START_LOG:-/dev/null}" /var/log/rabbitmq/startup_err /var/log/rabbitmq/startup_log \
    "/var/log/rabbitmq/$node.log"
  if [ -n "${_INSIGHTS_RMQ_START_LOG:-}" ]; then
    rm -f "$_INSIGHTS_RMQ_START_LOG"
  fi
}

# If epmd already holds the node's short name, a node of the same name but another host part
# (Debian's default rabbit@<hostname>, e.g. started by the package's init script) is running; it would
# keep the ports, so stop it.
_rmq_stop_foreign_node() {
  local short=${INSIGHTS_RABBITMQ_NODE_RESOLVED%@*}
  local other
  command -v epmd >/dev/null 2>&1 || return 0
  epmd -names 2>/dev/null | grep -q "^name $short at port" || return 0
  for other in "$short@$(hostname -s 2>/dev/null || hostname)" "$short@$(hostname 2>/dev/null)"; do
    [ "$other" = "$INSIGHTS_RABBITMQ_NODE_RESOLVED" ] && continue
    if _svc_root rabbitmq-diagnostics -q -n "$other" ping </dev/null >/dev/null 2>&1; then
      _svc_say "rabbitmq: stopping node $other (this setup runs $INSIGHTS_RABBITMQ_NODE_RESOLVED)"
      _svc_quiet "rabbitmq: stop $other" _svc_root rabbitmqctl -n "$other" stop || return 1
      return 0
    fi
  done
  _svc_fail "rabbitmq: epmd lists a node named '$short' that is not $INSIGHTS_RABBITMQ_NODE_RESOLVED and does not answer (Erlang cookie mismatch?); stop it first ($(epmd -names 2>/dev/null | tr '\n' ' '))"
}

ensure_rabbitmq() {
  local wait=${INSIGHTS_RABBITMQ_WAIT_SECONDS:-90}
  local node=${INSIGHTS_RABBITMQ_NODE:-rabbit@localhost}
  local deadline remaining started=0
  INSIGHTS_RABBITMQ_NODE_RESOLVED=$node

  if ! command -v rabbitmq-server >/dev/null 2>&1 && [ ! -x /usr/sbin/rabbitmq-server ]; then
    _svc_apt_install rabbitmq rabbitmq-server || return 1
  fi
  if ! command -v curl >/dev/null 2>&1; then
    _svc_apt_install rabbitmq curl ca-certificates || return 1
  fi
  # The server tools live in /usr/sbin, which a non-root PATH may lack.
  case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH="$PATH:/usr/sbin" ;; esac

  _rmq_fix_ownership_and_cookie || return 1

  if _rmq_ping; then
    if ! _rmq_plugin_enabled_in_file; then
      _svc_quiet "rabbitmq: enable management plugin" _rmq rabbitmq-plugins -n "$node" enable rabbitmq_management || return 1
      _svc_say "rabbitmq: enabled the management plugin"
    fi
  else
    if ! _rmq_plugin_enabled_in_file; then
      _svc_quiet "rabbitmq: enable management plugin" _rmq rabbitmq-plugins -n "$node" enable --offline rabbitmq_management ||
        return 1
    fi
    _rmq_stop_foreign_node || return 1
    _INSIGHTS_RMQ_START_LOG=$(mktemp "${TMPDIR:-/tmp}/insights-rabbitmq-start.XXXXXX")
    # -detached daemonises; stdout/stderr go to a file so the daemon never holds the caller's pipe.
    if ! _rmq rabbitmq-server -detached </dev/null >"$_INSIGHTS_RMQ_START_LOG" 2>&1; then
      _svc_fail "rabbitmq: 'rabbitmq-server -detached' failed" || true
      _rmq_logs
      return 1
    fi
    started=1
  fi

  deadline=$((SECONDS + wait))
  until _rmq_ping; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      _svc_fail "rabbitmq: node $node did not answer within ${wait}s" || true
      _rmq_logs
      return 1
    fi
    sleep 1
  done

  # A node just started answers ping before its applications run; wait for them to boot.
  if [ "$started" -eq 1 ]; then
    remaining=$((deadline - SECONDS))
    [ "$remaining" -ge 5 ] || remaining=5
    if ! _svc_quiet "rabbitmq: await startup" _rmq rabbitmqctl -n "$node" await_startup --timeout "$remaining"; then
      _rmq_logs
      return 1
    fi
  fi

  until _svc_tcp_open 127.0.0.1 5672 &&
    curl -fsS -o /dev/null --max-time 5 -u guest:guest http://127.0.0.1:15672/api/overview 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      _svc_fail "rabbitmq: AMQP on 127.0.0.1:5672 or the management API on 127.0.0.1:15672 did not answer within ${wait}s" || true
      _rmq_logs
      return 1
    fi
    sleep 1
  done

  if [ "$started" -eq 1 ]; then
    _svc_say "rabbitmq: started node $node"
    rm -f "$_INSIGHTS_RMQ_START_LOG"
  fi
  _svc_say "rabbitmq: ready on 127.0.0.1:5672 (management http://127.0.0.1:15672, guest/guest, node $node)"
}

# ---------------------------------------------------------------------------------------------
# Prometheus
# ---------------------------------------------------------------------------------------------

# Debian's package starts a server through its init system, which this setup does not have; the tests only need the
# binaries. INSIGHTS_TEST_PROMETHEUS names the server binary for them.
ensure_prometheus() {
  if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
    _svc_apt_install prometheus prometheus || return 1
    command -v promtool >/dev/null 2>&1 || _svc_fail "prometheus: the prometheus package installed no promtool" || return 1
  fi
  INSIGHTS_PROMETHEUS_RESOLVED=$(command -v prometheus)
  _svc_say "prometheus: $("$INSIGHTS_PROMETHEUS_RESOLVED" --version 2>&1 | head -n 1)"
}

# ---------------------------------------------------------------------------------------------
# Chromium
# ---------------------------------------------------------------------------------------------

# The browser tests start it themselves (headless); INSIGHTS_TEST_CHROMIUM names the binary for them.
ensure_chromium() {
  if ! command -v chromium >/dev/null 2>&1; then
    _svc_apt_install chromium chromium || return 1
    command -v chromium >/dev/null 2>&1 || _svc_fail "chromium: the chromium package installed no chromium" || return 1
  fi
  INSIGHTS_CHROMIUM_RESOLVED=$(command -v chromium)
  _svc_say "chromium: $("$INSIGHTS_CHROMIUM_RESOLVED" --version 2>/dev/null | head -n 1)"
}

# ---------------------------------------------------------------------------------------------
# Redocly CLI (lints the OpenAPI document)
# ---------------------------------------------------------------------------------------------

INSIGHTS_REDOCLY_VERSION=2.77.0

# Installs the pinned @redocly/cli into .tools/redocly of the repository (it needs Node.js 20.19+ or 22.12+; Debian's
# nodejs and npm are installed when there is no node at all). INSIGHTS_REDOCLY_RESOLVED names the binary.
ensure_redocly() {
  local prefix="$repo/.tools/redocly" major minor
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    _svc_apt_install nodejs nodejs npm || return 1
  fi
  IFS=. read -r major minor _ <<<"$(node --version | tr -d v)"
  if ! { [ "$major" -eq 20 ] && [ "$minor" -ge 19 ]; } && ! { [ "$major" -eq 22 ] && [ "$minor" -ge 12 ]; } && [ "$major" -lt 23 ]; then
    _svc_fail "redocly: @redocly/cli $INSIGHTS_REDOCLY_VERSION needs Node.js 20.19+ or 22.12+; this machine has $(node --version)" || return 1
  fi
  if [ "$("$prefix/node_modules/.bin/redocly" --version 2>/dev/null)" != "$INSIGHTS_REDOCLY_VERSION" ]; then
    npm install --silent --no-audit --no-fund --prefix "$prefix" "@redocly/cli@$INSIGHTS_REDOCLY_VERSION" >/dev/null ||
      _svc_fail "redocly: npm could not install @redocly/cli@$INSIGHTS_REDOCLY_VERSION" || return 1
  fi
  INSIGHTS_REDOCLY_RESOLVED="$prefix/node_modules/.bin/redocly"
  _svc_say "redocly: $("$INSIGHTS_REDOCLY_RESOLVED" --version)"
}
