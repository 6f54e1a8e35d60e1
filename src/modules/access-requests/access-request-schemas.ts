import type { AccessLevel, CatalogView, DatabaseEntry } from '../../config/catalog.js';
import { formatDuration, parseDuration } from '../../lib/time.js';
import { parseScope, type ScopeItem } from '../credentials/scope.js';
import { outsideDatabases, scopeRefusal } from '../credentials/engines/registry.js';
import type { RequestDraft } from './access-request-types.js';
import { reasonProblem } from './reason-quality.js';
import { parseStart } from './start-time.js';

export interface ValidDraft {
  database: DatabaseEntry;
  level: AccessLevel;
  scope: ScopeItem[];
  durationSeconds: number;
  reason: string;
  ticket: string | null;
  breakGlass: boolean;
  /** Scheduled access: the requested start (absent: at approval). */
  startsAt?: Date | undefined;
}

export type DraftField = keyof RequestDraft;
export type DraftResult = { ok: true; value: ValidDraft } | { ok: false; errors: Partial<Record<DraftField, string>> };

const LIMITS = { reason: 1000, ticket: 100, scope: 2000 } as const;

/**
 * Validates a request form against the catalog. Pure and fast: it runs before the chat
 * acknowledgement, so that errors can be shown inline on the form.
 */
export function validateDraft(draft: RequestDraft, catalog: CatalogView, now = new Date()): DraftResult {
  const errors: Partial<Record<DraftField, string>> = {};
  const database = catalog.database(draft.databaseId);
  if (!database) errors.databaseId = 'Choose a database from the list.';

  if (!catalog.level(draft.level)) errors.level = 'Choose a level from the list.';
  else if (database && !database.levels.includes(draft.level)) {
    errors.level = `${database.id} allows only ${database.levels.join(', ')}.`;
  }

  let scope: ScopeItem[] = [];
  if (draft.scope.length > LIMITS.scope) errors.scope = `Keep the scope under ${LIMITS.scope} characters.`;
  else {
    try {
      scope = parseScope(draft.scope);
    } catch (error) {
      errors.scope = (error as Error).message;
    }
  }

  if (scope.some((item) => item.columns) && draft.level !== 'read') errors.scope = 'Columns can be limited only for read access.';
  const outside = database && outsideDatabases(database, scope);
  if (outside) errors.scope = outside;
  const refusal = database && scope.length > 0 ? scopeRefusal(database) : undefined;
  if (refusal) errors.scope = refusal;

  const durationSeconds = parseDuration(draft.duration);
  const { minDuration } = catalog.catalog.settings;
  if (durationSeconds === undefined) errors.duration = 'Write a duration such as 30m, 2h or 1h30m.';
  else if (durationSeconds < minDuration) errors.duration = `At least ${formatDuration(minDuration)}.`;
  else if (database && durationSeconds > database.maxDuration) {
    errors.duration = `At most ${formatDuration(database.maxDuration)} for ${database.id}.`;
  }

  const reason = draft.reason.trim();
  if (reason.length > LIMITS.reason) errors.reason = `Keep the reason under ${LIMITS.reason} characters.`;
  else {
    const problem = reasonProblem(reason);
    if (problem) errors.reason = problem;
  }

  const ticket = draft.ticket.trim();
  if (ticket.length > LIMITS.ticket) errors.ticket = `Keep the ticket under ${LIMITS.ticket} characters.`;
  else if (ticket && !/^[\p{L}\p{N}][\p{L}\p{N}._#/:-]*$/u.test(ticket)) errors.ticket = 'A ticket is an id or a link, e.g. OPS-1234.';

  const start = parseStart(draft.startsAt ?? '', now);
  if ('error' in start) errors.startsAt = start.error;

  if (Object.keys(errors).length > 0 || !database) return { ok: false, errors };
  return {
    ok: true,
    value: { database, level: draft.level, scope, durationSeconds: durationSeconds!, reason, ticket: ticket || null, breakGlass: draft.breakGlass === true, ...('startsAt' in start && start.startsAt ? { startsAt: start.startsAt } : {}) },
  };
}
