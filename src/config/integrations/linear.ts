import { z } from 'zod';
import { reference } from '../secret-reference.js';
import { pollEvery, serviceUrl, trackerPeople } from './tracker-fields.js';

/**
 * `integrations.linear`: a Linear workspace whose issues rules.ticket can require (`verify: linear`).
 * GraphQL at `{url}/graphql` with a personal API key (`Authorization: <key>`); webhooks signed with
 * the webhook's signing secret (`Linear-Signature`, HMAC-SHA256 of the body).
 */
export const linearSchema = z.strictObject({
  url: serviceUrl.default('https://api.linear.app'),
  apiKey: reference,
  webhookSecret: reference.optional(),
  /** A requester → their Linear account's email, where it differs from the chat one. */
  people: trackerPeople,
  pollEvery,
});
export type LinearConfig = z.output<typeof linearSchema>;
