import { joinRich, person, rich, strong, type RichText } from '../../lib/rich-text.js';
import { formatDuration } from '../../lib/time.js';
import type { RequestView } from '../../modules/access-requests/access-request-types.js';
import { describeChanges } from '../../modules/access-requests/request-changes.js';

/**
 * What every platform says about an approval with changes: the card's line (approvers see the terms
 * as they now stand, and what was asked), and the requester's message (what changed, by whom, why).
 */

const termsOf = (view: Pick<RequestView, 'level' | 'scope' | 'durationSeconds'>) => ({ level: view.level, scope: view.scope, durationSeconds: view.durationSeconds });

/** The notes of the approvers who narrowed it, in their own words (plain text, escaped by each adapter). */
export function changeNotes(view: RequestView): Array<{ by: string; note: string }> {
  const narrowers = new Set(view.changes?.changedBy ?? []);
  return view.decisions.flatMap((d) => (d.decision === 'approve' && narrowers.has(d.approverExternalId) && d.reason ? [{ by: d.approverExternalId, note: d.reason }] : []));
}

/** `level write → read; duration 4h → 1h`, or undefined when nobody narrowed the request. */
export function changesText(view: RequestView): RichText | undefined {
  return view.changes ? describeChanges(view.changes.asked, termsOf(view)) : undefined;
}

/** The card's line while and after approvers narrowed: what changed from the ask, by whom, their notes. */
export function changesCardLine(view: RequestView): RichText | undefined {
  const what = changesText(view);
  if (!view.changes || !what) return undefined;
  const asked = view.changes.asked;
  const by = joinRich(view.changes.changedBy.map(person));
  const notes = changeNotes(view).map(({ by: who, note }) => rich` ${person(who)}: “${note}”`);
  const lead = view.state === 'pending' ? rich`Narrowed by ${by} (the next approval accepts these terms)` : rich`Approved with changes by ${by}`;
  return rich`${lead}: ${what}. Asked: ${asked.level}, ${asked.scope.length ? asked.scope.join(', ') : 'whole database'}, ${formatDuration(asked.durationSeconds)}.${notes.length ? rich` Note:${joinRich(notes, ';')}` : ''}`;
}

/** To the requester: approved, but narrower than asked; what they get, what changed, and why. */
export function approvedWithChangesText(view: RequestView): { line: RichText; notes: Array<{ by: string; note: string }> } {
  const by = joinRich((view.changes?.changedBy ?? []).map(person));
  const scope = view.scope.length ? view.scope.join(', ') : 'the whole database';
  return {
    line: rich`Your request ${strong(view.id)} for ${view.databaseId} was approved with changes by ${by}: ${changesText(view) ?? 'nothing'}. You get ${strong(view.level)} on ${scope} for ${formatDuration(view.durationSeconds)}; your credentials follow. If that is not enough, ask again with what you need and why.`,
    notes: changeNotes(view),
  };
}

/** One plain paragraph for platforms without blocks of their own. */
export function approvedWithChangesRich(view: RequestView): RichText {
  const { line, notes } = approvedWithChangesText(view);
  return notes.length ? rich`${line}\n${joinRich(notes.map(({ by, note }) => rich`Note from ${person(by)}: “${note}”`), '\n')}` : line;
}
