import type { CatalogOf, CatalogView, DatabaseEntry } from '../../config/catalog.js';
import type { MessageRef } from '../../db/schema/access-requests.js';
import type { Logger } from '../../lib/logger.js';
import { formatDuration, parseDuration } from '../../lib/time.js';
import { validateDraft, type ValidDraft } from '../access-requests/access-request-schemas.js';
import type { RequestRow } from '../access-requests/access-request-repo.js';
import type { RequestDraft } from '../access-requests/access-request-types.js';
import type { CaptureMethod } from '../capture/capture-types.js';
import { formatScope, parseScope, parseStoredScope, type ScopeItem } from '../credentials/scope.js';
import { plainText } from '../../lib/rich-text.js';
import { evaluateRequest, personOf, type PersonResolver } from '../policy/policy-evaluator.js';
import { usualHoursOf } from '../policy/policy-words.js';
import type { RiskInput } from '../risk/risk-types.js';
import type { Actor } from '../tenants/tenant-service.js';
import type { AnalysisRepo } from './analysis-repo.js';
import type { ModelUsage, RequestAnalysis, RequestFacts, SessionAnalysis, SessionContext, Suggestion } from './analysis-types.js';
import type { Enqueue } from '../job-port.js';
import { AnalysisUnavailable } from './analysis-unavailable.js';
import type { ClaudeAnalyzer } from './claude-analyzer.js';
import { compareWithHistory } from './history.js';
import { scopeWidthOf } from '../insights/insights-scoring.js';
import type { SessionObservation } from '../insights/insights-types.js';
import { analyzeRequestHeuristically, floorLevel } from './request-heuristics.js';
import { analyzeSession as runSessionRules, type SessionFlag } from './session-rules.js';
import { sessionDialect } from './sql-dialects.js';

/** What the analyses need from query capture. */
export interface SessionCapture {
  describe(method: CaptureMethod): string;
  collect(databaseId: string): Promise<unknown>;
  statementsFor(tenantId: string, leaseId: string): Promise<{ method: string; statements: Array<{ at: Date; statement: string; error?: string | null | undefined }>; truncated: boolean; count: number }>;
}

interface LeaseFacts {
  id: string;
  tenantId: string;
  requestId: string;
  databaseId: string;
  captureMethod: string;
  provisionedAt: Date | null;
  revokedAt: Date | null;
  expiresAt: Date;
}

interface Deps {
  repo: AnalysisRepo;
  requests: { getById(id: string): Promise<RequestRow | undefined>; requesterExternalId(row: RequestRow): Promise<string> };
  leaseById: (id: string) => Promise<LeaseFacts | undefined>;
  capture: SessionCapture;
  /** The tenant's catalog (its section of the file). */
  catalogOf: CatalogOf;
  /** Who a chat user is as the policy sees them; by default the id alone. */
  people?: PersonResolver;
  /** Undefined without ANTHROPIC_API_KEY: the heuristics answer alone. */
  claude?: ClaudeAnalyzer | undefined;
  enqueue: Enqueue;
  logger: Logger;
  now?: () => Date;
  /** Compares a session with this person's and the database's past sessions (the insights engine). */
  sessionInsights?: ((tenantId: string, session: SessionObservation) => Promise<{ unusual: string[]; baseline: string[] }>) | undefined;
}

export type DraftAnalysisOutcome =
  | { ok: true; tenantId: string; analysisId: string; analysis: RequestAnalysis; draft: RequestDraft; viewRef: MessageRef }
  | { ok: false; tenantId: string; analysisId: string; problem: string; draft: RequestDraft; viewRef: MessageRef };

/** A draft the form holds, with the id of the person asking. */
interface DraftInput extends RequestDraft {
  requesterExternalId: string;
}

/**
 * The three analyses: a draft before submission, a request for its approvers, a finished session.
 * Heuristics always run; the model, when configured, adds its reading within the heuristics' floor
 * and falls back to them, saying why, on timeout, error, refusal or invalid output.
 */
