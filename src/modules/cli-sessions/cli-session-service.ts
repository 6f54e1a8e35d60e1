import { createHash, randomBytes } from 'node:crypto';
import { and, eq, gt, isNotNull, isNull } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { cliTokens } from '../../db/schema/cli-sessions.js';
import { chatUsers, tenants } from '../../db/schema/tenants.js';
import { asSystem } from '../../db/tenant-scope.js';
import { randomCode } from '../../lib/ids.js';
import type { AuditService } from '../audit/audit-service.js';
import type { Actor, Platform } from '../tenants/tenant-service.js';

/**
 * Terminal sign-in for `dbaccess connect`, as a device-code flow: the CLI asks for a code, the person
 * types `login <code>` in Slack, Teams or the console (which is who they are), and the CLI, polling,
 * then gets a bearer token bound to that person and tenant for a limited time. Only hashes of the
 * device code and the token are stored; a token is handed out once, and can be revoked.
 *
 * A sign-in that waits belongs to no tenant yet, so every look-up here runs in the system's scope,
 * by hash or by code; what it returns is then used in the token's tenant only.
 */
interface Deps {
  db: Db;
  audit: Pick<AuditService, 'record'>;
  /** How long a token lasts (default 12 h). */
  tokenTtlMs?: number;
  /** How long a code waits for its confirmation (default 10 min). */
  confirmWithinMs?: number;
  now?: () => Date;
}

/** The person and tenant a valid token acts as. */
export interface CliSession {
  tokenId: string;
  actor: Actor;
  expiresAt: Date;
}

export type Exchange =
  | { kind: 'pending' }
  /** Unknown, or not confirmed in time. */
  | { kind: 'expired' }
  /** Its token was handed out already (and is now ended), or the sign-in was revoked: never a second time. */
  | { kind: 'used' }
  | { kind: 'issued'; token: string; expiresAt: Date; actor: Actor };

const hash = (value: string) => createHash('sha256').update(value).digest('hex');
/** `ABCD-EFGH`: eight characters of Crockford base32, easy to read and type. */
const newUserCode = () => {
  const code = randomCode(8);
  return `${code.slice(0, 4)}-${code.slice(4)}`;
};
/** Accepts `abcd efgh`, `ABCDEFGH`, `abcd-efgh`. */
export const normalUserCode = (typed: string): string | undefined => {
  const bare = typed.toUpperCase().replace(/[\s-]/g, '');
  return /^[0-9A-HJKMNP-TV-Z]{8}$/.test(bare) ? `${bare.slice(0, 4)}-${bare.slice(4)}` : undefined;
};
export const TOKEN_PREFIX = 'dbx_';

