import type { CatalogOf, CatalogView } from '../../config/catalog.js';
import { withTenant } from '../../db/tenant-scope.js';
import { groupBy, recommend, type Naming, type RequestRecord } from './insights-recommendations.js';
import type { InsightsRepo, RequestRow, SessionRow } from './insights-repo.js';
import { MIN_BASELINE, count, scoreRequest, scoreSession, storedScopeWidth, withScore } from './insights-scoring.js';
import type { Insights, InsightsOverview, InsightsPeriod, PastRequest, PeriodAnomaly, SessionObservation } from './insights-types.js';

/** Baselines look this far back from what they score. */
const HISTORY_DAYS = 180;
/** Recommendations look at least this far back from the end of the period. */
const RECOMMENDATION_DAYS = 90;
/** The most anomalies a period lists, highest scores first. */
const MAX_ANOMALIES = 100;
const DAY_MS = 86_400_000;

interface Deps {
  repo: InsightsRepo;
  /** The tenant's catalog (its section of the file). */
  catalogOf: CatalogOf;
  now?: () => Date;
}

/**
 * Anomalies and recommendations from a tenant's own history (method: insights-scoring.ts and
 * insights-recommendations.ts). Every read runs in the tenant's scope, whoever calls: a Slack
 * listener, a job in the system scope, or the report builder.
 */
export function createInsightsService({ repo, catalogOf, now = () => new Date() }: Deps) {

  /** A finished session against the recorded sessions before it on the same database. */
  function forSession(tenantId: string, session: SessionObservation): Promise<{ unusual: string[]; baseline: string[] }> {
    return withTenant(tenantId, async () => {
      const past = await repo.sessions(tenantId, daysBefore(session.at, HISTORY_DAYS), session.at, { databaseId: session.databaseId, excludeRequestId: session.requestId });
      const kind = (name: keyof SessionObservation['byKind']) => session.byKind[name] ?? 0;
      const scored = scoreSession(
        {
          requesterId: session.requesterId, databaseId: session.databaseId, at: session.at, statements: session.statements, objects: session.objects,
          dml: kind('insert') + kind('update') + kind('delete') + kind('copy'), ddl: kind('ddl') + kind('dcl'),
        },
        past,
      );
      return { unusual: scored.anomalies.map((anomaly) => `${withScore(anomaly)}.`), baseline: scored.notes };
    });
  }

  /**
   * The anomalies of a period (each request and recorded session scored against the 180 days before
   * it) and the recommendations of the 90 days up to its end (or the whole period when longer).
   * `who` names people in recommendation texts (a chat mention, or the plain id).
   */
  async function overview(tenantId: string, period: InsightsPeriod, who: Naming = (id) => id): Promise<InsightsOverview> {
    const catalog = await catalogOf(tenantId);
    const countsAs = (level: string) => catalog.level(level)?.riskAs;
    return withTenant(tenantId, async () => {
      const recommendFrom = new Date(Math.min(period.from.getTime(), daysBefore(period.to, RECOMMENDATION_DAYS).getTime()));
      const historyFrom = new Date(Math.min(daysBefore(period.from, HISTORY_DAYS).getTime(), recommendFrom.getTime()));
      const [requests, sessions, decisions] = await Promise.all([
        repo.requests(tenantId, historyFrom, period.to),
        repo.sessions(tenantId, historyFrom, period.to),
        repo.decisions(tenantId, recommendFrom, period.to),
      ]);
      const requestAnomalies = scoreRequests(requests, period, catalog.policy.timezone);
      const sessionAnomalies = scoreSessions(sessions, period);
      const anomalies = [...requestAnomalies.anomalies, ...sessionAnomalies.anomalies]
        .sort((a, b) => b.score - a.score || b.at.getTime() - a.at.getTime())
        .slice(0, MAX_ANOMALIES);

      const records: RequestRecord[] = requests.filter((request) => request.createdAt >= recommendFrom).map((request) => ({
        id: request.id, requesterId: request.requesterId, requesterExternalId: request.requesterExternalId, databaseId: request.databaseId,
        environment: catalog.database(request.databaseId)?.environment, level: request.level, countsAs: countsAs(request.level),
        scopeWidth: storedScopeWidth(request.scope), durationSeconds: request.durationSeconds, state: request.state, risk: request.risk.level,
        autoApproved: Boolean(request.policy?.autoApprovedBy), breakGlass: request.policy?.breakGlass ?? false,
        createdAt: request.createdAt, decidedAt: request.decidedAt,
      }));
      const recommendations = recommend({
        requests: records,
        decisions: decisions.map((decision) => ({ ...decision, risk: decision.risk.level })),
        sessions: sessions.filter((session) => session.at >= recommendFrom).map((session) => ({ ...session, countsAs: countsAs(session.level) })),
      }, who);

      return {
        period, anomalies, recommendations,
        notes: coverage(catalog, requests, sessions, period),
        requestsScored: requestAnomalies.scored,
        sessionsScored: sessionAnomalies.scored,
      };
    });
  }

  /** What databases are scored against, or are not yet: cold starts said, never papered over. */
  function coverage(catalog: CatalogView, requests: RequestRow[], sessions: SessionRow[], period: InsightsPeriod): string[] {
    const since = daysBefore(period.to, HISTORY_DAYS);
    const notes: string[] = [];
    const ids = [...new Set([...catalog.catalog.databases.map((db) => db.id), ...requests.map((request) => request.databaseId)])].sort();
    for (const id of ids) {
      const n = requests.filter((request) => request.databaseId === id && request.createdAt >= since).length;
      if (n === 0) notes.push(`No requests for ${id} in the last ${HISTORY_DAYS} days: no baseline yet.`);
      else if (n < MIN_BASELINE) notes.push(`${id}: ${count(n, 'request')} in the last ${HISTORY_DAYS} days; its requests are scored from ${MIN_BASELINE}.`);
    }
    if (sessions.length === 0) notes.push('No recorded sessions yet: session baselines start once databases record sessions (`capture:` in the catalog).');
    return notes;
  }

  return {
    forSession,
    overview,
    /** For the report builder: the period's anomalies and recommendations, people named by their chat ids. */
    async insights(tenantId: string, period: InsightsPeriod): Promise<Insights> {
      const found = await overview(tenantId, period);
      return {
        anomalies: found.anomalies.map((anomaly) => ({ subject: subjectOf(anomaly), text: anomaly.text, score: anomaly.score })),
        recommendations: found.recommendations.map(({ text, evidence }) => ({ text, evidence })),
      };
    },
    /** The last `days` days up to now. */
    lastDays(days: number): InsightsPeriod {
      const to = now();
      return { from: new Date(to.getTime() - days * DAY_MS), to };
    },
  };
}

