# shellcheck shell=bash
# Sourced by the database scripts: sets the array `compose` to the compose command to use.
# COMPOSE overrides it (the edge test points it at a stand-in); then `docker compose`, then the
# standalone `docker-compose`. With an env file, `--env-file FILE` is appended.
#   compose_command [ENV_FILE]
compose_command() {
  if [ -n "${COMPOSE:-}" ]; then
    read -r -a compose <<<"$COMPOSE"
  elif docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
  else
    compose=(docker-compose)
  fi
  if [ -n "${1:-}" ]; then compose+=(--env-file "$1"); fi
}
