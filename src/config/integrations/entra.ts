import { z } from 'zod';
import { baseUrl, cacheFor, secretReference } from './directory-common.js';

/**
 * Microsoft Entra: groups by object id (`entra:<uuid>`), read with Microsoft Graph
 * (`GET /v1.0/groups/{id}/transitiveMembers`, nested groups included, paged by `@odata.nextLink`)
 * under an app-only token (client credentials); managers from `GET /v1.0/users/{upn}/manager`.
 */
export const entraSchema = z.strictObject({
  /** The directory (tenant) id. */
  tenantId: z.uuid('must be a Microsoft Entra tenant id such as 72f988bf-86f1-41af-91ab-2d7cd011db47'),
  clientId: z.uuid('must be the application (client) id of the app registration'),
  clientSecret: secretReference,
  loginUrl: baseUrl('https://login.microsoftonline.com').default('https://login.microsoftonline.com'),
  graphUrl: baseUrl('https://graph.microsoft.com').default('https://graph.microsoft.com'),
  cacheFor,
});

export type EntraIntegration = z.output<typeof entraSchema>;
