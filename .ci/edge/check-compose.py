#!/usr/bin/env python3
"""Checks what `docker-compose config` resolves for one environment, beyond "the file is valid".

    python3 .ci/edge/check-compose.py ENV ENV_FILE      (ENV: dev | stage | prod)

Run by .ci/edge-test.sh from the repository root. Needs docker-compose (Debian's 1.29 or v2) and
PyYAML (a dependency of Debian's docker-compose). Prints every problem found; exit 1 if any.
"""

import ipaddress
import os
import re
import subprocess
import sys

import yaml

env_name, env_file = sys.argv[1], sys.argv[2]
problems = []


def problem(message):
    problems.append(message)


def read_env_file(path):
    values = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                values[key.strip()] = value.strip()
    return values


def ports_of(service):
    """(host_ip, published, target) for each published port, v1 strings or v2 mappings."""
    out = []
    for port in service.get("ports", []) or []:
        if isinstance(port, dict):
            out.append((port.get("host_ip", ""), str(port.get("published", "")), str(port.get("target"))))
        else:
            spec = str(port).split("/")[0]
            parts = spec.rsplit(":", 2)
            if len(parts) == 3:
                out.append((parts[0], parts[1], parts[2]))
            elif len(parts) == 2:
                out.append(("", parts[0], parts[1]))
            else:
                out.append(("", "", parts[0]))
    return out


def mounts_of(service):
    """(source, target, read_only) for each volume, v1 strings or v2 mappings."""
    out = []
    for volume in service.get("volumes", []) or []:
        if isinstance(volume, dict):
            out.append((str(volume.get("source", "")), volume.get("target"), bool(volume.get("read_only"))))
        else:
            parts = str(volume).split(":")
            mode = parts[2] if len(parts) > 2 else "rw"
            out.append((parts[0], parts[1] if len(parts) > 1 else parts[0], "ro" in mode.split(",")))
    return out


def seconds(duration):
    match = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", str(duration))
    if not match or not any(match.groups()):
        return None
    return int(match.group(1) or 0) * 60 + int(match.group(2) or 0)


def compose_config(environ):
    return subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "--env-file", env_file, "config"],
        capture_output=True,
        text=True,
        check=False,
        env=environ,
    )


env = read_env_file(env_file)
# Staging and production run the image CI scanned and published (tag@digest in API_IMAGE) and build
# nothing: with API_IMAGE empty, compose must refuse to start rather than fall back to anything. The
# caller passes the reference to check in the environment (.ci/edge-test.sh: a stand-in of that shape).
if env_name != "dev" and not env.get("API_IMAGE"):
    refused = compose_config({k: v for k, v in os.environ.items() if k != "API_IMAGE"})
    if refused.returncode == 0 or "API_IMAGE" not in refused.stderr:
        problem(f"compose accepts {env_file} without API_IMAGE: staging and production must refuse to start")
result = compose_config(dict(os.environ))
if result.returncode != 0:
    print(result.stderr)
    sys.exit(1)
config = yaml.safe_load(result.stdout)
services = config.get("services", {})

for name in ("db", "pgbouncer", "api", "nginx", "api-direct"):
    if name not in services:
        problem(f"service {name} is missing")
if problems:
    print("\n".join(problems))
    sys.exit(1)
db, api, nginx, direct = services["db"], services["api"], services["nginx"], services["api-direct"]
expected_app_env = {"dev": "development", "stage": "staging", "prod": "production"}[env_name]

# db: PostgreSQL 16, healthcheck, named volume, nothing published
if not str(db.get("image", "")).startswith("postgres:16"):
    problem(f"db image is {db.get('image')}, expected postgres:16.x")
if not (db.get("healthcheck") or {}).get("test"):
    problem("db has no healthcheck")
if not any(src == "pgdata" and target == "/var/lib/postgresql/data" for src, target, _ in mounts_of(db)):
    problem("db data is not on the named volume pgdata")
