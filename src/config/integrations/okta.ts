import { z } from 'zod';
import { baseUrl, cacheFor, secretReference } from './directory-common.js';

/**
 * Okta: groups by id (`okta:00g1abc…`), read with the Groups API (`GET /api/v1/groups/{id}/users`,
 * paged by `Link: rel="next"`) under an API token (`Authorization: SSWS …`); managers from the user
 * profile's `managerId` (or `manager`, when it holds an address).
 */
export const oktaSchema = z.strictObject({
  /** The org's URL, e.g. https://acme.okta.com. */
  url: baseUrl('https://acme.okta.com'),
  token: secretReference,
  cacheFor,
});

export type OktaIntegration = z.output<typeof oktaSchema>;
