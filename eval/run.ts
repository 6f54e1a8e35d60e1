/**
 * `npm run eval`: the evaluation set in test/fixtures/eval through the built-in analyses.
 *
 *   requests.yaml  access requests with the band a careful reviewer gave them, written before any
 *                  analyzer saw them; the heuristic (assessRisk) must agree with 85% or more
 *   sessions.yaml  captured sessions with the flags a reviewer expects; analyzeSession must raise
 *                  every expected critical flag and nothing at all on benign sessions
 *
 * With ANTHROPIC_API_KEY set it rates the requests with Claude too (held to the heuristic floor, as
 * the card shows it) and prints its agreement. src/modules/analysis/eval.test.ts runs the same checks
 * in `npm test`.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import { parseDuration } from '../src/lib/time.js';
import { analyzeSession, type SessionRuleInput } from '../src/modules/analysis/session-rules.js';
import { dialectNamed } from '../src/modules/analysis/sql-dialects.js';
import { parseScope, type ScopeItem } from '../src/modules/credentials/scope.js';
import { assessRisk } from '../src/modules/risk/heuristic-analyzer.js';
import type { RequestFacts } from '../src/modules/analysis/analysis-types.js';
import { createClaudeAnalyzer } from '../src/modules/analysis/claude-analyzer.js';
import { analyzeRequestHeuristically, floorLevel } from '../src/modules/analysis/request-heuristics.js';
import { RISK_LEVELS, type RiskInput, type RiskLevel } from '../src/modules/risk/risk-types.js';

export const REQUIRED_AGREEMENT = 0.85;
const FIXTURES = new URL('../test/fixtures/eval/', import.meta.url);

const name = z.string().min(1).max(200);
const when = z.union([z.string().max(40), z.date()]).transform((value, context) => {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) context.addIssue({ code: 'custom', message: 'must be an ISO date and time' });
  return date;
});
const duration = z
  .string()
  .max(20)
  .refine((text) => parseDuration(text) !== undefined, 'must be a duration such as 30m or 4h')
  .transform((text) => parseDuration(text)!);

const requestSchema = z.strictObject({
  id: name,
  environment: z.enum(['production', 'staging', 'development']),
  level: z.enum(['read', 'write', 'admin']),
  levelName: name.optional(),
  scope: z.array(name).max(50),
  duration,
  reason: z.string().max(2000),
  ticket: name.optional(),
  tags: z.array(z.string().max(40)).max(20),
  requestedAt: when,
  expected: z.enum(RISK_LEVELS),
  why: z.string().max(500),
});

const sessionSchema = z.strictObject({
  id: name,
  engine: z.enum(['postgres', 'mysql']),
  level: z.enum(['read', 'write', 'admin']),
  levelName: name.optional(),
  scope: z.array(name).max(50),
  reason: z.string().max(2000),
  tags: z.array(z.string().max(40)).max(20),
  tableTags: z.record(name, z.array(z.string().max(40)).max(20)),
  truncated: z.boolean().default(false),
  activeFrom: when,
  activeUntil: when,
  statements: z.array(z.strictObject({ sql: z.string().max(10_000), error: z.string().max(500).optional(), at: when.optional() })).min(1).max(500),
  expected: z.strictObject({ flags: z.array(name).max(30), critical: z.array(name).max(30) }),
  why: z.string().max(500).optional(),
});

export interface RequestCase {
  id: string;
  levelName: string;
  /** The scope as the form writes it; `input.scopeSize` counts it. */
  scope: string[];
  input: RiskInput;
  expected: RiskLevel;
  why: string;
}

export interface SessionCase {
  id: string;
  input: SessionRuleInput;
  expected: { flags: string[]; critical: string[] };
}

function load<T extends z.ZodType>(file: string, key: string, schema: T): Array<z.infer<T>> {
  const document = parse(readFileSync(new URL(file, FIXTURES), 'utf8')) as Record<string, unknown>;
  const result = z.object({ [key]: z.array(schema) }).safeParse(document);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new Error(`${file}: ${issue.path.join('.')}: ${issue.message}`);
  }
  return result.data[key] as Array<z.infer<T>>;
}

