import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import type { Period } from './report-period.js';
import type { AuditFacts, RequestFact } from './report-types.js';

export interface ReportQuery {
  tenantId: string;
  period: Period;
  /** Only these databases (a database filter, or the databases of an environment); undefined for all. */
  databaseIds?: string[] | undefined;
  /** Only this requester (chat id). */
  person?: string | undefined;
}

type Row = {
  id: string;
  kind: string;
  extends_request_id: string | null;
  database_id: string;
  level: string;
  scope: string[];
  reason: string;
  ticket: string | null;
  state: string;
  risk: string | null;
  created_at: Date;
  decided_at: Date | null;
  pending_until: Date;
  failure: string | null;
  policy_name: string | null;
  quorum: number;
  mfa_required: boolean;
  break_glass: boolean;
  auto_approved_by: string | null;
  reviewed_at: Date | null;
  reviewed_by: string | null;
  requester: string;
  requester_name: string | null;
  lease_id: string | null;
  username: string | null;
  provisioned_at: Date | null;
  expires_at: Date | null;
  revoked_at: Date | null;
  end_reason: string | null;
  ended_by: string | null;
  revoke_attempts: number | null;
  last_error: string | null;
  captured_count: number | null;
  extensions: number;
  decisions: Array<{ uid: string; who: string; decision: 'approve' | 'deny'; at: string; reason: string | null }> | null;
  mfa_approvers: string[] | null;
  session_review: boolean | null;
  session_flags: Array<{ severity: string; message: string }> | null;
};

/**
 * The statement that loads a period's requests: every request submitted in it or whose access
 * overlapped it, with its lease, decisions, MFA use, extensions and session verdict (exported for
 * EXPLAIN in the bench). The rows are chosen first (a materialized CTE), then everything about them
 * is gathered set-wise (hash joins, not a lookup per row) and matched by plain values: under
 * row-level security only leakproof conditions reach an index, and `'request:' || id` computed
 * inside a lookup is not one (it turned index scans into full scans).
 */
export function reportRequestsSql({ tenantId, period, databaseIds, person }: ReportQuery): SQL {
  const from = period.from.toISOString();
  const to = period.to.toISOString();
  const byDatabase = !databaseIds ? sql`` : databaseIds.length === 0 ? sql`AND false` : sql`AND r.database_id IN (${sql.join(databaseIds.map((id) => sql`${id}`), sql`, `)})`;
  const byPerson = person ? sql`AND r.requester_id IN (SELECT id FROM chat_users WHERE tenant_id = ${tenantId} AND external_id = ${person})` : sql``;
  return sql`
    WITH chosen AS MATERIALIZED (
      SELECT r.*, 'request:' || r.id AS request_subject,
             l.id AS lease_id, l.username, l.provisioned_at, l.expires_at, l.revoked_at, l.end_reason, l.ended_by, l.revoke_attempts,
             l.last_error, l.captured_count, 'lease:' || l.id::text AS lease_subject
        FROM access_requests r
        LEFT JOIN leases l ON l.tenant_id = r.tenant_id AND l.request_id = r.id
       WHERE r.tenant_id = ${tenantId} AND r.created_at < ${to}::timestamptz
         AND (r.created_at >= ${from}::timestamptz OR (l.provisioned_at < ${to}::timestamptz AND coalesce(l.revoked_at, 'infinity') > ${from}::timestamptz))
         ${byDatabase} ${byPerson}
    ),
    decided AS (
      SELECT d.request_id,
             json_agg(json_build_object('uid', d.approver_id, 'who', a.external_id, 'decision', d.decision, 'at', d.created_at, 'reason', d.reason) ORDER BY d.created_at) AS decisions
        FROM decisions d JOIN chat_users a ON a.id = d.approver_id
       WHERE d.tenant_id = ${tenantId} AND d.request_id IN (SELECT id FROM chosen)
       GROUP BY d.request_id
    ),
    facts AS (
      SELECT e.subject,
             count(*) FILTER (WHERE e.action = 'lease.extended')::int AS extensions,
             array_agg(e.actor) FILTER (WHERE e.action <> 'lease.extended' AND (e.details->>'mfa')::boolean IS TRUE) AS mfa_approvers
        FROM audit_events e
       WHERE e.tenant_id = ${tenantId} AND e.action IN ('request.approved', 'request.approval_recorded', 'lease.extended') AND e.outcome = 'success'
         AND e.subject IN (SELECT request_subject FROM chosen UNION ALL SELECT lease_subject FROM chosen WHERE lease_subject IS NOT NULL)
       GROUP BY e.subject
    ),
    sessions AS (
      SELECT DISTINCT ON (a.lease_id) a.lease_id, a.result
        FROM analyses a
       WHERE a.tenant_id = ${tenantId} AND a.kind = 'session' AND a.status = 'done' AND a.lease_id IN (SELECT lease_id FROM chosen WHERE lease_id IS NOT NULL)
       ORDER BY a.lease_id, a.created_at DESC
    )
    SELECT c.id, c.kind, c.extends_request_id, c.database_id, c.level, c.scope, c.reason, c.ticket, c.state,
           c.risk->>'level' AS risk, c.created_at, c.decided_at, c.pending_until, c.failure,
           c.policy->>'name' AS policy_name, coalesce((c.policy->>'quorum')::int, 1) AS quorum,
           coalesce((c.policy->>'mfaRequired')::boolean, false) AS mfa_required,
           coalesce((c.policy->>'breakGlass')::boolean, false) AS break_glass,
           c.policy->>'autoApprovedBy' AS auto_approved_by,
           c.reviewed_at, rv.external_id AS reviewed_by,
           u.external_id AS requester, u.display_name AS requester_name,
           c.lease_id, c.username, c.provisioned_at, c.expires_at, c.revoked_at, c.end_reason, eb.external_id AS ended_by,
           c.revoke_attempts, c.last_error, c.captured_count,
           coalesce(fl.extensions, 0) AS extensions, dd.decisions, fr.mfa_approvers,
           (s.result->>'review')::boolean AS session_review, s.result->'flags' AS session_flags
      FROM chosen c
      JOIN chat_users u ON u.id = c.requester_id
      LEFT JOIN chat_users rv ON rv.id = c.reviewed_by
      LEFT JOIN chat_users eb ON eb.id = c.ended_by
      LEFT JOIN decided dd ON dd.request_id = c.id
      LEFT JOIN facts fr ON fr.subject = c.request_subject
      LEFT JOIN facts fl ON fl.subject = c.lease_subject
      LEFT JOIN sessions s ON s.lease_id = c.lease_id
     ORDER BY c.created_at, c.id`;
}

