import { teamOf, type SlackListenerContext } from './context.js';

/** Slack's events: the directory's answers go stale, and a deactivated account is offboarded. */
export function registerEvents(ctx: SlackListenerContext): void {
  const { app, tenants, directory, offboarding } = ctx;
  const tenantOf = (body: unknown) => tenants.ensureTenant('slack', teamOf(body)!);

  // The directory's answers go stale when Slack says a group's members or a profile changed.
  app.event('subteam_members_changed', async ({ body }) => {
    directory?.forgetGroups(await tenantOf(body));
  });
  app.event('subteam_updated', async ({ body }) => {
    directory?.forgetGroups(await tenantOf(body));
  });
  app.event('user_change', async ({ body, event }) => {
    const tenantId = await tenantOf(body);
    directory?.forgetUser(tenantId, event.user.id);
    // Deactivated (Slack marks a deactivated or deleted account `deleted`): the kill switch.
    // Written to the inbox before its acknowledgement: done here, replayed by the sweep if this dies first.
    if (event.user.deleted === true) {
      await offboarding.offboardInTenant(tenantId, event.user.id, 'slack');
      await ctx.intentDone(body);
    }
  });
}
