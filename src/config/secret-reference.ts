import { z } from 'zod';

/**
 * An `env:NAME` or `vault:<path>#<field>` reference to a secret (admin URLs, API tokens), never the
 * secret. In a file of its own: the integrations' schemas need it while catalog-schema (which
 * imports them) is still being evaluated.
 */
export const referenceTo = (envExample: string, vaultExample: string) =>
  z
    .string()
    .max(500)
    .regex(
      /^(env:[A-Za-z_][A-Za-z0-9_]*|vault:[A-Za-z0-9_./-]+#[A-Za-z0-9_.-]+)$/,
      `must be a reference such as env:${envExample} or vault:${vaultExample}, never the secret itself`,
    );

/** An admin connection's reference (the catalog's `admin:`). */
export const reference = referenceTo('ORDERS_ADMIN_URL', 'secret/data/orders#url');
