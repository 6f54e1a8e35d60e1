import type { CloudAdapter, ConversationReference, TurnContext } from 'botbuilder';
import type { CatalogOf, CatalogSet, CatalogView } from '../../config/catalog.js';
import type { MessageRef } from '../../db/schema/access-requests.js';
import { configError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { AdminAvailability } from '../../modules/credentials/admin-availability.js';
import type { ChatNotifier, Notification } from '../core/notifications.js';
import { unavailableIn } from '../core/request-form.js';
import { renderTeams, type TeamsDelivery } from './teams-cards.js';
import type { TeamsConversations } from './teams-conversations.js';
import { createTeamsSendQueue, withRetryAfter } from './teams-send-queue.js';

/**
 * Sends what teams-cards renders: cards into the approvers' channel (a new thread per request, updated
 * in place), replies into that thread, and messages into each requester's 1:1 chat, created when the
 * bot has not talked with them yet. Teams allows about 7 operations per second per conversation:
 * operations on one conversation are spaced, and a 429 waits its Retry-After and tries again.
 */
export function createTeamsNotifier({ adapter, appId, conversations, catalogOf, catalogs, availability, logger, spacingMs = 150 }: {
  adapter: CloudAdapter;
  appId: string;
  conversations: TeamsConversations;
  /** The tenant's catalog (its section of the file). */
  catalogOf: CatalogOf;
  /** The whole file (a broken catalog is announced to every tenant's approvers). */
  catalogs: () => CatalogSet;
  /** Which databases the request form marks unavailable. */
  availability?: Pick<AdminAvailability, 'in'> | undefined;
  logger: Logger;
  spacingMs?: number;
}): ChatNotifier {
  /** One operation at a time per conversation, spaced; 429s retried after their Retry-After. */
  const sendQueue = createTeamsSendQueue({ spacingMs, logger });

  async function inConversation<T>(reference: Partial<ConversationReference>, work: (context: TurnContext) => Promise<T>): Promise<T> {
    const id = reference.conversation?.id ?? '';
    return sendQueue.inTurn(id, async () => {
      let result: T | undefined;
      // An error inside the turn would go to the adapter's onTurnError and be lost there: carry it out,
      // so a throttled send (429) is retried by the send queue and any other failure fails the job.
      let failure: { error: unknown } | undefined;
      await adapter.continueConversationAsync(appId, reference, async (context) => {
        try {
          result = await work(context);
        } catch (error) {
          failure = { error };
        }
      });
      if (failure) throw failure.error;
      return result as T;
    });
  }

  const channelOf = (catalog: CatalogView, databaseId?: string): string => {
    const database = databaseId ? catalog.database(databaseId) : undefined;
    const channel = (database && catalog.approversFor(database).teams?.channel) ?? catalog.catalog.approvers.teams?.channel;
    if (!channel) throw configError('The catalog names no Teams approvers (approvers.teams): Teams has no channel to post to.');
    return channel;
  };

  async function channelReference(channelId: string): Promise<Partial<ConversationReference>> {
    const reference = await conversations.channel(channelId);
    if (!reference) throw configError(`dbaccess has not seen the Teams channel ${channelId} yet: add the app to its team (it then learns where to post), or mention it there once.`);
    return reference;
  }

  async function deliver(delivery: TeamsDelivery, catalog: CatalogView, tenantId: string | undefined): Promise<MessageRef | undefined> {
    const activity = { type: 'message' as const, attachments: [delivery.message.attachment], summary: delivery.message.summary };
    switch (delivery.to) {
      case 'approvers-channel': {
        const channelId = channelOf(catalog, delivery.databaseId);
        const reference = await channelReference(channelId);
        if (delivery.replace) {
          await inConversation(reference, (context) => context.updateActivity({ ...activity, id: delivery.replace!.ts }));
          return delivery.replace;
        }
        const sent = await inConversation(reference, (context) => context.sendActivity(activity));
        return { platform: 'teams', channel: channelId, ts: sent?.id ?? '' };
      }
      case 'card-thread': {
        const channelId = delivery.cardRef?.channel ?? channelOf(catalog, delivery.databaseId);
        const reference = await channelReference(channelId);
        const threadId = delivery.cardRef ? `${channelId};messageid=${delivery.cardRef.ts}` : channelId;
        const sent = await inConversation({ ...reference, conversation: { ...reference.conversation!, id: threadId } }, (context) => context.sendActivity(activity));
        return { platform: 'teams', channel: threadId, ts: sent?.id ?? '' };
      }
      case 'requester': {
        if (!tenantId) throw new Error('a message for a requester needs the tenant');
        const reference = await personalReference(tenantId, delivery.userExternalId);
        if (delivery.replace) {
          await inConversation({ ...reference, conversation: { ...reference.conversation!, id: delivery.replace.channel } }, (context) => context.updateActivity({ ...activity, id: delivery.replace!.ts }));
          return delivery.replace;
        }
        const sent = await inConversation(reference, (context) => context.sendActivity(activity));
        return { platform: 'teams', channel: reference.conversation!.id, ts: sent?.id ?? '' };
      }
      case 'form': {
        const reference = await conversations.byConversation(delivery.replace.channel);
        if (!reference) throw new Error('the form\'s conversation is unknown');
        await inConversation(reference, (context) => context.updateActivity({ ...activity, id: delivery.replace.ts }));
        return delivery.replace;
      }
    }
  }

  /** The requester's 1:1 chat with the bot: known from their messages, or created now. */
  async function personalReference(tenantId: string, email: string): Promise<Partial<ConversationReference>> {
    const known = await conversations.personal(tenantId, email);
    if (known) return known;
    const member = await conversations.member(tenantId, email);
    if (!member) throw configError(`dbaccess cannot message ${email} in Teams yet: they must install the app or write to it once.`);
    const teamsTenant = await conversations.teamsTenantOf(tenantId);
    let created: Partial<ConversationReference> | undefined;
    await withRetryAfter(
      () => adapter.createConversationAsync(appId, 'msteams', member.serviceUrl, '', {
        isGroup: false, bot: { id: appId, name: 'dbaccess' }, members: [{ id: member.userId, name: email }], tenantId: teamsTenant, channelData: { tenant: { id: teamsTenant } },
      } as never, async (context) => {
        created = context.activity.conversation ? { ...member.reference, conversation: context.activity.conversation, serviceUrl: member.serviceUrl } : undefined;
      }),
      logger,
    );
    if (!created?.conversation) throw new Error(`could not open a chat with ${email}`);
    await conversations.savePersonal(tenantId, email, created);
    return created;
  }

  return {
    async send(notification: Notification): Promise<MessageRef | undefined> {
      if (notification.type === 'configProblem') {
        // Every tenant's approvers; the details only where the file is one tenant's.
        const { sections } = catalogs();
        const detailed = sections.length === 1 ? notification : { ...notification, message: undefined };
        const refs: Array<MessageRef | undefined> = [];
        for (const section of sections.filter((candidate) => candidate.view.catalog.approvers.teams)) {
          for (const delivery of renderTeams(detailed, { catalog: section.view })) refs.push(await deliver(delivery, section.view, undefined));
        }
        return refs.find(Boolean);
      }
      if (notification.type === 'databaseUnavailable' || notification.type === 'databaseAvailable') {
        // To the Teams approvers of the database, in whichever section of the file it is.
        const catalog = catalogs().ofDatabase(notification.databaseId);
        const database = catalog?.database(notification.databaseId);
        if (!catalog || !database || !catalog.approversFor(database).teams) return undefined;
        const [delivery] = renderTeams(notification, { catalog });
        return deliver(delivery!, catalog, undefined);
      }
      const tenantId = 'request' in notification ? notification.request.tenantId : 'tenantId' in notification ? notification.tenantId : undefined;
      const catalog = tenantId ? await catalogOf(tenantId) : catalogs().sections[0]!.view;
      const deliveries = renderTeams(notification, { catalog, approversOf: (view) => approversFor(catalog, view.databaseId), unavailable: unavailableIn(catalog, availability) });
      let first: MessageRef | undefined;
      for (const delivery of deliveries) {
        const ref = await deliver(delivery, catalog, tenantId);
        first ??= ref;
      }
      return first;
    },
  };

  function approversFor(catalog: CatalogView, databaseId: string): string[] {
    const database = catalog.database(databaseId);
    return (database && catalog.approversFor(database).teams?.users) ?? catalog.catalog.approvers.teams?.users ?? [];
  }
}
