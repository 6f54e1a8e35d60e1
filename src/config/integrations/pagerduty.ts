import { z } from 'zod';
import { reference } from '../secret-reference.js';

/**
 * `integrations.pagerduty`: the PagerDuty account whose on-call schedules and incidents on-call
 * auto-approval reads (REST API v2). The token is a read-only REST API key, as a reference.
 */
export const pagerDutySchema = z.strictObject({
  /** `env:NAME` or `vault:<path>#<field>` holding a REST API key (read-only is enough). */
  token: reference,
  /** The API's address; another one only for PagerDuty's EU service region or a test double. */
  apiUrl: z.url('must be an https URL such as https://api.pagerduty.com').max(200).default('https://api.pagerduty.com'),
  /** How long one answer may take before the request goes to normal approval instead. */
  timeoutSeconds: z.number().int().min(1).max(10).default(3),
  /** How long an answer is reused (never more than 60 s, never past the end of the shift it reports). */
  cacheSeconds: z.number().int().min(0).max(60, 'on-call answers are never kept longer than 60 s').default(30),
});

export type PagerDutyIntegration = z.infer<typeof pagerDutySchema>;
