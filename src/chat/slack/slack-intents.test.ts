import { describe, expect, it } from 'vitest';
import { intentOf } from './slack-intents.js';

describe('intentOf: the Slack deliveries that reduce access', () => {
  it('reads /dbaccess revoke, the End access button and a deactivated account; nothing else', () => {
    expect(intentOf({ command: '/dbaccess', text: 'revoke R000000001', user_id: 'U1' }, 'T1')).toEqual({ kind: 'revoke', platform: 'slack', workspaceId: 'T1', actorExternalId: 'U1', requestId: 'R000000001' });
    expect(intentOf({ type: 'block_actions', user: { id: 'U2' }, actions: [{ action_id: 'dbaccess.end', value: 'R000000002' }] }, 'T1')).toEqual({ kind: 'revoke', platform: 'slack', workspaceId: 'T1', actorExternalId: 'U2', requestId: 'R000000002' });
    expect(intentOf({ type: 'event_callback', event: { type: 'user_change', user: { id: 'U3', deleted: true } } }, 'T1')).toEqual({ kind: 'offboard', platform: 'slack', workspaceId: 'T1', userExternalId: 'U3' });

    expect(intentOf({ command: '/dbaccess', text: 'revoke nonsense', user_id: 'U1' }, 'T1')).toBeUndefined();
    expect(intentOf({ command: '/dbaccess', text: 'list', user_id: 'U1' }, 'T1')).toBeUndefined();
    expect(intentOf({ type: 'block_actions', user: { id: 'U2' }, actions: [{ action_id: 'dbaccess.approve', value: 'R000000002' }] }, 'T1')).toBeUndefined();
    expect(intentOf({ type: 'event_callback', event: { type: 'user_change', user: { id: 'U3', deleted: false } } }, 'T1')).toBeUndefined();
  });
});
