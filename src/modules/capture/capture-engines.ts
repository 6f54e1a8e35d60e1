import type { Engine } from '../../config/catalog.js';
import { mysqlCapture } from '../credentials/engines/mysql/capture.js';
import { postgresCapture } from '../credentials/engines/postgres/capture.js';
import type { CaptureReader } from './capture-reader.js';

/**
 * The capture reader of each engine that records sessions. Vault creates the users itself and
 * records nothing. To be folded into the engine registry (credentials/engines/registry.ts).
 */
export const CAPTURE_READERS: Partial<Record<Engine, CaptureReader>> = {
  postgres: postgresCapture,
  mysql: mysqlCapture,
  mariadb: mysqlCapture,
};
