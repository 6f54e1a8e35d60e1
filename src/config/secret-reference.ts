import { z } from 'zod';

/**
 * An `env:NAME` or `vault:<path>#<field>` reference to a secret (admin URLs, API tokens), never the
 * secret. In a file of its own so that the integrations' schemas (which catalog-schema.ts imports)
 * can use it without an import cycle.
 */
export const reference = z
  .string()
  .max(500)
  .regex(
    /^(env:[A-Za-z_][A-Za-z0-9_]*|vault:[A-Za-z0-9_./-]+#[A-Za-z0-9_.-]+)$/,
    'must be a reference such as env:ORDERS_ADMIN_URL or vault:secret/data/orders#url, never the secret itself',
  );
