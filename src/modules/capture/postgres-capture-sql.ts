/** Moved to the engine's folder; kept until the provider and admin check import it from there. */
export * from '../credentials/engines/postgres/capture-sql.js';
