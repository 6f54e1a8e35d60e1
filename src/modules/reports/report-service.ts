import type { CatalogOf, CatalogView } from '../../config/catalog.js';
import { withTenant } from '../../db/tenant-scope.js';
import { badInput } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { formatDuration } from '../../lib/time.js';
import { joinRich, link, person, rich, strong, type Inline, type RichText } from '../../lib/rich-text.js';
import type { AuditService, VerifyResult } from '../audit/audit-service.js';
import { resolveRoles, personOf, type PersonResolver } from '../policy/policy-evaluator.js';
import { buildReport } from './report-builder.js';
import { renderCsv, renderJson } from './report-csv.js';
import { renderHtml } from './report-html.js';
import type { ReportFormat, ReportLinks } from './report-links.js';
import { parsePeriod, type Period } from './report-period.js';
import type { ReportRepo } from './report-repo.js';
import type { InsightsProvider, Report, ReportFilters } from './report-types.js';

interface Deps {
  repo: ReportRepo;
  audit: Pick<AuditService, 'verifyRecent'>;
  /** The tenant's catalog (its section of the file). */
  catalogOf: CatalogOf;
  /** Who a chat user is as the policy sees them; by default the id alone. */
  people?: PersonResolver;
  /** Admins as the access-request service sees them (approvers act as admins while none are named). */
  isAdmin: (actor: { tenantId: string; externalUserId: string }) => Promise<boolean>;
  /** Signs download links; without it (no PUBLIC_URL) the summary says how to get them. */
  links?: ReportLinks | undefined;
  publicUrl?: string | undefined;
  /** Anomalies and recommendations (modules/insights), when that module is wired in. */
  insights?: InsightsProvider | undefined;
  logger?: Logger | undefined;
  now?: () => Date;
}

const ENVIRONMENTS = ['production', 'staging', 'development'] as const;

/** The download addresses of one signed report; the token rides in the query (it is longer than a path segment may be). */
const urlsFor = (publicUrl: string, token: string): Record<ReportFormat, string> =>
  Object.fromEntries((['html', 'csv', 'json', 'pdf'] as const).map((format) => [format, `${publicUrl.replace(/\/$/, '')}/reports/report.${format}?token=${token}`])) as Record<ReportFormat, string>;

export const REPORT_USAGE =
  'Usage: `/dbaccess report <period> [db:<database>] [env:production|staging|development] [@person]`, e.g. `/dbaccess report 2026-11`, `/dbaccess report last 30d db:orders`, `/dbaccess report 2026-Q4 env:production`.';

const CONTENT_TYPES: Record<ReportFormat, string> = {
  html: 'text/html; charset=utf-8', csv: 'text/csv; charset=utf-8', json: 'application/json; charset=utf-8', pdf: 'application/pdf',
};

/**
 * Compliance reports: who had what access in a period, approved by whom, for how long, how it ended,
 * with MFA, break-glass, flagged sessions, failed revocations and refusals, mapped to SOC 2 and
 * ISO 27001 controls. For auditors and admins, from chat or a signed link.
 */
