/** Moved to the engine's folder; kept until the admin check imports it from there. */
export * from '../credentials/engines/mysql/capture-sql.js';
