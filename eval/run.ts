/**
 * `npm run eval`: the evaluation set in test/fixtures/eval through the built-in analyses, labelled by
 * eval/RUBRIC.md and split into a tuning part and a frozen held-out part (eval/split.ts).
 *
 *   requests-*.yaml  access requests with the band the rubric gives them
 *   sessions-*.yaml  captured sessions, each a violation or ordinary by the rubric
 *   (the held-out sessions are fourteen frozen files; the held-out session figure is the fourteenth, written
 *   without reading the rules; the first thirteen are printed as "seen", the fourth to thirteenth also on their own lines:
 *   eval/RUBRIC.md)
 *
 * Both parts are printed, separately. The held-out part is the figure to quote: the rules were never
 * adjusted against it. Its misses are listed only with `--show-held-out` (looking at them to change the
 * rules would turn it into a second tuning part). The run fails when the held-out part misses a target.
 *
 * With ANTHROPIC_API_KEY set it also rates every request with Claude (held to the rules' floor, as the
 * card shows it); without, it sends the hand-written answers of model-answers.json through the fake
 * Anthropic server, which measures the wiring, not a model. src/modules/analysis/eval.test.ts runs the
 * same checks in `npm test`.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import { timezoneSchema, windowSchema } from '../src/config/policy-schema.js';
import { BUSINESS_HOURS } from '../src/lib/time-window.js';
import { parseDuration } from '../src/lib/time.js';
import { analyzeSession, type SessionRuleInput } from '../src/modules/analysis/session-rules.js';
import { dialectNamed } from '../src/modules/analysis/sql-dialects.js';
import { parseScope, type ScopeItem } from '../src/modules/credentials/scope.js';
import { assessRisk } from '../src/modules/risk/heuristic-analyzer.js';
import { RISK_LEVELS, type RiskInput, type RiskLevel } from '../src/modules/risk/risk-types.js';
import { modelRating } from './model.js';
import type { RateRequest } from './rate.js';
import { FIXTURES, FRESH_SESSION_FILE, frozenState, INDEPENDENT_SEEN_FILES, misfiled, PART_FILES, PARTS, SEEN_SESSION_FILES, type Part, type Written } from './split.js';

export type { RateRequest };

/** What the held-out part must meet (issue 18). */
export const TARGETS = { agreement: 0.9, withinOneBand: 1, criticalBelowHigh: 0, lowAboveMedium: 0, violationsFlagged: 1, falseFlags: 0.02 } as const;

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
const tags = z.array(z.string().max(40)).max(20);
/**
 * Cases the rules were first written against, and cases added after the freeze: tuning cases whatever
 * their id; the second session set: split by its own rule; the third to fourteenth: held out whole (eval/split.ts).
 */
const written = z.enum(['before-rubric', 'after-freeze', 'second-set', 'third-set', 'fourth-set', 'fifth-set', 'sixth-set', 'seventh-set', 'eighth-set', 'ninth-set', 'tenth-set', 'eleventh-set', 'twelfth-set', 'thirteenth-set', 'fourteenth-set']).optional();

const requestSchema = z.strictObject({
  id: name,
  environment: z.enum(['production', 'staging', 'development']),
  level: z.enum(['read', 'write', 'admin']),
  levelName: name.optional(),
  scope: z.array(name).max(50),
  duration,
  reason: z.string().max(2000),
  ticket: name.optional(),
  tags,
  tableTags: z.record(name, tags).optional(),
  requestedAt: when,
  /** The catalog's time zone and its business-hours window, when not the defaults. */
  timezone: timezoneSchema.optional(),
  window: windowSchema.optional(),
  expected: z.enum(RISK_LEVELS),
  why: z.string().max(500),
  written,
});

const sessionSchema = z.strictObject({
  id: name,
  engine: z.enum(['postgres', 'mysql']),
  level: z.enum(['read', 'write', 'admin']),
  levelName: name.optional(),
  scope: z.array(name).max(50),
  reason: z.string().max(2000),
  tags,
  tableTags: z.record(name, tags),
  truncated: z.boolean().default(false),
  activeFrom: when,
  activeUntil: when,
  statements: z.array(z.strictObject({ sql: z.string().max(10_000), error: z.string().max(500).optional(), at: when.optional() })).min(1).max(500),
  violation: z.boolean(),
  expected: z.strictObject({ flags: z.array(name).max(30), critical: z.array(name).max(30) }).optional(),
  why: z.string().max(500).optional(),
  written,
});

export interface RequestCase {
  id: string;
  part: Part;
  /** How the case came to be written, which decides its part (eval/split.ts). */
  written: Written;
  levelName: string;
  /** The scope as the form writes it; `input.scopeSize` counts it. */
  scope: string[];
  input: RiskInput;
  expected: RiskLevel;
  why: string;
}

