import { fromModule } from './legacy-markup.js';
import { describe, expect, it, vi } from 'vitest';
import { parseCatalog } from '../../config/catalog.js';
import { notFound } from '../../lib/errors.js';
import { person, plainText, rich, strong, type RichText } from '../../lib/rich-text.js';
import { Secret } from '../../lib/secret.js';
import type { Actor, Platform } from '../../modules/tenants/tenant-service.js';
import type { Surface } from './commands.js';
import { createDispatcher, type DispatcherDeps, type TenantCaller } from './dispatcher.js';
import type { Notification } from './notifications.js';
import { settle, type Reply } from './replies.js';
import type { SystemStatus } from './system-status.js';

// Pure: commands in, replies out. The services are small fakes that record what they were asked.

const catalog = parseCatalog(`approvers:
  slack: { channel: C0APPROVALS, users: [U0ALICE] }
databases:
  - { id: orders, engine: postgres, host: 127.0.0.1, port: 5432, database: orders, environment: production, admin: env:ORDERS_ADMIN_URL, maxDuration: 4h }
`);
const surface: Surface = { prefix: 'dbaccess', personHint: '<person>', person: (word) => word };
const ADMIN = 'U0ALICE';
const STATUS: SystemStatus = {
  activeLeases: 2, queue: { waiting: 1 }, failingRevocations: [], unavailableDatabases: [],
  unreviewedBreakGlass: [{ id: 'R0BREAKGLAS', databaseId: 'orders', level: 'read', createdAt: new Date('2026-12-01T10:00:00Z') }],
};

function fakes() {
  const sent: Notification[] = [];
  const calls: string[] = [];
  const deps = {
    requests: {
      isAdmin: vi.fn(async (who: { externalUserId: string }) => who.externalUserId === ADMIN),
      decide: vi.fn(async () => ({ ok: true as const, request: {} as never })),
      precheck: vi.fn(async () => ({})),
      now: () => new Date(),
      submit: vi.fn(async () => { calls.push('submit'); return { id: 'R0000000001' } as never; }),
      view: vi.fn(async (row: { id: string }) => ({ id: row.id }) as never),
      viewById: vi.fn(async () => undefined),
      listMine: vi.fn(async () => []),
      quickRefusal: vi.fn(async () => undefined),
      explainPolicyFor: vi.fn(async () => rich`Policy for ${strong('orders')}: ${person('U0ALICE')} approves.`),
      requestExtension: vi.fn(),
      retryFailed: vi.fn(),
      reviewBreakGlass: vi.fn(),
    },
    exits: { cancel: vi.fn(async () => ({ ok: true, message: 'Request R0000000001 is cancelled.' })), revoke: vi.fn(async () => { throw notFound('Request R0000000009'); }) },
    leases: { extend: vi.fn(), credentialsForRequester: vi.fn(), markDelivered: vi.fn() },
    analysis: { startDraft: vi.fn(), suggestionFor: vi.fn() },
    mfa: {
      verify: vi.fn(async () => ({ ok: false as const, reason: 'locked' as const, message: 'Too many wrong codes: MFA is locked until 10:15 UTC.', lockedNow: true, lockedUntil: new Date() })),
      reset: vi.fn(async () => ({ removed: true })),
      startEnrollment: vi.fn(async () => ({ secret: new Secret('KEY'), otpauthUri: new Secret('otpauth://totp/x'), qrPng: Buffer.from('') })),
      checkEnrollmentCode: vi.fn(), confirmEnrollment: vi.fn(),
    },
    status: vi.fn(async () => STATUS),
    reports: {
      mayAudit: vi.fn(async () => true), parseRequest: vi.fn(async () => ({ period: {}, filters: {} })),
      build: vi.fn(async () => ({})), summaryText: vi.fn(() => rich`${strong('Access report 2026-11')} (${person('U0BOB')})`),
    },
    audit: { verifyRecent: vi.fn(async () => ({ ok: true, events: 12 })) },
    catalogOf: async () => catalog,
    notifier: { send: vi.fn(async (notification: Notification) => { sent.push(notification); calls.push(notification.type); return undefined; }) },
    logger: { warn: () => {}, error: () => {}, info: () => {}, debug: () => {}, child: () => deps.logger },
  };
  return { deps, sent, calls, dispatcher: createDispatcher(deps as unknown as DispatcherDeps, surface, 'Chat') };
}

