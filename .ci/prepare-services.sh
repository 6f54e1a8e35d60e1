#!/usr/bin/env bash
# Makes sure the services the tests talk to are up: the machine's PostgreSQL 15 (trust), Redis, and a
# second PostgreSQL 15 cluster on port 5433 with scram-sha-256 password authentication, which the
# credential tests need so that expired or dropped passwords are really refused. Idempotent.
set -euo pipefail

PG_VERSION=15
TARGET_CLUSTER=scram
TARGET_PORT=5433
ADMIN_USER=dbaccess_admin
ADMIN_PASSWORD=dbaccess-admin-pw

if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" main start
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
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
cat > "$conf/conf.d/dbaccess-tests.conf" <<CONF
password_encryption = 'scram-sha-256'
max_connections = 300
listen_addresses = '127.0.0.1'
logging_collector = on
log_destination = 'stderr,jsonlog'
CONF
if pg_lsclusters -h | awk '$1=="'$PG_VERSION'" && $2=="'$TARGET_CLUSTER'" {print $4}' | grep -q online; then
  pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$TARGET_CLUSTER" reload
else
  pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$TARGET_CLUSTER" start
fi
for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p "$TARGET_PORT" -q && break; sleep 0.5; done

# The admin dbaccess uses on the target: a superuser in tests, so every revocation step is allowed.
su postgres -c "psql -p $TARGET_PORT -qAt -v ON_ERROR_STOP=1" <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ADMIN_USER') THEN
    CREATE ROLE $ADMIN_USER LOGIN SUPERUSER;
  END IF;
END \$\$;
ALTER ROLE $ADMIN_USER PASSWORD '$ADMIN_PASSWORD';
SQL
echo "scram-sha-256 target cluster ready on 127.0.0.1:$TARGET_PORT"
