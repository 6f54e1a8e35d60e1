import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPROVERS_CHANNEL, PEOPLE, startHarness, waitUntil, type Harness } from '../support/app-harness.js';

/** Policy as code: the catalog is reloaded on change; a broken file keeps the last good one and says why. */
describe('catalog reload', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ queue: 'redis' });
  });
  afterAll(async () => {
    await h?.close();
  });

  const durationError = async (duration: string) =>
    ((await h.submitRequest(PEOPLE.requester, { duration, scope: 'sales.orders' })).json as { errors?: { duration?: string } } | undefined)?.errors?.duration;

  it('applies a changed catalog without a restart', async () => {
    expect(await durationError('2h')).toBeUndefined();
    const original = readFileSync(h.catalogPath, 'utf8');
    writeFileSync(h.catalogPath, original.replace('maxDuration: 4h', 'maxDuration: 1h'));
    await waitUntil(async () => (await durationError('2h')) === 'At most 1h for orders.', 10_000, 'the new limit');
  });

  it('keeps the last good catalog when the file is broken, and tells the approvers where', async () => {
    const good = readFileSync(h.catalogPath, 'utf8');
    writeFileSync(h.catalogPath, good.replace('maxDuration: 1h', 'maxDuration: forever'));
    const alert = await h.waitForMessage(APPROVERS_CHANNEL, (m) => /has mistakes, so the last good catalog stays in force/.test(m.text ?? ''), 10_000);
    expect(alert.text).toMatch(/dbaccess\.yaml:\d+:\d+: databases\.0\.maxDuration: must be a duration/);
    expect(await durationError('2h')).toBe('At most 1h for orders.');
  });
});
