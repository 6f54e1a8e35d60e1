import { ActivityHandler, CloudAdapter, TeamsInfo, TurnContext, type AdaptiveCardInvokeResponse, type AdaptiveCardInvokeValue } from 'botbuilder';
import type { CatalogOf, CatalogSet } from '../../config/catalog.js';
import { withTenant } from '../../modules/tenants/tenant-scope.js';
import type { Logger } from '../../lib/logger.js';
import type { OffboardingService } from '../../modules/offboarding/offboarding-service.js';
import type { Actor, TenantService } from '../../modules/tenants/tenant-service.js';
import { createDispatcher, type DispatcherDeps, type TenantCaller } from '../core/dispatcher.js';
import type { ChatNotifier } from '../core/notifications.js';
import { createTeamsAuthentication, type TeamsCloud } from './teams-authentication.js';
import type { TeamsConversations } from './teams-conversations.js';
import { teamsEndpoint } from './teams-endpoint.js';
import { registerTeamsEvents, teamsTenantOf } from './teams-events.js';
import { createInboundAuth } from './teams-inbound-auth.js';
import { answerInvoke } from './teams-invokes.js';
import { answerMessage } from './teams-messages.js';
import { createTeamsNotifier } from './teams-notifier.js';
import { TEAMS_SURFACE } from './teams-replies.js';

/**
 * The Teams adapter: Bot Framework's CloudAdapter on POST /api/messages inside our Fastify server,
 * authenticated both ways. `dbaccess` in a personal chat (or an @mention in a channel) answers with the
 * request form; Universal Actions (Action.Execute) arrive as invokes and are answered with the card
 * that replaces the clicked one. Transport only: text (teams-messages) and clicks (teams-invokes)
 * become commands for the dispatcher, whose replies teams-replies renders; teams-events learns
 * installations and offboards removed members.
 *
 * People are known to policies by email (their Teams sign-in); a Teams tenant is a dbaccess tenant.
 */
export interface TeamsOptions {
  appId: string;
  appPassword: string;
  appTenantId?: string | undefined;
  appType: 'MultiTenant' | 'SingleTenant' | 'UserAssignedMSI';
  /** The Bot Framework's endpoints (the public cloud, a sovereign cloud, one reached elsewhere). */
  cloud: TeamsCloud;
}

/** The services the dispatcher calls, and what the Teams transport itself needs. */
interface Deps extends Omit<DispatcherDeps, 'notifier' | 'logger' | 'catalogOf'> {
  tenants: Pick<TenantService, 'actor' | 'ensureTenant'>;
  /** The kill switch when a member is removed from the organisation's team. */
  offboarding: Pick<OffboardingService, 'offboardInTenant'>;
  conversations: TeamsConversations;
  /** The tenant's catalog (its section of the file). */
  catalogOf: CatalogOf;
  /** The whole file (a broken catalog is announced to every tenant's approvers). */
  catalogs: () => CatalogSet;
  logger: Logger;
}

export function createTeamsApp(options: TeamsOptions, { tenants, offboarding, conversations, catalogOf, catalogs, logger, ...services }: Deps) {
  const log = logger.child({ platform: 'teams' });
  const adapter = new CloudAdapter(createTeamsAuthentication(options, options.cloud));
  adapter.onTurnError = async (context, error) => {
    log.error({ err: error }, 'teams turn failed');
    if (context.activity.type === 'message') await context.sendActivity('Something went wrong on our side; nothing was changed. Please try again.').catch(() => {});
  };
  const notifier: ChatNotifier = createTeamsNotifier({ adapter, appId: options.appId, conversations, catalogOf, catalogs, availability: services.availability, logger: log });
  const dispatcher = createDispatcher({ ...services, catalogOf, notifier, logger: log }, TEAMS_SURFACE, 'Teams');
  const emails = new Map<string, string>();

  /** The sender's tenant and sign-in (email), remembered with where to reach them. */
  async function actorOf(context: TurnContext): Promise<Actor> {
    const activity = context.activity;
    const teamsTenant = teamsTenantOf(context);
    if (!teamsTenant) throw new Error('activity without a tenant');
    let email = emails.get(activity.from.id);
    if (!email) {
      const member = await TeamsInfo.getMember(context, activity.from.id);
      email = (member.email ?? member.userPrincipalName ?? '').toLowerCase();
      if (!email.includes('@')) throw new Error('the sender has no email address in Teams');
      emails.set(activity.from.id, email);
    }
    return tenants.actor('teams', teamsTenant, email, activity.from.name);
  }

  async function remember(context: TurnContext, actor: Actor): Promise<void> {
    const activity = context.activity;
    const kind = activity.conversation?.conversationType;
    const channelId = (activity.channelData as { channel?: { id?: string } } | undefined)?.channel?.id;
    await conversations.remember(actor.tenantId, TurnContext.getConversationReference(activity), { email: actor.externalUserId, userId: activity.from.id }, kind, channelId);
  }

  /** The sender as the dispatcher sees them; others of their organisation by email (`mfa reset`). */
  const callerOf = (context: TurnContext, actor: Actor): TenantCaller => ({
    platform: 'teams', tenantId: actor.tenantId, externalUserId: actor.externalUserId,
    actor: async () => actor,
    other: (email) => tenants.actor('teams', teamsTenantOf(context)!, email),
  });

  const bot = new (class extends ActivityHandler {
    protected override async onAdaptiveCardInvoke(context: TurnContext, value: AdaptiveCardInvokeValue): Promise<AdaptiveCardInvokeResponse> {
      const actor = await actorOf(context);
      return withTenant(actor.tenantId, async () => {
        await remember(context, actor);
        const verb = (value.action as { verb?: string }).verb ?? '';
        return answerInvoke(dispatcher, callerOf(context, actor), context, verb, (value.action.data ?? {}) as Record<string, unknown>);
      });
    }
  })();

  bot.onMessage(async (context, next) => {
    const actor = await actorOf(context);
    await withTenant(actor.tenantId, async () => {
      await remember(context, actor);
      await answerMessage(dispatcher, callerOf(context, actor), context);
    });
    await next();
  });

  registerTeamsEvents(bot, { tenants, conversations, offboarding, log });

  /** POST /api/messages: our inbound check, then Bot Framework's own authentication, then the bot. */
  const inbound = createInboundAuth({ appId: options.appId, issuer: options.cloud.channelIssuer, openIdMetadataUrl: options.cloud.openIdMetadataUrl });
  const route = teamsEndpoint({ adapter, inbound, logic: (context) => bot.run(context), log });

  return { adapter, notifier, route };
}