if "pgdata" not in (config.get("volumes") or {}):
    problem("the named volume pgdata is not declared")
if ports_of(db):
    problem("db publishes a port")

# The app image: only api-direct (development profile) builds it, under the name api and worker run;
# elsewhere it is the published image, pinned by tag and digest.
built = sorted(name for name, service in services.items() if service.get("build"))
if built != ["api-direct"]:
    problem(f"only api-direct (development) may build the image; services with a build section: {built}")
for name in ("api", "worker"):
    if name in services and services[name].get("image") != direct.get("image"):
        problem(f"{name} runs {services[name].get('image')}, not API_IMAGE ({direct.get('image')})")
api_image = str(api.get("image", ""))
if env_name != "dev" and not re.fullmatch(
    r"[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}@sha256:[0-9a-f]{64}", api_image
):
    problem(f"{env_name} api image {api_image!r} is not a published image pinned by tag and digest")

# Every other image: an exact version tag (what Dependabot and a reader see) and the digest (what runs).
for name, service in sorted(services.items()):
    image = str(service.get("image", ""))
    if name in ("api", "worker", "api-direct"):
        continue
    if not re.fullmatch(r"[a-z0-9./_-]+:v?[0-9]+\.[0-9]+[A-Za-z0-9_.-]*@sha256:[0-9a-f]{64}", image):
        problem(f"{name} image {image!r} is not pinned by version tag and digest (name:1.2.3@sha256:...)")

# api: read-only, tmpfs, limits, waits for a healthy db, migrates, no published port
api_env = api.get("environment") or {}
if api.get("read_only") is not True:
    problem("api root filesystem is not read-only")
if not any(str(t).split(":")[0] == "/tmp" for t in api.get("tmpfs", []) or []):
    problem("api has no tmpfs at /tmp")
limits = ((api.get("deploy") or {}).get("resources") or {}).get("limits") or {}
if not limits.get("cpus") or not limits.get("memory"):
    problem(f"api has no CPU and memory limits: {limits}")
if ((api.get("depends_on") or {}).get("db") or {}).get("condition") != "service_healthy":
    problem("api does not wait for a healthy db")
if str(api_env.get("MIGRATE_ON_START")).lower() != "true":
    problem("api does not migrate at start")
# Requests through PgBouncer; migrations and the outbox relay's session straight to db (docs/deployment.md "PgBouncer")
if not str(api_env.get("DATABASE_URL", "")).startswith("postgres://") or "@pgbouncer:5432/" not in api_env.get(
    "DATABASE_URL", ""
):
    problem("api DATABASE_URL does not point at the pgbouncer service")
if "@db:5432/" not in str(api_env.get("DATABASE_DIRECT_URL", "")):
    problem("api DATABASE_DIRECT_URL does not point at the db service")
if api_env.get("DATABASE_POOLER") != "pgbouncer":
    problem(f"api DATABASE_POOLER={api_env.get('DATABASE_POOLER')}, expected pgbouncer")
for name in ("api", "worker"):
    if name in services:
        if ((services[name].get("depends_on") or {}).get("pgbouncer") or {}).get("condition") != "service_healthy":
            problem(f"{name} does not wait for a healthy pgbouncer")
pgbouncer = services["pgbouncer"]
if not (pgbouncer.get("healthcheck") or {}).get("test"):
    problem("pgbouncer has no healthcheck")
if ports_of(pgbouncer):
    problem("pgbouncer publishes a port")
if ((pgbouncer.get("depends_on") or {}).get("db") or {}).get("condition") != "service_healthy":
    problem("pgbouncer does not wait for a healthy db")
ini_mounts = [(src, ro) for src, target, ro in mounts_of(pgbouncer) if target == "/etc/pgbouncer/pgbouncer.ini"]
if not ini_mounts or not ini_mounts[0][1]:
    problem("pgbouncer.ini is not mounted read-only at /etc/pgbouncer/pgbouncer.ini")
