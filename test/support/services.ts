/** Where the machine's services are. CI (.ci/run) prepares the scram-sha-256 target cluster. */
export const SERVICES = {
  /** Trust-auth PostgreSQL 15 that holds dbaccess's own state in tests (a fresh database per file). */
  statePg: process.env.TEST_STATE_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
  /** A PostgreSQL cluster with password (scram-sha-256) authentication: the target of credential tests. */
  targetPg: process.env.TEST_TARGET_PG_URL ?? 'postgresql://dbaccess_admin:dbaccess-admin-pw@127.0.0.1:5433/postgres',
  redis: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
} as const;
