#!/usr/bin/env bash
# Edge test: the production edge without Docker. Debian's nginx renders and serves the real template
# (nginx/templates/branchloans.conf.template) with TLS for branchloans.com in front of two app
# processes, and curl checks it through --resolve and the generated CA. Also the static checks of the
# deployment files (docker-compose config for each environment, the Dockerfile linter).
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres bash .ci/edge-test.sh [--static-only] [--keep]
#
# Needs (installs nothing): nginx, openssl, curl, docker-compose (Debian's 1.29, with python3-yaml),
# pgbouncer (Debian's package; PGBOUNCER_BIN=/path overrides /usr/sbin/pgbouncer), perl, node and the repository's node_modules (npm ci), and a PostgreSQL server in DATABASE_URL where
# it may create and drop a scratch database `branchloans_edge_<random>`. Everything else lives in a
# temporary directory; every server listens on 127.0.0.1 (nginx on two free high ports), and every
# process it starts is stopped by PID on exit. The app processes reach PostgreSQL through a real PgBouncer
# in transaction pooling mode (Debian's pgbouncer, its own configuration here; docs/deployment.md
# "PgBouncer"), as in docker-compose.yml; migrations go straight to the server (DATABASE_DIRECT_URL). Prints "edge: N passed, M failed" last; exit 1 if M > 0.
#
# Knobs: EDGE_NODE=/path/to/node runs the app processes on another node binary (e.g. the image's
# major); EDGE_LAYOUT=repo runs them from the working tree instead of a runtime layout built with the
# Dockerfile's `npm ci --omit=dev`.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

static_only=false
keep=false
for arg in "$@"; do
  case "$arg" in
    --static-only) static_only=true ;;
    --keep) keep=true ;;
    *)
      echo "usage: $0 [--static-only] [--keep]" >&2
      exit 2
      ;;
  esac
done

EDGE_NODE="${EDGE_NODE:-node}"
EDGE_LAYOUT="${EDGE_LAYOUT:-runtime}"
DOMAIN=branchloans.com
SEED_ID=00000000-0000-0000-0000-000000000001
# Rate limits the test renders: the production values of .env.prod.example (checked below).
API_RATE_LIMIT=20r/s
API_RATE_BURST=40
GRAPHQL_RATE_LIMIT=10r/s
GRAPHQL_RATE_BURST=20

# ------------------------------------------------------------------------------------------------
# Bookkeeping: results, temp dir, processes, cleanup
# ------------------------------------------------------------------------------------------------
started_at=$SECONDS
passed=0
failed=0
failures=()
TMP="$(mktemp -d /tmp/branchloans-edge.XXXXXX)"
chmod 755 "$TMP"
mkdir -p "$TMP/logs"
NGINX_DIR="$TMP/nginx"
declare -A APP_PID=()
declare -A APP_LOG=()
SCRATCH_DB=""
BURST_PIDS=()
PGBOUNCER_BIN="${PGBOUNCER_BIN:-/usr/sbin/pgbouncer}"
PGBOUNCER_PID=""

log() { printf '== %s (%ss)\n' "$*" "$((SECONDS - started_at))"; }
pass() {
  passed=$((passed + 1))
  printf '  ok    %s\n' "$1"
}
fail() {
  failed=$((failed + 1))
  failures+=("$1")
  printf '  FAIL  %s\n' "$1"
}
# check NAME COMMAND...: runs the command, output captured; shown when it fails (lines starting with
# "» " are measurements, shown in any case).
check() {
  local name="$1"
  shift
  local out="$TMP/check.out"
  if "$@" >"$out" 2>&1; then
    pass "$name"
    grep '^» ' "$out" | sed -e 's/^/        /' || true
  else
    fail "$name"
    sed -e 's/^/        | /' "$out" | tail -n 25
  fi
}
die() {
  echo "edge: fatal: $*" >&2
  exit 1
}

pg_admin() { # SQL [DATABASE_URL]: one statement through node-postgres, rows printed as JSON lines
  node -e '
    const { Client } = require("pg");
    const c = new Client({ connectionString: process.argv[2] });
    c.connect()
      .then(() => c.query(process.argv[1]))
      .then((r) => { for (const row of r.rows || []) console.log(JSON.stringify(row)); return c.end(); })
      .catch((e) => { console.error(e.message); process.exit(1); });
  ' "$1" "${2:-$DATABASE_URL}"
}

stop_pid() { # PID [SIGNAL] [SECONDS]: signal, wait (bounded), then SIGKILL
  local pid="$1" sig="${2:-TERM}" limit="${3:-15}" i
  kill -0 "$pid" 2>/dev/null || return 0
  kill "-$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < limit * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
  local status=$?
  set +e
  touch "$TMP/burst-stop" 2>/dev/null
  for pid in "${BURST_PIDS[@]}"; do stop_pid "$pid" TERM 5; done
  if [ -s "$NGINX_DIR/nginx.pid" ]; then stop_pid "$(cat "$NGINX_DIR/nginx.pid")" QUIT 10; fi
  for name in "${!APP_PID[@]}"; do stop_pid "${APP_PID[$name]}" TERM 15; done
  [ -z "$PGBOUNCER_PID" ] || stop_pid "$PGBOUNCER_PID" TERM 10
  if [ -n "$SCRATCH_DB" ]; then
    pg_admin "drop database if exists \"$SCRATCH_DB\" with (force)" >/dev/null 2>&1 ||
      echo "edge: could not drop scratch database $SCRATCH_DB" >&2
  fi
  if $keep; then echo "edge: kept $TMP"; else rm -rf "$TMP"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in openssl curl perl node docker-compose; do
  command -v "$tool" >/dev/null || die "$tool is not installed (apt-get install -y --no-install-recommends nginx openssl curl docker-compose)"
done
$static_only || command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || die "nginx is not installed"
$static_only || [ -x "$PGBOUNCER_BIN" ] ||
  die "pgbouncer is not installed ($PGBOUNCER_BIN): the app processes run through it (apt-get install -y --no-install-recommends pgbouncer; .ci/run installs it)"
NGINX_BIN="$(command -v nginx || echo /usr/sbin/nginx)"
[ -d node_modules ] || die "node_modules is missing: run npm ci first"
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON="$(command -v python3)"

# ------------------------------------------------------------------------------------------------
# Static checks: compose for each environment, the Dockerfile linter
# ------------------------------------------------------------------------------------------------
log "static checks"
# Staging and production run the published image (API_IMAGE=<registry>/<name>:<tag>@sha256:<digest>); their
# examples leave it empty, so compose refuses to start them as they are (check-compose.py checks that).
# The checks below resolve them with a stand-in reference of that shape, never pulled.
EDGE_API_IMAGE="ghcr.io/branchloans/branchloans-gateway:0.0.0-edge@sha256:$(printf '0%.0s' {1..64})"
for env in dev stage prod; do
  image_env=()
  [ "$env" = dev ] || image_env=(API_IMAGE="$EDGE_API_IMAGE")
  check "docker-compose --env-file .env.$env.example config -q" \
    env "${image_env[@]}" docker-compose -f docker-compose.yml --env-file ".env.$env.example" config -q
  check "compose ($env): services, images, limits, read-only, ports, template variables" \
    env "${image_env[@]}" EDGE_API_RATE_LIMIT="$API_RATE_LIMIT" EDGE_API_RATE_BURST="$API_RATE_BURST" \
    EDGE_GRAPHQL_RATE_LIMIT="$GRAPHQL_RATE_LIMIT" EDGE_GRAPHQL_RATE_BURST="$GRAPHQL_RATE_BURST" \
    "$PYTHON" .ci/edge/check-compose.py "$env" ".env.$env.example"
done

dockerfilelint_cmd=()
if [ -x node_modules/.bin/dockerfilelint ]; then
  dockerfilelint_cmd=(node_modules/.bin/dockerfilelint)
else
  # Not a devDependency (yet): npx fetches the pinned version from the npm registry into its cache.
  dockerfilelint_cmd=(npx --yes dockerfilelint@1.8.0)
fi
check "dockerfilelint Dockerfile" "${dockerfilelint_cmd[@]}" Dockerfile

if $static_only; then
  echo "edge: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
fi

# ------------------------------------------------------------------------------------------------
# Set-up: build, runtime layout, certificates, scratch database, two apps, nginx
# ------------------------------------------------------------------------------------------------
[ -n "${DATABASE_URL:-}" ] || die "DATABASE_URL is not set (a PostgreSQL server where a scratch database can be created)"

used_ports=" "
free_port() { # a port in 20000..32000 nobody listens on (below the kernel's ephemeral range)
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + RANDOM % 12000))
    case "$used_ports" in *" $p "*) continue ;; esac
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      used_ports+="$p "
      echo "$p"
      return 0
    fi
  done
  return 1
}
PORT_A="$(free_port)"
PORT_B="$(free_port)"
HTTP_PORT="$(free_port)"
HTTPS_PORT="$(free_port)"

