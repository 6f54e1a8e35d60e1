import { createHmac, timingSafeEqual } from 'node:crypto';
import type { TrackerName } from './ticket-types.js';

/**
 * Whether a webhook delivery was signed with this secret, as each tracker documents it:
 * - Jira (admin webhooks with a secret): `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>`;
 * - GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`;
 * - Linear: `Linear-Signature: <hex HMAC-SHA256 of the raw body>`, and the body's `webhookTimestamp`
 *   (ms) within a minute of now, so that a captured delivery cannot be replayed later.
 */
export function signatureValid(tracker: TrackerName, secret: string, headers: Record<string, string | string[] | undefined>, rawBody: Buffer, now = Date.now()): boolean {
  const header = (name: string) => {
    const value = headers[name];
    return typeof value === 'string' ? value.trim() : undefined;
  };
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  const given = tracker === 'linear' ? header('linear-signature') : header(tracker === 'github' ? 'x-hub-signature-256' : 'x-hub-signature');
  if (!given) return false;
  const hex = tracker === 'linear' ? given : given.startsWith('sha256=') ? given.slice('sha256='.length) : undefined;
  if (!hex || !/^[0-9a-f]{64}$/i.test(hex)) return false;
  if (!timingSafeEqual(Buffer.from(hex, 'hex'), expected)) return false;
  if (tracker === 'linear') {
    try {
      const timestamp = (JSON.parse(rawBody.toString('utf8')) as { webhookTimestamp?: unknown }).webhookTimestamp;
      return typeof timestamp === 'number' && Math.abs(now - timestamp) <= 60_000;
    } catch {
      return false;
    }
  }
  return true;
}

/** The ticket a verified delivery is about, if it is about one (anything else is acknowledged and ignored). */
export function webhookTicket(tracker: TrackerName, body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const value = body as Record<string, any>;
  const text = (candidate: unknown) => (typeof candidate === 'string' && candidate.length <= 300 ? candidate : undefined);
  switch (tracker) {
    case 'jira':
      return text(value.issue?.key);
    case 'linear':
      return value.type === 'Issue' ? text(value.data?.identifier) ?? text(value.data?.id) : undefined;
    case 'github': {
      const repository = text(value.repository?.full_name);
      const number = value.issue?.number;
      return repository && Number.isInteger(number) ? `${repository}#${number}` : undefined;
    }
  }
}