/** Loads a period in two statements: the requests (above) and the audit log's counts per action. */
export function createReportRepo({ db }: { db: Db }) {
  async function requests(query: ReportQuery): Promise<RequestFact[]> {
    // Row-level security hides the row counts from the planner (it guesses a handful where there are
    // 100,000) and it then nests loops over aggregates, quadratic in the period's size. Hash joins
    // are right for every size a report has: this one transaction says so.
    const result = await db.transaction(async (tx) => {
      await tx.execute(sql`SET LOCAL enable_nestloop = off`);
      return tx.execute<Row>(reportRequestsSql(query));
    });
    return result.rows.map((row) => {
      const mfa = new Set(row.mfa_approvers ?? []);
      return {
        id: row.id, kind: row.kind === 'extension' ? 'extension' : 'access', extendsRequestId: row.extends_request_id, databaseId: row.database_id, environment: null,
        level: row.level, scope: row.scope ?? [], reason: row.reason, ticket: row.ticket, state: row.state, risk: row.risk ?? 'unknown',
        createdAt: new Date(row.created_at), decidedAt: row.decided_at && new Date(row.decided_at), pendingUntil: new Date(row.pending_until), failure: row.failure,
        policyName: row.policy_name, quorum: row.quorum, mfaRequired: row.mfa_required, breakGlass: row.break_glass, autoApprovedBy: row.auto_approved_by,
        reviewedAt: row.reviewed_at && new Date(row.reviewed_at), reviewedBy: row.reviewed_by, requester: row.requester, requesterName: row.requester_name,
        decisions: (row.decisions ?? []).map((decision) => ({ who: decision.who, decision: decision.decision, at: new Date(decision.at), reason: decision.reason, mfa: mfa.has(`user:${decision.uid}`) })),
        lease: row.lease_id
          ? {
              id: row.lease_id, username: row.username!, provisionedAt: row.provisioned_at && new Date(row.provisioned_at), expiresAt: new Date(row.expires_at!),
              revokedAt: row.revoked_at && new Date(row.revoked_at), endReason: row.end_reason, endedBy: row.ended_by, revokeAttempts: row.revoke_attempts ?? 0,
              lastError: row.last_error, capturedCount: row.captured_count ?? 0, extensions: row.extensions, sessionReview: row.session_review,
              flags: (row.session_flags ?? []).map((flag) => ({ severity: String(flag.severity), message: String(flag.message) })),
            }
          : null,
      };
    });
  }

  async function audit({ tenantId, period }: ReportQuery): Promise<AuditFacts> {
    const result = await db.execute<{ action: string; outcome: string; count: number }>(sql`
      SELECT action, outcome, count(*)::int AS count FROM audit_events
       WHERE tenant_id = ${tenantId} AND created_at >= ${period.from.toISOString()}::timestamptz AND created_at < ${period.to.toISOString()}::timestamptz
       GROUP BY action, outcome ORDER BY count(*) DESC, action, outcome`);
    const byAction = result.rows.map((row) => ({ action: row.action, outcome: row.outcome, count: Number(row.count) }));
    return { eventsInPeriod: byAction.reduce((sum, row) => sum + row.count, 0), byAction };
  }

  return { requests, audit };
}

export type ReportRepo = ReturnType<typeof createReportRepo>;
