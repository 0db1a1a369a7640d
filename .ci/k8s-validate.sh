#!/usr/bin/env bash
# Renders every Kubernetes overlay (deploy/k8s/overlays/*) with `kubectl kustomize` and validates the
# result offline: the Kubernetes OpenAPI schemas (unknown kinds and fields are errors) and the policy
# checks (checkov's Kubernetes checks that matter here, under their ids). scripts/k8s-validate.ts does the
# work; docs/deployment.md "Kubernetes" lists the checks.
#
#   .ci/k8s-validate.sh                  the three overlays of this repository
#   .ci/k8s-validate.sh DIR|FILE...      other kustomization directories or rendered YAML files
#
# Needs kubectl (its built-in kustomize; installed with apt-get when missing, as .ci/run does for nginx)
# and `npm ci` done. Exits non-zero on any failure; every failure is printed on one line with its check id.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if ! command -v kubectl >/dev/null 2>&1; then
  echo "k8s: kubectl not found, installing it (apt-get)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kubectl >/dev/null
fi
echo "k8s: $(kubectl version --client 2>/dev/null | tr '\n' ' ')"

if [ "$#" -eq 0 ]; then
  set -- deploy/k8s/overlays/dev deploy/k8s/overlays/staging deploy/k8s/overlays/production
fi

# The validator is compiled with the rest of the build (tsconfig.build.json includes scripts/).
# K8S_VALIDATE_SKIP_BUILD=1: dist/ is already built (the jest test, which must not rebuild under other tests).
if [ "${K8S_VALIDATE_SKIP_BUILD:-}" != 1 ]; then
  npm run build --silent
fi
node dist/scripts/k8s-validate.js "$@"
