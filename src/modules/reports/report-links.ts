import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { ReportFilters } from './report-types.js';

export const REPORT_FORMATS = ['html', 'csv', 'json', 'pdf'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** What a link grants: one tenant's report for one resolved period and filters, until it expires. */
export interface ReportLink {
  tenantId: string;
  from: Date;
  to: Date;
  label: string;
  filters: ReportFilters;
  expiresAt: Date;
}

const payloadSchema = z.strictObject({
  t: z.uuid(),
  f: z.number().int(),
  u: z.number().int(),
  l: z.string().max(60),
  d: z.string().max(40).optional(),
  p: z.string().max(40).optional(),
  e: z.enum(['production', 'staging', 'development']).optional(),
  x: z.number().int(),
});

export type OpenedLink = { ok: true; link: ReportLink } | { ok: false; status: 403 | 410 };

/**
 * Signed, expiring report links: the token carries the tenant, the resolved period (so `last 30d`
 * means the same days whenever it is opened), the filters and the expiry, under an HMAC-SHA256 with
 * a key derived from the master key. Nothing is stored; a changed token fails the signature.
 */
export function createReportLinks({ key, ttlMs = 24 * 3600_000, now = () => new Date() }: { key: Buffer; ttlMs?: number; now?: () => Date }) {
  const mac = (body: string) => createHmac('sha256', key).update(body, 'utf8').digest('base64url');
  return {
    ttlMs,
    sign(link: Omit<ReportLink, 'expiresAt'>): { token: string; expiresAt: Date } {
      const expiresAt = new Date(now().getTime() + ttlMs);
      const payload: z.infer<typeof payloadSchema> = {
        t: link.tenantId, f: link.from.getTime(), u: link.to.getTime(), l: link.label, x: Math.floor(expiresAt.getTime() / 1000),
        ...(link.filters.databaseId ? { d: link.filters.databaseId } : {}),
        ...(link.filters.person ? { p: link.filters.person } : {}),
        ...(link.filters.environment ? { e: link.filters.environment } : {}),
      };
      const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
      return { token: `${body}.${mac(body)}`, expiresAt };
    },
    /** 403 for anything not signed by us (no detail on purpose); 410 for a genuine link past its expiry. */
    open(token: string): OpenedLink {
      const [body, signature, extra] = token.split('.');
      if (!body || !signature || extra !== undefined || token.length > 2000) return { ok: false, status: 403 };
      const expected = Buffer.from(mac(body));
      const given = Buffer.from(signature);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, status: 403 };
      let parsed: z.infer<typeof payloadSchema>;
      try {
        parsed = payloadSchema.parse(JSON.parse(Buffer.from(body, 'base64url').toString('utf8')));
      } catch {
        return { ok: false, status: 403 };
      }
      if (parsed.x * 1000 <= now().getTime()) return { ok: false, status: 410 };
      return {
        ok: true,
        link: { tenantId: parsed.t, from: new Date(parsed.f), to: new Date(parsed.u), label: parsed.l, filters: { databaseId: parsed.d, person: parsed.p, environment: parsed.e }, expiresAt: new Date(parsed.x * 1000) },
      };
    },
  };
}

export type ReportLinks = ReturnType<typeof createReportLinks>;