export function createCliSessionService({ db, audit, tokenTtlMs = 12 * 3600_000, confirmWithinMs = 10 * 60_000, now = () => new Date() }: Deps) {
  const system = <T>(work: () => PromiseLike<T>) => asSystem('cli-api', work);
  const record = (event: Parameters<AuditService['record']>[0]) => system(() => audit.record(event));

  /** A new sign-in: the device code (for the CLI only) and the code the person types in chat. */
  async function start(client: string): Promise<{ deviceCode: string; userCode: string; expiresAt: Date }> {
    const deviceCode = randomBytes(32).toString('base64url');
    const userCode = newUserCode();
    const expiresAt = new Date(now().getTime() + confirmWithinMs);
    await system(() => db.insert(cliTokens).values({ userCode, deviceCodeHash: hash(deviceCode), client, confirmBy: expiresAt }));
    return { deviceCode, userCode, expiresAt };
  }

  /**
   * The person who typed the code confirms the sign-in: the terminal will act as them. Returns the
   * machine the CLI named, or undefined when no sign-in waits with that code.
   */
  async function confirm(actor: Actor, typed: string): Promise<{ client: string; tokenExpiresAt: Date } | undefined> {
    const userCode = normalUserCode(typed);
    if (!userCode) return undefined;
    const at = now();
    const tokenExpiresAt = new Date(at.getTime() + tokenTtlMs);
    const [row] = await system(() =>
      db.update(cliTokens)
        .set({ tenantId: actor.tenantId, userId: actor.userId, confirmedAt: at, expiresAt: tokenExpiresAt })
        .where(and(eq(cliTokens.userCode, userCode), isNull(cliTokens.confirmedAt), gt(cliTokens.confirmBy, at)))
        .returning());
    if (!row) return undefined;
    await record({ tenantId: actor.tenantId, actor: `user:${actor.userId}`, action: 'cli.sign_in_confirmed', subject: `cli-token:${row.id}`, outcome: 'success', details: { client: row.client, expiresAt: tokenExpiresAt.toISOString() } });
    return { client: row.client, tokenExpiresAt };
  }

  /**
   * The CLI's poll: the token once the sign-in is confirmed, exactly once. The row is read first and
   * claimed second: confirming only ever sets `confirmed_at`, so a sign-in read as confirmed stays so,
   * and the claim can then lose only to another claim or a revocation. (Claiming first and reading
   * after answered "expired" to a poll whose claim ran just before the confirmation and whose read
   * just after, and the CLI gave up on a sign-in the person had just confirmed.)
   */
  async function exchange(deviceCode: string): Promise<Exchange> {
    const at = now();
    const [row] = await system(() => db.select().from(cliTokens).where(eq(cliTokens.deviceCodeHash, hash(deviceCode))));
    if (!row) return { kind: 'expired' };
    if (!row.confirmedAt) return row.confirmBy > at ? { kind: 'pending' } : { kind: 'expired' };
    if (row.tokenHash || row.revokedAt) return usedAgain(row.id);
    if (!row.expiresAt || row.expiresAt <= at) return { kind: 'expired' };
    const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const [issued] = await system(() =>
      db.update(cliTokens)
        .set({ tokenHash: hash(token) })
        .where(and(eq(cliTokens.id, row.id), isNull(cliTokens.tokenHash), isNull(cliTokens.revokedAt)))
        .returning());
    if (!issued) return usedAgain(row.id);
    const session = await sessionOf(issued.id);
    await record({ tenantId: issued.tenantId!, actor: `user:${issued.userId}`, action: 'cli.token_issued', subject: `cli-token:${issued.id}`, outcome: 'success', details: { client: issued.client } });
    return { kind: 'issued', token, expiresAt: issued.expiresAt!, actor: session!.actor };
  }

  /**
   * A device code polled again after its token was handed out: the CLI that got the token never polls
   * again, so either the answer was lost on its way (and nobody holds the token) or someone else has
   * the device code. Either way the token is ended, as OAuth ends the tokens of an authorization code
   * used twice (RFC 6749, 4.1.2), and the poll hears that the sign-in was used.
   */
  async function usedAgain(tokenId: string): Promise<Exchange> {
    const [ended] = await system(() =>
      db.update(cliTokens).set({ revokedAt: now() })
        .where(and(eq(cliTokens.id, tokenId), isNotNull(cliTokens.tokenHash), isNull(cliTokens.revokedAt)))
        .returning());
    if (ended) await record({ tenantId: ended.tenantId!, actor: 'system:cli-sign-in', action: 'cli.token_revoked', subject: `cli-token:${ended.id}`, outcome: 'success', details: { client: ended.client, reason: 'device code used again' } });
    return { kind: 'used' };
  }

  async function sessionOf(tokenId: string): Promise<CliSession | undefined> {
    const [row] = await system(() =>
      db.select({ id: cliTokens.id, expiresAt: cliTokens.expiresAt, revokedAt: cliTokens.revokedAt, tenantId: cliTokens.tenantId, userId: cliTokens.userId, platform: tenants.platform, externalUserId: chatUsers.externalId })
        .from(cliTokens)
        .innerJoin(chatUsers, eq(chatUsers.id, cliTokens.userId))
        .innerJoin(tenants, eq(tenants.id, cliTokens.tenantId))
        .where(eq(cliTokens.id, tokenId)));
    if (!row || !row.expiresAt) return undefined;
    return { tokenId: row.id, expiresAt: row.expiresAt, actor: { tenantId: row.tenantId!, userId: row.userId!, platform: row.platform as Platform, externalUserId: row.externalUserId } };
  }

  /** The session a bearer token stands for; undefined when it is unknown, expired or revoked. */
  async function authenticate(token: string): Promise<CliSession | undefined> {
    if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return undefined;
    const at = now();
    const [row] = await system(() =>
      db.update(cliTokens).set({ lastUsedAt: at })
        .where(and(eq(cliTokens.tokenHash, hash(token)), isNull(cliTokens.revokedAt), gt(cliTokens.expiresAt, at)))
        .returning({ id: cliTokens.id }));
    return row ? sessionOf(row.id) : undefined;
  }

  /** Ends one token (the CLI's `logout`); `by` is who did it. */
  async function revoke(tokenId: string, by: Actor): Promise<boolean> {
    const [row] = await system(() =>
      db.update(cliTokens).set({ revokedAt: now() })
        .where(and(eq(cliTokens.id, tokenId), eq(cliTokens.tenantId, by.tenantId), isNull(cliTokens.revokedAt)))
        .returning({ id: cliTokens.id }));
    if (row) await record({ tenantId: by.tenantId, actor: `user:${by.userId}`, action: 'cli.token_revoked', subject: `cli-token:${tokenId}`, outcome: 'success' });
    return Boolean(row);
  }

  /** Ends every token of one person (an admin's `logout <person>`, an offboarding). */
  async function revokeAllOf(tenantId: string, userId: string, by: string): Promise<number> {
    const rows = await system(() =>
      db.update(cliTokens).set({ revokedAt: now() })
        .where(and(eq(cliTokens.tenantId, tenantId), eq(cliTokens.userId, userId), isNull(cliTokens.revokedAt)))
        .returning({ id: cliTokens.id }));
    for (const row of rows) await record({ tenantId, actor: by, action: 'cli.token_revoked', subject: `cli-token:${row.id}`, outcome: 'success' });
    return rows.length;
  }

  return { start, confirm, exchange, authenticate, revoke, revokeAllOf };
}

export type CliSessionService = ReturnType<typeof createCliSessionService>;
