import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { chatUsers, tenants } from '../../db/schema/tenants.js';

export interface KnownPerson {
  tenantId: string;
  userId: string;
  externalId: string;
  platform: string;
  /** The tenant's own id on its platform (a Slack workspace, a Teams organisation). */
  workspace: string;
}

/** The people dbaccess knows, found by the id their platform gives them (a Slack id, a Teams email). */
export function createOffboardingRepo({ db }: { db: Db }) {
  const columns = { tenantId: chatUsers.tenantId, userId: chatUsers.id, externalId: chatUsers.externalId, platform: chatUsers.platform, workspace: tenants.externalId };
  return {
    /** In one tenant (a chat event names its workspace). */
    async inTenant(tenantId: string, externalId: string): Promise<KnownPerson | undefined> {
      const [row] = await db.select(columns).from(chatUsers).innerJoin(tenants, eq(tenants.id, chatUsers.tenantId))
        .where(and(eq(chatUsers.tenantId, tenantId), sql`lower(${chatUsers.externalId}) = lower(${externalId})`));
      return row;
    },
    /** In every tenant (the CLI, run as the system): an email or id may be known in several. */
    async anywhere(externalId: string): Promise<KnownPerson[]> {
      return db.select(columns).from(chatUsers).innerJoin(tenants, eq(tenants.id, chatUsers.tenantId))
        .where(sql`lower(${chatUsers.externalId}) = lower(${externalId})`).limit(50);
    },
    async anywhereById(tenantId: string, userId: string): Promise<KnownPerson[]> {
      return db.select(columns).from(chatUsers).innerJoin(tenants, eq(tenants.id, chatUsers.tenantId))
        .where(and(eq(chatUsers.tenantId, tenantId), eq(chatUsers.id, userId)));
    },
  };
}

export type OffboardingRepo = ReturnType<typeof createOffboardingRepo>;