/** One scope item per YAML entry: `[a.t(x, y)]` unquoted would be three entries, so say so rather than guess. */
function scopeOf(id: string, items: string[]): ScopeItem[] {
  return items.map((item) => {
    const parsed = parseScope(item);
    if (parsed.length !== 1) throw new Error(`${id}: scope entry "${item}" is not one scope item (quote entries that list columns)`);
    return parsed[0]!;
  });
}

export function loadRequestCases(): RequestCase[] {
  return load('requests.yaml', 'requests', requestSchema).map((request) => {
    const scope = scopeOf(request.id, request.scope);
    return {
      id: request.id,
      levelName: request.levelName ?? request.level,
      scope: request.scope,
      expected: request.expected,
      why: request.why,
      input: {
        environment: request.environment,
        level: request.level,
        scopeSize: scope.length,
        tableScoped: scope.length > 0 && scope.every((item) => item.table !== undefined),
        durationSeconds: request.duration,
        reason: request.reason,
        ticket: request.ticket,
        tags: request.tags,
        requestedAt: request.requestedAt,
      },
    };
  });
}

export function loadSessionCases(): SessionCase[] {
  return load('sessions.yaml', 'sessions', sessionSchema).map((session) => ({
    id: session.id,
    expected: session.expected,
    input: {
      dialect: dialectNamed(session.engine),
      level: session.level,
      levelName: session.levelName ?? session.level,
      scope: scopeOf(session.id, session.scope),
      reason: session.reason,
      tags: session.tags,
      tableTags: session.tableTags,
      truncated: session.truncated,
      activeFrom: session.activeFrom,
      activeUntil: session.activeUntil,
      statements: session.statements.map((statement, index) => ({
        statement: statement.sql,
        error: statement.error,
        at: statement.at ?? new Date(session.activeFrom.getTime() + (index + 1) * 60_000),
      })),
    },
  }));
}

/**
 * What the eval rates requests with: the heuristic, or a model through runEval's hook. The context
 * carries what RiskInput does not (the level's own name, the scope as written) for an analyzer that
 * wants the full request.
 */
export type RateRequest = (input: RiskInput, context: { id: string; levelName: string; scope: string[] }) => Promise<{ level: RiskLevel }>;

export const heuristicRating: RateRequest = async (input) => assessRisk(input);

export interface RequestResult {
  id: string;
  expected: RiskLevel;
  got: RiskLevel;
  /** Bands apart, signed: positive when rated higher than the reviewer. */
  off: number;
}

export async function rateRequests(cases: RequestCase[], rate: RateRequest): Promise<{ agreement: number; withinOneBand: number; results: RequestResult[] }> {
  const results: RequestResult[] = [];
  for (const request of cases) {
    const { level } = await rate(request.input, { id: request.id, levelName: request.levelName, scope: request.scope });
    results.push({ id: request.id, expected: request.expected, got: level, off: RISK_LEVELS.indexOf(level) - RISK_LEVELS.indexOf(request.expected) });
  }
  const share = (count: number) => (results.length === 0 ? 0 : count / results.length);
  return { agreement: share(results.filter((r) => r.off === 0).length), withinOneBand: share(results.filter((r) => Math.abs(r.off) <= 1).length), results };
}

export interface SessionResult {
  id: string;
  raised: Array<{ code: string; severity: string }>;
  /** Expected codes not raised at all. */
  missing: string[];
  /** Expected critical codes not raised as critical. */
  missingCritical: string[];
  /** Critical flags the reviewer did not expect (false alarms of the worst kind). */
  unexpectedCritical: string[];
  /** On a benign session (no expected flags): whatever was raised. */
  benignNoise: string[];
}

export async function checkSessions(cases: SessionCase[]): Promise<SessionResult[]> {
  const results: SessionResult[] = [];
  for (const session of cases) {
    const { flags } = await analyzeSession(session.input);
    const codes = new Set(flags.map((flag) => flag.code));
    const critical = new Set(flags.filter((flag) => flag.severity === 'critical').map((flag) => flag.code));
    results.push({
      id: session.id,
      raised: flags.map((flag) => ({ code: flag.code, severity: flag.severity })),
      missing: session.expected.flags.filter((code) => !codes.has(code)),
      missingCritical: session.expected.critical.filter((code) => !critical.has(code)),
      unexpectedCritical: [...critical].filter((code) => !session.expected.critical.includes(code)),
      benignNoise: session.expected.flags.length === 0 ? [...codes] : [],
    });
  }
  return results;
}