log "build (npm run build)"
npm run build --silent >"$TMP/logs/build.log" 2>&1 || {
  cat "$TMP/logs/build.log"
  die "npm run build failed"
}

APP_DIR="$ROOT"
if [ "$EDGE_LAYOUT" = runtime ]; then
  # The runtime stage of the Dockerfile, without Docker: production dependencies from the lockfile,
  # the compiled code, nothing else. Owned by root and run as nobody (below): the app cannot write it.
  log "runtime layout (npm ci --omit=dev, as the Dockerfile's deps stage)"
  APP_DIR="$TMP/app"
  mkdir -p "$APP_DIR/dist"
  cp package.json package-lock.json "$APP_DIR/"
  (cd "$APP_DIR" && NODE_ENV=production npm ci --omit=dev --no-audit --no-fund --loglevel=error) \
    >"$TMP/logs/npm-ci-omit-dev.log" 2>&1 || {
    cat "$TMP/logs/npm-ci-omit-dev.log"
    die "npm ci --omit=dev failed"
  }
  cp -R dist/src dist/migrations "$APP_DIR/dist/"
  chmod -R a+rX,go-w "$APP_DIR"
  check "runtime layout: no package that only the dev dependencies need is installed" \
    node -e '
      const fs = require("fs"), path = require("path");
      const dir = process.argv[1];
      const lock = JSON.parse(fs.readFileSync(path.join(dir, "package-lock.json"), "utf8"));
      const devOnly = Object.entries(lock.packages).filter(([p, m]) => p && m.dev).map(([p]) => p);
      const present = devOnly.filter((p) => fs.existsSync(path.join(dir, p)));
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
      const wanted = Object.keys(pkg.dependencies).filter((d) => !fs.existsSync(path.join(dir, "node_modules", d)));
      if (present.length || wanted.length) {
        console.error("dev-only packages installed:", present.slice(0, 20), "missing dependencies:", wanted);
        process.exit(1);
      }
      console.log("» " + devOnly.length + " dev-only packages in the lockfile, none installed");
    ' "$APP_DIR"
fi

log "certificates (scripts/certs.sh)"
scripts/certs.sh "$TMP/certs" >"$TMP/logs/certs.log" 2>&1 || {
  cat "$TMP/logs/certs.log"
  die "scripts/certs.sh failed"
}
chmod 755 "$TMP/certs"
check "certificate: SAN branchloans.com, signed by the generated CA" \
  bash -c "openssl verify -CAfile '$TMP/certs/ca.crt' '$TMP/certs/$DOMAIN.crt' &&
    openssl x509 -in '$TMP/certs/$DOMAIN.crt' -noout -ext subjectAltName | grep -q 'DNS:$DOMAIN'"

SCRATCH_DB="branchloans_edge_$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')"
pg_admin "create database \"$SCRATCH_DB\"" >/dev/null || die "cannot create database $SCRATCH_DB in DATABASE_URL"
DB_URL="$(node -e 'const u = new URL(process.argv[1]); u.pathname = "/" + process.argv[2]; console.log(u.toString())' "$DATABASE_URL" "$SCRATCH_DB")"

# PgBouncer between the apps and PostgreSQL, as compose runs it: transaction pooling, a server pool smaller
# than the two apps' pools together, the request statement timeout set on its server connections
# (connect_query: PgBouncer refuses it as a startup parameter), an admin console for the checks below.
PGB_PORT="$(free_port)"
PGB_DIR="$TMP/pgbouncer"
mkdir -p "$PGB_DIR"
eval "$(node -e '
  const u = new URL(process.argv[1]);
  const q = (s) => "'\''" + s.replace(/'\''/g, "'\''\\'\'''\''") + "'\''";
  console.log("PG_HOST=" + q(u.hostname || "127.0.0.1") + " PG_PORT=" + q(u.port || "5432") +
    " PG_USER=" + q(decodeURIComponent(u.username || "postgres")) + " PG_PASSWORD=" + q(decodeURIComponent(u.password)));