else:
    with open("pgbouncer/pgbouncer.ini", encoding="utf-8") as handle:
        ini = handle.read()
    if not re.search(r"(?m)^pool_mode\s*=\s*transaction\s*$", ini):
        problem("pgbouncer/pgbouncer.ini: pool_mode is not transaction")
    # The app sends no statement_timeout behind PgBouncer: the server connections must carry the app's.
    with open("src/config/config.ts", encoding="utf-8") as handle:
        default_ms = re.search(r"DATABASE_TIMEOUT_DEFAULTS[^=]*=\s*\{\s*statementMs:\s*(\d+)", handle.read()).group(1)
    want_ms = str(api_env.get("DB_STATEMENT_TIMEOUT_MS") or default_ms)
    timeout = re.search(r"connect_query\s*=\s*'set statement_timeout = (\d+)'", ini)
    if not timeout or timeout.group(1) != want_ms:
        problem(f"pgbouncer/pgbouncer.ini: connect_query does not set statement_timeout = {want_ms} (DB_STATEMENT_TIMEOUT_MS)")
if api_env.get("APP_ENV") != expected_app_env:
    problem(f"api APP_ENV is {api_env.get('APP_ENV')}, expected {expected_app_env}")
if ports_of(api):
    problem("api publishes a port (only api-direct, in development, may)")
if "ALL" not in (api.get("cap_drop") or []):
    problem("api keeps Linux capabilities (cap_drop: ALL expected)")
for key in ("LOG_LEVEL", "DB_POOL_SIZE", "SEED", "GRAPHQL_INTROSPECTION", "GRAPHQL_SANDBOX", "SHUTDOWN_TIMEOUT_MS"):
    if str(api_env.get(key)) != env.get(key):
        problem(f"api {key}={api_env.get(key)} does not come from {env_file} ({env.get(key)})")
if str(api_env.get("JWT_SECRET") or "") != env.get("JWT_SECRET", ""):
    problem(f"api JWT_SECRET does not come from {env_file}")
grace = seconds(api.get("stop_grace_period", "10s"))
if grace is None or grace * 1000 <= int(api_env.get("SHUTDOWN_TIMEOUT_MS", "10000")):
    problem(f"stop_grace_period {api.get('stop_grace_period')} does not exceed SHUTDOWN_TIMEOUT_MS")
if str(api_env.get("REST_AUTH")) != env.get("REST_AUTH", "open"):
    problem(f"api REST_AUTH={api_env.get('REST_AUTH')} does not come from {env_file} ({env.get('REST_AUTH', 'open')})")
if env_name == "prod":
    for key, want in (("SEED", "false"), ("GRAPHQL_INTROSPECTION", "false"), ("GRAPHQL_SANDBOX", "false")):
        if str(api_env.get(key)).lower() != want:
            problem(f"production api must have {key}={want}")
    # REST_AUTH=open lets anyone create a loan for any borrower; legacy callers get API keys (README "API keys").
    if api_env.get("REST_AUTH") != "api-key":
        problem(f"production api must have REST_AUTH=api-key, has {api_env.get('REST_AUTH')}")

# api-direct: only in the dev profile, only on the loopback interface
if direct.get("profiles") != ["dev"]:
    problem(f"api-direct must be in the dev profile only, has {direct.get('profiles')}")
for host_ip, _, _ in ports_of(direct):
    if host_ip != "127.0.0.1":
        problem("api-direct is published on another interface than 127.0.0.1")
profiles = [p for p in env.get("COMPOSE_PROFILES", "").split(",") if p]
if ("dev" in profiles) != (env_name == "dev"):
    problem(f"COMPOSE_PROFILES={env.get('COMPOSE_PROFILES', '')}: the dev profile belongs to development only")

# nginx: 80 and 443, certificates read-only, template variables all set, trusted address
targets = {target for _, _, target in ports_of(nginx)}
if not {"80", "443"} <= targets:
    problem(f"nginx does not publish 80 and 443 (targets: {sorted(targets)})")
