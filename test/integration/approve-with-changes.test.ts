import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem } from '../../src/db/tenant-scope.js';
import { APPROVERS_CHANNEL, PEOPLE, TEAM, hasButton, shown, startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { plainTextInput, staticSelect, viewSubmission, type ViewStateValues } from '../support/slack-requests.js';

type ViewStateValue = ViewStateValues[string][string];
import type { SlackMessage } from '../support/fake-slack.js';

/**
 * Approve with changes through Slack's signed HTTP: the button opens the modal, the submission is
 * checked before the acknowledgement (errors under their field), and the credentials are exactly the
 * approved terms on the real PostgreSQL.
 */
describe('approve with changes (Slack)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      queue: 'redis',
      policy: `policies:
  - { name: tests, databases: [orders], approvers: [${PEOPLE.alice}, ${PEOPLE.bob}], mfa: never, approveWithChanges: { noteRequired: [production] } }
  - { name: two-approvers, databases: [orders2], approvers: [${PEOPLE.alice}, ${PEOPLE.bob}], quorum: 2, mfa: never }
`,
      catalog: ({ standard, target }) => `${standard}  - id: orders2
    engine: postgres
    host: 127.0.0.1
    port: 5433
    database: ${target.name}
    environment: staging
    admin: env:ORDERS_ADMIN_URL
    maxDuration: 4h
`,
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  const newCard = async (values: Parameters<Harness['submitRequest']>[1]) => {
    const before = new Set(h.slack.messagesIn(APPROVERS_CHANNEL).map((m) => m.ts));
    expect((await h.submitRequest(PEOPLE.requester, values)).status).toBe(200);
    return h.waitForCard((m) => !before.has(m.ts) && hasButton(m, 'dbaccess.approve-with-changes'));
  };
  const idOf = (card: SlackMessage) => /R[0-9A-Z]{9}/.exec(shown(card))![0];

  /** Clicks "Approve with changes…" and returns the modal Slack was asked to open. */
  async function openForm(user: string, card: SlackMessage) {
    const opened = h.slack.callsTo('views.open').length;
    await h.click(user, 'dbaccess.approve-with-changes', card);
    const call = await waitUntil(() => h.slack.callsTo('views.open').slice(opened).find((c) => (c.args.view as { callback_id?: string }).callback_id === 'dbaccess.approve-with-changes-form'), 10_000, 'the changes form');
    return (call.response as { view: { id: string; callback_id: string; private_metadata: string; blocks: Array<{ block_id?: string; element?: { options?: Array<{ value: string; text: { text: string } }> } }> } }).view;
  }
  const keep = (view: Awaited<ReturnType<typeof openForm>>, items: string[]): ViewStateValue => {
    const options = view.blocks.find((b) => b.block_id === 'scope')!.element!.options!;
    return { type: 'multi_static_select', selected_options: options.filter((o) => items.includes(o.text.text)).map((o) => ({ text: { type: 'plain_text', text: o.text.text, emoji: true }, value: o.value })) } as unknown as ViewStateValue;
  };
  const submit = async (user: string, view: Awaited<ReturnType<typeof openForm>>, values: Record<string, ViewStateValue>) =>
    h.post(viewSubmission({ teamId: TEAM, userId: user, view, values: Object.fromEntries(Object.entries(values).map(([block, value]) => [block, { value }])) }));
  const errorsOf = (answer: { json?: unknown }) => (answer.json as { response_action?: string; errors?: Record<string, string> } | undefined)?.errors ?? {};

  it('narrows level, scope and time; refuses wider and a missing note; the user really cannot read the dropped table', async () => {
    const card = await newCard({ level: 'write', scope: 'sales.orders, sales.customers', duration: '2h', reason: 'Fix the totals of two orders after the refund bug' });
    const requestId = idOf(card);

    // A stranger is refused before any form opens.
    const opened = h.slack.callsTo('views.open').length;
    await h.click(PEOPLE.mallory, 'dbaccess.approve-with-changes', card);
    await waitUntil(() => h.slack.ephemeralsFor(PEOPLE.mallory).some((e) => /Only <@U0ALICE> or <@U0BOB> can approve/.test(e.text ?? '')), 5000, 'the stranger refused');
    expect(h.slack.callsTo('views.open').length).toBe(opened);

    const form = await openForm(PEOPLE.alice, card);
    const levels = form.blocks.find((b) => b.block_id === 'level')!.element!.options!.map((o) => o.value);
    expect(levels).toEqual(['write', 'read']);

    // Wider than asked, longer than asked, no note on production: each under its field, nothing recorded.
    expect(errorsOf(await submit(PEOPLE.alice, form, { level: staticSelect('admin'), scope: keep(form, ['sales.orders', 'sales.customers']), duration: plainTextInput('1h'), note: plainTextInput('x') })).level).toMatch(/admin is wider than the write asked for/);
    expect(errorsOf(await submit(PEOPLE.alice, form, { level: staticSelect('read'), scope: keep(form, ['sales.orders', 'sales.customers']), duration: plainTextInput('3h'), note: plainTextInput('x') })).duration).toMatch(/longer than the 2h asked for/);
    // The modal itself marks the note required here; a client that sends none anyway is refused by the server.
    expect(form.blocks.find((b) => b.block_id === 'note')).toMatchObject({ optional: false });
    const noNote = structuredClone(form);
    Object.assign(noNote.blocks.find((b) => b.block_id === 'note')!, { optional: true });
    expect(errorsOf(await submit(PEOPLE.alice, noNote, { level: staticSelect('read'), scope: keep(form, ['sales.orders', 'sales.customers']), duration: plainTextInput('1h') })).note).toMatch(/Policy "tests" asks for a note/);
    const row = await asSystem('test', () => h.app.db.query.accessRequests.findFirst({ where: (r, { eq }) => eq(r.id, requestId) }));
    expect(row).toMatchObject({ state: 'pending', level: 'write', changes: null });

    const answer = await submit(PEOPLE.alice, form, {
      level: staticSelect('read'), scope: keep(form, ['sales.orders']), duration: plainTextInput('30m'), note: plainTextInput('Read is enough to check the totals; customers hold PII.'),
    });
    expect(answer.status).toBe(200);
    expect(errorsOf(answer)).toEqual({});

    // The requester is told what changed and why; the card shows the approved terms.
    const told = await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => (m.text ?? '').includes(requestId) && /approved with changes/.test(m.text ?? ''));
    expect(told.text).toMatch(/level write → \*read\*/);
    expect(told.text).toContain('without sales.customers');
    expect(told.text).toMatch(/duration 2h → \*30m\*/);
    expect(told.text).toContain('customers hold PII');
    const dm = await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => /is ready until/.test(m.text ?? '') && shown(m).includes(requestId));
    const decided = await h.waitForCard((m) => m.ts === card.ts && /Approved with changes by <@U0ALICE>/.test(shown(m)));
    expect(shown(decided)).toMatch(/\*Level\*\nread/);
    expect(shown(decided)).toContain('Asked: write, sales.orders, sales.customers, 2h');

    // The grant is the approved terms: orders readable, customers not, no writes; the lease is 30 minutes.
    const uri = /postgresql:\/\/[^\s`"]+/.exec(shown(dm))![0];
    const client = new pg.Client({ connectionString: uri });
    await client.connect();
    try {
      expect((await client.query('SELECT count(*)::int AS n FROM sales.orders')).rows[0].n).toBe(2);
      await expect(client.query('SELECT * FROM sales.customers')).rejects.toThrow(/permission denied/);
      await expect(client.query("INSERT INTO sales.orders (customer, total) VALUES ('x', 1)")).rejects.toThrow(/permission denied/);
    } finally {
      await client.end();
    }
    const lease = (await asSystem('test', () => h.app.db.query.leases.findFirst({ where: (l, { eq }) => eq(l.requestId, requestId) })))!;
    const approvedAt = (await asSystem('test', () => h.app.db.query.accessRequests.findFirst({ where: (r, { eq }) => eq(r.id, requestId) })))!.decidedAt!;
    expect((lease.expiresAt.getTime() - approvedAt.getTime()) / 1000).toBeLessThanOrEqual(30 * 60 + 5);

    // The audit log records asked against approved, and the note.
    const events = await asSystem('test', () => h.app.db.query.auditEvents.findMany({ where: (e, { eq }) => eq(e.subject, `request:${requestId}`) }));
    const approved = events.find((e) => e.action === 'request.approved')!;
    expect(approved.details).toMatchObject({
      note: 'Read is enough to check the totals; customers hold PII.',
      terms: { asked: { level: 'write', scope: ['sales.orders', 'sales.customers'], durationSeconds: 7200 }, approved: { level: 'read', scope: ['sales.orders'], durationSeconds: 1800 }, changed: ['level', 'scope', 'duration'] },
    });
    // The attempts to approve wider, longer or without the note are on record as refused.
    expect(events.filter((e) => e.outcome === 'refused').map((e) => (e.details as { why: string }).why)).toEqual(['changes refused: level', 'changes refused: duration', 'changes refused: note']);
  });

  it('with two approvers, the second approves within the first one\'s terms: the narrowest wins, never wider', async () => {
    const card = await newCard({ databaseId: 'orders2', level: 'read', scope: 'sales.orders, sales.customers, public.notes', duration: '1h', reason: 'Compare the orders with the notes of support' });
    const requestId = idOf(card);
    const form = await openForm(PEOPLE.alice, card);
    const first = await submit(PEOPLE.alice, form, { level: staticSelect('read'), scope: keep(form, ['sales.orders', 'public.notes']), duration: plainTextInput('1h') });
    expect(errorsOf(first)).toEqual({});
    const narrowed = await h.waitForCard((m) => m.ts === card.ts && /Narrowed by <@U0ALICE>/.test(shown(m)));
    expect(shown(narrowed)).toMatch(/1 of 2 approvals/);

    // Bob's form offers only what Alice left, and a longer time than hers is refused.
    const second = await openForm(PEOPLE.bob, narrowed);
    const offered = second.blocks.find((b) => b.block_id === 'scope')!.element!.options!.map((o) => o.text.text);
    expect(offered).toEqual(['sales.orders', 'public.notes']);
    const wider = await submit(PEOPLE.bob, second, { level: staticSelect('read'), scope: { type: 'multi_static_select', selected_options: [{ text: { type: 'plain_text', text: 'x', emoji: true }, value: '0' }, { text: { type: 'plain_text', text: 'x', emoji: true }, value: '1' }] } as unknown as ViewStateValue, duration: plainTextInput('2h') });
    expect(errorsOf(wider).duration).toMatch(/longer than the 1h asked for/);

    // Bob narrows the time further; the approval completes with the narrowest terms of both.
    expect(errorsOf(await submit(PEOPLE.bob, second, { level: staticSelect('read'), scope: keep(second, ['sales.orders', 'public.notes']), duration: plainTextInput('20m') }))).toEqual({});
    await h.waitForCard((m) => m.ts === card.ts && /Approved with changes by <@U0ALICE>, <@U0BOB>|Approved with changes by <@U0ALICE> and <@U0BOB>/.test(shown(m)));
    const row = (await asSystem('test', () => h.app.db.query.accessRequests.findFirst({ where: (r, { eq }) => eq(r.id, requestId) })))!;
    expect({ level: row.level, scope: row.scope, durationSeconds: row.durationSeconds }).toEqual({ level: 'read', scope: ['sales.orders', 'public.notes'], durationSeconds: 1200 });
    const dm = await h.waitForMessage(h.slack.dmChannelFor(PEOPLE.requester), (m) => /is ready until/.test(m.text ?? '') && shown(m).includes(requestId));
    const client = new pg.Client({ connectionString: /postgresql:\/\/[^\s`"]+/.exec(shown(dm))![0] });
    await client.connect();
    try {
      await client.query('SELECT * FROM public.notes');
      await expect(client.query('SELECT * FROM sales.customers')).rejects.toThrow(/permission denied/);
    } finally {
      await client.end();
    }
  });
});
