import { z } from 'zod';
import { parseDuration } from '../../lib/time.js';

/** Fields every ticket tracker's block shares (jira.ts, linear.ts, github.ts). */

/** The service's address: https in production; http is accepted for a local double or a proxy. */
export const serviceUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://acme.atlassian.net' })
  .max(300)
  .transform((url) => url.replace(/\/+$/, ''));

/** How often active leases' tickets are read again when no webhook says so (default 1m). */
export const pollEvery = z
  .string()
  .max(20)
  .refine((text) => (parseDuration(text) ?? 0) >= 1, 'must be a duration such as 30s, 1m or 5m')
  .transform((text) => parseDuration(text)!)
  .default(60);

/**
 * Who a requester is in the tracker when it cannot be told by email: a chat user id (Slack `U…`) or
 * an email, mapped to the tracker's own name for them (a Jira accountId, a GitHub login, a Linear email).
 */
export const trackerPeople = z
  .record(
    z.string().min(2).max(254).regex(/^([UW][A-Z0-9]{2,20}|[^\s@]{1,64}@[^\s@]{1,189})$/, 'must be a Slack user id (U…) or an email'),
    z.string().min(1).max(200),
  )
  .default({});