export type InsightsService = ReturnType<typeof createInsightsService>;

export const subjectOf = (anomaly: PeriodAnomaly) => `${anomaly.requestId}${anomaly.kind === 'session' ? ' session' : ''} by ${anomaly.personExternalId} on ${anomaly.databaseId}`;

/** Each request of the period against the requests for its database in the 180 days before it. */
function scoreRequests(requests: RequestRow[], period: InsightsPeriod, timeZone: string): { anomalies: PeriodAnomaly[]; scored: number } {
  const anomalies: PeriodAnomaly[] = [];
  let scored = 0;
  for (const group of groupBy(requests, (request) => request.databaseId).values()) {
    const points: PastRequest[] = group.map((request) => ({
      requesterId: request.requesterId, level: request.level, durationSeconds: request.durationSeconds, createdAt: request.createdAt,
      outcome: request.state === 'denied' ? 'denied' : request.decidedAt ? 'approved' : 'other', scopeWidth: storedScopeWidth(request.scope),
    }));
    let start = 0;
    group.forEach((request, index) => {
      if (request.createdAt < period.from || request.createdAt >= period.to) return;
      while (points[start]!.createdAt < daysBefore(request.createdAt, HISTORY_DAYS)) start++;
      scored++;
      const result = scoreRequest(
        { requesterId: request.requesterId, level: request.level, durationSeconds: request.durationSeconds, at: request.createdAt, databaseId: request.databaseId, scopeWidth: points[index]!.scopeWidth },
        points.slice(start, index),
        { timeZone },
      );
      for (const anomaly of result.anomalies) {
        anomalies.push({ kind: 'request', requestId: request.id, personExternalId: request.requesterExternalId, databaseId: request.databaseId, at: request.createdAt, feature: anomaly.feature, score: anomaly.score, text: anomaly.text });
      }
    });
  }
  // A burst flags every request in it; the period lists each person's burst on a database once, at its peak.
  const peaks = new Map<string, PeriodAnomaly>();
  for (const anomaly of anomalies.filter((a) => a.feature === 'frequency')) {
    const key = `${anomaly.personExternalId}|${anomaly.databaseId}`;
    if (!peaks.has(key) || peaks.get(key)!.score < anomaly.score) peaks.set(key, anomaly);
  }
  return { anomalies: anomalies.filter((a) => a.feature !== 'frequency' || peaks.get(`${a.personExternalId}|${a.databaseId}`) === a), scored };
}

/** Each recorded session of the period against the recorded sessions on its database before it. */
function scoreSessions(sessions: SessionRow[], period: InsightsPeriod): { anomalies: PeriodAnomaly[]; scored: number } {
  const anomalies: PeriodAnomaly[] = [];
  let scored = 0;
  for (const group of groupBy(sessions, (session) => session.databaseId).values()) {
    group.forEach((session, index) => {
      if (session.at < period.from || session.at >= period.to) return;
      scored++;
      const from = daysBefore(session.at, HISTORY_DAYS);
      const result = scoreSession(session, group.slice(0, index).filter((past) => past.at >= from));
      for (const anomaly of result.anomalies) {
        anomalies.push({ kind: 'session', requestId: session.requestId, personExternalId: session.requesterExternalId, databaseId: session.databaseId, at: session.at, feature: anomaly.feature, score: anomaly.score, text: anomaly.text });
      }
    });
  }
  return { anomalies, scored };
}

const daysBefore = (at: Date, days: number) => new Date(at.getTime() - days * DAY_MS);
