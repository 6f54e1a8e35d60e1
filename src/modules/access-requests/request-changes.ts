import type { LevelDefinition } from '../../config/catalog-schema.js';
import type { StoredTerms } from '../../db/schema/access-requests.js';
import { joinRich, rich, strong, type RichText } from '../../lib/rich-text.js';
import { formatDuration } from '../../lib/time.js';
import { formatScope, parseStoredScope, type ScopeItem } from '../credentials/scope.js';

/**
 * Approve with changes: an approver grants less than was asked (a lower level, a narrower scope, a
 * shorter time) instead of denying. Pure: what may change, and how a change is said.
 *
 * The invariant: approved terms are never wider than asked. Each approver narrows the terms as they
 * stand (what earlier approvers left), so with a quorum the narrowest of the approvals is what is
 * granted; a plain approval accepts the terms as they stand.
 */

export type ChangeField = 'level' | 'scope' | 'duration' | 'note';

/** What an approver changes; a field left out stays as it stands. Scope items in their written form. */
export interface ProposedChanges {
  level?: string | undefined;
  scope?: string[] | undefined;
  durationSeconds?: number | undefined;
  note?: string | undefined;
}

export interface ChangeRules {
  /** The catalog's definition of a level, or undefined for a level it does not know. */
  levelOf: (name: string) => LevelDefinition | undefined;
  /** The levels the database offers. */
  levels: readonly string[];
  /** The catalog's shortest duration. */
  minDuration: number;
  noteRequired: boolean;
  /** The policy's name, for refusals. */
  policy: string;
}

export type ChangeCheck =
  | { ok: true; terms: StoredTerms; changed: Array<Exclude<ChangeField, 'note'>> }
  | { ok: false; field: ChangeField; message: string };

export const MAX_NOTE = 500;

const TABLE_PRIVILEGES = { read: ['SELECT'], write: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] } as const;

/** The table privileges of a level; `all` for admin, which holds every other level. */
function privilegesOf(level: LevelDefinition): Set<string> | 'all' {
  if (level.builtIn) return level.name === 'admin' ? 'all' : new Set(TABLE_PRIVILEGES[level.name as 'read' | 'write'] ?? []);
  return new Set(level.privileges);
}

/** Whether `lower` grants nothing `upper` does not: its table privileges are a subset. */
export function levelWithin(lower: LevelDefinition, upper: LevelDefinition): boolean {
  const low = privilegesOf(lower);
  const up = privilegesOf(upper);
  if (up === 'all') return true;
  if (low === 'all') return false;
  return [...low].every((privilege) => up.has(privilege));
}

/** An item is inside one asked: the same schema, or a table of it, or fewer columns of the same table. */
function covers(asked: ScopeItem, item: ScopeItem): boolean {
  if (asked.schema !== item.schema) return false;
  if (asked.table === undefined) return true;
  if (asked.table !== item.table) return false;
  if (asked.columns === undefined) return true;
  return item.columns !== undefined && item.columns.every((column) => asked.columns!.includes(column));
}

/** Whether every item is inside the asked scope (an empty scope is the whole database). */
export function scopeWithin(scope: readonly ScopeItem[], asked: readonly ScopeItem[]): boolean {
  if (asked.length === 0) return true;
  if (scope.length === 0) return false;
  return scope.every((item) => asked.some((wide) => covers(wide, item)));
}

/**
 * Checks what an approver changes against the terms as they stand. Refusals name the field and say
 * what is allowed, in the approver's words.
 */
