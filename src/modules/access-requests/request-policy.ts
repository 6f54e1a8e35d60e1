import type { CatalogView } from '../../config/catalog.js';
import type { StoredPolicy } from '../../db/schema/access-requests.js';
import { parseStoredScope } from '../credentials/scope.js';
import { canApprove, personOf, type Person, type RequestContext, type RequestDecision } from '../policy/policy-evaluator.js';
import type { RequestRow } from './access-request-repo.js';

/** A requester who is nobody: the policy's view of a database and level for its approvers alone. */
const NOBODY = personOf('\u0000nobody');

/** The policy's view of a request: who asks, for what, where, with which risk and active leases. */
export function policyContext(
  catalog: CatalogView,
  request: Pick<RequestRow, 'databaseId' | 'level' | 'durationSeconds' | 'scope' | 'reason' | 'ticket'>,
  requester: Person,
  now: Date,
  extra: Partial<RequestContext> = {},
): RequestContext | undefined {
  const database = catalog.database(request.databaseId);
  if (!database) return undefined;
  return {
    requester, database, level: request.level, durationSeconds: request.durationSeconds,
    scope: parseStoredScope(request.scope), reason: request.reason, ticket: request.ticket, now, activeLeases: [], ...extra,
  };
}

/** What is stored of the policy's decision at submission: it decides the quorum and MFA later. */
export const policySnapshot = (decision: RequestDecision): StoredPolicy => ({
  name: decision.policy, quorum: decision.quorum, mfaRequired: decision.mfaRequired, autoApprovedBy: decision.autoApprovedBy,
  breakGlass: decision.breakGlass, hostPatterns: decision.hostPatterns, rules: decision.rules.filter((rule) => rule.fired).map(({ rule, outcome, explanation }) => ({ rule, outcome, explanation })),
});

/** Whether this person may decide requests of this database and level at all (self-decision aside). */
export function isApproverOf(catalog: CatalogView, person: Person, databaseId: string, now: Date, level = 'read'): boolean {
  const ctx = policyContext(catalog, { databaseId, level, durationSeconds: 0, scope: [], reason: '', ticket: null }, NOBODY, now);
  return Boolean(ctx && canApprove(person, ctx, [], catalog.policy).allowed);
}
