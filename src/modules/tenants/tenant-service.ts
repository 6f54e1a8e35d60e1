import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { chatUsers, tenants } from '../../db/schema/tenants.js';
import { withTenant } from '../../db/tenant-scope.js';
import { onceEach } from '../../lib/async.js';

/** Where people talk to dbaccess: a chat platform, or the local console. */
export type Platform = 'slack' | 'teams' | 'console';

/** A tenant as its platform names it: a Slack workspace or Teams organisation id. */
export interface TenantKey {
  platform: Platform;
  externalId: string;
}

/** Who is acting: every service call carries it, and every query filters by its tenant. */
export interface Actor {
  tenantId: string;
  userId: string;
  platform: Platform;
  /** The platform's own user id (Slack `U…`), for approver lists and mentions. */
  externalUserId: string;
}

/**
 * Tenants (a Slack workspace) and chat identities, created on first sight. Ids are cached: they never
 * change once created, and the chat paths should not pay a round trip for them each time.
 */
export function createTenantService({ db }: { db: Db }) {
  // Single flight: a burst of first requests from a new workspace makes one round trip, not one each.
  const tenantIds = onceEach<string>();
  const userIds = onceEach<string>();
  const keys = onceEach<TenantKey | undefined>((key) => key !== undefined);

  function ensureTenant(platform: Platform, externalId: string): Promise<string> {
    return tenantIds(`${platform}/${externalId}`, async () => {
      const [row] = await db
        .insert(tenants)
        .values({ platform, externalId })
        .onConflictDoUpdate({ target: [tenants.platform, tenants.externalId], set: { platform: sql`excluded.platform` } })
        .returning({ id: tenants.id });
      void keys(row!.id, async () => ({ platform, externalId }));
      return row!.id;
    });
  }

  function ensureUser(tenantId: string, platform: Platform, externalId: string, displayName?: string): Promise<string> {
    return userIds(`${tenantId}/${platform}/${externalId}`, async () => {
      // In the tenant's scope whoever calls: the actor is made before a listener enters it.
      const [row] = await withTenant(tenantId, () =>
        db
          .insert(chatUsers)
          .values({ tenantId, platform, externalId, displayName })
          .onConflictDoUpdate({
            target: [chatUsers.tenantId, chatUsers.platform, chatUsers.externalId],
            set: { displayName: sql`coalesce(excluded.display_name, ${chatUsers.displayName})` },
          })
          .returning({ id: chatUsers.id }),
      );
      return row!.id;
    });
  }

  /** The platform and the platform's own id of a tenant (its workspace), which the catalog is keyed by. */
  function keyOf(tenantId: string): Promise<TenantKey | undefined> {
    return keys(tenantId, async () => {
      const [row] = await db.select({ platform: tenants.platform, externalId: tenants.externalId }).from(tenants).where(eq(tenants.id, tenantId));
      return row && { platform: row.platform as Platform, externalId: row.externalId };
    });
  }

  /** Which platform a tenant lives on, so notifications reach the right adapter. */
  const platformOf = async (tenantId: string): Promise<Platform | undefined> => (await keyOf(tenantId))?.platform;

  return {
    ensureTenant,
    ensureUser,
    keyOf,
    platformOf,
    /** The actor for a platform identity, creating tenant and user on first sight. */
    async actor(platform: Platform, teamId: string, externalUserId: string, displayName?: string): Promise<Actor> {
      const tenantId = await ensureTenant(platform, teamId);
      const userId = await ensureUser(tenantId, platform, externalUserId, displayName);
      return { tenantId, userId, platform, externalUserId };
    },
    async user(tenantId: string, userId: string) {
      const [row] = await withTenant(tenantId, () => db.select().from(chatUsers).where(and(eq(chatUsers.tenantId, tenantId), eq(chatUsers.id, userId))));
      return row;
    },
  };
}

export type TenantService = ReturnType<typeof createTenantService>;