' "$DATABASE_URL")"
printf '"%s" "%s"\n' "${PG_USER//\"/\"\"}" "${PG_PASSWORD//\"/\"\"}" >"$PGB_DIR/userlist.txt"
cat >"$PGB_DIR/pgbouncer.ini" <<PGB
[databases]
$SCRATCH_DB = host=$PG_HOST port=$PG_PORT dbname=$SCRATCH_DB connect_query='set statement_timeout = 4000'
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGB_PORT
unix_socket_dir =
auth_type = trust
auth_file = $PGB_DIR/userlist.txt
pool_mode = transaction
default_pool_size = 4
max_client_conn = 100
admin_users = $PG_USER
PGB
chmod -R a+rX "$PGB_DIR"
PGB_AS=()
# PgBouncer refuses to run as root.
[ "$(id -u)" -ne 0 ] || PGB_AS=(-u nobody)
"$PGBOUNCER_BIN" "${PGB_AS[@]}" "$PGB_DIR/pgbouncer.ini" >"$TMP/logs/pgbouncer.log" 2>&1 &
PGBOUNCER_PID=$!
PGB_URL="$(node -e 'const u = new URL(process.argv[1]); u.hostname = "127.0.0.1"; u.port = process.argv[2]; console.log(u.toString())' "$DB_URL" "$PGB_PORT")"
PGB_ADMIN_URL="$(node -e 'const u = new URL(process.argv[1]); u.pathname = "/pgbouncer"; console.log(u.toString())' "$PGB_URL")"
log "pgbouncer $("$PGBOUNCER_BIN" --version | head -n 1 | sed 's/^PgBouncer //') on 127.0.0.1:$PGB_PORT (transaction pooling, 4 server connections)"
for ((i = 0; i < 100; i++)); do
  kill -0 "$PGBOUNCER_PID" 2>/dev/null || die "pgbouncer exited: $(tail -n 5 "$TMP/logs/pgbouncer.log")"
  pg_admin 'SHOW VERSION' "$PGB_ADMIN_URL" >/dev/null 2>&1 && break
  sleep 0.1
done
pg_admin 'SHOW VERSION' "$PGB_ADMIN_URL" >/dev/null || die "pgbouncer does not answer on 127.0.0.1:$PGB_PORT"
pgb_stat() { # COLUMN: SHOW STATS's value for the scratch database
  pg_admin 'SHOW STATS' "$PGB_ADMIN_URL" | node -e '
    const rows = require("fs").readFileSync(0, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
    const row = rows.find((r) => r.database === process.argv[1]);
    console.log(row ? Number(row[process.argv[2]]) : 0);
  ' "$SCRATCH_DB" "$1"
}

# Production needs a JWT secret and a first admin (the GraphQL checks log in as that admin).
JWT_SECRET="edge-$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
ADMIN_EMAIL=edge-admin@branchloans.com
ADMIN_PASSWORD="edge-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"

# Run the apps as an unprivileged user when we are root, as the image does (user node).
RUN_AS=()
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
  RUN_AS=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  mkdir -p "$TMP/apptmp" && chmod 1777 "$TMP/apptmp"
fi

start_app() { # NAME PORT: starts one app process in the background, logs to its own file
  local name="$1" port="$2"
  APP_LOG[$name]="$TMP/logs/app-$name.log"
  (
    cd "$APP_DIR"
    exec env -i PATH="$PATH" HOME=/nonexistent TMPDIR="$TMP/apptmp" \
      NODE_ENV=production APP_ENV=production HOST=127.0.0.1 PORT="$port" \
      DATABASE_URL="$PGB_URL" DATABASE_DIRECT_URL="$DB_URL" DATABASE_POOLER=pgbouncer \
      LOG_LEVEL=info SEED=true MIGRATE_ON_START=true DB_POOL_SIZE=5 SHUTDOWN_TIMEOUT_MS=10000 \
      TRUST_PROXY=127.0.0.1 JWT_SECRET="$JWT_SECRET" ADMIN_EMAIL="$ADMIN_EMAIL" ADMIN_PASSWORD="$ADMIN_PASSWORD" \
      "${RUN_AS[@]}" "$EDGE_NODE" --enable-source-maps dist/src/main.js
  ) >"${APP_LOG[$name]}" 2>&1 &
  APP_PID[$name]=$!
}
wait_healthy() { # NAME PORT: bounded wait for /health 200 straight on the app
  local name="$1" port="$2" i
  for ((i = 0; i < 600; i++)); do
    if ! kill -0 "${APP_PID[$name]}" 2>/dev/null; then
      echo "app $name exited during start:" >&2
      tail -n 30 "${APP_LOG[$name]}" >&2
      return 1
    fi
    if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/health" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "app $name not healthy after 60 s" >&2
  tail -n 30 "${APP_LOG[$name]}" >&2
  return 1
}

log "two app processes on 127.0.0.1:$PORT_A and :$PORT_B (started together: migrations under the lock)"
mkdir -p "$TMP/apptmp"
chmod 1777 "$TMP/apptmp"
start_app a1 "$PORT_A"
start_app b1 "$PORT_B"
wait_healthy a1 "$PORT_A" || die "app a1 did not start"
wait_healthy b1 "$PORT_B" || die "app b1 did not start"
CUR_A=a1
CUR_B=b1
check "both apps started against one fresh database (advisory-locked migrations, no error)" \
  bash -c "! grep -h '\"level\":[56]0' '${APP_LOG[a1]}' '${APP_LOG[b1]}'"

# The Dockerfile's HEALTHCHECK command, taken from the Dockerfile itself, run against a live app
# and against a closed port.
HEALTHCHECK_JSON="$(node -e '
  const text = require("fs").readFileSync("Dockerfile", "utf8").replace(/\\\r?\n/g, " ");
  const line = text.split(/\r?\n/).find((l) => /^\s*HEALTHCHECK\s/i.test(l));
  const m = line && line.match(/\bCMD\s+(\[.*\])\s*$/);
  if (!m) process.exit(1);
  console.log(JSON.stringify(JSON.parse(m[1])));
')" || die "no exec-form HEALTHCHECK CMD in the Dockerfile"
run_healthcheck() { # PORT: runs the HEALTHCHECK argv with PORT set, the way the container would
  local port="$1"
  local -a argv
  mapfile -t argv < <(node -e 'for (const a of JSON.parse(process.argv[1])) console.log(a)' "$HEALTHCHECK_JSON")
  [ "${argv[0]}" = node ] && argv[0]="$EDGE_NODE"
  (cd "$APP_DIR" && env PORT="$port" timeout 10 "${argv[@]}")
}
check "Dockerfile HEALTHCHECK command: exit 0 against a healthy app" run_healthcheck "$PORT_A"
healthcheck_fails_when_down() { ! run_healthcheck "$(free_port)"; }
check "Dockerfile HEALTHCHECK command: exit 1 when nothing answers" healthcheck_fails_when_down

log "nginx $("$NGINX_BIN" -v 2>&1 | sed 's/.*nginx\///') on 127.0.0.1:$HTTP_PORT (HTTP) and :$HTTPS_PORT (HTTPS)"
mkdir -p "$NGINX_DIR/logs" "$NGINX_DIR/tmp"
(
  export NGINX_HTTP_PORT="$HTTP_PORT" NGINX_HTTPS_PORT="$HTTPS_PORT" PUBLIC_HTTPS_PORT="$HTTPS_PORT"
  export NGINX_CERT_DIR="$TMP/certs" NGINX_RESOLVER=127.0.0.1
  export API_UPSTREAM_SERVERS="server 127.0.0.1:$PORT_A max_fails=1 fail_timeout=2s; server 127.0.0.1:$PORT_B max_fails=1 fail_timeout=2s;"
  export API_RATE_LIMIT API_RATE_BURST GRAPHQL_RATE_LIMIT GRAPHQL_RATE_BURST
  nginx/render-template.sh nginx/templates/branchloans.conf.template "$NGINX_DIR/branchloans.conf"
) || die "the nginx template did not render"
# The main file: nginx/nginx.conf's http block, with the prefix's pid, logs and temp paths.
cat >"$NGINX_DIR/nginx.conf" <<EOF
worker_processes 2;
pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/logs/error.log notice;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    client_body_temp_path $NGINX_DIR/tmp/client_body;
    proxy_temp_path $NGINX_DIR/tmp/proxy;
    fastcgi_temp_path $NGINX_DIR/tmp/fastcgi;
    uwsgi_temp_path $NGINX_DIR/tmp/uwsgi;
    scgi_temp_path $NGINX_DIR/tmp/scgi;
    include $NGINX_DIR/branchloans.conf;
    access_log $NGINX_DIR/logs/access.log branchloans_edge;
}
EOF
check "nginx -t accepts the rendered template" "$NGINX_BIN" -t -q -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf"
# The container's own main file (nginx/nginx.conf) around the same rendering, its paths moved here.
check_container_main_conf() {
  local dir="$TMP/nginx-container"
  mkdir -p "$dir/conf.d" "$dir/tmp" "$dir/logs"
  cp "$NGINX_DIR/branchloans.conf" "$dir/conf.d/"
  sed -e 's#^user nginx;#user nobody nogroup;#' -e "s#/etc/nginx/conf.d#$dir/conf.d#" -e "s#/tmp/nginx.pid#$dir/nginx.pid#" \
    -e "s#/var/log/nginx#$dir/logs#" \
    -e "s#^http {#http {\n    client_body_temp_path $dir/tmp/b; proxy_temp_path $dir/tmp/p; fastcgi_temp_path $dir/tmp/f; uwsgi_temp_path $dir/tmp/u; scgi_temp_path $dir/tmp/s;#" \
    nginx/nginx.conf >"$dir/nginx.conf"
  "$NGINX_BIN" -t -q -p "$dir" -c "$dir/nginx.conf"
}
check "nginx -t accepts nginx/nginx.conf (the container's main file) with the rendered template" check_container_main_conf
"$NGINX_BIN" -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" || die "nginx did not start: $(tail -n 5 "$NGINX_DIR/logs/error.log")"
for ((i = 0; i < 50; i++)); do [ -s "$NGINX_DIR/nginx.pid" ] && break; sleep 0.1; done
[ -s "$NGINX_DIR/nginx.pid" ] || die "nginx wrote no pid file"

