import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { targetRoles } from '../support/databases.js';
import { platforms, type PlatformDriver } from './drivers/index.js';
import { leaseOf, logIn, requestState, waitForState, waitUserGone } from './effects.js';

/**
 * One request's life, the same on every chat platform: ask, analyze, use the suggestion, submit,
 * approve, get working credentials, extend, end early; revoke, deny, cancel; and the commands that
 * read what happened (list, status, insights, report, audit verify). Each case asserts what the
 * person sees there and the real effect on the target, never internal calls.
 */
describe.each(platforms)('a request on $platform', ({ start }) => {
  let d: PlatformDriver;
  /** Requests of earlier cases, by what happened to them. */
  const ids: Record<'ended' | 'revoked' | 'denied' | 'cancelled', string | undefined> = { ended: undefined, revoked: undefined, denied: undefined, cancelled: undefined };
  let submitted: string;
  let uri: string;
  let session: pg.Client | undefined;

  beforeAll(async () => {
    d = await start({ mfa: 'never' });
  });
  afterAll(async () => {
    await session?.end().catch(() => {});
    await d?.close();
  });

  it('ask: the form opens with the catalog\'s databases', async () => {
    const form = await d.openForm();
    expect(form.text).toContain('orders');
    expect(form.buttons).toContain('analyze');
  });

  it('analyze: the form shows the risk, why, the policy conflicts and a narrower suggestion', async () => {
    const analyzed = await d.analyze({ level: 'admin', scope: '', duration: '8h', reason: 'Check why sales.orders rows of customer 42 look wrong in the finance report' });
    // Admin on production with personal data and no ticket: High (eval/RUBRIC.md).
    expect(analyzed.text).toMatch(/Risk: High/i);
    expect(analyzed.text).toContain('A change on production without a ticket: at least High.');
    expect(analyzed.text).toContain('At most 4h for orders.');
    expect(analyzed.text).toMatch(/Read instead of admin, on sales\.orders instead of the whole database, for 1h instead of 8h/);
    expect(analyzed.buttons).toContain('useSuggestion');
  });

  it('use the suggestion: the form holds the narrower request', async () => {
    expect(await d.useSuggestion()).toMatchObject({ level: 'read', scope: 'sales.orders', duration: '1h' });
  });

  it('submit: the card reaches the approvers with Approve, Deny and Cancel; the requester\'s receipt has Cancel', async () => {
    const { id, receipt } = await d.submit({});
    submitted = id;
    expect(receipt.text).toContain(id);
    expect(receipt.buttons).toContain('cancel');
    const card = await d.card(id);
    expect(card.text).toMatch(/Read access to orders/i);
    expect(card.text).toContain('sales.orders');
    expect(card.text).toContain('Check why sales.orders rows of customer 42');
    expect(card.buttons).toEqual(expect.arrayContaining(['approve', 'deny', 'cancel']));
    expect(await requestState(d, id)).toBe('pending');
  });

  it('nobody approves their own request: the requester\'s click is refused and changes nothing', async () => {
    await (await d.press('requester', 'approve', submitted, 'card')).says(/cannot approve your own request/);
    expect(await requestState(d, submitted)).toBe('pending');
    expect((await d.card(submitted)).buttons).toContain('approve');
  });

  it('approve (no MFA): the card says who approved; working credentials reach the requester, for exactly what was granted', async () => {
    await d.press('approver', 'approve', submitted, 'card');
    const card = await d.waitCard(submitted, (c) => /active until/i.test(c.text), 'the card active');
    expect(card.text).toMatch(/Approved by/);
    expect(card.buttons).not.toContain('approve');
    expect(card.buttons).toContain('end');
    const credentials = await d.credentials(submitted);
    expect(credentials.uri).toMatch(/^postgresql:\/\//);
    uri = credentials.uri!;
    expect(credentials.buttons).toEqual(expect.arrayContaining(['extend', 'end']));
    session = await logIn(uri);
    expect((await session.query('SELECT customer FROM sales.orders ORDER BY id')).rows.map((row) => row.customer)).toEqual(['acme', 'globex']);
    await expect(session.query('SELECT * FROM sales.customers')).rejects.toThrow(/permission denied/);
  });

  it('approve: the requester\'s receipt no longer offers Cancel once the request no longer waits', async () => {
    await expect.poll(async () => (await d.receipt(submitted)).buttons, { timeout: 5000 }).not.toContain('cancel');
  });

  it('extend: the requester gets more time on the same user; they are told the new end', async () => {
    const before = (await leaseOf(d, submitted))!.expiresAt;
    const told = await d.press('requester', 'extend', submitted, 'credentials', { duration: '30m' });
    await told.says(/[Ee]xtended/);
    await expect.poll(async () => (await leaseOf(d, submitted))!.expiresAt.getTime(), { timeout: 10_000 }).toBeGreaterThan(before.getTime() + 25 * 60_000);
    await expect.poll(async () => (await d.inbox('requester')).some((m) => m.text.includes(submitted) && /extended/i.test(m.text)), { timeout: 10_000 }).toBe(true);
    expect((await session!.query('SELECT 1 AS one')).rows[0].one).toBe(1);
  });

  it('end early: the requester ends it; the session dies, the user is dropped, the password leaves the chat, the summary names people as people', async () => {
    await d.press('requester', 'end', submitted, 'credentials');
    await waitUserGone(d, uri, session);
    session = undefined;
    ids.ended = submitted;
    await waitForState(d, submitted, 'revoked');
    const card = await d.waitCard(submitted, (c) => /access ended/i.test(c.text), 'the card ended');
    expect(card.buttons).toEqual([]);
    // The credentials message is edited by its own job, which may come after the card's.
    await expect.poll(async () => (await d.credentials(submitted)).text.includes(new URL(uri).password), { timeout: 15_000 }).toBe(false);
    const credentials = await d.credentials(submitted);
    expect(credentials.buttons).toEqual([]);
    await expect.poll(async () => (await d.thread(submitted)).some((m) => /Session summary/i.test(m.text)), { timeout: 30_000 }).toBe(true);
    const shown = (await d.thread(submitted)).find((m) => /Session summary/i.test(m.text))!.text;
    expect(shown).toContain(submitted);
    // What the person reads: no chat markup leaks as raw text (mentions, code markers).
    expect(shown).not.toMatch(/<@|`/);
  });

  it('revoke: an approver revokes active access on the card; the session is killed and the user dropped', async () => {
    const { id } = await d.submit({ reason: 'Revoke me: look at the payouts of last night' });
    await d.press('approver', 'approve', id, 'card');
    const { uri: revokeUri } = await d.credentials(id);
    const open = await logIn(revokeUri!);
    await d.waitCard(id, (c) => c.buttons.includes('end'), 'Revoke on the card');
    await d.press('approver', 'end', id, 'card');
    await waitUserGone(d, revokeUri!, open);
    await waitForState(d, id, 'revoked');
    const card = await d.waitCard(id, (c) => /access ended/i.test(c.text), 'the card ended');
    expect(card.text).toMatch(/revoked/i);
    expect(card.buttons).toEqual([]);
    ids.revoked = id;
  });

  it('deny: the approver denies with a reason; the requester is told why; nothing is created', async () => {
    const { id } = await d.submit({ reason: 'Deny me: export all the customers of last year' });
    await d.card(id);
    await d.press('approver', 'deny', id, 'card', { reason: 'Use the reporting replica' });
    await waitForState(d, id, 'denied');
    const card = await d.waitCard(id, (c) => /Denied/.test(c.text), 'the card denied');
    expect(card.text).toContain('Use the reporting replica');
    expect(card.buttons).toEqual([]);
    await expect.poll(async () => (await d.inbox('requester')).some((m) => m.text.includes(id) && /denied/i.test(m.text) && m.text.includes('Use the reporting replica')), { timeout: 10_000 }).toBe(true);
    expect(await leaseOf(d, id)).toBeUndefined();
    ids.denied = id;
  });

  it('deny by text: an approver denies with the command and a reason; the card follows', async () => {
    const { id } = await d.submit({ reason: 'Deny me by text: export the refunds of last year' });
    await d.card(id);
    await (await d.command('approver', `deny ${id} Ask the finance team`)).says(new RegExp(`Denied ${id}\\.`));
    await waitForState(d, id, 'denied');
    const card = await d.waitCard(id, (c) => /Denied/.test(c.text), 'the card denied');
    expect(card.text).toContain('Ask the finance team');
    expect(card.buttons).toEqual([]);
  });

  it('cancel: the requester cancels a waiting request from the receipt; the buttons go', async () => {
    const { id } = await d.submit({ reason: 'Cancel me: count the failed payouts of last night' });
    await d.card(id);
    const told = await d.press('requester', 'cancel', id, 'receipt');
    await told.says(new RegExp(`Request ${id} is cancelled`));
    await waitForState(d, id, 'cancelled');
    await expect.poll(async () => (await d.receipt(id)).buttons, { timeout: 10_000 }).toEqual([]);
    const card = await d.waitCard(id, (c) => /Cancelled/i.test(c.text), 'the card cancelled');
    expect(card.buttons).toEqual([]);
    expect(await targetRoles(d.prefix)).toEqual([]);
    ids.cancelled = id;
  });

  it('list: the requester sees their requests and where each stands', async () => {
    const told = await d.command('requester', 'list');
    const list = await told.says(new RegExp(ids.cancelled!));
    for (const id of Object.values(ids)) expect(list).toContain(id);
    expect(list).toMatch(new RegExp(`${ids.denied}[^\\n]*denied`));
    expect(list).toMatch(new RegExp(`${ids.cancelled}[^\\n]*cancelled`));
  });

  it('status: an admin sees active users, jobs, break-glass and failing revocations', async () => {
    const status = await (await d.command('approver', 'status')).says(/Active temporary users/);
    expect(status).toMatch(/Active temporary users: 0/);
    expect(status).toMatch(/Jobs: /);
    expect(status).toMatch(/Break-glass/);
    expect(status).toMatch(/Revocations: none failing/);
  });

  it('insights: an admin sees the anomalies and recommendations of the last 30 days', async () => {
    const insights = await (await d.command('approver', 'insights')).says(/Insights/);
    expect(insights).toMatch(/the last 30 days/);
    expect(insights).toMatch(/Anomalies/);
    expect(insights).toMatch(/Recommendations/);
    expect(insights).not.toMatch(/<@/);
  });

  it('report: an auditor (here the admin) gets this month\'s access report', async () => {
    const month = new Date().toISOString().slice(0, 7);
    const report = await (await d.command('approver', `report ${month}`)).says(/Access report/);
    expect(report).toMatch(/access(es)? for \d+/);
    expect(report).not.toMatch(/<@/);
  });

  it('audit verify: the audit chain is intact', async () => {
    await (await d.command('approver', 'audit verify')).says(/^The audit log is intact: \d+ events, each linked to the one before, none missing, none changed\.( Events 1 to [\d,]+ were checked by an earlier verification, which signed them; the operator.s .?npm run audit:verify.? checks them all again\.)?$/);
  });
});
