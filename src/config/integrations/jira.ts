import { z } from 'zod';
import { reference } from '../secret-reference.js';
import { pollEvery, serviceUrl, trackerPeople } from './tracker-fields.js';

/**
 * `integrations.jira`: a Jira Cloud site whose issues rules.ticket can require (`verify: jira`).
 * REST v3 with an API token: Basic `email:token` when `email` is given, Bearer otherwise (a
 * personal access token or an OAuth token). The webhook secret is the one set on the site's admin
 * webhook (System > WebHooks), which Jira uses to sign deliveries (`X-Hub-Signature: sha256=…`).
 */
export const jiraSchema = z.strictObject({
  url: serviceUrl,
  email: z.email('must be the email of the account the API token belongs to').max(254).optional(),
  token: reference,
  webhookSecret: reference.optional(),
  /** A requester → Jira accountId, where the site hides email addresses. */
  people: trackerPeople,
  pollEvery,
});
export type JiraConfig = z.output<typeof jiraSchema>;
