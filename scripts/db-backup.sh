#!/usr/bin/env bash
# Backs up the compose database with pg_dump (custom format: compressed, restorable table by table).
#
#   scripts/db-backup.sh [--env-file .env.prod] [OUTPUT]
#
# OUTPUT defaults to backups/branchloans-<env>-<UTC time>.dump. pg_dump runs inside the db container
# (same major version as the server, its own POSTGRES_USER / POSTGRES_DB), so the host needs only
# Docker. The dump is written to a temporary file, checked with pg_restore --list, then renamed:
# a failed backup never leaves a truncated file behind. Restore with scripts/db-restore.sh.
# COMPOSE overrides the compose command (default: `docker compose`, else `docker-compose`).
set -euo pipefail
cd "$(dirname "$0")/.."

env_file=""
output=""
while [ $# -gt 0 ]; do
  case "$1" in
    --env-file)
      env_file="${2:?--env-file needs a file}"
      shift 2
      ;;
    -h | --help)
      sed -n '2,11p' "$0"
      exit 0
      ;;
    -*)
      echo "unknown option: $1" >&2
      exit 2
      ;;
    *)
      output="$1"
      shift
      ;;
  esac
done

# shellcheck source=lib/compose.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/compose.sh"
compose_command "$env_file"

if [ -z "$output" ]; then
  label="$(basename "${env_file:-default}")"
  label="${label#.env.}"
  label="${label%.example}"
  mkdir -p backups
  output="backups/branchloans-${label}-$(date -u +%Y%m%dT%H%M%SZ).dump"
fi
mkdir -p "$(dirname "$output")"
partial="$output.partial"
trap 'rm -f "$partial"' EXIT
umask 077

"${compose[@]}" exec -T db sh -c \
  'exec pg_dump --format=custom --compress=6 --no-password -U "$POSTGRES_USER" -d "$POSTGRES_DB"' >"$partial"
# The archive must be readable by pg_restore (the one in the container: same version).
"${compose[@]}" exec -T db pg_restore --list <"$partial" >/dev/null
mv "$partial" "$output"
echo "backup written: $output ($(wc -c <"$output" | tr -d ' ') bytes)"
