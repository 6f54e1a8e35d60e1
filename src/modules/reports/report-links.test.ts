import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createReportLinks } from './report-links.js';

const TENANT = '6f1c1d7e-2f5b-4c55-9d0e-3b8f3c7a1a10';

describe('report links', () => {
  const key = randomBytes(32);
  let clock = new Date('2026-11-29T10:00:00Z');
  const links = createReportLinks({ key, ttlMs: 24 * 3600_000, now: () => clock });
  const link = { tenantId: TENANT, from: new Date('2026-11-01T00:00:00Z'), to: new Date('2026-12-01T00:00:00Z'), label: '2026-11', filters: { databaseId: 'orders', environment: 'production' as const } };

  it('opens what it signed, with the resolved period and filters, until it expires', () => {
    const { token, expiresAt } = links.sign(link);
    expect(expiresAt.toISOString()).toBe('2026-11-30T10:00:00.000Z');
    expect(links.open(token)).toEqual({ ok: true, link: { ...link, filters: { databaseId: 'orders', environment: 'production', person: undefined }, expiresAt } });
    clock = new Date('2026-11-30T10:00:00Z');
    expect(links.open(token)).toEqual({ ok: false, status: 410 });
    clock = new Date('2026-11-29T10:00:00Z');
  });

  it('refuses a changed token, another key and garbage with 403', () => {
    const { token } = links.sign(link);
    const [body, mac] = token.split('.') as [string, string];
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString());
    const widened = Buffer.from(JSON.stringify({ ...payload, t: '00000000-0000-4000-8000-000000000000' })).toString('base64url');
    expect(links.open(`${widened}.${mac}`)).toEqual({ ok: false, status: 403 });
    const later = Buffer.from(JSON.stringify({ ...payload, x: payload.x + 86400 })).toString('base64url');
    expect(links.open(`${later}.${mac}`)).toEqual({ ok: false, status: 403 });
    expect(createReportLinks({ key: randomBytes(32), now: () => clock }).open(token)).toEqual({ ok: false, status: 403 });
    for (const bad of ['', 'x', 'a.b', `${token}.x`, `${body}.`, `.${mac}`]) expect(links.open(bad)).toEqual({ ok: false, status: 403 });
  });

  it('refuses an expired link only after checking its signature', () => {
    const old = createReportLinks({ key, ttlMs: 1000, now: () => new Date('2026-01-01T00:00:00Z') }).sign(link).token;
    expect(links.open(old)).toEqual({ ok: false, status: 410 });
    const forgedOld = `${old.split('.')[0]}.${'A'.repeat(43)}`;
    expect(links.open(forgedOld)).toEqual({ ok: false, status: 403 });
  });
});
