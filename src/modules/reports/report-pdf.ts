import PDFDocument from 'pdfkit';
import { formatDuration } from '../../lib/time.js';
import type { Report } from './report-types.js';

/** Rows per table in the PDF; the CSV carries every row. */
export const PDF_ROW_LIMIT = 200;

/** The standard PDF fonts speak WinAnsi only: anything else is shown as `?` rather than garbage. */
const latin = (value: unknown) => String(value ?? '').replace(/[^\x20-\x7e\xa0-\xff]/g, '?');
const when = (date: Date | string | null | undefined) => (date ? new Date(date).toISOString().slice(0, 16).replace('T', ' ') : '');
const num = (value: number) => value.toLocaleString('en-US');

/**
 * The report as a PDF, drawn with PDFKit (pure JavaScript, no browser at run time): the same sections
 * as the HTML page, with the charts as vector bars and the tables cut at PDF_ROW_LIMIT rows.
 */
export function renderPdf(report: Report): Promise<Buffer> {
  const doc = new PDFDocument({ size: 'A4', margin: 48, info: { Title: latin(`Database access report ${report.period.label}`), Author: 'dbaccess' } });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const left = doc.page.margins.left;
  const width = doc.page.width - left - doc.page.margins.right;
  const bottom = () => doc.page.height - doc.page.margins.bottom;
  const ensure = (height: number) => {
    if (doc.y + height > bottom()) doc.addPage();
  };
  const heading = (text: string) => {
    ensure(60);
    doc.moveDown(0.8).font('Helvetica-Bold').fontSize(14).fillColor('#000').text(latin(text), left, doc.y, { width });
    doc.moveDown(0.3).font('Helvetica').fontSize(10);
  };
  const paragraph = (text: string, color = '#000') => {
    doc.font('Helvetica').fontSize(10).fillColor(color).text(latin(text), left, doc.y, { width });
    doc.fillColor('#000');
  };

  /** A table: columns as fractions of the width; cells wrap; a page break repeats nothing but keeps going. */
  const table = (headers: string[], fractions: number[], rows: unknown[][]) => {
    const widths = fractions.map((fraction) => fraction * width);
    const line = (cells: unknown[], bold: boolean) => {
      doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(8);
      const texts = cells.map((cell) => latin(cell));
      const height = Math.max(...texts.map((text, i) => doc.heightOfString(text, { width: widths[i]! - 4 }))) + 4;
      ensure(height);
      const top = doc.y;
      let x = left;
      texts.forEach((text, i) => {
        doc.text(text, x + 2, top + 2, { width: widths[i]! - 4 });
        x += widths[i]!;
      });
      doc.moveTo(left, top + height).lineTo(left + width, top + height).strokeColor('#dddddd').lineWidth(0.5).stroke();
      doc.x = left;
      doc.y = top + height;
    };
    line(headers, true);
    for (const row of rows) line(row, false);
    doc.font('Helvetica').fontSize(10);
  };

  const bars = (rows: Array<{ label: string; value: number; note: string }>) => {
    const shown = rows.slice(0, 12);
    const max = Math.max(1, ...shown.map((row) => row.value));
    for (const row of shown) {
      ensure(16);
      const top = doc.y;
      doc.font('Helvetica').fontSize(9).fillColor('#000').text(latin(row.label), left, top + 2, { width: 120 });
      const length = (row.value / max) * (width - 260);
      if (row.value > 0) doc.rect(left + 125, top + 2, Math.max(1, length), 10).fill('#1565c0');
      doc.fillColor('#000').text(latin(row.note), left + 130 + length, top + 2, { width: 130 });
      doc.x = left;
      doc.y = top + 15;
    }
  };

  const t = report.totals;
  doc.font('Helvetica-Bold').fontSize(20).text('Database access report', left, doc.y, { width });
  paragraph(`${report.period.label}: ${when(report.period.from)} to ${when(new Date(new Date(report.period.to).getTime() - 60_000))} UTC. Made ${when(report.generatedAt)} UTC.`);
  const filters = [report.filters.databaseId && `database ${report.filters.databaseId}`, report.filters.environment && `${report.filters.environment} databases`, report.filters.person && `requests by ${report.filters.person}`].filter(Boolean);
  if (filters.length) paragraph(`Only ${filters.join(', ')}.`);

  heading('In short');
  table(['What', 'Number'], [0.7, 0.3], [
    ['Accesses granted', num(t.grants)], ['People', num(t.people)], ['Requests submitted', num(t.requests)], ['Requests not granted', num(t.refused)],
    ['Hours of access in total', num(t.accessHours)], ['Typical (median) access', formatDuration(t.medianDurationSeconds)],
    ['Accesses approved with MFA', `${num(t.mfaUsed)} of ${num(t.grants)}`], ['Break-glass accesses (not reviewed)', `${num(t.breakGlass)} (${num(t.breakGlassUnreviewed)})`],
    ['Sessions flagged for review', num(t.flaggedSessions)], ['Removals that failed at first (still failing)', `${num(t.revocationFailures)} (${num(t.revocationFailuresOpen)})`],
    ['Self-approvals', num(t.selfApprovals)],
  ]);

  heading(`Accesses started per ${report.charts.overTime.unit}`);
  const buckets = report.charts.overTime.buckets;
  {
    ensure(130);
    const top = doc.y;
    const height = 100;
    const max = Math.max(1, ...buckets.map((bucket) => bucket.grants));
    const slot = width / Math.max(1, buckets.length);
    buckets.forEach((bucket, i) => {
      const h = (bucket.grants / max) * height;
      if (h > 0) doc.rect(left + i * slot, top + height - h, Math.max(0.5, slot * 0.8), h).fill('#1565c0');
    });
    doc.moveTo(left, top + height).lineTo(left + width, top + height).strokeColor('#999999').lineWidth(0.5).stroke();
    doc.fillColor('#000').fontSize(8).text(latin(buckets[0]?.start ?? ''), left, top + height + 3);
    doc.text(latin(buckets.at(-1)?.start ?? ''), left + width - 60, top + height + 3, { width: 60, align: 'right' });
    doc.text(`max ${max}`, left, top - 10);
    doc.x = left;
    doc.y = top + height + 16;
  }
  heading('Accesses by database');
  bars(report.charts.byDatabase.map((row) => ({ label: row.databaseId, value: row.grants, note: `${num(row.grants)}, ${num(row.hours)} h` })));
  heading('Requests by risk');
  bars(report.charts.byRisk.map((row) => ({ label: row.risk, value: row.requests, note: `${num(row.requests)} requested, ${num(row.grants)} granted` })));

  heading('Who had what access');
  table(
    ['Who', 'Database', 'Access', 'Approved by', 'Started (UTC)', 'How long', 'How it ended'],
    [0.15, 0.13, 0.12, 0.2, 0.15, 0.1, 0.15],
    report.grants.slice(0, PDF_ROW_LIMIT).map((grant) => [
      grant.requesterName ?? grant.requester, grant.databaseId, grant.level, `${grant.approvedBy.join(', ')}${grant.mfaUsed ? ' (MFA)' : ''}`,
      when(grant.startedAt), formatDuration(grant.durationSeconds), `${grant.endedHow}${grant.flagged ? ', flagged' : ''}`,
    ]),
  );
  if (report.grants.length > PDF_ROW_LIMIT) paragraph(`The first ${PDF_ROW_LIMIT} of ${num(report.grants.length)} are shown; the CSV lists all of them.`, '#555');

  heading('Requests not granted');
  if (report.refused.length === 0) paragraph('None in this period.', '#555');
  else {
    table(['Who', 'Database', 'When (UTC)', 'Outcome', 'Why'], [0.15, 0.13, 0.15, 0.17, 0.4], report.refused.slice(0, PDF_ROW_LIMIT).map((item) => [item.requester, item.databaseId, when(item.at), `${item.outcome}${item.by ? ` by @${item.by}` : ''}`, item.why]));
  }

  heading('Break-glass access and its review');
  if (report.breakGlass.length === 0) paragraph('None in this period.', '#555');
  else table(['Request', 'Who', 'Database', 'Started (UTC)', 'Review'], [0.15, 0.2, 0.15, 0.2, 0.3], report.breakGlass.map((grant) => [grant.requestId, grant.requester, grant.databaseId, when(grant.startedAt), grant.reviewedAt ? `reviewed by @${grant.reviewedBy} ${when(grant.reviewedAt)}` : 'NOT REVIEWED']));

  heading('Flagged sessions');
  if (report.flagged.length === 0) paragraph('No session was flagged in this period.', '#555');
  for (const grant of report.flagged.slice(0, PDF_ROW_LIMIT)) paragraph(`${grant.requestId} ${grant.requester} on ${grant.databaseId}: ${grant.flags.join(' ') || 'flagged for review'}`);

  heading('Revocation failures');
  if (report.revocationFailures.length === 0) paragraph('Every access was removed at the first attempt.', '#555');
  else table(['Request', 'Database', 'Failed attempts', 'Outcome', 'Last error'], [0.15, 0.15, 0.12, 0.2, 0.38], report.revocationFailures.map((item) => [item.requestId, item.databaseId, item.attempts, item.resolved ? `removed ${when(item.endedAt)}` : 'still failing', item.lastError ?? '']));

  heading('Anomalies and recommendations');
  if (!report.anomalies.computed) paragraph('Anomalies: not computed for this report.', '#555');
  else for (const item of report.anomalies.items) paragraph(`${item.subject}: ${item.text} (score ${item.score.toFixed(2)})`);
  if (!report.recommendations.computed) paragraph('Recommendations: not computed for this report.', '#555');
  else for (const item of report.recommendations.items) paragraph(`${item.text} (${item.evidence})`);

  heading('Controls this evidence supports');
  for (const control of report.controls) {
    ensure(60);
    doc.font('Helvetica-Bold').fontSize(10).text(latin(`${control.framework} ${control.control}: ${control.title}`), left, doc.y, { width });
    for (const line of control.evidence) paragraph(`- ${line}`);
    if (control.attention.length) paragraph(`Needs attention: ${control.attention.join(' ')}`, '#b71c1c');
    doc.moveDown(0.4);
  }

  heading('Audit log');
  if (report.audit.chain) {
    paragraph(report.audit.chain.ok ? `Hash chain verified intact: ${num(report.audit.chain.events)} events.` : `Hash chain BROKEN at event ${report.audit.chain.seq}: ${report.audit.chain.problem}.`, report.audit.chain.ok ? '#000' : '#b71c1c');
  }
  paragraph(`${num(report.audit.eventsInPeriod)} events in the period.`);
  table(['Event', 'Outcome', 'Count'], [0.5, 0.25, 0.25], report.audit.byAction.slice(0, 40).map((row) => [row.action, row.outcome, num(row.count)]));

  doc.end();
  return done;
}
