#!/usr/bin/env bash
# The live billing demo: examples/billing on Django 3.2 + DRF, PostgreSQL 15 and gunicorn,
# all from Debian packages, in a throw-away directory.
#
#   scripts/demo/demo.sh start    (npm run demo)       install what is missing, start, print URL and credentials
#   scripts/demo/demo.sh stop     (npm run demo:stop)  stop everything and delete the directory
#   scripts/demo/demo.sh status                        print the running demo's details
#   scripts/demo/demo.sh install                       only install the Debian packages if missing (CI)
#
# Environment: STALECHECK_DEMO_POINTER (file naming the running demo's directory, default
# ${TMPDIR:-/tmp}/stalecheck-demo.current), STALECHECK_DEMO_APP_DIR (the Django project
# served, default examples/billing), BILLING_GATEWAY_LATENCY (seconds per provider
# call, default 1.5), STALECHECK_DEMO_WORKERS / _THREADS (gunicorn, default 2 / 8),
# STALECHECK_DEMO_PG_OS_USER (who runs PostgreSQL when we are root, default postgres).
set -Eeuo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# STALECHECK_DEMO_APP_DIR serves another copy of the example (the integration test's fixed one).
APP_DIR="${STALECHECK_DEMO_APP_DIR:-$ROOT/examples/billing}"
POINTER="${STALECHECK_DEMO_POINTER:-${TMPDIR:-/tmp}/stalecheck-demo.current}"
PYTHON=/usr/bin/python3
PACKAGES=(python3-django python3-djangorestframework python3-psycopg2 gunicorn postgresql)

log() { printf 'demo: %s\n' "$*" >&2; }
die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }

pg_bindir() {
  local dir
  for dir in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then echo "$dir"; return 0; fi
  done
  return 1
}

packages_present() {
  [[ -x "$PYTHON" ]] || return 1
  "$PYTHON" - <<'EOF' 2>/dev/null || return 1
import django, rest_framework, psycopg2, gunicorn
assert django.VERSION[:2] == (3, 2), django.get_version()
EOF
  pg_bindir >/dev/null || return 1
}

ensure_packages() {
  if packages_present; then return 0; fi
  log "installing Debian packages: ${PACKAGES[*]}"
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null && sudo -n true 2>/dev/null || die "missing packages; as root run: apt-get update && apt-get install -y ${PACKAGES[*]}"
    sudo=(sudo -n)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
  packages_present || die "the Debian packages are installed but Django 3.2, DRF, psycopg2, gunicorn or PostgreSQL is still missing"
}

free_port() {
  "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

random_secret() {
  "$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(18))'
}

# Runs a command as the PostgreSQL OS user: initdb and postgres refuse to run as root.
as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u "$PG_OS_USER" -- "$@"; else "$@"; fi
}

running_dir() {
  [[ -f "$POINTER" ]] || return 1
  local dir
  dir="$(cat "$POINTER")"
  [[ -n "$dir" && -f "$dir/demo.env" ]] || return 1
  echo "$dir"
}

