#!/usr/bin/env bash
# Restores a backup made by scripts/db-backup.sh into the compose database, replacing its content.
#
#   scripts/db-restore.sh [--env-file .env.prod] [--yes] [--keep-api-running] DUMP
#
# Asks for confirmation unless --yes (and refuses without a terminal). Stops the api service first
# (every replica, so nothing writes during the restore; nginx answers 503 meanwhile) and starts it
# again afterwards, unless --keep-api-running. pg_restore runs inside the db container, in one
# transaction (--single-transaction --exit-on-error): a failed restore leaves the database as it was.
# COMPOSE overrides the compose command (default: `docker compose`, else `docker-compose`).
set -euo pipefail
cd "$(dirname "$0")/.."

env_file=""
dump=""
yes=false
stop_api=true
while [ $# -gt 0 ]; do
  case "$1" in
    --env-file)
      env_file="${2:?--env-file needs a file}"
      shift 2
      ;;
    --yes | -y)
      yes=true
      shift
      ;;
    --keep-api-running)
      stop_api=false
      shift
      ;;
    -h | --help)
      sed -n '2,10p' "$0"
      exit 0
      ;;
    -*)
      echo "unknown option: $1" >&2
      exit 2
      ;;
    *)
      dump="$1"
      shift
      ;;
  esac
done
[ -n "$dump" ] || {
  echo "usage: $0 [--env-file FILE] [--yes] [--keep-api-running] DUMP" >&2
  exit 2
}
[ -s "$dump" ] || {
  echo "no such backup (or empty): $dump" >&2
  exit 1
}
[ "$(head -c 5 "$dump")" = PGDMP ] || {
  echo "$dump is not a pg_dump custom-format archive" >&2
  exit 1
}

# shellcheck source=lib/compose.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/compose.sh"
compose_command "$env_file"

if ! $yes; then
  if [ ! -t 0 ]; then
    echo "refusing to restore without --yes when not run from a terminal" >&2
    exit 1
  fi
  read -r -p "Replace the database of ${env_file:-the default environment} with $dump? Type 'restore': " answer
  [ "$answer" = restore ] || {
    echo "cancelled"
    exit 1
  }
fi

if $stop_api; then
  "${compose[@]}" stop api
  trap '"${compose[@]}" start api' EXIT
fi

"${compose[@]}" exec -T db sh -c \
  'exec pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction --exit-on-error --no-password -U "$POSTGRES_USER" -d "$POSTGRES_DB"' <"$dump"
echo "restored $dump"
