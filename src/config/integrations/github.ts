import { z } from 'zod';
import { reference } from '../secret-reference.js';
import { pollEvery, serviceUrl, trackerPeople } from './tracker-fields.js';

/**
 * `integrations.github`: GitHub Issues that rules.ticket can require (`verify: github`). REST with a
 * token (Bearer); tickets are written `owner/repo#123` (or its link), or `123` for an issue of `repository`. GitHub shows no
 * email for an assignee, so assignment is checked against `people` (requester → GitHub login).
 */
export const githubSchema = z.strictObject({
  url: serviceUrl.default('https://api.github.com'),
  token: reference,
  /** Where a bare `123` points: `owner/repo`. */
  repository: z.string().max(200).regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'must be owner/repo such as acme/ops').optional(),
  webhookSecret: reference.optional(),
  /** A requester (Slack user id or email) → GitHub login. */
  people: trackerPeople,
  pollEvery,
});
export type GithubConfig = z.output<typeof githubSchema>;