export function checkChanges(current: StoredTerms, proposed: ProposedChanges, rules: ChangeRules): ChangeCheck {
  const note = proposed.note?.trim() ?? '';
  if (note.length > MAX_NOTE) return { ok: false, field: 'note', message: `Keep the note under ${MAX_NOTE} characters.` };

  const level = proposed.level?.trim() || current.level;
  const asked = rules.levelOf(current.level);
  const chosen = rules.levelOf(level);
  if (!chosen || !asked || (level !== current.level && !rules.levels.includes(level))) {
    return { ok: false, field: 'level', message: `${level} is not a level of this database: choose ${lowerLevels(current.level, rules).join(', ') || current.level}.` };
  }
  if (!levelWithin(chosen, asked)) {
    return { ok: false, field: 'level', message: `${level} is wider than the ${current.level} asked for: approving with changes can only narrow. Choose ${lowerLevels(current.level, rules).join(', ') || current.level}.` };
  }

  let scope: ScopeItem[];
  try {
    scope = parseStoredScope(proposed.scope ?? current.scope);
  } catch {
    return { ok: false, field: 'scope', message: 'The scope names something that cannot be read: choose from the scope asked for.' };
  }
  const askedScope = parseStoredScope(current.scope);
  if (!scopeWithin(scope, askedScope)) {
    const wider = scope.length === 0 ? 'the whole database' : formatScope(scope.filter((item) => !askedScope.some((wide) => covers(wide, item)))).join(', ');
    return { ok: false, field: 'scope', message: `${wider} is outside the scope asked for (${formatScope(askedScope).join(', ')}): approving with changes can only narrow. Keep some of what was asked.` };
  }
  if (scope.some((item) => item.columns) && level !== 'read') return { ok: false, field: 'scope', message: 'Columns can be limited only for read access: keep whole tables, or approve read.' };

  const durationSeconds = proposed.durationSeconds ?? current.durationSeconds;
  if (!Number.isInteger(durationSeconds) || durationSeconds > current.durationSeconds) {
    return { ok: false, field: 'duration', message: `That is longer than the ${formatDuration(current.durationSeconds)} asked for: approving with changes can only shorten it.` };
  }
  if (durationSeconds < Math.min(rules.minDuration, current.durationSeconds)) {
    return { ok: false, field: 'duration', message: `At least ${formatDuration(Math.min(rules.minDuration, current.durationSeconds))}: that is the shortest access this catalog grants.` };
  }

  const terms: StoredTerms = { level, scope: formatScope(scope), durationSeconds };
  const changed = changedFields(current, terms);
  if (changed.length === 0) return { ok: false, field: 'level', message: 'Nothing is narrowed: choose a lower level, part of the scope or a shorter time, or use Approve.' };
  if (rules.noteRequired && note.length === 0) return { ok: false, field: 'note', message: `Policy "${rules.policy}" asks for a note to the requester when you change a request here: say why.` };
  return { ok: true, terms, changed };
}

/** The levels of the database within the one asked for, the asked one first. */
export function lowerLevels(levelName: string, rules: Pick<ChangeRules, 'levelOf' | 'levels'>): string[] {
  const asked = rules.levelOf(levelName);
  if (!asked) return [];
  const within = rules.levels.filter((name) => {
    const level = rules.levelOf(name);
    return name !== levelName && level !== undefined && levelWithin(level, asked);
  });
  return [levelName, ...within];
}

function changedFields(before: StoredTerms, after: StoredTerms): Array<Exclude<ChangeField, 'note'>> {
  const fields: Array<Exclude<ChangeField, 'note'>> = [];
  if (before.level !== after.level) fields.push('level');
  if (before.scope.join('\u0000') !== after.scope.join('\u0000')) fields.push('scope');
  if (before.durationSeconds !== after.durationSeconds) fields.push('duration');
  return fields;
}

const scopeWords = (scope: readonly string[]) => (scope.length ? scope.join(', ') : 'the whole database');

/** `level write → read; scope sales, hr → sales; 4h → 1h`: what differs between asked and approved. */
export function describeChanges(asked: StoredTerms, approved: StoredTerms): RichText {
  const parts: RichText[] = [];
  if (asked.level !== approved.level) parts.push(rich`level ${asked.level} → ${strong(approved.level)}`);
  if (asked.scope.join('\u0000') !== approved.scope.join('\u0000')) {
    const dropped = asked.scope.filter((item) => !approved.scope.includes(item));
    parts.push(rich`scope ${scopeWords(asked.scope)} → ${strong(scopeWords(approved.scope))}${dropped.length && dropped.length < asked.scope.length ? ` (without ${dropped.join(', ')})` : ''}`);
  }
  if (asked.durationSeconds !== approved.durationSeconds) parts.push(rich`duration ${formatDuration(asked.durationSeconds)} → ${strong(formatDuration(approved.durationSeconds))}`);
  return parts.length ? joinRich(parts, '; ') : rich`nothing`;
}
