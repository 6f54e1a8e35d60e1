import type { Intent } from '../../modules/inbox/inbox-service.js';
import { parseCommand } from '../core/commands.js';
import { IDS } from './slack-kit.js';
import { SLACK_SURFACE } from './slack-replies.js';

/**
 * The Slack deliveries that reduce access, read from their payload alone (no round trip): `/dbaccess
 * revoke <id>`, the End access / Revoke now button, and `user_change` of an account Slack marks
 * `deleted` (deactivated or deleted). They are written to the inbox before their acknowledgement.
 */
export function intentOf(body: Record<string, unknown>, workspaceId: string): Intent | undefined {
  if (typeof body.command === 'string' && typeof body.user_id === 'string') {
    const parsed = parseCommand(typeof body.text === 'string' ? body.text : '', SLACK_SURFACE);
    return parsed.kind === 'revoke' ? { kind: 'revoke', platform: 'slack', workspaceId, actorExternalId: body.user_id, requestId: parsed.requestId } : undefined;
  }
  if (body.type === 'block_actions') {
    const action = (body.actions as Array<{ action_id?: unknown; value?: unknown }> | undefined)?.[0];
    const user = (body.user as { id?: unknown } | undefined)?.id;
    if (action?.action_id !== IDS.end || typeof action.value !== 'string' || action.value.length > 64 || typeof user !== 'string') return undefined;
    return { kind: 'revoke', platform: 'slack', workspaceId, actorExternalId: user, requestId: action.value };
  }
  const event = body.event as { type?: unknown; user?: { id?: unknown; deleted?: unknown } } | undefined;
  if (body.type === 'event_callback' && event?.type === 'user_change' && event.user?.deleted === true && typeof event.user.id === 'string') {
    return { kind: 'offboard', platform: 'slack', workspaceId, userExternalId: event.user.id };
  }
  return undefined;
}