export function createAnalysisService({ repo, requests, leaseById, capture, catalogOf, people = async (_tenantId, id) => personOf(id), claude, enqueue, logger, now = () => new Date(), sessionInsights }: Deps) {
  const recordingOf = (database: DatabaseEntry) => capture.describe(database.capture);

  /** The facts of a request as the analyzers see them; conflicts from the policy and the catalog's limits. */
  async function requestFacts(
    tenantId: string,
    request: { database: DatabaseEntry; level: string; scope: ScopeItem[]; durationSeconds: number; reason: string; ticket: string | null; breakGlass: boolean },
    requester: { id: string; externalId: string },
    at: Date,
    excludeRequestId?: string,
  ): Promise<RequestFacts> {
    const { database } = request;
    const catalog = await catalogOf(tenantId);
    const riskAs = catalog.level(request.level)?.riskAs ?? 'admin';
    const risk: RiskInput = {
      environment: database.environment, level: riskAs, scopeSize: request.scope.length, scope: formatScope(request.scope),
      tableScoped: request.scope.length > 0 && request.scope.every((item) => item.table), durationSeconds: request.durationSeconds,
      reason: request.reason, ticket: request.ticket ?? undefined, tags: database.tags, tableTags: database.tableTags, requestedAt: at,
      usualHours: usualHoursOf(catalog.policy),
    };
    const decision = evaluateRequest(
      { requester: await people(tenantId, requester.externalId), database, level: request.level, durationSeconds: request.durationSeconds, scope: request.scope, reason: request.reason, ticket: request.ticket, now: at, activeLeases: [], breakGlass: request.breakGlass },
      catalog.policy,
    );
    const conflicts = decision.rules.filter((rule) => rule.fired && rule.outcome === 'refuse').map((rule) => plainText(rule.explanation));
    if (request.durationSeconds > database.maxDuration) conflicts.push(`Over the ${formatDuration(database.maxDuration)} limit of ${database.id}.`);
    if (riskAs !== 'read' && database.environment === 'production' && !request.ticket) conflicts.push(`${riskAs === 'admin' ? 'Admin' : 'Write'} on production without a ticket.`);
    const past = await repo.pastRequests(tenantId, database.id, excludeRequestId);
    return {
      risk, databaseId: database.id, levelName: request.level, scope: formatScope(request.scope), maxDurationSeconds: database.maxDuration,
      allowedLevels: database.levels, tableTags: database.tableTags, conflicts: [...new Set(conflicts)],
      history: compareWithHistory(
        { requesterId: requester.id, level: request.level, durationSeconds: request.durationSeconds, at, databaseId: database.id, scopeWidth: scopeWidthOf(request.scope) },
        past,
        { timeZone: catalog.policy.timezone },
      ),
      recording: recordingOf(database),
    };
  }

  /** Heuristics, then the model within their floor; never throws for the model's sake. */
  async function analyze(facts: RequestFacts): Promise<{ analysis: RequestAnalysis; usage?: ModelUsage | undefined }> {
    const heuristic = analyzeRequestHeuristically(facts);
    if (!claude) return { analysis: heuristic };
    try {
      const { output, usage } = await claude.analyzeRequest(facts, heuristic);
      const suggested = output.suggestion && facts.allowedLevels.includes(output.suggestion.level) ? output.suggestion : null;
      const level = floorLevel(output.risk, heuristic.level);
      const overruled = level !== output.risk;
      return {
        usage,
        analysis: {
          level,
          ...(overruled ? { modelLevel: output.risk } : {}),
          // The model adds its reading beside the rules' reasons; it never replaces them.
          reasons: heuristic.reasons,
          model: { analyzer: usage.model, level: output.risk, reasons: output.reasons },
          time: heuristic.time,
          conflicts: heuristic.conflicts,
          suggestion: suggested
            ? { level: suggested.level, scope: suggested.scope, durationSeconds: Math.min(suggested.durationMinutes * 60, facts.maxDurationSeconds), text: suggested.explanation }
            : heuristic.suggestion,
          unusual: [...new Set([...heuristic.unusual, ...output.unusual])].slice(0, 6),
          comparison: heuristic.comparison,
          alternatives: output.alternatives.length ? output.alternatives : heuristic.alternatives,
          analyzer: usage.model,
          heuristicLevel: heuristic.level,
        },
      };
    } catch (error) {
      const fallback = error instanceof AnalysisUnavailable ? error.message : 'Claude could not be used.';
      if (!(error instanceof AnalysisUnavailable)) logger.error({ err: error }, 'request analysis failed');
      return { analysis: { ...heuristic, fallback }, usage: (error as { usage?: ModelUsage }).usage };
    }
  }

  /**
   * Stores what the form holds and hands it to a job: the model is never called on the chat's
   * acknowledgement path. The form shows progress meanwhile and is replaced by the result.
   */
  async function startDraft(actor: Actor, draft: RequestDraft, viewRef: MessageRef): Promise<string> {
    const row = await repo.insertPending({ tenantId: actor.tenantId, kind: 'draft', userId: actor.userId, input: { ...draft, requesterExternalId: actor.externalUserId }, viewRef });
    await enqueue('analyzeDraft', { analysisId: row.id }, { jobId: `draft-${row.id}` });
    return row.id;
  }

  /** The suggestion of one of this person's draft analyses, for "Use suggestion". */
  async function suggestionFor(actor: Actor, analysisId: string): Promise<Suggestion | undefined> {
    const row = await repo.get(actor.tenantId, analysisId);
    if (!row || row.userId !== actor.userId || row.kind !== 'draft') return undefined;
    return (row.result as unknown as RequestAnalysis | null)?.suggestion;
  }

  async function runDraft(analysisId: string): Promise<DraftAnalysisOutcome | undefined> {
    const row = await repo.getById(analysisId);
    if (!row?.input || !row.viewRef) return undefined;
    const { requesterExternalId, ...draft } = row.input as unknown as DraftInput;
    const viewRef = row.viewRef;
    // A retried job shows the stored result again instead of asking the model twice.
    if (row.status === 'done' && row.result) return { ok: true, tenantId: row.tenantId, analysisId, analysis: row.result as unknown as RequestAnalysis, draft, viewRef };
    const catalog = await catalogOf(row.tenantId);
    const valid = validateDraft(draft, catalog);
    // The analysis is worth showing even when the form would be refused (that is a conflict to show),
    // as long as it names a database, a level and a duration it can reason about.
    const database = catalog.database(draft.databaseId);
    const fields = valid.ok ? valid.value : partialDraft(draft, database, catalog);
    if (!fields) {
      const problems = valid.ok ? [] : Object.values(valid.errors);
      return { ok: false, tenantId: row.tenantId, analysisId, problem: `Fix the form first: ${problems.join(' ')}`.trim(), draft, viewRef };
    }
    const facts = await requestFacts(row.tenantId, fields, { id: row.userId, externalId: requesterExternalId }, row.createdAt);
    if (!valid.ok) facts.conflicts.unshift(...Object.values(valid.errors).filter((error) => !facts.conflicts.includes(error)));
    const { analysis, usage } = await analyze(facts);
    await repo.complete({ id: row.id }, { result: analysis as unknown as Record<string, unknown>, analyzer: analysis.analyzer, fallback: analysis.fallback, usage });
    return { ok: true, tenantId: row.tenantId, analysisId, analysis, draft, viewRef };
  }

  /** The analysis for approvers; stored, then shown on the card. */
  async function runRequest(requestId: string): Promise<RequestAnalysis | undefined> {
    const row = await requests.getById(requestId);
    const database = row && (await catalogOf(row.tenantId)).database(row.databaseId);
    if (!row || !database) return undefined;
    const existing = await repo.latest(row.tenantId, row.id, 'request');
    if (existing) return existing.result as unknown as RequestAnalysis;
    const facts = await requestFacts(
      row.tenantId,
      { database, level: row.level, scope: parseStoredScope(row.scope), durationSeconds: row.durationSeconds, reason: row.reason, ticket: row.ticket, breakGlass: row.policy?.breakGlass ?? false },
      { id: row.requesterId, externalId: await requests.requesterExternalId(row) },
      row.createdAt,
      row.id,
    );
    const { analysis, usage } = await analyze(facts);
    await repo.complete(
      { tenantId: row.tenantId, kind: 'request', userId: row.requesterId, requestId: row.id },
      { result: analysis as unknown as Record<string, unknown>, analyzer: analysis.analyzer, fallback: analysis.fallback, usage },
    );
    return analysis;
  }

  /** What the session did, compared with the reason and the grant; stored once per lease. */
  async function runSession(leaseId: string): Promise<SessionAnalysis | undefined> {
    const lease = await leaseById(leaseId);
    const row = lease && (await requests.getById(lease.requestId));
    if (!lease || !row) return undefined;
    const existing = await repo.latest(row.tenantId, row.id, 'session');
    if (existing) return existing.result as unknown as SessionAnalysis;
    const catalog = await catalogOf(row.tenantId);
    const database = catalog.database(row.databaseId);
    if (lease.captureMethod !== 'none') await capture.collect(lease.databaseId);
    const captured = await capture.statementsFor(row.tenantId, lease.id);
    const facts: SessionContext = {
      requestId: row.id, databaseId: row.databaseId, levelName: row.level, level: catalog.level(row.level)?.riskAs ?? 'admin',
      scope: row.scope, reason: row.reason, environment: database?.environment ?? 'production', tags: database?.tags ?? [], tableTags: database?.tableTags ?? {},
      recording: lease.captureMethod === 'none' ? 'not recorded' : capture.describe(lease.captureMethod as CaptureMethod),
      statements: captured.statements.map((s) => ({ at: s.at, statement: s.statement, error: s.error ?? undefined })),
      truncated: captured.truncated, activeFrom: lease.provisionedAt ?? row.createdAt, activeUntil: lease.revokedAt ?? lease.expiresAt,
    };
    const rules = await runSessionRules({ ...facts, dialect: sessionDialect(database, lease.captureMethod), scope: parseStoredScope(row.scope) });
    const counts = { statements: rules.facts.statements, denied: rules.facts.denied, objects: rules.facts.objects, byKind: rules.facts.byKind };
    const recorded = lease.captureMethod !== 'none';
    // Against past sessions; a failure here costs the comparison, never the summary.
    const compared = recorded && sessionInsights
      ? await sessionInsights(row.tenantId, { requestId: row.id, requesterId: row.requesterId, databaseId: row.databaseId, at: facts.activeFrom, statements: counts.statements, objects: counts.objects, byKind: counts.byKind })
        .catch((error: unknown) => void logger.warn({ err: error }, 'session not compared with history'))
      : undefined;
    let analysis: SessionAnalysis = {
      technical: heuristicTechnical(facts, rules.facts, recorded),
      plain: heuristicPlain(facts, rules.flags, recorded),
      flags: rules.flags,
      review: rules.flags.some((flag) => flag.severity !== 'info'),
      counts,
      ...(compared ? { unusual: compared.unusual, baseline: compared.baseline } : {}),
      analyzer: 'heuristic',
    };
    let usage: ModelUsage | undefined;
    if (claude && recorded && facts.statements.length > 0) {
      try {
        const answer = await claude.summarizeSession(facts, { flags: rules.flags, counts });
        usage = answer.usage;
        // The model adds flags; it never removes one the rules raised.
        const added: SessionFlag[] = answer.output.flags
          .filter((flag) => !rules.flags.some((known) => known.message === flag.message))
          .map((flag) => ({ code: 'model', severity: flag.severity, message: flag.message, statements: [] }));
        const flags = [...rules.flags, ...added];
        if (!answer.output.matchesReason && !flags.some((flag) => flag.code === 'model-reason-mismatch')) {
          flags.push({ code: 'model-reason-mismatch', severity: 'warning', message: 'The statements do not seem to match the stated reason.', statements: [] });
        }
        analysis = { ...analysis, technical: answer.output.technical, plain: answer.output.plain, flags, review: flags.some((flag) => flag.severity !== 'info'), analyzer: usage.model };
      } catch (error) {
        const fallback = error instanceof AnalysisUnavailable ? error.message : 'Claude could not be used.';
        if (!(error instanceof AnalysisUnavailable)) logger.error({ err: error }, 'session summary failed');
        analysis = { ...analysis, fallback };
        usage = (error as { usage?: ModelUsage }).usage;
      }
    }
    await repo.complete(
      { tenantId: row.tenantId, kind: 'session', userId: row.requesterId, requestId: row.id, leaseId: lease.id },
      { result: analysis as unknown as Record<string, unknown>, analyzer: analysis.analyzer, fallback: analysis.fallback, usage },
    );
    return analysis;
  }

  /**
   * The analysis of a request before it is filed, answered at once (the terminal waits for it; no
   * chat acknowledgement is held up): the rating, its reasons, the policy conflicts and a narrower
   * request when one fits. Nothing is stored.
   */
  async function preview(actor: Actor, draft: ValidDraft): Promise<RequestAnalysis> {
    const facts = await requestFacts(actor.tenantId, draft, { id: actor.userId, externalId: actor.externalUserId }, now());
    return (await analyze(facts)).analysis;
  }

  return {
    preview,
    startDraft,
    suggestionFor,
    runDraft,
    runRequest,
    runSession,
    /** For the view: the latest stored analyses of a request. */
    async latestFor(tenantId: string, requestId: string): Promise<{ request?: RequestAnalysis; session?: SessionAnalysis }> {
      const [request, session] = await Promise.all([repo.latest(tenantId, requestId, 'request'), repo.latest(tenantId, requestId, 'session')]);
      return { request: request?.result as unknown as RequestAnalysis | undefined, session: session?.result as unknown as SessionAnalysis | undefined };
    },
    usesModel: Boolean(claude),
    now,
  };
}

