import type { ConversationReference } from 'botbuilder';
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { chatConversations } from '../../db/schema/chat.js';
import { tenants } from '../../db/schema/tenants.js';
import { asSystem, withTenant } from '../../modules/tenants/tenant-scope.js';

/**
 * What the bot learns from each activity so that it can write first later (proactive messages):
 * the approvers' channels, each person's 1:1 chat and Teams member id, and every conversation a card
 * lives in. Channel and conversation ids are unique across Teams, so those are looked up system-wide.
 */
export interface TeamsMember {
  userId: string;
  serviceUrl: string;
  reference: Partial<ConversationReference>;
}

export function createTeamsConversations({ db }: { db: Db }) {
  async function save(tenantId: string, key: string, reference: Record<string, unknown>): Promise<void> {
    await db
      .insert(chatConversations)
      .values({ tenantId, platform: 'teams', key, reference })
      .onConflictDoUpdate({ target: [chatConversations.platform, chatConversations.key], set: { reference, updatedAt: sql`now()` } });
  }

  async function load(key: string, tenantId?: string): Promise<Record<string, unknown> | undefined> {
    const query = () =>
      db.select({ reference: chatConversations.reference }).from(chatConversations)
        .where(and(eq(chatConversations.platform, 'teams'), eq(chatConversations.key, key), ...(tenantId ? [eq(chatConversations.tenantId, tenantId)] : [])));
    // A tenant's own rows in its scope; a lookup by channel or conversation id is what finds the tenant.
    const [row] = tenantId ? await withTenant(tenantId, query) : await asSystem('teams:conversation', query);
    return row?.reference;
  }

  const clean = (reference: Partial<ConversationReference>) => JSON.parse(JSON.stringify(reference)) as Record<string, unknown>;
  const personKey = (kind: 'personal' | 'member', tenantId: string, email: string) => `${kind}:${tenantId}:${email.toLowerCase()}`;

  return {
    /** Called with every inbound activity, in the tenant's scope. */
    async remember(tenantId: string, reference: Partial<ConversationReference>, sender: { email: string; userId: string } | undefined, kind: string | undefined, channelId: string | undefined): Promise<void> {
      const conversationId = reference.conversation?.id;
      if (conversationId) await save(tenantId, `conversation:${conversationId}`, clean(reference));
      if (kind === 'channel' && channelId) {
        await save(tenantId, `channel:${channelId}`, clean({ ...reference, conversation: { ...reference.conversation!, id: channelId } }));
      }
      if (sender) {
        await save(tenantId, personKey('member', tenantId, sender.email), { userId: sender.userId, serviceUrl: reference.serviceUrl, reference: clean(reference) });
        if (kind === 'personal') await save(tenantId, personKey('personal', tenantId, sender.email), clean(reference));
      }
    },
    channel: async (channelId: string) => (await load(`channel:${channelId}`)) as Partial<ConversationReference> | undefined,
    byConversation: async (conversationId: string) => (await load(`conversation:${conversationId}`)) as Partial<ConversationReference> | undefined,
    personal: async (tenantId: string, email: string) => (await load(personKey('personal', tenantId, email), tenantId)) as Partial<ConversationReference> | undefined,
    member: async (tenantId: string, email: string) => (await load(personKey('member', tenantId, email), tenantId)) as TeamsMember | undefined,
    async savePersonal(tenantId: string, email: string, reference: Partial<ConversationReference>): Promise<void> {
      await withTenant(tenantId, async () => {
        await save(tenantId, personKey('personal', tenantId, email), clean(reference));
        await save(tenantId, `conversation:${reference.conversation!.id}`, clean(reference));
      });
    },
    /** The sign-in (email) of a Teams member id the bot has seen, in one tenant. */
    async emailOfMember(tenantId: string, userId: string): Promise<string | undefined> {
      const [row] = await db.select({ key: chatConversations.key }).from(chatConversations)
        .where(and(eq(chatConversations.tenantId, tenantId), eq(chatConversations.platform, 'teams'), sql`${chatConversations.key} LIKE ${`member:${tenantId}:%`}`, sql`${chatConversations.reference}->>'userId' = ${userId}`));
      return row?.key.slice(`member:${tenantId}:`.length);
    },
    /** The Teams tenant (Azure AD tenant id) of a dbaccess tenant. */
    async teamsTenantOf(tenantId: string): Promise<string | undefined> {
      const [row] = await db.select({ externalId: tenants.externalId }).from(tenants).where(and(eq(tenants.id, tenantId), eq(tenants.platform, 'teams')));
      return row?.externalId;
    },
  };
}

export type TeamsConversations = ReturnType<typeof createTeamsConversations>;