# curl through nginx as a client of https://branchloans.com would, with the generated CA (no -k).
BASE="https://$DOMAIN:$HTTPS_PORT"
edge() {
  curl -sS --max-time 15 --cacert "$TMP/certs/ca.crt" \
    --resolve "$DOMAIN:$HTTPS_PORT:127.0.0.1" --resolve "$DOMAIN:$HTTP_PORT:127.0.0.1" "$@"
}
# request FILE_PREFIX CURL_ARGS...: body -> PREFIX.body, headers -> PREFIX.headers, status on stdout
request() {
  local prefix="$1"
  shift
  edge -o "$prefix.body" -D "$prefix.headers" -w '%{http_code}' "$@"
}
header() { # PREFIX NAME: the value of a response header (last one), CR stripped
  grep -i "^$2:" "$1.headers" | tail -n 1 | cut -d: -f2- | sed -e 's/^ *//' -e 's/\r$//'
}
expect_json() { # PREFIX JS_EXPRESSION (b is the parsed body, h the headers text)
  node -e '
    const fs = require("fs");
    const b = JSON.parse(fs.readFileSync(process.argv[1] + ".body", "utf8"));
    const h = fs.readFileSync(process.argv[1] + ".headers", "utf8");
    const ok = new Function("b", "h", "return (" + process.argv[2] + ");")(b, h);
    if (!ok) { console.error("expected " + process.argv[2] + "\n got " + JSON.stringify(b).slice(0, 600)); process.exit(1); }
  ' "$1" "$2"
}
expect_status() { # WANT GOT
  [ "$1" = "$2" ] || {
    echo "status $2, expected $1"
    return 1
  }
}
R="$TMP/r"
mkdir -p "$R"