print_details() {
  local dir="$1"
  # shellcheck disable=SC1091
  source "$dir/demo.env"
  cat <<EOF

The billing demo is running.

  URL          $BILLING_DEMO_URL/api/   (admin site: $BILLING_DEMO_URL/admin/)
  admin        ${BILLING_ADMIN%%:*} / ${BILLING_ADMIN#*:}      staff, superuser; may revoke billing membership
  staff        ${BILLING_STAFF%%:*} / ${BILLING_STAFF#*:}      member of the "billing" group
  customer     ${BILLING_CUSTOMER%%:*} / ${BILLING_CUSTOMER#*:}      owns invoices, a wallet and an invoice quota
  PostgreSQL   127.0.0.1:$BILLING_DB_PORT, database billing (track_commit_timestamp = on)
  directory    $dir   (logs: gunicorn.log, access.log, pg/postgres.log)
  provider latency  ${BILLING_GATEWAY_LATENCY}s per gateway / tax / voucher-partner call

Try it:
  curl -u "\$BILLING_STAFF" $BILLING_DEMO_URL/api/invoices/1/vulnerable/
  set -a; source $dir/demo.env; set +a
  node bin/stalecheck.js probe --scenario examples/billing/probes/voucher-redeem.yaml --target "\$BILLING_DEMO_URL" --var variant=vulnerable

Stop it with: npm run demo:stop
EOF
}

start() {
  local existing
  if existing="$(running_dir)" && [[ -f "$existing/gunicorn.pid" ]] && kill -0 "$(cat "$existing/gunicorn.pid")" 2>/dev/null; then
    log "already running (stop it with npm run demo:stop)"
    print_details "$existing"
    return 0
  fi
  ensure_packages
  local bindir
  bindir="$(pg_bindir)"
  PG_OS_USER="${STALECHECK_DEMO_PG_OS_USER:-postgres}"
  if [[ $(id -u) -eq 0 ]]; then
    id "$PG_OS_USER" >/dev/null 2>&1 || die "PostgreSQL refuses to run as root and user $PG_OS_USER does not exist (set STALECHECK_DEMO_PG_OS_USER)"
  fi

  DEMO_DIR="$(mktemp -d "${TMPDIR:-/tmp}/stalecheck-demo.XXXXXX")"
  chmod 711 "$DEMO_DIR" # the PostgreSQL user must reach its data directory inside
  echo "$DEMO_DIR" >"$POINTER"
  trap 'log "start failed; cleaning up"; stop_dir "$DEMO_DIR" >/dev/null 2>&1 || true; rm -f "$POINTER"' ERR

  local pg_port app_port db_password
  pg_port="$(free_port)"
  db_password="$(random_secret)"
  mkdir -p "$DEMO_DIR/pg"
  [[ $(id -u) -eq 0 ]] && chown "$PG_OS_USER" "$DEMO_DIR/pg"
  printf '%s\n' "$db_password" >"$DEMO_DIR/pg/pwfile"
  [[ $(id -u) -eq 0 ]] && chown "$PG_OS_USER" "$DEMO_DIR/pg/pwfile"
  chmod 600 "$DEMO_DIR/pg/pwfile"
  log "creating a PostgreSQL cluster in $DEMO_DIR/pg on 127.0.0.1:$pg_port"
  as_pg "$bindir/initdb" -D "$DEMO_DIR/pg/data" -U billing --pwfile="$DEMO_DIR/pg/pwfile" --auth=scram-sha-256 -E UTF8 --no-locale >"$DEMO_DIR/initdb.log" 2>&1 ||
    { cat "$DEMO_DIR/initdb.log" >&2; false; }
  rm -f "$DEMO_DIR/pg/pwfile"
  # Throw-away data: durability off for speed; commit timestamps on for the audit log.
  as_pg sh -c "cat >> '$DEMO_DIR/pg/data/postgresql.conf'" <<EOF
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = ''
track_commit_timestamp = on
max_connections = 100
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  as_pg "$bindir/pg_ctl" -D "$DEMO_DIR/pg/data" -l "$DEMO_DIR/pg/postgres.log" -w -t 60 start >/dev/null
  PGPASSWORD="$db_password" "$bindir/createdb" -h 127.0.0.1 -p "$pg_port" -U billing billing

  app_port="$(free_port)"
  cat >"$DEMO_DIR/demo.env" <<EOF
BILLING_DEMO_URL=http://127.0.0.1:$app_port
BILLING_ADMIN=admin:$(random_secret)
BILLING_STAFF=staff:$(random_secret)
BILLING_CUSTOMER=customer:$(random_secret)
BILLING_DB_NAME=billing
BILLING_DB_USER=billing
BILLING_DB_PASSWORD=$db_password
BILLING_DB_HOST=127.0.0.1
BILLING_DB_PORT=$pg_port
BILLING_GATEWAY_LATENCY=${BILLING_GATEWAY_LATENCY:-1.5}
BILLING_DEMO_API=1
DJANGO_SECRET_KEY=$(random_secret)
DJANGO_DEBUG=0
DJANGO_ALLOWED_HOSTS=localhost,127.0.0.1
EOF
  chmod 600 "$DEMO_DIR/demo.env"
  set -a
  # shellcheck disable=SC1091
  source "$DEMO_DIR/demo.env"
  set +a
  export DJANGO_SETTINGS_MODULE=billing_project.settings PYTHONDONTWRITEBYTECODE=1
  export BILLING_DEMO_ADMIN_PASSWORD="${BILLING_ADMIN#*:}" BILLING_DEMO_STAFF_PASSWORD="${BILLING_STAFF#*:}" BILLING_DEMO_CUSTOMER_PASSWORD="${BILLING_CUSTOMER#*:}"

  log "migrating and seeding"
  (cd "$APP_DIR" && "$PYTHON" manage.py migrate --noinput >"$DEMO_DIR/migrate.log" 2>&1) || { cat "$DEMO_DIR/migrate.log" >&2; false; }
  (cd "$APP_DIR" && "$PYTHON" manage.py seed_demo) >&2

  log "starting gunicorn on 127.0.0.1:$app_port"
  "$PYTHON" -m gunicorn billing_project.wsgi:application --chdir "$APP_DIR" \
    --bind "127.0.0.1:$app_port" --workers "${STALECHECK_DEMO_WORKERS:-2}" --threads "${STALECHECK_DEMO_THREADS:-8}" \
    --worker-class gthread --timeout 120 --graceful-timeout 5 --daemon --pid "$DEMO_DIR/gunicorn.pid" \
    --access-logfile "$DEMO_DIR/access.log" --error-logfile "$DEMO_DIR/gunicorn.log"
  local i
  for i in $(seq 1 150); do
    if "$PYTHON" - "$BILLING_DEMO_URL/api/invoices/vulnerable/" <<'EOF' 2>/dev/null; then break; fi
import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen(sys.argv[1], timeout=2)
except urllib.error.HTTPError:
    pass  # 401/405: the app answers
EOF
    [[ $i -eq 150 ]] && { tail -n 30 "$DEMO_DIR/gunicorn.log" >&2; die "gunicorn did not answer within 30 s"; }
    sleep 0.2
  done
  trap - ERR
  print_details "$DEMO_DIR"
}

# Stops the processes of one demo directory and deletes it.
stop_dir() {
  local dir="$1" pid i
  if [[ -f "$dir/gunicorn.pid" ]]; then
    pid="$(cat "$dir/gunicorn.pid")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  if [[ -f "$dir/pg/data/postmaster.pid" ]]; then
    local bindir
    bindir="$(pg_bindir)"
    PG_OS_USER="$(stat -c %U "$dir/pg/data")"
    as_pg "$bindir/pg_ctl" -D "$dir/pg/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
  fi
  # Only ever a directory this script created.
  [[ "$(basename "$dir")" == stalecheck-demo.* ]] && rm -rf "$dir"
}

stop() {
  local dir
  if ! dir="$(running_dir)"; then
    [[ -f "$POINTER" ]] && dir="$(cat "$POINTER")" && [[ -n "$dir" && -d "$dir" ]] && stop_dir "$dir"
    rm -f "$POINTER"
    log "no demo running"
    return 0
  fi
  stop_dir "$dir"
  rm -f "$POINTER"
  log "stopped and removed $dir"
}

status() {
  local dir
  dir="$(running_dir)" || { log "no demo running"; return 1; }
  print_details "$dir"
}

case "${1:-}" in
  install) ensure_packages ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
