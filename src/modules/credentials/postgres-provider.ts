/**
 * Kept for capture-readers.ts (moving to engines/ in another branch), which imports withDatabase from
 * here; the provider is in engines/postgres/. At merge: point that import at engines/postgres/pool.ts
 * and delete this file.
 */
export { withDatabase } from './engines/postgres/pool.js';
