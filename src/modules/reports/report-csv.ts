import type { Report } from './report-types.js';

/**
 * A cell as RFC 4180 wants it, and safe to open in a spreadsheet: text that a spreadsheet would run
 * as a formula (= + - @, tab, carriage return) is prefixed with a quote.
 */
export function csvCell(value: unknown): string {
  let text = value === null || value === undefined ? '' : value instanceof Date ? value.toISOString() : Array.isArray(value) ? value.join('; ') : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const COLUMNS = [
  'request_id', 'outcome', 'requested_at', 'requester', 'database', 'environment', 'level', 'scope', 'reason', 'ticket', 'risk', 'policy',
  'approved_by', 'approved_at', 'mfa_required', 'mfa_used', 'break_glass', 'reviewed_by', 'reviewed_at', 'access_start', 'access_end',
  'duration_seconds', 'seconds_in_period', 'ended_how', 'ended_by', 'extensions', 'revocation_failures', 'statements_recorded', 'flagged', 'flags',
  'refused_by', 'why_not_granted',
] as const;

/** One row per request of the period: every access, then every request that was not granted. */
export function renderCsv(report: Report): string {
  const lines: string[] = [COLUMNS.join(',')];
  for (const grant of report.grants) {
    lines.push([
      grant.requestId, 'granted', grant.requestedAt, grant.requester, grant.databaseId, grant.environment, grant.level, grant.scope, grant.reason, grant.ticket,
      grant.risk, grant.policyName, grant.approvedBy, grant.approvedAt, grant.mfaRequired, grant.mfaUsed, grant.breakGlass, grant.reviewedBy, grant.reviewedAt,
      grant.startedAt, grant.endedAt, grant.durationSeconds, grant.secondsInPeriod, grant.endedHow, grant.endedBy, grant.extensions, grant.revokeAttempts,
      grant.statementsRecorded, grant.flagged, grant.flags, '', '',
    ].map(csvCell).join(','));
  }
  for (const item of report.refused) {
    const cells: unknown[] = COLUMNS.map(() => '');
    const set = (column: (typeof COLUMNS)[number], value: unknown) => {
      cells[COLUMNS.indexOf(column)] = value;
    };
    set('request_id', item.requestId);
    set('outcome', item.outcome);
    set('requested_at', item.at);
    set('requester', item.requester);
    set('database', item.databaseId);
    set('environment', item.environment);
    set('level', item.level);
    set('refused_by', item.by);
    set('why_not_granted', item.why);
    lines.push(cells.map(csvCell).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** The whole report model as JSON (dates as ISO strings). */
export const renderJson = (report: Report): string => `${JSON.stringify(report, null, 2)}\n`;
