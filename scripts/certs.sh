#!/usr/bin/env bash
# Generates a local certificate authority and a certificate for branchloans.com, signed by it, for the
# nginx TLS front in development, staging rehearsals and the edge test. Not for the real production
# certificate (point TLS_CERT_FILE / TLS_KEY_FILE in .env.prod at that one).
#
#   scripts/certs.sh [--force] [OUTPUT_DIR]        (OUTPUT_DIR defaults to ./certs, which git ignores)
#
# Writes: ca.crt, ca.key (the CA), branchloans.com.crt (leaf + CA chain, what nginx serves),
# branchloans.com.key. The CA is kept between runs unless --force, so a CA already trusted by a
# browser or curl stays valid; the leaf is re-issued on every run. Needs only openssl.
set -euo pipefail

force=false
out=""
for arg in "$@"; do
  case "$arg" in
    --force) force=true ;;
    -h | --help)
      sed -n '2,10p' "$0"
      exit 0
      ;;
    -*)
      echo "unknown option: $arg" >&2
      exit 2
      ;;
    *) out="$arg" ;;
  esac
done
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${out:-$root/certs}"
domain="branchloans.com"
command -v openssl >/dev/null || {
  echo "openssl is required (apt-get install -y openssl)" >&2
  exit 1
}

mkdir -p "$out"
chmod 700 "$out"
umask 077
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if $force || [ ! -s "$out/ca.key" ] || [ ! -s "$out/ca.crt" ]; then
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$out/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$out/ca.key" -sha256 -days 1825 \
    -subj "/O=Branchloans local development/CN=Branchloans local CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -out "$out/ca.crt"
  echo "created CA $out/ca.crt"
fi

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/leaf.key" 2>/dev/null
openssl req -new -key "$work/leaf.key" -subj "/CN=$domain" -out "$work/leaf.csr"
cat >"$work/leaf.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:$domain,DNS:www.$domain
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid,issuer
EXT
# 397 days: the longest validity that browsers accept for a server certificate.
openssl x509 -req -in "$work/leaf.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
  -CAserial "$work/ca.srl" -days 397 -sha256 -extfile "$work/leaf.ext" -out "$work/leaf.crt" 2>/dev/null
openssl verify -CAfile "$out/ca.crt" "$work/leaf.crt" >/dev/null

cat "$work/leaf.crt" "$out/ca.crt" >"$out/$domain.crt"
mv "$work/leaf.key" "$out/$domain.key"
chmod 600 "$out/ca.key" "$out/$domain.key"
chmod 644 "$out/ca.crt" "$out/$domain.crt"
echo "created $out/$domain.crt and $out/$domain.key (SAN: $domain, www.$domain), signed by $out/ca.crt"
