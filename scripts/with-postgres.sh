#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL server on 127.0.0.1 and
# SHENCHA_TEST_PG_URL pointing at it; the server and its data are removed
# afterwards. Without PostgreSQL installed, the command runs without it
# (the PostgreSQL-parametrised tests are then not collected).
set -uo pipefail

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
  echo "with-postgres: PostgreSQL not installed; running without it" >&2
  exec "$@"
fi

DATA=$(mktemp -d /tmp/shencha-pg.XXXXXX)
PORT=${SHENCHA_PG_PORT:-55432}
RUN_AS=()
if [ "$(id -u)" -eq 0 ]; then
  # PostgreSQL refuses to run as root.
  chown postgres:postgres "$DATA"
  RUN_AS=(runuser -u postgres --)
fi
cleanup() {
  "${RUN_AS[@]}" "$PG_BIN/pg_ctl" -D "$DATA" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$DATA"
}
trap cleanup EXIT

"${RUN_AS[@]}" "$PG_BIN/initdb" -D "$DATA" -U shencha --auth=trust -E UTF8 >/dev/null || exit 1
"${RUN_AS[@]}" "$PG_BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DATA -c fsync=off" start >/dev/null || {
  cat "$DATA/server.log" >&2; exit 1; }

export SHENCHA_TEST_PG_URL="postgresql+psycopg://shencha@127.0.0.1:$PORT/postgres"
"$@"