# ------------------------------------------------------------------------------------------------
# The REST contract's curl flows and GraphQL, over HTTPS through nginx
# ------------------------------------------------------------------------------------------------
log "REST contract and GraphQL through https://$DOMAIN:$HTTPS_PORT"
flow_health() {
  expect_status 200 "$(request "$R/health" "$BASE/health")" && expect_json "$R/health" 'b.status === "ok"'
}
flow_list() {
  expect_status 200 "$(request "$R/list" "$BASE/api/loans")" &&
    expect_json "$R/list" 'Array.isArray(b) && b.length >= 5 && b.some((l) => l.id === "'$SEED_ID'")'
}
flow_get() {
  expect_status 200 "$(request "$R/get" "$BASE/api/loans/$SEED_ID")" &&
    expect_json "$R/get" 'b.id === "'$SEED_ID'" && b.borrower_id === "usr_kenya_001" && b.amount === 12500 && b.currency === "KES"'
}
flow_create() {
  expect_status 201 "$(request "$R/create" -X POST "$BASE/api/loans" -H 'Content-Type: application/json' \
    -d '{"borrower_id":"usr_india_999","amount":12000.50,"currency":"INR","term_months":6,"interest_rate_apr":24.0}')" &&
    expect_json "$R/create" 'b.status === "pending" && b.amount === 12000.5 && b.currency === "INR" && b.borrower_id === "usr_india_999"' &&
    expect_json "$R/create" 'new RegExp("^location: /api/loans/" + b.id + "\\s*$", "im").test(h)'
}
flow_stats() {
  expect_status 200 "$(request "$R/stats" "$BASE/api/stats")" &&
    expect_json "$R/stats" 'b.total_loans >= 6 && b.by_currency.INR >= 2 && typeof b.total_amount === "number"'
}
# When GraphQL reads need a bearer token (the app has logIn), log in as the first admin over HTTPS
# (a POST mutation through nginx); an app without logIn is queried without a token.
AUTH=()
log_in() {
  local code
  code="$(request "$R/login" -X POST "$BASE/graphql" -H 'Content-Type: application/json' \
    -d '{"query":"mutation EdgeLogIn($input: LogInInput!) { logIn(input: $input) { token } }","variables":{"input":{"email":"'$ADMIN_EMAIL'","password":"'$ADMIN_PASSWORD'"}}}')"
  if [ "$code" = 200 ] && expect_json "$R/login" '!b.errors && typeof b.data.logIn.token === "string"' 2>/dev/null; then
    AUTH=(-H "Authorization: Bearer $(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).data.logIn.token)' "$R/login.body")")
    echo "        (GraphQL: logged in as $ADMIN_EMAIL over HTTPS; the queries below carry the bearer token)"
  elif grep -q 'LogInInput\|logIn' "$R/login.body" && grep -q 'GRAPHQL_VALIDATION_FAILED' "$R/login.body"; then
    echo "        (GraphQL: this app has no logIn mutation; querying without a token)"
  else
    echo "        (GraphQL: logIn answered $code: $(head -c 300 "$R/login.body"))"
  fi
}
log_in
flow_graphql() {
  expect_status 200 "$(request "$R/gql" "${AUTH[@]}" -X POST "$BASE/graphql" -H 'Content-Type: application/json' \
    -d '{"query":"query EdgeLoan($id: ID!) { loan(id: $id) { id status amount { amount currencyCode } } }","variables":{"id":"'$SEED_ID'"}}')" &&
    expect_json "$R/gql" '!b.errors && b.data.loan.id === "'$SEED_ID'" && b.data.loan.amount.currencyCode === "KES"'
}
flow_graphql_get() { # GET with the preflight header (Apollo's CSRF rule), what the burst below uses
  expect_status 200 "$(request "$R/gqlget" "${AUTH[@]}" -g -H 'apollo-require-preflight: true' \
    "$BASE/graphql?query=%7Bloan(id%3A%22$SEED_ID%22)%7Bid%7D%7D")" &&
    expect_json "$R/gqlget" 'b.data.loan.id === "'$SEED_ID'"'
}
check "curl https://$DOMAIN/health -> 200 {status: ok}" flow_health
check "curl https://$DOMAIN/api/loans -> 200, the seeded loans" flow_list
check "curl https://$DOMAIN/api/loans/$SEED_ID -> 200, the documented loan" flow_get
check "curl -X POST https://$DOMAIN/api/loans (the README body) -> 201 + Location" flow_create
check "curl https://$DOMAIN/api/stats -> 200, counts the new loan" flow_stats
check "GraphQL query over HTTPS (POST /graphql)" flow_graphql
check "GraphQL query over HTTPS (GET /graphql with apollo-require-preflight)" flow_graphql_get
flow_not_found() {
  expect_status 404 "$(request "$R/nf" "$BASE/nope")" && expect_json "$R/nf" 'b.error.code === "NOT_FOUND"'
}
check "unknown path -> the app's JSON 404 through nginx" flow_not_found
# The flows above reached PostgreSQL through PgBouncer only: its counters grew, and every session of the
# scratch database (but this check's own) is one of PgBouncer's server connections, none an app's own.
check_through_pgbouncer() {
  local xact queries
  xact="$(pgb_stat total_xact_count)"
  queries="$(pgb_stat total_query_count)"
  pg_admin 'SHOW SERVERS' "$PGB_ADMIN_URL" >"$TMP/pgb-servers.json" || return 1
  pg_admin 'SHOW CLIENTS' "$PGB_ADMIN_URL" >"$TMP/pgb-clients.json" || return 1
  pg_admin "select pid, application_name from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'" "$DB_URL" >"$TMP/pg-sessions.json" || return 1
  node -e '
    const fs = require("fs");
    const read = (f) => fs.readFileSync(f, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
    const [servers, clients, sessions] = process.argv.slice(1, 4).map(read);
    const db = process.argv[4];
    const pids = new Set(servers.filter((s) => s.database === db).map((s) => Number(s.remote_pid)));
    const apps = clients.filter((c) => c.database === db).length;
    const stray = sessions.filter((s) => !pids.has(Number(s.pid)));
    console.log("» pgbouncer: " + process.argv[5] + " transactions, " + process.argv[6] + " queries; " + pids.size +
      " server connections for " + apps + " app connections; " + sessions.length + " sessions on the server, " + stray.length + " not through it");
    if (stray.length) { console.error("sessions not through PgBouncer:", stray); process.exit(1); }
    if (pids.size === 0 || apps === 0 || Number(process.argv[5]) < 10) process.exit(1);
  ' "$TMP/pgb-servers.json" "$TMP/pgb-clients.json" "$TMP/pg-sessions.json" "$SCRATCH_DB" "$xact" "$queries"
}
check "the flows reached PostgreSQL through PgBouncer only (SHOW STATS, SHOW SERVERS vs pg_stat_activity)" check_through_pgbouncer

# ------------------------------------------------------------------------------------------------
# TLS, redirect, headers, request ids, forwarding, load balancing, gzip, body limit
# ------------------------------------------------------------------------------------------------
log "TLS, redirect, headers"
check_http2() { [ "$(edge -o /dev/null -w '%{http_version}' --http2 "$BASE/health")" = 2 ]; }
check "HTTP/2 negotiated (ALPN h2)" check_http2
check_redirect() {
  local code
  code="$(edge -o /dev/null -D "$R/redir.headers" -w '%{http_code}' "http://$DOMAIN:$HTTP_PORT/api/loans?x=1")"
  expect_status 301 "$code" && [ "$(header "$R/redir" location)" = "https://$DOMAIN:$HTTPS_PORT/api/loans?x=1" ] ||
    { cat "$R/redir.headers"; return 1; }
}
check "http://$DOMAIN/... -> 301 to https://$DOMAIN:$HTTPS_PORT/... (path and query kept)" check_redirect
check_follow() { [ "$(edge -L -o /dev/null -w '%{http_code} %{scheme}' "http://$DOMAIN:$HTTP_PORT/health")" = "200 HTTPS" ]; }
check "curl -L http://$DOMAIN/health ends on HTTPS with 200" check_follow
# OpenSSL 3 on the client refuses TLS < 1.2 at its default security level, which would make the
# test pass whatever nginx does: the client below offers TLS 1.1 at SECLEVEL=0, so only nginx refuses.
tls_handshake() { # -tls1_1 | -tls1_2 | -tls1_3
  openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -servername "$DOMAIN" "$1" -cipher 'DEFAULT:@SECLEVEL=0' \
    -CAfile "$TMP/certs/ca.crt" -verify_return_error </dev/null >"$TMP/tls$1.out" 2>&1
}
check_tls11_refused() {
  if tls_handshake -tls1_1; then
    echo "a TLS 1.1 handshake succeeded"
    return 1
  fi
  # Refused by the server (its protocol_version alert), not by the client's own settings.
  grep -q 'alert protocol version' "$TMP/tls-tls1_1.out" || {
    cat "$TMP/tls-tls1_1.out"
    return 1
  }
}
check "TLS 1.1 refused (client offers it at SECLEVEL=0)" check_tls11_refused
check "TLS 1.1 refused by curl --tlsv1.1 --tls-max 1.1" bash -c "! curl -s -o /dev/null --max-time 5 --cacert '$TMP/certs/ca.crt' --resolve '$DOMAIN:$HTTPS_PORT:127.0.0.1' --tlsv1.1 --tls-max 1.1 '$BASE/health'"
check "TLS 1.2 accepted, certificate verified" tls_handshake -tls1_2
check "TLS 1.3 accepted, certificate verified" tls_handshake -tls1_3
check_headers() {
  local prefix="$1" want
  for want in 'strict-transport-security: max-age=63072000; includeSubDomains' 'x-content-type-options: nosniff' \
    'x-frame-options: DENY' 'referrer-policy: no-referrer' "content-security-policy: default-src 'none'" \
    'permissions-policy: ' 'cross-origin-opener-policy: same-origin'; do
    grep -qi "^$want" "$prefix.headers" || {
      echo "missing header: $want"
      cat "$prefix.headers"
      return 1
    }
  done
  if grep -qiE '^(x-powered-by:|server: nginx/)' "$prefix.headers"; then
    echo "leaks X-Powered-By or the nginx version"
    return 1
  fi
}
check "security headers on a 200 (HSTS, nosniff, frame, referrer, CSP, permissions, COOP; no versions)" check_headers "$R/list"
check "security headers on an error (404)" check_headers "$R/nf"

log "X-Request-ID, X-Forwarded-*, TRUST_PROXY"
log_line() { # REQUEST_ID: the app's request log line (req.id) from any app log, as JSON
  node -e '
    const fs = require("fs");
    for (const file of process.argv.slice(2)) {
      for (const line of fs.readFileSync(file, "utf8").split("\n")) {
        if (!line.startsWith("{")) continue;
        let j; try { j = JSON.parse(line); } catch { continue; }
        if (j.req && j.req.id === process.argv[1] && j.res) { console.log(JSON.stringify(j)); process.exit(0); }
      }
    }
    process.exit(1);
  ' "$1" "$TMP"/logs/app-*.log
}
wait_log_line() { # REQUEST_ID: the log line, waiting (bounded) for the app to flush it
  local i
  for ((i = 0; i < 30; i++)); do
    log_line "$1" && return 0
    sleep 0.1
  done
  echo "no app log line with req.id $1" >&2
  return 1
}
check_request_id_passed() {
  local code
  code="$(request "$R/rid" -H 'X-Request-ID: edge-rid-1' "$BASE/api/loans/$SEED_ID")"
  expect_status 200 "$code" || return 1
  [ "$(grep -ci '^x-request-id:' "$R/rid.headers")" = 1 ] || { echo "not exactly one X-Request-ID header"; return 1; }
  [ "$(header "$R/rid" x-request-id)" = edge-rid-1 ] || { echo "X-Request-ID not echoed"; return 1; }
  wait_log_line edge-rid-1 >/dev/null && grep -q 'rid=edge-rid-1 ' "$NGINX_DIR/logs/access.log"
}
check "X-Request-ID from the client: passed to the app (its log), echoed once, in nginx's log" check_request_id_passed
check_request_id_generated() {
  local id
  request "$R/rid2" "$BASE/health" >/dev/null
  id="$(header "$R/rid2" x-request-id)"
  [[ "$id" =~ ^[0-9a-f]{32}$ ]] || { echo "no generated id: '$id'"; return 1; }
  wait_log_line "$id" >/dev/null
}
check "no X-Request-ID: nginx generates one, the app logs and echoes the same" check_request_id_generated
check_request_id_invalid() {
  local id
  request "$R/rid3" -H 'X-Request-ID: bad id <script>' "$BASE/health" >/dev/null
  id="$(header "$R/rid3" x-request-id)"
  [[ "$id" =~ ^[0-9a-f]{32}$ ]] || { echo "unsafe id kept: '$id'"; return 1; }
}
check "an unsafe X-Request-ID is replaced" check_request_id_invalid
# The client is 127.0.0.66 (curl --interface), nginx reaches the apps from 127.0.0.1 = TRUST_PROXY.
check_forwarded_client() {
  local line
  edge -o /dev/null --interface 127.0.0.66 -H 'X-Request-ID: edge-xff-1' -H 'X-Forwarded-For: 203.0.113.7' "$BASE/health"
  line="$(wait_log_line edge-xff-1)" || return 1
  node -e '
    const j = JSON.parse(process.argv[1]);
    if (j.req.remoteAddress !== "127.0.0.1" && j.req.remoteAddress !== "::ffff:127.0.0.1") { console.error("socket peer is not nginx:", j.req); process.exit(1); }
    if (j.req.clientIp !== "127.0.0.66") { console.error("req.clientIp should be the client nginx saw (127.0.0.66), not a spoofed X-Forwarded-For; got", j.req); process.exit(1); }
  ' "$line"
}
check "through nginx: the app's req.ip is the real client (X-Forwarded-For set by nginx, spoofed value dropped)" check_forwarded_client
check_untrusted_forwarded() {
  local line
  curl -sS -o /dev/null --max-time 5 --interface 127.0.0.55 -H 'X-Request-ID: edge-xff-2' \
    -H 'X-Forwarded-For: 203.0.113.8' "http://127.0.0.1:$PORT_A/health"
  line="$(wait_log_line edge-xff-2)" || return 1
  node -e '
    const j = JSON.parse(process.argv[1]);
    if (j.req.clientIp !== "127.0.0.55") { console.error("X-Forwarded-For from a peer that is not the proxy must be ignored; got", j.req); process.exit(1); }
  ' "$line"
}
check "straight to an app from another address: X-Forwarded-For ignored (trusted only from the proxy)" check_untrusted_forwarded

log "load balancing, gzip, body limit"
check_both_receive() {
  local i a b
  for i in $(seq 1 20); do
    edge -o /dev/null -H "X-Request-ID: edge-lb-$i" "$BASE/api/loans/$SEED_ID" || return 1
  done
  sleep 0.3
  a="$(grep -ho '"id":"edge-lb-[0-9]*"' "${APP_LOG[$CUR_A]}" | sort -u | wc -l)"
  b="$(grep -ho '"id":"edge-lb-[0-9]*"' "${APP_LOG[$CUR_B]}" | sort -u | wc -l)"
  echo "» app A answered $a, app B answered $b of 20"
  [ "$a" -gt 0 ] && [ "$b" -gt 0 ] && [ $((a + b)) -eq 20 ]
}
check "both app processes receive traffic (20 requests, counted in each app's own log)" check_both_receive
check_gzip() {
  local enc
  edge -o "$R/gz.body" -D "$R/gz.headers" -H 'Accept-Encoding: gzip' "$BASE/api/loans" || return 1
  enc="$(header "$R/gz" content-encoding)"
  [ "$enc" = gzip ] || { echo "Content-Encoding: '$enc'"; return 1; }
  gzip -dc "$R/gz.body" | node -e 'JSON.parse(require("fs").readFileSync(0, "utf8"))'
}
check "gzip for JSON (Content-Encoding: gzip, body decompresses to JSON)" check_gzip
check_body_limit() {
  head -c 200000 /dev/zero | tr '\0' 'x' | sed 's/^/{"borrower_id":"/; s/$/"}/' >"$TMP/big.json"
  expect_status 413 "$(request "$R/big" -X POST "$BASE/api/loans" -H 'Content-Type: application/json' --data-binary "@$TMP/big.json")" &&
    expect_json "$R/big" 'b.error.code === "PAYLOAD_TOO_LARGE"'
}
check "request body over 128k -> 413 JSON from nginx" check_body_limit

# ------------------------------------------------------------------------------------------------
# Rate limiting: its own client addresses, so the other checks never meet the limit
# ------------------------------------------------------------------------------------------------
log "rate limits ($API_RATE_LIMIT burst $API_RATE_BURST on /api, $GRAPHQL_RATE_LIMIT burst $GRAPHQL_RATE_BURST on /graphql)"
check_rate_limit() { # CLIENT_IP COUNT URL_GLOB [CURL ARGS]: COUNT requests on one connection, as fast as curl goes
  local ip="$1" count="$2" url="$3" ok limited other i
  local -a urls=()
  shift 3
  for ((i = 1; i <= count; i++)); do urls+=("$url"); done
  edge --interface "$ip" -g -o /dev/null "$@" -w '%{stderr}%{http_code}\n' "${urls[@]}" 2>"$TMP/rl-$ip.codes" >/dev/null || true
  ok="$(grep -c '^200$' "$TMP/rl-$ip.codes" || true)"
  limited="$(grep -c '^429$' "$TMP/rl-$ip.codes" || true)"
  other="$(grep -vcE '^(200|429)$' "$TMP/rl-$ip.codes" || true)"
  echo "» $count requests from $ip: $ok x 200, $limited x 429, $other other"
  [ "$(head -n 1 "$TMP/rl-$ip.codes")" = 200 ] && [ "$limited" -gt 0 ] && [ "$other" -eq 0 ] && [ "$ok" -gt 0 ]
}
check "/api: 120 quick requests from one client -> 200s, then 429s" \
  check_rate_limit 127.0.0.77 120 "$BASE/api/loans/$SEED_ID"
check "/graphql: 80 quick requests from one client -> 200s, then 429s" \
  check_rate_limit 127.0.0.78 80 "$BASE/graphql?query=%7Bloan(id%3A%22$SEED_ID%22)%7Bid%7D%7D" -H 'apollo-require-preflight: true' "${AUTH[@]}"
check_429_body() { # a fresh client empties its bucket on one connection, then its next answer is kept
  local i code
  local -a urls=()
  for ((i = 0; i < 100; i++)); do urls+=(-o /dev/null "$BASE/api/stats"); done
  code="$(edge --interface 127.0.0.79 -w '%{stderr}%{http_code}\n' "${urls[@]}" 2>"$TMP/rl-last.codes" \
    --next -sS --max-time 15 --cacert "$TMP/certs/ca.crt" --resolve "$DOMAIN:$HTTPS_PORT:127.0.0.1" \
    --interface 127.0.0.79 -o "$R/rl.body" -D "$R/rl.headers" -w '%{http_code}' "$BASE/api/stats")"
  echo "» after $(grep -c '^200$' "$TMP/rl-last.codes" || true) x 200 and $(grep -c '^429$' "$TMP/rl-last.codes" || true) x 429: $code"
  expect_status 429 "$code" && expect_json "$R/rl" 'b.error.code === "RATE_LIMITED"' &&
    [ "$(header "$R/rl" retry-after)" = 1 ] && check_headers "$R/rl"
}
check "429 answer: JSON error, Retry-After, security headers" check_429_body
check "the limit is per client: 127.0.0.1 is still served" flow_get

# ------------------------------------------------------------------------------------------------
# Rolling restart under load: SIGTERM each app in turn during a burst; no request may fail
# ------------------------------------------------------------------------------------------------
log "rolling restart during a burst (4 workers, GET /api/loans/:id, /api/stats, /graphql, /health)"
BURST_DIR="$TMP/burst"
mkdir -p "$BURST_DIR"
rm -f "$TMP/burst-stop"
burst_worker() { # W: loops until the stop file, 4 GETs per curl (one connection), a new source address each time
  local w="$1" i=0 deadline=$((SECONDS + 150))
  while [ ! -e "$TMP/burst-stop" ] && [ "$i" -lt 4000 ] && [ "$SECONDS" -lt "$deadline" ]; do
    i=$((i + 1))
    edge -g --interface "127.20.$w.$((i % 250 + 1))" -H 'apollo-require-preflight: true' "${AUTH[@]}" \
      -o /dev/null -o /dev/null -o /dev/null -o /dev/null -w '%{stderr}%{http_code}\n' \
      "$BASE/api/loans/$SEED_ID" "$BASE/api/stats" \
      "$BASE/graphql?query=%7Bloan(id%3A%22$SEED_ID%22)%7Bid%20status%7D%7D" "$BASE/health" \
      2>>"$BURST_DIR/w$w.codes" >/dev/null || echo "curl-exit-$?" >>"$BURST_DIR/w$w.codes"
  done
}
burst_count() { cat "$BURST_DIR"/w*.codes 2>/dev/null | wc -l; }
wait_burst() { # N: bounded wait until N more burst answers have arrived
  local target=$(($(burst_count) + $1)) i
  for ((i = 0; i < 300; i++)); do
    [ "$(burst_count)" -ge "$target" ] && return 0
    sleep 0.1
  done
  return 1
}
in_rotation() { # NAME: bounded wait until the app has answered burst traffic (nginx sends it requests again)
  local i
  for ((i = 0; i < 300; i++)); do
    [ "$(grep -c '"msg":"GET /api/' "${APP_LOG[$1]}" 2>/dev/null || true)" -ge 5 ] && return 0
    sleep 0.1
  done
  return 1
}
restart_one() { # OLD NEW PORT: SIGTERM OLD mid-burst, wait for its exit code, start NEW, wait until it serves
  local old="$1" new="$2" port="$3" code i
  wait_burst 150 || { echo "the burst stalled"; return 1; }
  echo "SIGTERM $old (pid ${APP_PID[$old]}) after $(burst_count) answers"
  kill -TERM "${APP_PID[$old]}"
  code=0
  for ((i = 0; i < 300; i++)); do kill -0 "${APP_PID[$old]}" 2>/dev/null || break; sleep 0.1; done
  wait "${APP_PID[$old]}" || code=$?
  unset "APP_PID[$old]"
  echo "$old exited with $code after $(burst_count) answers"
  echo "$code" >"$TMP/exit-$old"
  start_app "$new" "$port"
  wait_healthy "$new" "$port" || return 1
  in_rotation "$new" || { echo "$new gets no traffic from nginx"; return 1; }
  echo "$new serves burst traffic after $(burst_count) answers"
}
PGB_XACT_BEFORE_BURST="$(pgb_stat total_xact_count)"
for w in 1 2 3 4; do
  burst_worker "$w" &
  BURST_PIDS+=($!)
done
rolling_ok=true
restart_one a1 a2 "$PORT_A" >"$TMP/rolling.log" 2>&1 && CUR_A=a2 || rolling_ok=false
if $rolling_ok; then restart_one b1 b2 "$PORT_B" >>"$TMP/rolling.log" 2>&1 && CUR_B=b2 || rolling_ok=false; fi
wait_burst 200 || true
touch "$TMP/burst-stop"
for pid in "${BURST_PIDS[@]}"; do wait "$pid" || true; done
BURST_PIDS=()
sed 's/^/        /' "$TMP/rolling.log"
check "rolling restart: a1 and b1 stopped one after the other, a2 and b2 started and served" $rolling_ok
check_no_loss() {
  local total bad
  total="$(burst_count)"
  bad="$(cat "$BURST_DIR"/w*.codes | grep -vc '^200$' || true)"
  echo "» $total answers, $bad not 200"
  cat "$BURST_DIR"/w*.codes | sort | uniq -c | sort -rn | head -n 5
  [ "$total" -ge 600 ] && [ "$bad" -eq 0 ]
}
check "no request lost or failed during the rolling restart (every answer 200)" check_no_loss
check_exit_zero() {
  local n
  for n in a1 b1; do
    [ "$(cat "$TMP/exit-$n" 2>/dev/null)" = 0 ] || { echo "$n exit code: $(cat "$TMP/exit-$n" 2>/dev/null || echo none)"; return 1; }
    grep -q '"msg":"stopped"' "${APP_LOG[$n]}" || { echo "$n did not log 'stopped'"; return 1; }
  done
}
check "SIGTERMed apps drained and exited 0" check_exit_zero
check_burst_through_pgbouncer() { # every answer of the burst needs the database at least once (/health: select 1)
  local xact answers
  xact=$(($(pgb_stat total_xact_count) - PGB_XACT_BEFORE_BURST))
  answers="$(burst_count)"
  echo "» $xact transactions through PgBouncer for $answers answers"
  [ "$xact" -ge "$answers" ]
}
check "the burst and the restarted apps went through PgBouncer (its transaction count grew with the answers)" check_burst_through_pgbouncer
check_shutdown_logged() { # each old app answered requests after its SIGTERM was logged (drain, not drop)
  node -e '
    const fs = require("fs");
    for (const file of process.argv.slice(1)) {
      const lines = fs.readFileSync(file, "utf8").split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
      const stop = lines.findIndex((l) => /shutting down/.test(l.msg || ""));
      if (stop < 0) { console.error(file + ": no shutdown line"); process.exit(1); }
      console.log(file.replace(/.*\//, "") + ": " + lines.filter((l) => l.res).length + " requests, shutdown logged");
    }
  ' "${APP_LOG[a1]}" "${APP_LOG[b1]}"
}
check "the stopped apps logged their shutdown" check_shutdown_logged
echo "        (nginx error log: $(grep -c 'upstream' "$NGINX_DIR/logs/error.log" || true) upstream errors from stopping apps, each retried on the other replica)"

# ------------------------------------------------------------------------------------------------
# Backup and restore scripts, with a stand-in for `docker compose exec db` that runs locally
# ------------------------------------------------------------------------------------------------
log "stop nginx and the apps (SIGQUIT / SIGTERM)"
stop_pid "$(cat "$NGINX_DIR/nginx.pid")" QUIT 10
for name in "${!APP_PID[@]}"; do
  pid="${APP_PID[$name]}"
  kill -TERM "$pid" 2>/dev/null || true
  code=0
  wait "$pid" || code=$?
  unset "APP_PID[$name]"
  check "app $name stopped by SIGTERM with exit code 0" test "$code" -eq 0
done

if command -v pg_dump >/dev/null && command -v pg_restore >/dev/null; then
  log "backup and restore (scripts/db-backup.sh, scripts/db-restore.sh)"
  mkdir -p "$TMP/shim"
  cat >"$TMP/shim/docker" <<'EOF'
#!/usr/bin/env bash
# Stand-in for `docker compose` in the edge test: `exec -T db CMD...` runs CMD here, against the
# scratch database (POSTGRES_USER, POSTGRES_DB and PG* exported by the test); stop/start are logged.
set -euo pipefail
[ "${1:-}" = compose ] || exit 1
shift
while [ $# -gt 0 ]; do
  case "$1" in
    --env-file | -f | -p | --project-name) shift 2 ;;
    version) echo "Docker Compose version edge-test-shim" && exit 0 ;;
    stop | start | restart | ps) echo "compose $*" >>"$SHIM_LOG" && exit 0 ;;
    exec)
      shift
      break
      ;;
    *) shift ;;
  esac
done
[ "${1:-}" = -T ] && shift
[ "${1:-}" = db ] || { echo "shim: only the db service is known" >&2 && exit 1; }
shift
# Pipes on both sides, as `docker compose exec -T` streams them (non-seekable, like the real thing).
set -o pipefail
cat | "$@" | cat
EOF
  chmod +x "$TMP/shim/docker"
  eval "$(node -e '
    const u = new URL(process.argv[1]);
    const q = (s) => "'\''" + s.replace(/'\''/g, "'\''\\'\'''\''") + "'\''";
    console.log("export PGHOST=" + q(u.hostname || "127.0.0.1") + " PGPORT=" + q(u.port || "5432") +
      " POSTGRES_USER=" + q(decodeURIComponent(u.username || "postgres")) + " PGPASSWORD=" + q(decodeURIComponent(u.password)) +
      " POSTGRES_DB=" + q(process.argv[2]));
  ' "$DATABASE_URL" "$SCRATCH_DB")"
  export SHIM_LOG="$TMP/shim.log"
  loans_count() { pg_admin 'select count(*)::int as n from loans' "$DB_URL" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).n)'; }
  before="$(loans_count)"
  check_backup() {
    PATH="$TMP/shim:$PATH" scripts/db-backup.sh --env-file .env.prod.example "$TMP/backup.dump" &&
      [ "$(head -c 5 "$TMP/backup.dump")" = PGDMP ] && pg_restore --list "$TMP/backup.dump" >"$TMP/backup.list" && grep -q 'TABLE public loans' "$TMP/backup.list"
  }
  check "db-backup.sh: a custom-format pg_dump of the compose database ($before loans)" check_backup
  # Lose data after the backup: the loans table itself (loan_events is append-only by trigger).
  pg_admin 'drop table loans cascade' "$DB_URL" >/dev/null
  check_restore() {
    PATH="$TMP/shim:$PATH" scripts/db-restore.sh --env-file .env.prod.example --yes "$TMP/backup.dump" &&
      [ "$(loans_count)" = "$before" ] && grep -q 'compose .*stop api' "$SHIM_LOG" && grep -q 'compose .*start api' "$SHIM_LOG"
  }
  check "db-restore.sh: the table dropped after the backup is back with its rows; api stopped and started again" check_restore
  check "db-restore.sh refuses to run without --yes and without a terminal" \
    bash -c "! PATH='$TMP/shim:$PATH' scripts/db-restore.sh --env-file .env.prod.example '$TMP/backup.dump' </dev/null"
else
  echo "  skip  backup/restore: pg_dump and pg_restore are not installed"
fi

# ------------------------------------------------------------------------------------------------
log "done"
if [ "$failed" -gt 0 ]; then
  echo "failed:"
  printf '  - %s\n' "${failures[@]}"
fi
echo "edge: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
