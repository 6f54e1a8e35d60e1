import { z } from 'zod';
import { baseUrl, cacheFor, secretReference } from './directory-common.js';

/**
 * Google Workspace: groups by address (`google:dbas@acme.com`), read with the Admin SDK Directory API
 * (`GET /admin/directory/v1/groups/{groupKey}/members?includeDerivedMembership=true`, paged by
 * `nextPageToken`) as a service account with domain-wide delegation (a signed JWT exchanged at the
 * token endpoint); managers from the user's `relations` of type manager.
 */
export const googleSchema = z.strictObject({
  /** The service account's address (client_email of its key). */
  serviceAccount: z.string().max(254).regex(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'must be the service account address (client_email), e.g. dbaccess@acme.iam.gserviceaccount.com'),
  /** Its private key in PEM (private_key of its key file). */
  privateKey: secretReference,
  /** The Workspace admin the service account acts as (domain-wide delegation). */
  subject: z.string().max(254).regex(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'must be the address of a Workspace admin the service account acts as'),
  tokenUrl: baseUrl('https://oauth2.googleapis.com/token').default('https://oauth2.googleapis.com/token'),
  apiUrl: baseUrl('https://admin.googleapis.com').default('https://admin.googleapis.com'),
  cacheFor,
});

export type GoogleIntegration = z.output<typeof googleSchema>;
