import { formatDuration } from '../../lib/time.js';
import type { AccessGrant, Report } from './report-types.js';

/** Rows per table in the page; the CSV and JSON downloads carry every row. */
export const HTML_ROW_LIMIT = 500;

const esc = (value: unknown): string =>
  String(value ?? '').replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]!);

const num = (value: number) => value.toLocaleString('en-US');
const when = (date: Date | string | null | undefined) => (date ? new Date(date).toISOString().slice(0, 16).replace('T', ' ') : '');
const RISK_COLORS: Record<string, string> = { low: '#2e7d32', medium: '#f9a825', high: '#ef6c00', critical: '#c62828' };

/** A bar chart over time: grants (blue) and requests not granted (red), one pair of bars per bucket. */
function timeChart(report: Report): string {
  const { buckets, unit } = report.charts.overTime;
  const width = 800;
  const height = 220;
  const left = 40;
  const bottom = 30;
  const max = Math.max(1, ...buckets.map((bucket) => Math.max(bucket.grants, bucket.refused)));
  const slot = (width - left - 10) / Math.max(1, buckets.length);
  const bar = Math.max(1, slot * 0.4);
  const y = (value: number) => height - bottom - (value / max) * (height - bottom - 20);
  const bars = buckets
    .map((bucket, i) => {
      const x = left + i * slot;
      const title = `${bucket.start}: ${bucket.grants} access${bucket.grants === 1 ? '' : 'es'} started, ${bucket.refused} not granted, ${bucket.requests} requested`;
      return `<g><title>${esc(title)}</title><rect x="${x.toFixed(1)}" y="${y(bucket.grants).toFixed(1)}" width="${bar.toFixed(1)}" height="${(height - bottom - y(bucket.grants)).toFixed(1)}" fill="#1565c0"/><rect x="${(x + bar).toFixed(1)}" y="${y(bucket.refused).toFixed(1)}" width="${bar.toFixed(1)}" height="${(height - bottom - y(bucket.refused)).toFixed(1)}" fill="#c62828"/></g>`;
    })
    .join('');
  const labels = [0, Math.floor((buckets.length - 1) / 2), buckets.length - 1]
    .filter((i, index, all) => i >= 0 && all.indexOf(i) === index)
    .map((i, index, shown) => `<text x="${(left + i * slot).toFixed(1)}" y="${height - 8}" font-size="11"${index === shown.length - 1 && index > 0 ? ' text-anchor="end"' : ''}>${esc(buckets[i]!.start)}</text>`)
    .join('');
  return `<svg role="img" aria-label="Accesses started per ${unit}" viewBox="0 0 ${width} ${height}" width="100%" data-chart="over-time">
    <line x1="${left}" y1="${height - bottom}" x2="${width - 10}" y2="${height - bottom}" stroke="#999"/>
    <text x="2" y="${y(max) + 4}" font-size="11">${max}</text><text x="2" y="${height - bottom}" font-size="11">0</text>
    ${bars}${labels}</svg>
    <p class="legend"><span style="background:#1565c0"></span> accesses started per ${unit} <span style="background:#c62828"></span> requests not granted</p>`;
}

/** Horizontal bars: one row per label, the value written at the end of the bar. */
function barChart(name: string, rows: Array<{ label: string; value: number; note: string; color?: string }>): string {
  if (rows.length === 0) return '<p class="muted">Nothing in this period.</p>';
  const shown = rows.slice(0, 15);
  const max = Math.max(1, ...shown.map((row) => row.value));
  const rowHeight = 26;
  const height = shown.length * rowHeight + 10;
  const bars = shown
    .map((row, i) => {
      const width = (row.value / max) * 360;
      return `<g><title>${esc(`${row.label}: ${row.note}`)}</title><text x="0" y="${i * rowHeight + 18}" font-size="13">${esc(row.label)}</text><rect x="190" y="${i * rowHeight + 5}" width="${Math.max(width, row.value > 0 ? 2 : 0).toFixed(1)}" height="18" fill="${row.color ?? '#1565c0'}"/><text x="${(196 + width).toFixed(1)}" y="${i * rowHeight + 18}" font-size="12">${esc(row.note)}</text></g>`;
    })
    .join('');
  return `<svg role="img" aria-label="${esc(name)}" viewBox="0 0 800 ${height}" width="100%" data-chart="${esc(name)}">${bars}</svg>${rows.length > shown.length ? `<p class="muted">The ${rows.length - shown.length} smallest are left out of the chart.</p>` : ''}`;
}