published = {(target, pub) for _, pub, target in ports_of(nginx)}
if ("443", env.get("HTTPS_PORT")) not in published or ("80", env.get("HTTP_PORT")) not in published:
    problem(f"nginx host ports do not come from HTTP_PORT/HTTPS_PORT: {sorted(published)}")
mounts = {target: (src, ro) for src, target, ro in mounts_of(nginx)}
for target in ("/etc/nginx/certs/branchloans.com.crt", "/etc/nginx/certs/branchloans.com.key"):
    if target not in mounts or not mounts[target][1]:
        problem(f"{target} is not mounted read-only")
for target in ("/etc/nginx/templates", "/etc/nginx/nginx.conf"):
    if target not in mounts or not mounts[target][1]:
        problem(f"{target} is not mounted read-only")
if nginx.get("read_only") is not True:
    problem("nginx root filesystem is not read-only")
if ((nginx.get("depends_on") or {}).get("api") or {}).get("condition") != "service_healthy":
    problem("nginx does not wait for a healthy api")
nginx_version = re.search(r":(\d+)\.(\d+)\.(\d+)", str(nginx.get("image", "")))
if not nginx_version:
    problem(f"nginx image {nginx.get('image')} is not pinned to a version")
elif int(nginx_version.group(2)) % 2:
    # Odd minors are nginx's mainline; production follows the stable line (1.30.x since April 2026).
    problem(f"nginx image {nginx.get('image')} is a mainline version, not the stable line")
nginx_env = nginx.get("environment") or {}
with open("nginx/templates/branchloans.conf.template", encoding="utf-8") as handle:
    template_vars = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", handle.read()))
missing = sorted(v for v in template_vars if not str(nginx_env.get(v, "")).strip())
if missing:
    problem(f"the nginx template uses variables compose does not set: {missing}")
if "api:8000" not in str(nginx_env.get("API_UPSTREAM_SERVERS", "")):
    problem("the upstream is not the api service")
if str(nginx_env.get("PUBLIC_HTTPS_PORT")) != env.get("HTTPS_PORT"):
    problem("PUBLIC_HTTPS_PORT (the redirect target) is not the published HTTPS port")
if env_name == "prod":
    # .ci/edge-test.sh renders the template with these values: the tested limits are production's.
    for key in ("API_RATE_LIMIT", "API_RATE_BURST", "GRAPHQL_RATE_LIMIT", "GRAPHQL_RATE_BURST"):
        tested = os.environ.get(f"EDGE_{key}")
        if tested is not None and str(nginx_env.get(key)) != tested:
            problem(f"production {key}={nginx_env.get(key)} but the edge test checks {tested}")

# Networks: api and db on an internal network; nginx's fixed address there is the one the app trusts
networks = config.get("networks") or {}
backend = networks.get("backend") or {}
if backend.get("internal") is not True:
    problem("the backend network is not internal")
subnet = ((backend.get("ipam") or {}).get("config") or [{}])[0].get("subnet")
nginx_ip = ((nginx.get("networks") or {}).get("backend") or {}).get("ipv4_address")
try:
    if ipaddress.ip_address(nginx_ip) not in ipaddress.ip_network(subnet):
        problem(f"nginx backend address {nginx_ip} is outside {subnet}")
except ValueError as error:
    problem(f"backend subnet/address: {error}")
if api_env.get("TRUST_PROXY") != nginx_ip:
    problem(f"api TRUST_PROXY={api_env.get('TRUST_PROXY')} is not nginx's address {nginx_ip}")
if any(set((s.get("networks") or {}).keys()) != {"backend"} for s in (api, db, pgbouncer)):
    problem("api, pgbouncer and db must be on the backend network only")

if problems:
    print("\n".join(problems))
    sys.exit(1)
print(
    f"» {env_name}: APP_ENV={api_env.get('APP_ENV')} replicas={(api.get('deploy') or {}).get('replicas')} "
    f"limits={limits} ports={sorted(published)} rate={nginx_env.get('API_RATE_LIMIT')}"
)