export const sessionPassed = (result: SessionResult) =>
  result.missing.length === 0 && result.missingCritical.length === 0 && result.unexpectedCritical.length === 0 && result.benignNoise.length === 0;

const percent = (share: number) => `${(share * 100).toFixed(1)}%`;

function printRequests(title: string, rated: Awaited<ReturnType<typeof rateRequests>>, cases: RequestCase[]): void {
  console.log(`\n${title}: ${percent(rated.agreement)} exact agreement, ${percent(rated.withinOneBand)} within one band (${rated.results.length} requests)`);
  for (const result of rated.results.filter((r) => r.off !== 0)) {
    const request = cases.find((c) => c.id === result.id)!;
    console.log(`  ${result.off > 0 ? 'higher' : 'lower '}  ${result.id.padEnd(32)} reviewer ${result.expected.padEnd(8)} got ${result.got.padEnd(8)} ${request.why}`);
  }
}

/**
 * Runs the set: the heuristic and the session rules always, and `modelRating` on the same requests
 * when given. True when the built-in analyses meet the bar (a model's agreement is printed, not judged).
 */
export async function runEval(modelRating?: RateRequest): Promise<boolean> {
  const requests = loadRequestCases();
  const heuristic = await rateRequests(requests, heuristicRating);
  printRequests('Heuristic', heuristic, requests);

  const sessions = await checkSessions(loadSessionCases());
  const passed = sessions.filter(sessionPassed);
  console.log(`\nSession rules: ${passed.length}/${sessions.length} sessions as expected`);
  for (const result of sessions) {
    const raised = result.raised.map((flag) => `${flag.code}${flag.severity === 'critical' ? '!' : ''}`).join(', ') || 'no flags';
    const problems = [
      ...result.missing.map((code) => `missing ${code}`),
      ...result.missingCritical.map((code) => `${code} not critical`),
      ...result.unexpectedCritical.map((code) => `unexpected critical ${code}`),
      ...result.benignNoise.map((code) => `benign session flagged ${code}`),
    ];
    console.log(`  ${sessionPassed(result) ? 'ok  ' : 'FAIL'}  ${result.id.padEnd(30)} ${raised}${problems.length ? `  <- ${problems.join('; ')}` : ''}`);
  }

  if (modelRating) printRequests('Model', await rateRequests(requests, modelRating), requests);
  return heuristic.agreement >= REQUIRED_AGREEMENT && passed.length === sessions.length;
}

// ---- Claude ------------------------------------------------------------------------------------
/**
 * The product's rating with Claude: the model's reading held to the heuristic floor, as the card
 * shows it. Model and address as the app reads them (DBACCESS_AI_MODEL, ANTHROPIC_BASE_URL).
 */
async function claudeRating(apiKey: string): Promise<RateRequest> {
  const model = process.env.DBACCESS_AI_MODEL ?? 'claude-haiku-5-5';
  const claude = createClaudeAnalyzer({ apiKey, baseURL: process.env.ANTHROPIC_BASE_URL, model, summaryModel: model, timeoutMs: 30_000 });
  return async (input, context) => {
    const facts: RequestFacts = {
      risk: input, databaseId: context.id, levelName: context.levelName, scope: context.scope, maxDurationSeconds: 24 * 3600,
      allowedLevels: ['read', 'write', 'admin', context.levelName], tableTags: {}, conflicts: [], recording: 'Not recorded.',
    };
    const heuristic = analyzeRequestHeuristically(facts);
    const { output } = await claude.analyzeRequest(facts, heuristic);
    return { level: floorLevel(output.risk, heuristic.level) };
  };
}

async function main(): Promise<void> {
  const apiKey = process.env.ANTHROPIC_API_KEY;
  const modelRating = apiKey ? await claudeRating(apiKey) : undefined;
  const ok = await runEval(modelRating);
  if (!ok) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
