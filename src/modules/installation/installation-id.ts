import { randomBytes } from 'node:crypto';
import type { Db } from '../../db/client.js';
import { installation } from '../../db/schema/installation.js';

/** 8 lower-case base32 characters (RFC 4648 alphabet): 40 random bits, short enough for role names. */
export const INSTALLATION_ID = /^[a-z2-7]{8}$/;

/**
 * Stands for an install whose state database cannot say who it is (a CLI on a state database without
 * the migration, doctor): `0` is not in the alphabet, so it is nobody's id and such a process owns no
 * object by its id, only what a lease it holds adopts (users made before install ids existed).
 */
export const UNKNOWN_INSTALLATION = '00000000';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

export function newInstallationId(): string {
  const bytes = randomBytes(5);
  let bits = 0n;
  for (const byte of bytes) bits = (bits << 8n) | BigInt(byte);
  let id = '';
  for (let i = 7; i >= 0; i--) id += ALPHABET[Number((bits >> BigInt(i * 5)) & 31n)];
  return id;
}

/**
 * This install's id: made at the first start and kept in the state database. Two processes starting
 * together both try to insert their own; the primary key lets one win and both read the winner.
 * Undefined when the state database has no such table yet (and this process may not migrate it).
 */
export async function installationId(db: Db): Promise<string | undefined> {
  try {
    await db.insert(installation).values({ id: newInstallationId() }).onConflictDoNothing();
    const [row] = await db.select({ id: installation.id }).from(installation);
    return row!.id;
  } catch (error) {
    if ((error as { code?: unknown }).code === '42P01' || (error as { cause?: { code?: unknown } }).cause?.code === '42P01') return undefined;
    throw error;
  }
}
