import { PROVIDER_NAMES } from '../oncall-schema.js';
import type { Policy } from '../policy-schema.js';
import type { Integrations } from '../integrations-schema.js';

/** An on-call rule names a provider: its account must be configured under `integrations:`. */
export function checkOnCallRules(section: { policies: Policy[]; integrations: Integrations }): Array<{ path: Array<string | number>; message: string }> {
  const problems: Array<{ path: Array<string | number>; message: string }> = [];
  section.policies.forEach((policy, policyIndex) => {
    policy.autoApprove.forEach((rule, ruleIndex) => {
      const provider = rule.onCall?.provider;
      if (provider && !section.integrations[provider]) {
        problems.push({
          path: ['policies', policyIndex, 'autoApprove', ruleIndex, 'onCall', 'provider'],
          message: `${provider} is not configured: add integrations.${provider} with token: env:NAME (the ${PROVIDER_NAMES[provider]} API key), or remove onCall`,
        });
      }
    });
  });
  return problems;
}