function card(metric: keyof Report['totals'] | string, value: string, label: string, alert = false): string {
  return `<div class="card${alert ? ' alert' : ''}"><div class="value" data-metric="${esc(metric)}">${esc(value)}</div><div class="label">${esc(label)}</div></div>`;
}

function grantRows(grants: AccessGrant[]): string {
  if (grants.length === 0) return '<p class="muted">None in this period.</p>';
  const rows = grants
    .slice(0, HTML_ROW_LIMIT)
    .map(
      (grant) => `<tr data-request="${esc(grant.requestId)}"><td>${esc(grant.requesterName ?? grant.requester)}<div class="muted">${esc(grant.requester)}</div></td>
      <td>${esc(grant.databaseId)}<div class="muted">${esc(grant.environment ?? '')}</div></td><td>${esc(grant.level)}${grant.scope.length ? `<div class="muted">${esc(grant.scope.join(', '))}</div>` : ''}</td>
      <td>${esc(grant.reason)}${grant.ticket ? `<div class="muted">${esc(grant.ticket)}</div>` : ''}</td><td class="approvers">${esc(grant.approvedBy.join(', '))}${grant.mfaUsed ? ' <span class="tag">MFA</span>' : ''}${grant.breakGlass ? (grant.reviewedAt ? ` <span class="tag">break-glass reviewed by @${esc(grant.reviewedBy ?? '')}</span>` : ' <span class="tag warn">break-glass NOT REVIEWED</span>') : ''}</td>
      <td>${esc(when(grant.startedAt))}</td><td class="duration">${esc(formatDuration(grant.durationSeconds))}</td><td>${esc(grant.endedHow)}${grant.flagged ? ' <span class="tag warn">flagged</span>' : ''}</td></tr>`,
    )
    .join('');
  return `<table><thead><tr><th>Who</th><th>Database</th><th>Access</th><th>Why</th><th>Approved by</th><th>Started (UTC)</th><th>How long</th><th>How it ended</th></tr></thead><tbody>${rows}</tbody></table>${
    grants.length > HTML_ROW_LIMIT ? `<p class="muted">The first ${HTML_ROW_LIMIT} of ${num(grants.length)} are shown; the CSV download lists all of them.</p>` : ''
  }`;
}

