#!/usr/bin/env bash
# Renders an nginx template the way the nginx image's entrypoint does (envsubst of ${...} references from the
# environment), but refuses to leave one unset: an empty or missing variable is an error here,
# not a broken config at start. Used by .ci/edge-test.sh; compose relies on the image's own envsubst.
#
#   nginx/render-template.sh TEMPLATE OUTPUT
set -euo pipefail
[ $# -eq 2 ] || {
  echo "usage: $0 TEMPLATE OUTPUT" >&2
  exit 2
}
template="$1"
output="$2"
missing="$(perl -ne 'while (/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g) { print "$1\n" unless defined $ENV{$1} && length $ENV{$1} }' "$template" | sort -u)"
if [ -n "$missing" ]; then
  echo "$template: unset variables: $(echo "$missing" | tr '\n' ' ')" >&2
  exit 1
fi
perl -pe 's/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/$ENV{$1}/g' "$template" >"$output"
