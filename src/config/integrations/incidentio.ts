import { z } from 'zod';
import { reference } from '../secret-reference.js';

/**
 * `integrations.incidentio`: the incident.io organisation whose on-call schedules and incidents
 * on-call auto-approval reads (API v2, Bearer key). The key is a reference, never the key.
 */
export const incidentIoSchema = z.strictObject({
  /** `env:NAME` or `vault:<path>#<field>` holding an API key allowed to view schedules and incidents. */
  token: reference,
  apiUrl: z.url('must be an https URL such as https://api.incident.io').max(200).default('https://api.incident.io'),
  timeoutSeconds: z.number().int().min(1).max(10).default(3),
  cacheSeconds: z.number().int().min(0).max(60, 'on-call answers are never kept longer than 60 s').default(30),
});

export type IncidentIoIntegration = z.infer<typeof incidentIoSchema>;