/** A self-contained page (no scripts, no external resources) that a non-technical reader can follow. */
export function renderHtml(report: Report, links: Partial<Record<'csv' | 'json' | 'pdf', string>> = {}): string {
  const t = report.totals;
  const filters = [report.filters.databaseId && `database ${report.filters.databaseId}`, report.filters.environment && `${report.filters.environment} databases`, report.filters.person && `requests by ${report.filters.person}`].filter(Boolean);
  const period = `${when(report.period.from)} to ${when(new Date(new Date(report.period.to).getTime() - 60_000))} UTC`;
  const refusedRows = report.refused
    .slice(0, HTML_ROW_LIMIT)
    .map((item) => `<tr data-request="${esc(item.requestId)}"><td>${esc(item.requester)}</td><td>${esc(item.databaseId)}</td><td>${esc(item.level)}</td><td>${esc(when(item.at))}</td><td>${esc(item.outcome)}${item.by ? ` by @${esc(item.by)}` : ''}</td><td>${esc(item.why)}</td></tr>`)
    .join('');
  const failures = report.revocationFailures
    .map((item) => `<tr><td>${esc(item.requestId)}</td><td>${esc(item.databaseId)}</td><td>${esc(item.username)}</td><td>${item.attempts}</td><td>${item.resolved ? `removed ${esc(when(item.endedAt))}` : '<strong>still failing</strong>'}</td><td>${esc(item.lastError ?? '')}</td></tr>`)
    .join('');
  const flagged = report.flagged
    .map((grant) => `<li><strong>${esc(grant.requestId)}</strong> ${esc(grant.requester)} on ${esc(grant.databaseId)} (${esc(grant.level)}): ${esc(grant.flags.join(' ') || 'flagged for review')}</li>`)
    .join('');
  const insight = (section: Report['anomalies'] | Report['recommendations'], item: (entry: never) => string) =>
    !section.computed ? '<p class="muted" data-insights="not-computed">Not computed for this report.</p>' : section.items.length === 0 ? '<p class="muted">None found.</p>' : `<ul>${section.items.map((entry) => item(entry as never)).join('')}</ul>`;
  const controls = report.controls
    .map(
      (control) => `<tr class="${control.status}"><td><strong>${esc(control.framework)} ${esc(control.control)}</strong><div class="muted">${esc(control.title)}</div></td><td><ul>${control.evidence.map((line) => `<li>${esc(line)}</li>`).join('')}</ul>${
        control.attention.length ? `<p class="attention">Needs attention: ${esc(control.attention.join(' '))}</p>` : ''
      }</td><td>${control.status === 'met' ? 'evidence in this report' : 'needs attention'}</td></tr>`,
    )
    .join('');
  const chain = report.audit.chain
    ? report.audit.chain.ok
      ? `<p data-chain="ok">Verified intact when this report was made: ${num(report.audit.chain.events)} events, each linked to the one before by its hash.</p>`
      : `<p class="attention" data-chain="broken">BROKEN at event ${report.audit.chain.seq}: ${esc(report.audit.chain.problem)}.</p>`
    : '<p class="muted" data-chain="not-verified">Every event is linked to the one before by its hash, and the log is append-only. Its integrity is not re-checked for this page (a million events take tens of seconds): run <code>/dbaccess audit verify</code> or <code>npm run audit:verify</code>.</p>';
  const downloads = Object.entries(links)
    .map(([format, href]) => `<a href="${esc(href)}">${format.toUpperCase()}</a>`)
    .join(' · ');

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Database access report ${esc(report.period.label)}</title>
<style>
body{font-family:-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0 auto;max-width:1100px;padding:24px;color:#1d1d1f;line-height:1.45}
h1{margin-bottom:4px}h2{margin-top:36px;border-bottom:1px solid #ddd;padding-bottom:4px}
.muted{color:#666;font-size:0.9em}.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(160px,1fr));gap:12px;margin:16px 0}
.card{border:1px solid #ddd;border-radius:8px;padding:12px;background:#fafafa}.card .value{font-size:1.8em;font-weight:600}.card .label{color:#555;font-size:0.9em}
.card.alert{border-color:#c62828;background:#fff4f4}.card.alert .value{color:#c62828}
table{border-collapse:collapse;width:100%;font-size:0.9em}th,td{border-bottom:1px solid #eee;padding:6px;text-align:left;vertical-align:top}th{background:#f3f3f3}
.tag{display:inline-block;background:#e3f2fd;border-radius:4px;padding:0 4px;font-size:0.8em}.tag.warn{background:#ffebee;color:#b71c1c}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
tr.attention td:last-child,.attention{color:#b71c1c;font-weight:600}tr.met td:last-child{color:#2e7d32}
@media print{body{max-width:none}h2{page-break-after:avoid}}
</style></head><body>
<h1>Database access report</h1>
<p><strong data-period>${esc(report.period.label)}</strong>: ${esc(period)}${filters.length ? ` · only ${esc(filters.join(', '))}` : ''}<br>
<span class="muted">Made ${esc(when(report.generatedAt))} UTC by dbaccess. Nobody holds standing database accounts: each access below was a temporary user created for one request and removed at its end.${downloads ? ` Download: ${downloads}` : ''}</span></p>

<h2>In short</h2>
<div class="cards">
${card('grants', num(t.grants), 'accesses granted')}
${card('people', num(t.people), 'people')}
${card('requests', num(t.requests), 'requests submitted')}
${card('refused', num(t.refused), 'requests not granted')}
${card('accessHours', num(t.accessHours), 'hours of access in total')}
${card('medianDuration', formatDuration(t.medianDurationSeconds), 'typical (median) access')}
${card('mfaUsed', `${num(t.mfaUsed)} / ${num(t.grants)}`, 'accesses approved with MFA')}
${card('breakGlass', num(t.breakGlass), 'break-glass accesses', t.breakGlassUnreviewed > 0)}
${card('breakGlassUnreviewed', num(t.breakGlassUnreviewed), 'break-glass not reviewed', t.breakGlassUnreviewed > 0)}
${card('flaggedSessions', num(t.flaggedSessions), 'sessions flagged for review', t.flaggedSessions > 0)}
${card('revocationFailures', num(t.revocationFailures), 'accesses whose removal failed at first', t.revocationFailuresOpen > 0)}
${card('selfApprovals', num(t.selfApprovals), 'self-approvals', t.selfApprovals > 0)}
</div>

<h2>Access over time</h2>
${timeChart(report)}
<h2>Access by database</h2>
${barChart('by-database', report.charts.byDatabase.map((row) => ({ label: row.databaseId, value: row.grants, note: `${num(row.grants)} accesses, ${num(row.hours)} h${row.refused ? `, ${row.refused} not granted` : ''}` })))}
<h2>Requests by risk</h2>
<p class="muted">The built-in rating given when each request was submitted.</p>
${barChart('by-risk', report.charts.byRisk.map((row) => ({ label: row.risk, value: row.requests, note: `${num(row.requests)} requested, ${num(row.grants)} granted`, color: RISK_COLORS[row.risk] ?? '#1565c0' })))}

<h2>Who had what access</h2>
${grantRows(report.grants)}

<h2>Requests not granted</h2>
${refusedRows ? `<table><thead><tr><th>Who</th><th>Database</th><th>Access</th><th>When (UTC)</th><th>Outcome</th><th>Why</th></tr></thead><tbody>${refusedRows}</tbody></table>` : '<p class="muted">None in this period.</p>'}

<h2>Break-glass access and its review</h2>
${grantRows(report.breakGlass)}

<h2>Flagged sessions</h2>
${flagged ? `<ul>${flagged}</ul>` : '<p class="muted">No session was flagged in this period.</p>'}

<h2>Revocation failures</h2>
${failures ? `<table><thead><tr><th>Request</th><th>Database</th><th>User</th><th>Failed attempts</th><th>Outcome</th><th>Last error</th></tr></thead><tbody>${failures}</tbody></table>` : '<p class="muted">Every access was removed at the first attempt.</p>'}

<h2>Anomalies</h2>
${insight(report.anomalies, (entry: { subject: string; text: string; score: number }) => `<li><strong>${esc(entry.subject)}</strong>: ${esc(entry.text)} <span class="muted">(score ${esc(entry.score.toFixed(2))})</span></li>`)}
<h2>Recommendations</h2>
${insight(report.recommendations, (entry: { text: string; evidence: string }) => `<li>${esc(entry.text)} <div class="muted">${esc(entry.evidence)}</div></li>`)}

<h2>Controls this evidence supports</h2>
<table><thead><tr><th>Control</th><th>Evidence from this period</th><th>Status</th></tr></thead><tbody>${controls}</tbody></table>

<h2>Audit log</h2>
${chain}
<p>${num(report.audit.eventsInPeriod)} events were recorded in the period.</p>
<table><thead><tr><th>Event</th><th>Outcome</th><th>Count</th></tr></thead><tbody>${report.audit.byAction
    .slice(0, 40)
    .map((row) => `<tr><td>${esc(row.action)}</td><td>${esc(row.outcome)}</td><td>${num(row.count)}</td></tr>`)
    .join('')}</tbody></table>
</body></html>
`;
}
