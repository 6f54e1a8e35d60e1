import type { CatalogView } from '../../config/catalog.js';
import type { DbOrTx } from '../../db/client.js';
import { rich, type RichText } from '../../lib/rich-text.js';
import { choosePolicy } from '../policy/policy-choice.js';
import type { PolicyDatabase } from '../policy/policy-types.js';
import type { AccessRequestRepo, RequestRow } from './access-request-repo.js';
import { checkChanges, lowerLevels, type ChangeField, type ChangeRules, type ProposedChanges } from './request-changes.js';
import type { NarrowingChoices } from './access-request-types.js';

export type { ChangeField, ProposedChanges };

/**
 * Approve with changes inside a decision (request-decide.ts): the policy's say (allowed at all, note
 * required) and the narrowing of the stored terms under the decision's lock. The row then holds the
 * terms approved so far, so provisioning, the card and the lease read them as they read any request;
 * `changes.asked` keeps what was asked.
 */

type Refusal = { ok: false; message: RichText; why: string; field: ChangeField };

/** The request as asked, for what depends on it (who approves, quorum): empty when never narrowed. */
export const askedTerms = (request: Pick<RequestRow, 'changes'>): Partial<Pick<RequestRow, 'level' | 'scope' | 'durationSeconds'>> => request.changes?.asked ?? {};

/** The policy of the request as asked decides whether it may be changed, and whether a note is needed. */
function rulesFor(catalog: CatalogView, database: PolicyDatabase, request: Pick<RequestRow, 'level' | 'changes'>): ChangeRules & { allowed: boolean } {
  const { policy } = choosePolicy(database, askedTerms(request).level ?? request.level, catalog.policy);
  return {
    allowed: policy.approveWithChanges.allowed,
    noteRequired: policy.approveWithChanges.noteRequired.includes(database.environment),
    policy: policy.name,
    levelOf: (name) => catalog.level(name),
    levels: catalog.database(database.id)?.levels ?? [],
    minDuration: catalog.catalog.settings.minDuration,
  };
}

/**
 * What an approver may choose on a pending request's form: the levels within the one standing (it
 * first), whether a note is needed. Undefined where nothing may change (decided, an extension, a policy
 * that does not allow it).
 */
export function narrowingChoices(catalog: CatalogView, request: Pick<RequestRow, 'databaseId' | 'level' | 'changes' | 'kind' | 'state'>): NarrowingChoices | undefined {
  const database = catalog.database(request.databaseId);
  if (!database || request.kind !== 'access' || request.state !== 'pending') return undefined;
  const rules = rulesFor(catalog, database, request);
  if (!rules.allowed) return undefined;
  return { noteRequired: rules.noteRequired, policy: rules.policy, levels: lowerLevels(request.level, rules), minDuration: rules.minDuration };
}

/** Checked before the lock, for a quick answer on the form; undefined when the change may go ahead. */
export function changesRefusal(catalog: CatalogView, request: RequestRow, changes: ProposedChanges, database: PolicyDatabase): Omit<Refusal, 'ok'> | undefined {
  if (request.kind !== 'access') return { message: rich`An extension can be approved or denied, not changed.`, why: 'changes to an extension', field: 'duration' };
  const rules = rulesFor(catalog, database, request);
  if (!rules.allowed) return { message: rich`Policy "${rules.policy}" does not allow approving with changes here: approve as asked, or deny with a reason.`, why: 'changes not allowed', field: 'level' };
  const check = checkChanges(termsOf(request), changes, rules);
  return check.ok ? undefined : { message: rich`${check.message}`, why: `changes refused: ${check.field}`, field: check.field };
}

const termsOf = (row: Pick<RequestRow, 'level' | 'scope' | 'durationSeconds'>) => ({ level: row.level, scope: row.scope, durationSeconds: row.durationSeconds });

/** Narrows the locked row's terms; the asked ones are kept the first time. */
export async function narrowInLock({ requests, catalog, database, row, changes, approverExternalId, tx }: {
  requests: Pick<AccessRequestRepo, 'narrow'>;
  catalog: CatalogView;
  database: PolicyDatabase;
  row: RequestRow;
  changes: ProposedChanges;
  approverExternalId: string;
  tx: DbOrTx;
}): Promise<Refusal | { ok: true; changed: string[] }> {
  const check = checkChanges(termsOf(row), changes, rulesFor(catalog, database, row));
  if (!check.ok) return { ok: false, message: rich`${check.message}`, why: `changes refused: ${check.field}`, field: check.field };
  const stored = { asked: row.changes?.asked ?? termsOf(row), changedBy: [...new Set([...(row.changes?.changedBy ?? []), approverExternalId])] };
  await requests.narrow(row.tenantId, row.id, check.terms, stored, tx);
  return { ok: true, changed: check.changed };
}
