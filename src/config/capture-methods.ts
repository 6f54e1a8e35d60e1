/**
 * The capture methods a catalog entry may name (`capture:`), per engine: how a temporary user's
 * statements are recorded without a proxy, from the target's own logs. The catalog validates them
 * here; src/modules/capture reads and describes them.
 */
export const CAPTURE_METHODS = {
  /** pgaudit per role (needs shared_preload_libraries), else log_statement per role; both read from jsonlog over SQL. */
  postgres: ['pgaudit', 'log_statement', 'pg_stat_statements', 'none'],
  /** server_audit plugin (its log file, read by dbaccess), or the general log written to a table. */
  mariadb: ['server_audit', 'general_log', 'none'],
  mysql: ['performance_schema', 'general_log', 'none'],
} as const;

export type CaptureMethod = (typeof CAPTURE_METHODS)[keyof typeof CAPTURE_METHODS][number];
export const ALL_CAPTURE_METHODS = [...new Set(Object.values(CAPTURE_METHODS).flat())] as CaptureMethod[];
