import { code, joinRich, person, rich, strong, text, type RichText } from '../../lib/rich-text.js';
import { formatTime } from '../../lib/time.js';
import type { AuditService } from '../../modules/audit/audit-service.js';
import type { InsightsOverview } from '../../modules/insights/insights-types.js';
import { fromLegacyMarkup } from './legacy-markup.js';
import type { SystemStatus } from './system-status.js';

/** The texts of the admin and auditor commands, written once for every platform. Pure. */

const lines = (...values: RichText[]) => joinRich(values, '\n');

/** `status`: health, break-glass still to review, databases that cannot be served, failing revocations. */
export function statusText(status: SystemStatus): RichText {
  const out: RichText[] = [
    rich`${strong('dbaccess status')}`,
    rich`• Active temporary users: ${status.activeLeases}`,
    rich`• Jobs: ${Object.entries(status.queue).map(([state, count]) => `${count} ${state}`).join(', ') || 'none'}`,
  ];
  out.push(status.unreviewedBreakGlass.length > 0
    ? rich`• Break-glass access not yet reviewed: ${joinRich(status.unreviewedBreakGlass.map((b) => rich`${code(b.id)} (${b.level} on ${b.databaseId}, ${formatTime(b.createdAt)})`))}`
    : text('• Break-glass: all reviewed'));
  if (status.unavailableDatabases.length === 0) out.push(text('• Databases: every admin connection resolves'));
  else {
    out.push(rich`• Databases unavailable (their admin connection does not resolve): ${status.unavailableDatabases.length}`);
    for (const database of status.unavailableDatabases) out.push(rich`    ◦ ${database.message}`);
  }
  if (status.failingRevocations.length === 0) out.push(text('• Revocations: none failing'));
  else {
    out.push(rich`• Revocations failing and retrying: ${status.failingRevocations.length}`);
    for (const stuck of status.failingRevocations) {
      out.push(rich`    ◦ ${code(stuck.username)} on ${stuck.databaseId} (request ${stuck.requestId}), due ${formatTime(stuck.expiresAt)}, ${stuck.attempts} failed attempts: ${stuck.lastError ?? ''}`);
    }
  }
  return lines(...out);
}

/** `insights`: the period's highest anomalies, the recommendations with their evidence, what is not scored yet. */
export function insightsText(overview: InsightsOverview, days: number): RichText {
  const { period, anomalies, recommendations, notes } = overview;
  const out: RichText[] = [
    rich`${strong(`Insights: the last ${days} days`)} (${period.from.toISOString().slice(0, 10)} to ${period.to.toISOString().slice(0, 10)}; ${overview.requestsScored} requests and ${overview.sessionsScored} recorded sessions, each scored against the 180 days before it)`,
    rich`${strong('Anomalies')} (score 3.5 or more; highest first)`,
  ];
  if (anomalies.length === 0) out.push(text('• Nothing stood out.'));
  for (const anomaly of anomalies.slice(0, 15)) {
    out.push(rich`• ${strong(anomaly.score.toFixed(1))} ${code(anomaly.requestId)}${anomaly.kind === 'session' ? ' session' : ''} by ${person(anomaly.personExternalId)} on ${anomaly.databaseId}: ${anomaly.text}`);
  }
  if (anomalies.length > 15) out.push(text(`• …and ${anomalies.length - 15} more (the report lists them all).`));
  out.push(rich`${strong('Recommendations')}`);
  if (recommendations.length === 0) out.push(text('• None: no kind of request, grant or approver meets a recommendation\'s thresholds yet.'));
  // Recommendations name people as mentions (the service's naming below) and commands in backticks.
  for (const recommendation of recommendations) out.push(rich`• ${fromLegacyMarkup(recommendation.text)}\n    ◦ ${fromLegacyMarkup(recommendation.evidence)}`);
  if (notes.length) out.push(rich`${strong('Not scored yet')}`, ...notes.map((note) => text(`• ${note}`)));
  return lines(...out);
}

/** How the insights service names people inside its sentences: read back into people by fromLegacyMarkup. */
export const insightsNaming = (id: string) => `<@${id}>`;

/** `list`: the person's recent requests, with the end of the active ones. */
export function listText(rows: Array<{ id: string; databaseId: string; level: string; state: string; createdAt: Date }>, active: Map<string, Date>, prefix: string): RichText {
  if (rows.length === 0) return rich`You have no requests yet. Type ${code(prefix)} to ask for access.`;
  return lines(rich`${strong('Your recent requests')}`, ...rows.slice(0, 15).map((row) => {
    const until = active.get(row.id);
    return rich`• ${code(row.id)} ${row.level} on ${row.databaseId}: ${row.state.replace('_', ' ')}${until ? `, until ${formatTime(until)}` : ''} (asked ${formatTime(row.createdAt)})`;
  }));
}

/** What `audit verify` (and a report) says about the chain. */
export function auditVerdict(result: Awaited<ReturnType<AuditService['verifyRecent']>>): RichText {
  return result.ok
    ? text(
        `The audit log is intact: ${result.events.toLocaleString('en-US')} events, each linked to the one before, none missing, none changed.` +
          (result.from ? ` Events 1 to ${result.from.toLocaleString('en-US')} were checked by an earlier verification, which signed them; the operator's \`npm run audit:verify\` checks them all again.` : ''),
      )
    : rich`${strong(`The audit log is broken at event ${result.seq}`)}: ${result.problem}. Everything before event ${String(result.seq)} checks out. Tell your security team.`;
}
