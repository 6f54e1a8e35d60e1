import { loadLater } from '../../../../lib/async.js';
import type { SqlDialect } from '../../../analysis/sql-dialect.js';
import { readsFilesOrSendsData } from './dialect-nodes.js';
import { POSTGRES_LEXICAL } from './dialect-lexical.js';

/** libpg-query (WASM) loads with the first analysis, not at start-up. */
const parser = loadLater(async () => {
  const loaded = await import('./dialect-parser.js');
  await loaded.pgReady();
  return loaded;
});

/** PostgreSQL as the session rules read it: libpg-query's parse, and the server's catalogs. */
export const postgresDialect: SqlDialect = {
  lexical: POSTGRES_LEXICAL,
  // Should the WASM parser fail to load, statements are still split and read by their words.
  ready: parser.ready,
  parseEntry: (text, entry) => {
    const loaded = parser.loaded();
    if (!loaded) throw new Error('the PostgreSQL parser is not loaded (ready() first)');
    return loaded.parsePostgresEntry(text, entry);
  },
  // The default search_path finds public, and pg_catalog first for pg_ names.
  defaultSchema: 'public',
  impliedSchema: (name) => (name.startsWith('pg_') ? 'pg_catalog' : undefined),
  // Extensions' information views read like the catalogs (TimescaleDB's hypertables, jobs, chunks).
  // ... and the catalogs of extensions that keep their own: pg_cron's jobs (`cron`), pg_partman's configuration (`partman`).
  systemSchemas: new Set(['pg_catalog', 'information_schema', 'pg_toast', 'timescaledb_information', 'timescaledb_experimental', '_timescaledb_catalog', '_timescaledb_config', 'cron', 'partman']),
  catalogTables: new Set(['spatial_ref_sys', 'geometry_columns', 'geography_columns', 'raster_columns', 'raster_overviews']),
  // A session's temporary schema by its real name: pg_temp_3.
  isTemporarySchema: (schema) => /^pg_temp_\d+$/.test(schema),
  credentialTables: new Set(['pg_catalog.pg_authid', 'pg_catalog.pg_shadow', 'pg_catalog.pg_user_mapping', 'pg_catalog.pg_user_mappings']),
  credentialWords: /\b(?:pg_authid|pg_shadow|pg_user_mappings?)\b/i,
  privilegeTables: new Set(['pg_catalog.pg_authid', 'pg_catalog.pg_auth_members']),
  // The logs (log_statement, log_min_duration...), pgaudit, and the triggers replication roles skip.
  captureSettings: /^(?:log_|logging_collector|pgaudit\.|session_replication_role)/,
  captureWords: /\b(?:pgaudit\.\w+|log_statement|session_replication_role)\s*(?:=|:=|\bTO\b)/i,
  // Capture reads the server's log files, which no statement can write.
  isCaptureTable: () => false,
  isCaptureRoutine: () => false,
  readsFilesOrSendsData,
  permissionError: /permission denied|insufficient privilege|must be (?:owner|superuser|a member)|\b42501\b/i,
};
