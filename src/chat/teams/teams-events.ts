import { TurnContext, type ActivityHandler } from 'botbuilder';
import { withTenant } from '../../modules/tenants/tenant-scope.js';
import type { Logger } from '../../lib/logger.js';
import type { OffboardingService } from '../../modules/offboarding/offboarding-service.js';
import type { TenantService } from '../../modules/tenants/tenant-service.js';
import type { TeamsConversations } from './teams-conversations.js';

/** The Teams tenant an activity comes from. */
export const teamsTenantOf = (context: TurnContext): string | undefined =>
  context.activity.conversation?.tenantId ?? (context.activity.channelData as { tenant?: { id?: string } } | undefined)?.tenant?.id;

/**
 * Installations and membership: where to write is learnt before anyone asks, and a member removed
 * from a team of the organisation (Entra membership gone) is offboarded, the kill switch.
 */
export function registerTeamsEvents(bot: ActivityHandler, deps: {
  tenants: Pick<TenantService, 'ensureTenant'>;
  conversations: TeamsConversations;
  offboarding: Pick<OffboardingService, 'offboardInTenant'>;
  log: Logger;
}): void {
  const { tenants, conversations, offboarding, log } = deps;
  const learn = async (context: TurnContext, next: () => Promise<void>) => {
    const activity = context.activity;
    const teamsTenant = teamsTenantOf(context);
    if (teamsTenant) {
      const tenantId = await tenants.ensureTenant('teams', teamsTenant);
      const channelId = (activity.channelData as { channel?: { id?: string }; team?: { id?: string } } | undefined)?.channel?.id
        ?? (activity.channelData as { team?: { id?: string } } | undefined)?.team?.id;
      await withTenant(tenantId, () => conversations.remember(tenantId, TurnContext.getConversationReference(activity), undefined, activity.conversation?.conversationType, channelId));
    }
    await next();
  };
  bot.onInstallationUpdate(learn);
  bot.onConversationUpdate(learn);
  bot.onMembersRemoved(async (context, next) => {
    const activity = context.activity;
    const teamsTenant = teamsTenantOf(context);
    const eventType = (activity.channelData as { eventType?: string } | undefined)?.eventType;
    if (teamsTenant && eventType === 'teamMemberRemoved') {
      const tenantId = await tenants.ensureTenant('teams', teamsTenant);
      await withTenant(tenantId, async () => {
        for (const member of activity.membersRemoved ?? []) {
          if (member.id === activity.recipient?.id) continue;
          const email = await conversations.emailOfMember(tenantId, member.id);
          if (email) await offboarding.offboardInTenant(tenantId, email, 'teams');
          else log.warn({ member: member.id }, 'a removed team member was never seen by dbaccess: nothing to offboard');
        }
      });
    }
    await next();
  });
}
