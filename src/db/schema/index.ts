/**
 * The state database's drizzle schema, one file per area; this is the whole of it, as drizzle-kit
 * (drizzle.config.ts) and the client's relational queries (db/client.ts) see it.
 */
export * from './tenants.js';
export * from './access-requests.js';
export * from './leases.js';
export * from './audit.js';
export * from './mfa.js';
export * from './cli-sessions.js';
export * from './analysis.js';
export * from './capture.js';
export * from './chat.js';
export * from './installation.js';