export function createReportService({ repo, audit, catalogOf, people = async (_tenantId, id) => personOf(id), isAdmin, links, publicUrl, insights, logger, now = () => new Date() }: Deps) {
  async function mayAudit(actor: { tenantId: string; externalUserId: string }): Promise<boolean> {
    const roles = resolveRoles(await people(actor.tenantId, actor.externalUserId), (await catalogOf(actor.tenantId)).policy).roles;
    return roles.includes('auditor') || roles.includes('admin') || (await isAdmin(actor));
  }

  /** `2026-11 db:orders env:production <@U0ALICE>` (as Slack sends a mention) -> period and filters; mistakes say how to write it. */
  async function parseRequest(tenantId: string, text: string): Promise<{ period: Period; filters: ReportFilters }> {
    const catalog = await catalogOf(tenantId);
    const filters: ReportFilters = {};
    const rest: string[] = [];
    for (const word of text.trim().split(/\s+/).filter(Boolean)) {
      const [key, ...valueParts] = word.split(':');
      const value = valueParts.join(':');
      const mention = /^<@([A-Z0-9]{2,20})(\|[^>]*)?>$/.exec(word) ?? (key === 'person' ? /^<?@?([A-Z0-9]{2,20})(\|[^>]*)?>?$/.exec(value) : null);
      if (mention) {
        filters.person = mention[1];
      } else if ((key === 'db' || key === 'database') && value) {
        if (!catalog.database(value)) {
          throw badInput(`There is no database "${value.slice(0, 40)}" in the catalog. Databases: ${catalog.catalog.databases.map((db) => db.id).join(', ') || 'none yet'}.`);
        }
        filters.databaseId = value;
      } else if ((key === 'env' || key === 'environment') && value) {
        if (!(ENVIRONMENTS as readonly string[]).includes(value)) throw badInput(`"${value.slice(0, 20)}" is not an environment: use production, staging or development.`);
        filters.environment = value as ReportFilters['environment'];
      } else {
        rest.push(word);
      }
    }
    if (rest.length === 0) throw badInput(`Which period? ${REPORT_USAGE}`);
    return { period: parsePeriod(rest.join(' '), now()), filters };
  }

  /** The databases a filter allows, or undefined for all. */
  function databaseIds(catalog: CatalogView, filters: ReportFilters): string[] | undefined {
    if (!filters.environment) return filters.databaseId ? [filters.databaseId] : undefined;
    const ids = catalog.catalog.databases.filter((db) => db.environment === filters.environment).map((db) => db.id);
    return filters.databaseId ? ids.filter((id) => id === filters.databaseId) : ids;
  }

  /**
   * The report of a period. `verifyChain` also checks the whole audit chain (seconds per million
   * events), which chat does apart, after the summary; downloads leave it out.
   */
  async function build(tenantId: string, period: Period, filters: ReportFilters, options: { verifyChain?: boolean } = {}): Promise<Report> {
    const catalog = await catalogOf(tenantId);
    return withTenant(tenantId, async () => {
      const query = { tenantId, period, databaseIds: databaseIds(catalog, filters), person: filters.person };
      const [requests, auditFacts, chain, found] = await Promise.all([
        repo.requests(query),
        repo.audit(query),
        options.verifyChain ? audit.verifyRecent(tenantId) : Promise.resolve<VerifyResult | undefined>(undefined),
        insights
          ? insights(tenantId, period).catch((error: unknown) => {
              logger?.warn({ err: error }, 'insights failed; the report says they were not computed');
              return undefined;
            })
          : Promise.resolve(undefined),
      ]);
      for (const request of requests) request.environment = catalog.database(request.databaseId)?.environment ?? null;
      const privileged = (level: string) => (catalog.level(level)?.riskAs ?? 'admin') !== 'read';
      return buildReport({ tenantId, period, filters, requests, audit: { ...auditFacts, chain }, insights: found, now: now(), privileged });
    });
  }

  /** Download links for the report (HTML, CSV, JSON, PDF), valid for the links' lifetime. */
  function linksFor(report: Report): { expiresAt: Date; urls: Record<ReportFormat, string> } | undefined {
    if (!links || !publicUrl) return undefined;
    const { token, expiresAt } = links.sign({ tenantId: report.tenantId, from: new Date(report.period.from), to: new Date(report.period.to), label: report.period.label, filters: report.filters });
    return { expiresAt, urls: urlsFor(publicUrl, token) };
  }

  async function render(report: Report, format: ReportFormat, urls?: Partial<Record<ReportFormat, string>>): Promise<{ body: string | Buffer; contentType: string; filename: string }> {
    const filename = `dbaccess-report-${report.period.label.replace(/[^A-Za-z0-9.-]+/g, '_')}.${format}`;
    const body =
      format === 'html' ? renderHtml(report, { csv: urls?.csv, json: urls?.json, pdf: urls?.pdf }) : format === 'csv' ? renderCsv(report) : format === 'json' ? renderJson(report) : await (await import('./report-pdf.js')).renderPdf(report); // PDFKit loads with the first PDF
    return { body, contentType: CONTENT_TYPES[format], filename };
  }

  /** The chat summary: the numbers an auditor asks first, what needs attention, and the links. No markup: each adapter renders it. */
  function summaryText(report: Report): RichText {
    const t = report.totals;
    const filters = joinRich([report.filters.databaseId && `database ${report.filters.databaseId}`, report.filters.environment && `${report.filters.environment}`, report.filters.person && person(report.filters.person)].filter((value): value is string | Inline => Boolean(value)));
    const attention = report.controls.flatMap((control) => control.attention);
    const chain = report.audit.chain ? (report.audit.chain.ok ? rich`audit log intact (${report.audit.chain.events.toLocaleString('en-US')} events)` : rich`${strong(`audit log broken at event ${report.audit.chain.seq}: ${report.audit.chain.problem}`)}`) : undefined;
    const lines: RichText[] = [
      rich`${strong(`Access report ${report.period.label}`)}${filters.parts.length ? rich` (${filters})` : ''}`,
      rich`• ${t.grants} access${t.grants === 1 ? '' : 'es'} for ${t.people} ${t.people === 1 ? 'person' : 'people'}, ${t.accessHours} h in total, median ${formatDuration(t.medianDurationSeconds)}; ${t.requests} request${t.requests === 1 ? '' : 's'} submitted, ${t.refused} not granted (${t.denied} denied, ${t.expiredUnanswered} unanswered).`,
      rich`• Approved with MFA: ${t.mfaUsed} of ${t.grants}; auto-approved: ${t.autoApproved}; break-glass: ${t.breakGlass} (${t.breakGlassUnreviewed} not reviewed).`,
      rich`• Flagged sessions: ${t.flaggedSessions}; failed revocations: ${t.revocationFailures} (${t.revocationFailuresOpen} still failing); self-approvals: ${t.selfApprovals}.`,
      ...(chain ? [rich`• ${chain}.`] : []),
      attention.length ? rich`${strong('Needs attention:')} ${[...new Set(attention)].join(' ')}` : rich`Nothing needs attention.`,
    ];
    const download = linksFor(report);
    lines.push(
      download
        ? rich`Report: ${link(download.urls.html, 'HTML')} · ${link(download.urls.pdf, 'PDF')} · ${link(download.urls.csv, 'CSV')} · ${link(download.urls.json, 'JSON')} (links expire ${download.expiresAt.toISOString().slice(0, 16).replace('T', ' ')} UTC)`
        : rich`Download links need PUBLIC_URL to be set on the server.`,
    );
    return joinRich(lines, '\n');
  }

  /** What the HTTP route serves for a link: the report, or a status without details. */
  async function download(token: string, format: ReportFormat): Promise<{ status: 200; body: string | Buffer; contentType: string; filename: string } | { status: 403 | 410 }> {
    if (!links) return { status: 403 };
    const opened = links.open(token);
    if (!opened.ok) return { status: opened.status };
    const { link } = opened;
    const report = await build(link.tenantId, { from: link.from, to: link.to, label: link.label }, link.filters);
    return { status: 200, ...(await render(report, format, urlsFor(publicUrl ?? '', token))) };
  }

  return { mayAudit, parseRequest, build, render, summaryText, linksFor, download };
}

export type ReportService = ReturnType<typeof createReportService>;
