import { z } from 'zod';
import { pagerDutySchema } from './integrations/pagerduty.js';
import { incidentIoSchema } from './integrations/incidentio.js';
import { githubSchema } from './integrations/github.js';
import { jiraSchema } from './integrations/jira.js';
import { linearSchema } from './integrations/linear.js';
import { entraSchema } from './integrations/entra.js';
import { googleSchema } from './integrations/google.js';
import { oktaSchema } from './integrations/okta.js';

/**
 * The catalog's `integrations:` section: the outside services a catalog's policies consult (on-call
 * schedules, ticket trackers, identity-provider groups). Each service's block is defined in a file of
 * its own under config/integrations/ and added here by one line; credentials in them are `env:` or
 * `vault:` references (catalog-schema's `reference`), resolved like the admin URLs.
 */
export const integrationsSchema = z
  .strictObject({
    // One line per service, e.g. `pagerduty: pagerDutySchema.optional(),`
    pagerduty: pagerDutySchema.optional(),
    incidentio: incidentIoSchema.optional(),
    jira: jiraSchema.optional(),
    linear: linearSchema.optional(),
    github: githubSchema.optional(),
    google: googleSchema.optional(),
    okta: oktaSchema.optional(),
    entra: entraSchema.optional(),
  })
  .prefault({});

export type Integrations = z.infer<typeof integrationsSchema>;
