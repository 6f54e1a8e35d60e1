import { z } from 'zod';
import { parseDuration } from '../../lib/time.js';
import { referenceTo } from '../secret-reference.js';

/**
 * What the identity-provider blocks of `integrations:` share (google.ts, okta.ts, entra.ts). The
 * providers' groups are named in roles and approvers as `okta:<group id>`, `google:<group email>`,
 * `entra:<group object id>`, and the requester's manager as `manager:<provider>`.
 */
export const DIRECTORY_PROVIDERS = ['okta', 'google', 'entra'] as const;
export type DirectoryProvider = (typeof DIRECTORY_PROVIDERS)[number];
export const DIRECTORY_LABELS: Record<DirectoryProvider, string> = { okta: 'Okta', google: 'Google Workspace', entra: 'Microsoft Entra' };

/** How long a group's members (and a person's manager) are used before they are asked again. */
export const DEFAULT_DIRECTORY_TTL_SECONDS = 120;

/** An `env:NAME` or `vault:<path>#<field>` reference to the provider's secret, never the secret (secret-reference.ts). */
export const secretReference = referenceTo('OKTA_API_TOKEN', 'secret/data/okta#token');

/** A base URL of an API (https in production; a loopback double in tests): no trailing slash kept. */
export const baseUrl = (example: string) =>
  z
    .string()
    .max(500)
    .refine((text) => {
      try {
        const url = new URL(text);
        return url.protocol === 'https:' || (url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname));
      } catch {
        return false;
      }
    }, `must be an https URL such as ${example} (plain http only on loopback)`)
    .transform((text) => text.replace(/\/+$/, ''));

/** `cacheFor: 2m`: how long answers are kept; at most an hour, so a removed member loses rights soon. */
export const cacheFor = z
  .string()
  .max(20)
  .refine((text) => {
    const seconds = parseDuration(text);
    return seconds !== undefined && seconds >= 1 && seconds <= 3600;
  }, 'must be a duration between 1s and 1h, such as 2m')
  .transform((text) => parseDuration(text)!)
  .default(DEFAULT_DIRECTORY_TTL_SECONDS);
