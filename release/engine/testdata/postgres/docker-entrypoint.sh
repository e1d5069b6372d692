#!/bin/bash
# Entrypoint of the test PostgreSQL image (release/engine builds it from a
# Debian root filesystem, because no registry is reachable). It does what
# docker-compose.prod.yml relies on from the official image's entrypoint:
# - PGDATA (from the environment) is made the postgres user's and mode 0700
#   whatever the bind-mounted directory's owner, then the server runs as
#   postgres;
# - only when PGDATA is empty: initdb with POSTGRES_USER as the superuser and
#   POSTGRES_PASSWORD as its password, a database POSTGRES_DB, trust on the
#   Unix socket (pg_dump/pg_restore through `docker compose exec`) and
#   scram-sha-256 over TCP (the app and migrate connect with the password);
# - a PGDATA that holds a cluster is never initialised again;
# - the server listens on all addresses (the backend network).
set -euo pipefail
: "${PGDATA:?PGDATA must be set}"

if [[ $(id -u) == 0 ]]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 0700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [[ ${1:-} == postgres ]]; then shift; fi

if [[ ! -s $PGDATA/PG_VERSION ]]; then
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set to initialise a new database}"
  user=${POSTGRES_USER:-postgres}
  db=${POSTGRES_DB:-$user}
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb -D "$PGDATA" --username="$user" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  if [[ $db != postgres ]]; then
    echo "CREATE DATABASE \"$db\" OWNER \"$user\";" | postgres --single -D "$PGDATA" postgres >/dev/null
  fi
  echo "initialised a new cluster in $PGDATA with database $db"
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
