/**
 * Kept for capture-readers.ts (moving to engines/ in another branch), which imports connectionOptions
 * from here; the provider is in engines/mysql/. At merge: point that import at
 * engines/mysql/connection.ts and delete this file.
 */
export { connectionOptions } from './engines/mysql/connection.js';
