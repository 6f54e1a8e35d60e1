import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_PEOPLE } from '../../src/app/sandbox.js';
import { startHarness, waitUntil, type Harness } from '../support/app-harness.js';

/** Approve with changes from the console, over its HTTP API (the page's form posts the same JSON). */

const json = (body: unknown) => ({ method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', 'x-dbaccess-console': '1' } });

describe('approve with changes (console)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      queue: 'redis',
      env: { CONSOLE: 'on' },
      policy: `policies:\n  - { name: tests, approvers: [${CONSOLE_PEOPLE.approver}], mfa: never, approveWithChanges: { noteRequired: true } }\n`,
    });
  });
  afterAll(() => h?.close());

  type Message = { kind: string; requestId?: string; channel: string; text: string; actions: Array<{ action: string }>; data?: { view?: { narrowing?: { levels: string[]; noteRequired: boolean } } } };
  const state = async () => (await (await fetch(`${h.url}/console/api/state`)).json()) as { messages: Message[] };
  const act = async (body: Record<string, unknown>) => (await (await fetch(`${h.url}/console/api/actions`, json(body))).json()) as { ok: boolean; message: string; field?: string };

  it('offers the form, refuses wider and note-less answers by field, and grants the narrower terms', async () => {
    const created = await fetch(`${h.url}/console/api/requests`, json({ databaseId: 'orders', level: 'write', scope: 'sales.orders, public.notes', duration: '1h', reason: 'Fix a note and an order after the refund bug', ticket: '' }));
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const card = await waitUntil(async () => (await state()).messages.find((m) => m.kind === 'card' && m.requestId === id && m.actions.some((a) => a.action === 'approveWithChanges')), 30_000, 'the card with its button');
    expect(card.data?.view?.narrowing).toMatchObject({ levels: ['write', 'read'], noteRequired: true });

    const base = { action: 'approveWithChanges', requestId: id, as: 'approver', level: 'read', scope: ['sales.orders'], duration: '15m' };
    expect(await act({ ...base, as: 'requester' })).toMatchObject({ ok: false, message: expect.stringMatching(/own request/) });
    expect(await act({ ...base, scope: ['sales'] })).toMatchObject({ ok: false, field: 'scope', message: expect.stringMatching(/sales is outside the scope asked for/) });
    expect(await act({ ...base, duration: '2h' })).toMatchObject({ ok: false, field: 'duration' });
    expect(await act(base)).toMatchObject({ ok: false, field: 'note', message: expect.stringMatching(/asks for a note/) });
    expect(await act({ ...base, note: 'The notes are not needed for this fix.' })).toMatchObject({ ok: true });

    const inbox = `dm:${CONSOLE_PEOPLE.requester}`;
    const told = await waitUntil(async () => (await state()).messages.find((m) => m.channel === inbox && /approved with changes/.test(m.text)), 30_000, 'the requester told');
    expect(told.text).toContain('level write → read');
    expect(told.text).toContain('without public.notes');
    expect(told.text).toContain('The notes are not needed for this fix.');
    const credentials = await waitUntil(async () => (await state()).messages.find((m) => m.channel === inbox && m.kind === 'credentials' && m.requestId === id), 30_000, 'the credentials');
    const client = new pg.Client({ connectionString: (credentials as unknown as { data: { uri: string } }).data.uri });
    await client.connect();
    try {
      await client.query('SELECT * FROM sales.orders');
      await expect(client.query('SELECT * FROM public.notes')).rejects.toThrow(/permission denied/);
    } finally {
      await client.end();
    }
    expect((await state()).messages.find((m) => m.kind === 'card' && m.requestId === id)!.text).toMatch(/Approved with changes by @ULOCALAPPROVER/);
  });
});
