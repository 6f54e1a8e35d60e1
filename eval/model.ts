/**
 * The model's side of `npm run eval`: Claude live when ANTHROPIC_API_KEY is set, otherwise the
 * hand-written answers of test/fixtures/eval/model-answers.json (whole Messages API responses) served
 * by the fake Anthropic server through the real SDK. The second measures the wiring (prompt, parsing,
 * floor, disagreement), never a model.
 */
import { existsSync, readFileSync } from 'node:fs';
import type Anthropic from '@anthropic-ai/sdk';
import type { RequestFacts } from '../src/modules/analysis/analysis-types.js';
import { createClaudeAnalyzer } from '../src/modules/analysis/claude-analyzer.js';
import { analyzeRequestHeuristically, floorLevel } from '../src/modules/analysis/request-heuristics.js';
import { outcome, startFakeAnthropic, type MessagesRequest } from '../test/support/fake-anthropic.js';
import type { RateRequest } from './rate.js';
import { FIXTURES } from './split.js';

const ANSWERS = new URL('model-answers.json', FIXTURES);
const FAKE_MODEL = 'claude-haiku-5-5';

/** Rates a request as the card would: the model's reading held to the rules' floor, both kept. */
function claudeRating(claude: ReturnType<typeof createClaudeAnalyzer>): RateRequest {
  return async (input, context) => {
    const facts: RequestFacts = {
      risk: input, databaseId: context.id, levelName: context.levelName, scope: context.scope, maxDurationSeconds: 7 * 24 * 3600,
      allowedLevels: ['read', 'write', 'admin', context.levelName], tableTags: input.tableTags ?? {}, conflicts: [], recording: 'Not recorded.',
    };
    const rules = analyzeRequestHeuristically(facts);
    const { output } = await claude.analyzeRequest(facts, rules);
    return { level: floorLevel(output.risk, rules.level), model: output.risk, rules: rules.level };
  };
}

/** The request id the eval put in the facts block (as the database id), to find its written answer. */
function caseIdOf(body: MessagesRequest): string | undefined {
  const content = body.messages[0]?.content;
  const text = typeof content === 'string' ? content : '';
  const facts = /<facts>\n([\s\S]*?)\n<\/facts>/.exec(text)?.[1];
  return facts ? (JSON.parse(facts) as { database?: { id?: string } }).database?.id : undefined;
}

export async function modelRating(env: NodeJS.ProcessEnv): Promise<{ rating?: { label: string; rate: RateRequest } | undefined; close: () => Promise<void> }> {
  const apiKey = env.ANTHROPIC_API_KEY;
  if (apiKey) {
    const model = env.DBACCESS_AI_MODEL ?? 'claude-haiku-5-5';
    const claude = createClaudeAnalyzer({ apiKey, baseURL: env.ANTHROPIC_BASE_URL, model, summaryModel: model, timeoutMs: 30_000 });
    return { rating: { label: `Claude (${model}, live): the model's reading held to the rules' floor`, rate: claudeRating(claude) }, close: async () => {} };
  }
  if (!existsSync(ANSWERS)) return { close: async () => {} };
  const answers = new Map(Object.entries((JSON.parse(readFileSync(ANSWERS, 'utf8')) as { answers: Record<string, Anthropic.Message> }).answers));
  const fake = await startFakeAnthropic({
    respond: (body) => {
      const message = answers.get(caseIdOf(body) ?? '');
      if (!message) throw new Error('no written answer for this request');
      return outcome.message(message);
    },
  });
  const claude = createClaudeAnalyzer({ apiKey: fake.apiKey, baseURL: fake.url, model: FAKE_MODEL, summaryModel: FAKE_MODEL, timeoutMs: 10_000 });
  const rate = claudeRating(claude);
  return {
    rating: {
      label: `Model wiring: ${answers.size} hand-written answers (Messages API responses) through the fake Anthropic server; this measures the wiring, not a model`,
      rate: async (input, context) => (answers.has(context.id) ? rate(input, context) : undefined),
    },
    close: () => fake.close(),
  };
}
