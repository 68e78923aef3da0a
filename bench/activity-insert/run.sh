#!/usr/bin/env bash
# What migration 0012 costs an activity INSERT (every change writes one):
# the activity table as before it (a_old) and after it (a_new: the tx column
# and the feed's indexes), 300,000 rows each, loaded with pgbench in
# alternating slices (old, new, new, old per round) on one server.
#   bash bench/activity-insert/run.sh [rounds] [seconds per slice]
set -euo pipefail
cd "$(dirname "$0")"
rounds=${1:-4}
seconds=${2:-8}
server=(-h "${PGHOST:-127.0.0.1}" -U "${PGUSER:-postgres}")
psql -q "${server[@]}" -d postgres -c "drop database if exists bench_activity" -c "create database bench_activity"
psql -q "${server[@]}" -d bench_activity -f setup.sql
for round in $(seq 1 "$rounds"); do
  for table in old new new old; do
    tps=$(pgbench "${server[@]}" -n -M prepared -c 4 -j 2 -T "$seconds" -f "ins_$table.sql" bench_activity 2>/dev/null |
      grep -E '^tps' | grep -oE '[0-9]+\.[0-9]+' | head -1)
    echo "$round $table $tps"
  done
done
psql -q "${server[@]}" -d postgres -c "drop database bench_activity"