export type AnalysisService = ReturnType<typeof createAnalysisService>;

/** The parts of an invalid draft still worth analyzing: a known database and level and a readable duration. */
function partialDraft(draft: RequestDraft, database: DatabaseEntry | undefined, catalog: CatalogView) {
  if (!database || !catalog.level(draft.level)) return undefined;
  const durationSeconds = parseDuration(draft.duration);
  if (durationSeconds === undefined) return undefined;
  let scope: ScopeItem[] = [];
  try {
    scope = parseScope(draft.scope);
  } catch {
    scope = [];
  }
  return { database, level: draft.level, scope, durationSeconds, reason: draft.reason.trim(), ticket: draft.ticket.trim() || null, breakGlass: draft.breakGlass === true };
}

function heuristicTechnical(facts: SessionContext, counts: { statements: number; byKind: Partial<Record<string, number>>; objects: string[]; denied: number }, recorded: boolean): string {
  if (!recorded) return `Statements were not recorded for ${facts.databaseId} (capture is off).`;
  if (counts.statements === 0) return 'No statements were recorded in this session.';
  const kinds = Object.entries(counts.byKind).filter(([, n]) => n).map(([kind, n]) => `${n} ${kind}`).join(', ');
  const objects = counts.objects.length ? ` on ${counts.objects.slice(0, 8).join(', ')}${counts.objects.length > 8 ? ` and ${counts.objects.length - 8} more` : ''}` : '';
  return `${counts.statements} statements (${kinds})${objects}.${counts.denied ? ` ${counts.denied} refused by the server.` : ''}${facts.truncated ? ' More were run than are kept.' : ''}`;
}

function heuristicPlain(facts: SessionContext, flags: SessionFlag[], recorded: boolean): string {
  if (!recorded) return 'What was done is not known: this database does not record sessions.';
  if (facts.statements.length === 0) return 'The access was not used: nothing was run.';
  const serious = flags.filter((flag) => flag.severity !== 'info');
  const verb = facts.level === 'read' ? 'looked at data' : 'worked with data';
  return serious.length === 0
    ? `The person ${verb} in ${facts.databaseId} and nothing stands out against the reason they gave.`
    : `The person ${verb} in ${facts.databaseId}; ${serious.length} thing${serious.length > 1 ? 's' : ''} should be reviewed: ${serious.map((flag) => flag.message).join(' ')}`;
}