function caller(externalUserId: string, platform: Platform = 'slack'): TenantCaller {
  const actor = { tenantId: 't1', userId: `user-${externalUserId}`, externalUserId } as Actor;
  return { platform, tenantId: 't1', externalUserId, actor: async () => actor, other: async (id) => ({ tenantId: 't1', userId: `user-${id}`, externalUserId: id }) as Actor };
}

const said = (reply: Reply) => reply.say.map((part: RichText) => plainText(part, (id) => id)).join('\n');
const PLATFORMS: Platform[] = ['slack', 'teams', 'console'];

describe('dispatch: one set of checks and answers for every platform', () => {
  it.each(PLATFORMS)('shows break-glass still to review in the status, to admins only (%s)', async (platform) => {
    const { dispatcher, deps } = fakes();
    expect(said(await dispatcher.dispatch(caller('U0MALLORY', platform), { kind: 'status' }))).toBe('Only admins can see the system status. Ask an admin if you need it.');
    expect(deps.status).not.toHaveBeenCalled();
    const status = said(await dispatcher.dispatch(caller(ADMIN, platform), { kind: 'status' }));
    expect(status).toMatch(/^dbaccess status\n• Active temporary users: 2\n• Jobs: 1 waiting\n• Break-glass access not yet reviewed: R0BREAKGLAS \(read on orders, /);
    expect(status).toMatch(/Revocations: none failing/);
  });

  it.each(PLATFORMS)('alerts the approvers when an admin resets someone\'s MFA, and refuses others (%s)', async (platform) => {
    const { dispatcher, deps, sent } = fakes();
    const refused = await dispatcher.dispatch(caller('U0MALLORY', platform), { kind: 'mfaReset', target: 'U0BOB' });
    expect(refused.ok).toBe(false);
    expect(deps.mfa.reset).not.toHaveBeenCalled();
    expect(sent).toEqual([]);
    const reply = await dispatcher.dispatch(caller(ADMIN, platform), { kind: 'mfaReset', target: 'U0BOB' });
    expect(said(reply)).toBe('MFA of U0BOB is reset; they can set it up again with dbaccess mfa.');
    expect(deps.mfa.reset).toHaveBeenCalledWith(expect.objectContaining({ externalUserId: ADMIN }), 'user-U0BOB');
    expect(sent).toEqual([{ type: 'mfaAlert', tenantId: 't1', personExternalId: 'U0BOB', what: 'reset', byExternalId: ADMIN }]);
  });

  it.each(PLATFORMS)('alerts the approvers when wrong codes lock an approver\'s MFA, after the answer (%s)', async (platform) => {
    const { dispatcher, deps, sent } = fakes();
    const reply = await dispatcher.dispatch(caller('U0BOB', platform), { kind: 'decide', decision: 'approve', requestId: 'R0000000001', mfa: { code: '000000' }, via: 'button' });
    expect(reply).toMatchObject({ ok: false, field: 'code' });
    expect(said(reply)).toMatch(/MFA is locked until/);
    // The answer comes first (Slack shows it on the form in its acknowledgement); the alert follows.
    expect(sent).toEqual([]);
    const settled = await settle(reply);
    expect(settled.ok).toBe(false);
    expect(sent).toEqual([expect.objectContaining({ type: 'mfaAlert', personExternalId: 'U0BOB', what: 'locked' })]);
    expect(deps.requests.decide).not.toHaveBeenCalled();
  });

  it('checks the form before anything is stored, and stores it only after the acknowledgement', async () => {
    const { dispatcher, deps } = fakes();
    const draft = { databaseId: 'nowhere', level: 'read', scope: '', duration: '1h', reason: 'Investigate the failed payouts of last night', ticket: '', breakGlass: false };
    const wrong = await dispatcher.dispatch(caller('U0REQ'), { kind: 'submit', draft });
    expect(wrong.show).toMatchObject({ kind: 'formErrors', errors: { databaseId: expect.any(String) } });
    const right = await dispatcher.dispatch(caller('U0REQ'), { kind: 'submit', draft: { ...draft, databaseId: 'orders' } });
    expect(right.ok).toBe(true);
    expect(deps.requests.submit).not.toHaveBeenCalled();
    expect((await settle(right)).show).toMatchObject({ kind: 'received', request: { id: 'R0000000001' } });
  });

  it('answers a text decision as the card does, and says how to give a code where one is needed', async () => {
    const { dispatcher, deps } = fakes();
    expect(said(await dispatcher.dispatch(caller(ADMIN), { kind: 'decide', decision: 'approve', requestId: 'R0000000001', via: 'text' }))).toBe('Approved R0000000001.');
    deps.requests.decide.mockResolvedValueOnce({ ok: true, request: {} as never, progress: '1 of 2 approvals' } as never);
    expect(said(await dispatcher.dispatch(caller(ADMIN), { kind: 'decide', decision: 'approve', requestId: 'R0000000001', via: 'text' }))).toBe('Your approval of R0000000001 is recorded: 1 of 2 approvals. More approvers are needed.');
    deps.requests.decide.mockResolvedValueOnce({ ok: false, message: 'Approving this request needs your MFA code.', needsMfa: true } as never);
    expect(said(await dispatcher.dispatch(caller(ADMIN), { kind: 'decide', decision: 'approve', requestId: 'R0000000001', via: 'text' }))).toMatch(/needs your MFA code\. Approve with the button on the card/);
    // On a button, a complete decision is drawn on the card: the reply may stay unsaid.
    expect(await dispatcher.dispatch(caller(ADMIN), { kind: 'decide', decision: 'deny', requestId: 'R0000000001', via: 'button' })).toMatchObject({ ok: true, quiet: true });
  });

  it('turns a service error into a reply, a request of another tenant into "not found"', async () => {
    const { dispatcher } = fakes();
    const reply = await dispatcher.dispatch(caller('U0REQ'), { kind: 'revoke', requestId: 'R0000000009', via: 'text' });
    expect(reply).toMatchObject({ ok: false, notFound: true });
    expect(said(reply)).toBe('Request R0000000009 was not found.');
  });

  it('passes the modules\' rich text through: people stay people, emphasis stays emphasis', async () => {
    const { dispatcher } = fakes();
    const reply = await dispatcher.dispatch(caller(ADMIN), { kind: 'policy', databaseId: 'orders' });
    expect(reply.say[0]!.parts).toContainEqual({ kind: 'person', id: 'U0ALICE' });
    expect(reply.say[0]!.parts).toContainEqual({ kind: 'strong', text: 'orders' });
  });

  it('reads a module string for code spans only: Slack markup in it never becomes a mention or a link', () => {
    expect(fromModule('Run `dbaccess status`; ask <@U0ALICE> or <https://evil.example|here>').parts).toEqual([
      { kind: 'text', text: 'Run ' },
      { kind: 'code', text: 'dbaccess status' },
      { kind: 'text', text: '; ask <@U0ALICE> or <https://evil.example|here>' },
    ]);
  });

  it('sends a report\'s summary, then the audit chain\'s verdict; refuses who may not audit', async () => {
    const { dispatcher, deps } = fakes();
    const reply = await dispatcher.dispatch(caller(ADMIN), { kind: 'report', query: '2026-11' });
    expect(reply.say.map((part) => plainText(part, (id) => id))).toEqual(['Access report 2026-11 (U0BOB)', expect.stringMatching(/^The audit log is intact: 12 events/)]);
    deps.reports.mayAudit.mockResolvedValueOnce(false);
    expect(said(await dispatcher.dispatch(caller('U0MALLORY'), { kind: 'report', query: '2026-11' }))).toMatch(/^Only auditors and admins/);
  });

  it('answers help, usage and unknown words without calling a service', async () => {
    const { dispatcher, calls, deps } = fakes();
    expect(said(await dispatcher.dispatch(caller('U0REQ'), { kind: 'help' }))).toMatch(/^dbaccess: temporary database access, approved in Chat\./);
    expect(said(await dispatcher.dispatch(caller('U0REQ'), { kind: 'usage', of: 'revoke' }))).toMatch(/^Usage: dbaccess revoke <request id>/);
    expect(said(await dispatcher.dispatch(caller('U0REQ'), { kind: 'unknown', word: 'frob' }))).toMatch(/^I do not know frob\./);
    expect(calls).toEqual([]);
    expect(deps.requests.isAdmin).not.toHaveBeenCalled();
  });

  it('opens the form only where databases are configured', async () => {
    const { dispatcher } = fakes();
    expect((await dispatcher.dispatch(caller('U0REQ'), { kind: 'requestForm' })).show).toMatchObject({ kind: 'requestForm' });
  });
});
