/**
 * The application's own record switched off in its data: a column that turns an audit log, an event
 * log or change tracking on (`events_enabled`, `audit_log_enabled`, `auditing`) set to false, a column
 * that turns it off (`skip_audit`, `disable_logging`) set to true, or the row of a settings table named
 * so (`name = 'audit_trail_enabled'`) given a false value. Keycloak's `realm.events_enabled`, a
 * tenant's `audit_log_enabled`. Switches of other things (`event_booking_enabled`,
 * `email_notifications_enabled`) are not the record.
 */
export function recordSwitchedOff(code: string, settingsTable: boolean): string | undefined {
  const assignments = setClause(code);
  for (const [, target, value] of assignments.matchAll(ASSIGNMENT)) {
    const column = target!.replace(/^.*\./, '').replace(/[`"]/g, '');
    if ((switchesTheRecord(column) && FALSE.test(value!)) || (turnsTheRecordOff(column) && TRUE.test(value!))) return column;
  }
  if (settingsTable && [...assignments.matchAll(ASSIGNMENT)].some(([, , value]) => FALSE.test(value!))) {
    const key = [...code.matchAll(/'([\w.:/-]{3,80})'/g)].map((match) => match[1]!).find((literal) => switchesTheRecord(literal.replace(/[.:/-]/g, '_')));
    if (key !== undefined) return `'${key}'`;
  }
  return undefined;
}

/** What its SET assigns: after SET (an UPDATE's, or an upsert's ON DUPLICATE KEY UPDATE / DO UPDATE SET) and before WHERE. */
function setClause(code: string): string {
  const at = code.search(/\bSET\b|\bON\s+DUPLICATE\s+KEY\s+UPDATE\b/i);
  if (at < 0) return '';
  return code.slice(at).replace(/^\w+(?:\s+DUPLICATE\s+KEY\s+UPDATE)?/i, '').split(/\bWHERE\b|\bRETURNING\b/i)[0]!;
}

const ASSIGNMENT = /([`"\w.]+)\s*=\s*('(?:[^']|'')*'|"[^"]*"|[\w.]+)/g;
const FALSE = /^(?:false|0|'0'|'false'|'f'|'off'|'no'|'n'|'disabled?'|'none'|null|"0"|"false"|"off")$/i;
const TRUE = /^(?:true|1|'1'|'true'|'t'|'on'|'yes'|'y'|"1"|"true"|"on")$/i;

/** What keeps the record: an audit, an event or change log, tracking, history, a journal. */
const RECORD = new Set(['audit', 'auditing', 'audited', 'audits', 'log', 'logs', 'logging', 'trail', 'tracking', 'track', 'history', 'journal', 'journaling', 'event', 'events', 'changelog']);
const ON = new Set(['enabled', 'enable', 'active', 'on', 'flag', 'switch']);
const OFF = new Set(['disabled', 'disable', 'skip', 'off', 'suppress', 'suppressed', 'mute', 'muted', 'no', 'without', 'bypass']);
const wordsOf = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase().split(/_+/).filter(Boolean);

function switchesTheRecord(name: string): boolean {
  const words = wordsOf(name);
  if (words.length === 1) return ['audit', 'auditing', 'logging', 'tracking', 'journaling'].includes(words[0]!);
  return words.some((word, at) => at > 0 && ON.has(word) && RECORD.has(words[at - 1]!)) || (ON.has(words[0]!) && RECORD.has(words[1]!));
}

function turnsTheRecordOff(name: string): boolean {
  const words = wordsOf(name);
  return words.some((word, at) => OFF.has(word) && (RECORD.has(words[at + 1] ?? '') || RECORD.has(words[at - 1] ?? '')));
}