export interface SessionCase {
  id: string;
  part: Part;
  written: Written;
  /** The file it is in (the held-out part has several session files). */
  file: string;
  input: SessionRuleInput;
  violation: boolean;
  expected?: { flags: string[]; critical: string[] } | undefined;
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

/**
 * One scope item per YAML entry: `[a.t(x, y)]` unquoted would be three entries, so say so rather than guess.
 * The whole database is an empty list, or `["*"]` as the sixth session set's format note gave it.
 */
function scopeOf(id: string, items: string[]): ScopeItem[] {
  if (items.length === 1 && items[0] === '*') return [];
  return items.map((item) => {
    const parsed = parseScope(item);
    if (parsed.length !== 1) throw new Error(`${id}: scope entry "${item}" is not one scope item (quote entries that list columns)`);
    return parsed[0]!;
  });
}

export function loadRequestCases(parts: readonly Part[] = PARTS): RequestCase[] {
  return parts.flatMap((part) =>
    PART_FILES.requests[part].flatMap((file) => load(file, 'requests', requestSchema)).map((request) => {
      const scope = scopeOf(request.id, request.scope);
      return {
        id: request.id,
        part,
        written: request.written,
        levelName: request.levelName ?? request.level,
        scope: request.scope,
        expected: request.expected,
        why: request.why,
        input: {
          environment: request.environment,
          level: request.level,
          scopeSize: scope.length,
          scope: request.scope,
          tableScoped: scope.length > 0 && scope.every((item) => item.table !== undefined),
          durationSeconds: request.duration,
          reason: request.reason,
          ticket: request.ticket,
          tags: request.tags,
          tableTags: request.tableTags,
          requestedAt: request.requestedAt,
          usualHours: { name: 'business-hours', window: request.window ?? BUSINESS_HOURS, timeZone: request.timezone ?? 'UTC' },
        },
      };
    }),
  );
}

export function loadSessionCases(parts: readonly Part[] = PARTS): SessionCase[] {
  return parts.flatMap((part) =>
    PART_FILES.sessions[part].flatMap((file) => load(file, 'sessions', sessionSchema).map((session) => ({
      id: session.id,
      part,
      written: session.written,
      file,
      violation: session.violation,
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
    }))),
  );
}

// ---- Requests ------------------------------------------------------------------------------------

export const ruleRating: RateRequest = async (input) => assessRisk(input);

export interface RequestResult {
  id: string;
  expected: RiskLevel;
  got: RiskLevel;
  /** Bands apart, signed: positive when rated higher than the reviewer. */
  off: number;
  model?: RiskLevel | undefined;
  rules?: RiskLevel | undefined;
}

export interface RequestFigures {
  count: number;
  agreement: number;
  withinOneBand: number;
  /** Requests the rubric calls Critical that were rated Low or Medium. */
  criticalBelowHigh: string[];
  /** Requests the rubric calls Low that were rated High or Critical. */
  lowAboveMedium: string[];
  results: RequestResult[];
}

const band = (level: RiskLevel) => RISK_LEVELS.indexOf(level);

/** Rates each case; a rating that returns undefined (no answer for it) leaves the case out. */
export async function rateRequests(cases: RequestCase[], rate: RateRequest): Promise<RequestFigures> {
  const results: RequestResult[] = [];
  for (const request of cases) {
    const rated = await rate(request.input, { id: request.id, levelName: request.levelName, scope: request.scope });
    if (!rated) continue;
    results.push({ id: request.id, expected: request.expected, got: rated.level, off: band(rated.level) - band(request.expected), model: rated.model, rules: rated.rules });
  }
  const share = (count: number) => (results.length === 0 ? 0 : count / results.length);
  return {
    count: results.length,
    agreement: share(results.filter((r) => r.off === 0).length),
    withinOneBand: share(results.filter((r) => Math.abs(r.off) <= 1).length),
    criticalBelowHigh: results.filter((r) => r.expected === 'critical' && band(r.got) < band('high')).map((r) => r.id),
    lowAboveMedium: results.filter((r) => r.expected === 'low' && band(r.got) > band('medium')).map((r) => r.id),
    results,
  };
}

export const requestTargetsMet = (figures: RequestFigures) =>
  figures.agreement >= TARGETS.agreement && figures.withinOneBand >= TARGETS.withinOneBand &&
  figures.criticalBelowHigh.length <= TARGETS.criticalBelowHigh && figures.lowAboveMedium.length <= TARGETS.lowAboveMedium;

// ---- Sessions ------------------------------------------------------------------------------------

export interface SessionResult {
  id: string;
  violation: boolean;
  /** Marked for review: at least one warning or critical flag. */
  flagged: boolean;
  raised: Array<{ code: string; severity: string }>;
  /** Where the case lists flag codes: those not raised, and those not raised as critical. */
  missing: string[];
  missingCritical: string[];
  /** Critical flags the case does not list (only where it lists codes). */
  unexpectedCritical: string[];
}

export interface SessionFigures {
  violations: number;
  ordinary: number;
  /** Share of violations flagged for review. */
  violationsFlagged: number;
  /** Share of ordinary sessions flagged for review. */
  falseFlags: number;
  results: SessionResult[];
}

export async function checkSessions(cases: SessionCase[]): Promise<SessionFigures> {
  const results: SessionResult[] = [];
  for (const session of cases) {
    const { flags } = await analyzeSession(session.input);
    const codes = new Set(flags.map((flag) => flag.code));
    const critical = new Set(flags.filter((flag) => flag.severity === 'critical').map((flag) => flag.code));
    const expected = session.expected;
    results.push({
      id: session.id,
      violation: session.violation,
      flagged: flags.some((flag) => flag.severity !== 'info'),
      raised: flags.map((flag) => ({ code: flag.code, severity: flag.severity })),
      missing: expected ? expected.flags.filter((code) => !codes.has(code)) : [],
      missingCritical: expected ? expected.critical.filter((code) => !critical.has(code)) : [],
      unexpectedCritical: expected ? [...critical].filter((code) => !expected.critical.includes(code)) : [],
    });
  }
  return sessionShares(results);
}

function sessionShares(results: SessionResult[]): SessionFigures {
  const violations = results.filter((r) => r.violation);
  const ordinary = results.filter((r) => !r.violation);
  const share = (count: number, of: number) => (of === 0 ? 0 : count / of);
  return {
    violations: violations.length,
    ordinary: ordinary.length,
    violationsFlagged: share(violations.filter((r) => r.flagged).length, violations.length),
    falseFlags: share(ordinary.filter((r) => r.flagged).length, ordinary.length),
    results,
  };
}

export const sessionAsExpected = (result: SessionResult) =>
  result.flagged === result.violation && result.missing.length === 0 && result.missingCritical.length === 0 && result.unexpectedCritical.length === 0;

export const sessionTargetsMet = (figures: SessionFigures) => figures.violationsFlagged >= TARGETS.violationsFlagged && figures.falseFlags <= TARGETS.falseFlags;

// ---- Printing ------------------------------------------------------------------------------------

const percent = (share: number) => `${(share * 100).toFixed(1)}%`;
const title = (part: Part) => (part === 'held-out' ? 'held-out part' : 'tuning part');

function printRequests(heading: string, figures: RequestFigures, cases: RequestCase[], details: boolean): void {
  console.log(
    `${heading} (${figures.count}): ${percent(figures.agreement)} band agreement, ${percent(figures.withinOneBand)} within one band, ` +
      `Critical rated below High: ${figures.criticalBelowHigh.length}, Low rated above Medium: ${figures.lowAboveMedium.length}`,
  );
  if (!details) return;
  for (const result of figures.results.filter((r) => r.off !== 0)) {
    const request = cases.find((c) => c.id === result.id)!;
    console.log(`  ${result.off > 0 ? 'higher' : 'lower '}  ${result.id.padEnd(38)} rubric ${result.expected.padEnd(8)} got ${result.got.padEnd(8)} ${request.why}`);
  }
}

function printSessions(heading: string, figures: SessionFigures, details: boolean): void {
  const flaggedOrdinary = figures.results.filter((r) => !r.violation && r.flagged).length;
  console.log(
    `${heading} (${figures.violations} violations, ${figures.ordinary} ordinary): ${percent(figures.violationsFlagged)} of violations flagged, ` +
      `${percent(figures.falseFlags)} false flags (${flaggedOrdinary} of ${figures.ordinary})`,
  );
  if (!details) return;
  for (const result of figures.results.filter((r) => !sessionAsExpected(r))) {
    const raised = result.raised.map((flag) => `${flag.code}${flag.severity === 'critical' ? '!' : flag.severity === 'info' ? '?' : ''}`).join(', ') || 'no flags';
    const problems = [
      ...(result.violation && !result.flagged ? ['violation not flagged'] : []),
      ...(!result.violation && result.flagged ? ['ordinary session flagged'] : []),
      ...result.missing.map((code) => `missing ${code}`),
      ...result.missingCritical.map((code) => `${code} not critical`),
      ...result.unexpectedCritical.map((code) => `unexpected critical ${code}`),
    ];
    console.log(`  FAIL  ${result.id.padEnd(34)} ${raised}  <- ${problems.join('; ')}`);
  }
}

export interface EvalOptions {
  /** Also rate the requests this way (Claude, live or through the fake), printed per part. */
  model?: { label: string; rate: RateRequest } | undefined;
  /** List the held-out part's misses too (after the fact only: never tune against them). */
  showHeldOut?: boolean | undefined;
}

/**
 * Runs the set: the rules on both parts, and `model` on the same requests when given. True when the
 * held-out part meets the targets (a model's figures are printed, not judged).
 */
export async function runEval({ model, showHeldOut = false }: EvalOptions = {}): Promise<boolean> {
  const requests = loadRequestCases();
  const sessions = loadSessionCases();
  const problems = misfiled([...requests, ...sessions]);
  for (const problem of problems) console.log(`SPLIT: ${problem}`);
  const frozen = frozenState();
  for (const { file, frozen: same } of frozen) {
    console.log(same ? `Held-out file ${file} is the frozen one (eval/holdout.sha256).` : `Held-out file ${file} CHANGED since it was frozen: the held-out figure restarts (eval/RUBRIC.md).`);
  }

  let met = problems.length === 0;
  for (const part of PARTS) {
    const details = part === 'tuning' || showHeldOut;
    const cases = requests.filter((c) => c.part === part);
    const figures = await rateRequests(cases, ruleRating);
    console.log('');
    printRequests(`Requests, ${title(part)}`, figures, cases, details);
    if (part === 'held-out') met &&= requestTargetsMet(figures);
  }
  const tuningSessions = await checkSessions(sessions.filter((c) => c.part === 'tuning'));
  console.log('');
  printSessions('Sessions, tuning part', tuningSessions, true);
  // THE held-out session figure is the fourteenth file, written without reading the rules (eval/RUBRIC.md, "The split").
  const fresh = await checkSessions(sessions.filter((c) => c.file === FRESH_SESSION_FILE));
  console.log('');
  printSessions(`Sessions, held-out part (${FRESH_SESSION_FILE}, written without reading the rules)`, fresh, showHeldOut);
  met &&= sessionTargetsMet(fresh);
  // The older held-out session files: frozen, but seen (misses inspected, or reported while the rules were tuned).
  const seen = await checkSessions(sessions.filter((c) => (SEEN_SESSION_FILES as readonly string[]).includes(c.file)));
  printSessions('Sessions, seen held-out files (not a generalisation figure)', seen, showHeldOut);
  for (const file of SEEN_SESSION_FILES) {
    const ids = new Set(sessions.filter((c) => c.file === file).map((c) => c.id));
    printSessions(`  of which ${file}`, sessionShares(seen.results.filter((r) => ids.has(r.id))), false);
  }
  // The fourth to sixth files were written without reading the rules too; their misses were published by kind, so they are seen, but kept in view.
  for (const file of INDEPENDENT_SEEN_FILES) {
    const independent = new Set(sessions.filter((c) => c.file === file).map((c) => c.id));
    printSessions(`Sessions, ${file} alone (written without reading the rules; seen since its misses by kind were published)`, sessionShares(seen.results.filter((r) => independent.has(r.id))), false);
  }
  if (model) await printModel(model, requests, showHeldOut);
  console.log(`\nHeld-out targets (${percent(TARGETS.agreement)} agreement, all within one band, 0 Critical below High, 0 Low above Medium; every violation flagged, at most ${percent(TARGETS.falseFlags)} false flags): ${met ? 'met' : 'NOT met'}.`);
  return met;
}

async function printModel(model: NonNullable<EvalOptions['model']>, requests: RequestCase[], showHeldOut: boolean): Promise<void> {
  console.log(`\n${model.label}`);
  for (const part of PARTS) {
    const cases = requests.filter((c) => c.part === part);
    const figures = await rateRequests(cases, model.rate);
    if (figures.count === 0) continue;
    printRequests(`  Rating shown on the card, ${title(part)}`, figures, cases, part === 'tuning' || showHeldOut);
    const apart = figures.results.filter((r) => r.model && r.rules && Math.abs(band(r.model) - band(r.rules)) >= 2);
    const held = figures.results.filter((r) => r.model && r.model !== r.got);
    console.log(`  The model two bands or more from the rules (the card asks the approver to look): ${apart.length}; the model's rating held to the rules' floor: ${held.length}`);
  }
}

async function main(): Promise<void> {
  const showHeldOut = process.argv.includes('--show-held-out');
  const model = await modelRating(process.env);
  try {
    const ok = await runEval({ model: model.rating, showHeldOut });
    if (!ok) process.exitCode = 1;
  } finally {
    await model.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
