#!/usr/bin/env bash
# Makes sure the services the tests talk to are up: the machine's PostgreSQL 15 (trust), Redis, and a
# second PostgreSQL 15 cluster on port 5433 with scram-sha-256 password authentication, which the
# credential tests need so that expired or dropped passwords are really refused; query capture on
# both (pgaudit on that cluster, server_audit and the general log on the machine's MariaDB). Idempotent.
set -euo pipefail

PG_VERSION=15
TARGET_CLUSTER=scram
TARGET_PORT=5433
TARGET_MAX_CONNECTIONS=1500
ADMIN_USER=dbaccess_admin
ADMIN_PASSWORD=dbaccess-admin-pw

if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" main start
fi
# Tests start several app processes at once (concurrent start, crash recovery), each with its pools,
# beside the other test file running in parallel: 100 connections (the default) is not enough.
if [[ "$(psql -h 127.0.0.1 -p 5432 -U postgres -qAtX -c 'SHOW max_connections' postgres)" -lt 300 ]]; then
  psql -h 127.0.0.1 -p 5432 -U postgres -qAtX -c 'ALTER SYSTEM SET max_connections = 300' postgres
  pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" main restart
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 0.5; done
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi

# Query capture per role with pgaudit: Debian's package, loaded at server start (below).
PGAUDIT_PACKAGE="postgresql-$PG_VERSION-pgaudit"
if ! dpkg-query -W -f='${Status}' "$PGAUDIT_PACKAGE" 2>/dev/null | grep -q 'install ok installed'; then
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine may have no package lists yet: update only when the first attempt fails.
  if ! apt-get install -y -qq -o Dpkg::Use-Pty=0 "$PGAUDIT_PACKAGE" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    apt-get install -y -qq -o Dpkg::Use-Pty=0 "$PGAUDIT_PACKAGE" >/dev/null
  fi
fi

if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$PG_VERSION $TARGET_CLUSTER"; then
  pg_createcluster "$PG_VERSION" "$TARGET_CLUSTER" -p "$TARGET_PORT" -- --auth-host=scram-sha-256 --auth-local=peer >/dev/null
fi
conf="/etc/postgresql/$PG_VERSION/$TARGET_CLUSTER"
# Passwords only over TCP, never trust; local socket stays peer for the postgres OS user.
cat > "$conf/pg_hba.conf" <<HBA
local   all all                peer
host    all all 127.0.0.1/32   scram-sha-256
host    all all ::1/128        scram-sha-256
HBA
# 1,500 connections: the mass-expiry bench keeps a session open on 10% of its 10,000 leases (issue 22).
cat > "$conf/conf.d/dbaccess-tests.conf" <<CONF
password_encryption = 'scram-sha-256'
max_connections = $TARGET_MAX_CONNECTIONS
listen_addresses = '127.0.0.1'
logging_collector = on
log_destination = 'jsonlog'
# Query capture: pgaudit per role, pg_stat_statements as the last resort. Both only load at start.
shared_preload_libraries = 'pgaudit,pg_stat_statements'
CONF
if pg_lsclusters -h | awk '$1=="'$PG_VERSION'" && $2=="'$TARGET_CLUSTER'" {print $4}' | grep -q online; then
  pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$TARGET_CLUSTER" reload
else
  pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$TARGET_CLUSTER" start
fi
for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p "$TARGET_PORT" -q && break; sleep 0.5; done
# A reload cannot load libraries or change max_connections: restart once, when the running server
# does not have them yet.
loaded=$(su postgres -c "psql -p $TARGET_PORT -qAtX -c 'SHOW shared_preload_libraries'")
connections=$(su postgres -c "psql -p $TARGET_PORT -qAtX -c 'SHOW max_connections'")
if [[ ",${loaded// /}," != *,pgaudit,* || ",${loaded// /}," != *,pg_stat_statements,* || "$connections" -lt "$TARGET_MAX_CONNECTIONS" ]]; then
  pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$TARGET_CLUSTER" restart
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p "$TARGET_PORT" -q && break; sleep 0.5; done
fi

# The admin dbaccess uses on the target: a superuser in tests, so every revocation step is allowed.
su postgres -c "psql -p $TARGET_PORT -qAt -v ON_ERROR_STOP=1" <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ADMIN_USER') THEN
    CREATE ROLE $ADMIN_USER LOGIN SUPERUSER;
  END IF;
END \$\$;
ALTER ROLE $ADMIN_USER PASSWORD '$ADMIN_PASSWORD';
SQL
echo "scram-sha-256 target cluster ready on 127.0.0.1:$TARGET_PORT (pgaudit loaded)"

# MariaDB query capture. server_audit: every account's connections and queries except the service
# accounts (its include list is one global list without wildcards, so readers filter by user), to a
# file dbaccess can read; the general log to the mysql.general_log table. Plugin settings do not
# survive a server restart, so they are set on every run; the rest of the server is left as it was.
MARIADB=(mysql -uroot -h127.0.0.1 -NB)
AUDIT_DIR=/var/log/mysql
AUDIT_FILE="$AUDIT_DIR/dbaccess-audit.log"
if ! "${MARIADB[@]}" -e 'SELECT 1' >/dev/null 2>&1; then
  echo "MariaDB on 127.0.0.1:3306 (root, no password) is not reachable" >&2
  exit 1
fi
if [[ -z "$("${MARIADB[@]}" -e "SELECT 1 FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'SERVER_AUDIT' AND PLUGIN_STATUS = 'ACTIVE'")" ]]; then
  "${MARIADB[@]}" -e "INSTALL SONAME 'server_audit'"
fi
install -d -o mysql -g mysql -m 0755 "$AUDIT_DIR"
"${MARIADB[@]}" <<SQL
SET GLOBAL server_audit_logging = OFF;
SET GLOBAL server_audit_output_type = 'file';
SET GLOBAL server_audit_file_path = '$AUDIT_FILE';
SET GLOBAL server_audit_events = 'CONNECT,QUERY';
SET GLOBAL server_audit_incl_users = '';
SET GLOBAL server_audit_excl_users = 'root,mariadb.sys,mysql';
SET GLOBAL server_audit_query_log_limit = 1048576;
SET GLOBAL server_audit_file_rotate_size = 50000000;
SET GLOBAL server_audit_file_rotations = 4;
SET GLOBAL server_audit_logging = ON;
SET GLOBAL general_log = OFF;
TRUNCATE TABLE mysql.general_log;
SET GLOBAL log_output = 'TABLE';
SET GLOBAL general_log = ON;
SQL
chmod 0644 "$AUDIT_FILE" 2>/dev/null || true
echo "MariaDB capture ready: server_audit to $AUDIT_FILE, general log to mysql.general_log"

# Browser tests (console, HTML reports) drive Debian's Chromium through playwright-core: no download.
if ! command -v chromium >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null; }
fi
echo "chromium: $(command -v chromium)"
