import Anthropic, {
  APIConnectionTimeoutError,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  NotFoundError,
  OverloadedError,
  type ClientOptions,
} from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { estimateTokens, outcome, startFakeAnthropic, type FakeAnthropic, type MessagesRequest } from '../support/fake-anthropic.js';

const KEY = 'sk-ant-test-key';
const MODEL = 'claude-haiku-5-5';
const verdictTool = {
  name: 'record_verdict',
  description: 'Record the risk of a database access request.',
  input_schema: {
    type: 'object' as const,
    properties: {
      risk: { type: 'string', enum: ['low', 'high'] },
      reasons: { type: 'array', items: { type: 'string' } },
    },
    required: ['risk', 'reasons'],
    additionalProperties: false,
  },
  strict: true,
};
const forced = { tools: [verdictTool], tool_choice: { type: 'tool' as const, name: verdictTool.name } };
const ask = (text: string): MessagesRequest => ({ model: MODEL, max_tokens: 512, messages: [{ role: 'user', content: text }] });

describe('fake Anthropic through the real SDK', () => {
  let fake: FakeAnthropic;
  const client = (options: ClientOptions = {}) => new Anthropic({ apiKey: KEY, baseURL: fake.url, maxRetries: 0, timeout: 5000, ...options });

  beforeEach(async () => {
    fake = await startFakeAnthropic({ apiKey: KEY });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('accepts the Bearer key the SDK sends, and x-api-key as older clients send it (x-api-key wins)', async () => {
    const answer = await client().messages.create(ask('hello'));
    expect(answer.content).toEqual([{ type: 'text', text: 'OK', citations: null }]);
    expect(answer.id).toMatch(/^msg_01[A-Za-z0-9]{22}$/);
    expect(answer._request_id).toMatch(/^req_011C/);
    expect(fake.requests[0]?.headers).toMatchObject({ authorization: `Bearer ${KEY}`, 'anthropic-version': '2026-10-21' });
    expect(fake.requests[0]?.headers).not.toHaveProperty('x-api-key');

    const legacy = client({ defaultHeaders: { Authorization: null, 'X-Api-Key': KEY } });
    expect((await legacy.messages.create(ask('hello'))).stop_reason).toBe('end_turn');
    expect(fake.requests[1]?.headers['x-api-key']).toBe(KEY);
    expect(fake.requests[1]?.headers).not.toHaveProperty('authorization');

    const conflicting = client({ defaultHeaders: { 'X-Api-Key': 'sk-ant-old-key' } });
    await expect(conflicting.messages.create(ask('hello'))).rejects.toBeInstanceOf(AuthenticationError);
  });

  it('answers 401 in the API error shape for a wrong or a missing key', async () => {
    const error = await client({ apiKey: 'sk-ant-wrong' }).messages.create(ask('hello')).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AuthenticationError);
    const apiError = error as AuthenticationError;
    expect(apiError.status).toBe(401);
    expect(apiError.type).toBe('authentication_error');
    expect(apiError.requestID).toMatch(/^req_/);
    expect(apiError.error).toEqual({ type: 'error', error: { type: 'authentication_error', message: 'invalid bearer token' }, request_id: apiError.requestID });

    await expect(client({ defaultHeaders: { Authorization: null } }).messages.create(ask('hello'))).rejects.toBeInstanceOf(AuthenticationError);
    expect(fake.accepted()).toEqual([]);
  });

  it('validates the request as API version 2026-10-21 does', async () => {
    const withTemperature = { ...ask('hello'), temperature: 0 } as MessagesRequest;
    await expect(client().messages.create(withTemperature)).rejects.toSatisfy(
      (error) => error instanceof BadRequestError && error.type === 'invalid_request_error' && error.apiMessage === 'temperature: Extra inputs are not permitted',
    );
    await expect(client().messages.create({ ...ask('hello'), top_k: 5 } as MessagesRequest)).rejects.toBeInstanceOf(BadRequestError);
    // The previous version still takes the sampling parameters.
    const old = client({ defaultHeaders: { 'anthropic-version': '2023-06-01' } });
    expect((await old.messages.create(withTemperature)).stop_reason).toBe('end_turn');

    await expect(client({ defaultHeaders: { 'anthropic-version': null } }).messages.create(ask('hello'))).rejects.toSatisfy(
      (error) => error instanceof BadRequestError && error.apiMessage === 'anthropic-version: header is required',
    );
    const { max_tokens: _omitted, ...noMaxTokens } = ask('hello');
    await expect(client().messages.create(noMaxTokens as MessagesRequest)).rejects.toSatisfy(
      (error) => error instanceof BadRequestError && error.apiMessage === 'max_tokens: Field required',
    );
    await expect(client().messages.create({ ...ask('hello'), model: 'claude-haiku-9' })).rejects.toSatisfy(
      (error) => error instanceof NotFoundError && error.type === 'not_found_error' && error.apiMessage === 'model: claude-haiku-9',
    );
    const five = Array.from({ length: 5 }, (_, i) => ({ type: 'text' as const, text: `part ${i}`, cache_control: { type: 'ephemeral' as const } }));
    await expect(client().messages.create({ ...ask('hello'), system: five })).rejects.toBeInstanceOf(BadRequestError);
    expect(fake.accepted()).toHaveLength(1);
  });

  it('round-trips a forced tool call: tool_use out, tool_result back, text answer', async () => {
    fake.setRespond((body) => {
      const last = body.messages.at(-1)?.content;
      if (Array.isArray(last) && last[0]?.type === 'tool_result') return 'Recorded.';
      return { risk: 'high', reasons: ['DELETE without WHERE'] };
    });
    const first = await client().messages.create({ ...ask('DELETE FROM orders'), ...forced });
    expect(first.stop_reason).toBe('tool_use');
    const call = first.content[0];
    if (call?.type !== 'tool_use') throw new Error(`expected tool_use, got ${call?.type}`);
    expect(call.id).toMatch(/^toolu_01/);
    expect(call.name).toBe('record_verdict');
    expect(call.input).toEqual({ risk: 'high', reasons: ['DELETE without WHERE'] });
    expect(first.usage.output_tokens).toBe(estimateTokens(JSON.stringify(call.input)));

    const second = await client().messages.create({
      model: MODEL,
      max_tokens: 512,
      tools: [verdictTool],
      messages: [
        { role: 'user', content: 'DELETE FROM orders' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'saved' }] },
      ],
    });
    expect(second.stop_reason).toBe('end_turn');
    expect(second.content).toEqual([{ type: 'text', text: 'Recorded.', citations: null }]);
  });

  it('caches the prefix up to a cache_control block: written once, then read, input_tokens only the rest', async () => {
    const instructions = 'You rate database access requests. '.repeat(130); // about 1,140 tokens
    const system = [{ type: 'text' as const, text: instructions, cache_control: { type: 'ephemeral' as const } }];
    const prefix = estimateTokens(JSON.stringify(verdictTool)) + estimateTokens(instructions);
    fake.setRespond(() => ({ risk: 'low', reasons: [] }));

    const first = await client().messages.create({ ...ask('SELECT 1'), ...forced, system });
    expect(first.usage).toMatchObject({ cache_creation_input_tokens: prefix, cache_read_input_tokens: 0, input_tokens: estimateTokens('SELECT 1') });
    expect(first.usage.cache_creation).toEqual({ ephemeral_5m_input_tokens: prefix, ephemeral_1h_input_tokens: 0 });

    const second = await client().messages.create({ ...ask('SELECT * FROM orders'), ...forced, system });
    expect(second.usage).toMatchObject({ cache_creation_input_tokens: 0, cache_read_input_tokens: prefix, input_tokens: estimateTokens('SELECT * FROM orders') });
    // What was sent is on record: the system prompt carried the breakpoint.
    expect(fake.accepted()[1]?.body.system).toEqual(system);

    // A different prefix misses; a prefix under the minimum is silently not cached.
    const changed = [{ ...system[0]!, text: `${instructions}Be strict.` }];
    expect((await client().messages.create({ ...ask('SELECT 1'), ...forced, system: changed })).usage.cache_read_input_tokens).toBe(0);
    const short = [{ type: 'text' as const, text: 'Rate it.', cache_control: { type: 'ephemeral' as const } }];
    for (let i = 0; i < 2; i += 1) {
      const usage = (await client().messages.create({ ...ask('SELECT 1'), ...forced, system: short })).usage;
      const all = estimateTokens(JSON.stringify(verdictTool)) + estimateTokens('Rate it.') + estimateTokens('SELECT 1');
      expect(usage).toMatchObject({ cache_creation_input_tokens: 0, cache_read_input_tokens: 0, input_tokens: all });
    }
  });

  it('lets the SDK retry a 429 after retry-after, and a 529, then succeed', async () => {
    fake.enqueue(outcome.rateLimited(1));
    const started = Date.now();
    const answer = await client({ maxRetries: 2 }).messages.create(ask('hello'));
    expect(answer.stop_reason).toBe('end_turn');
    const [limited, retried] = fake.accepted();
    expect(limited?.status).toBe(429);
    expect(limited?.response).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(950);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect([limited?.headers['x-stainless-retry-count'], retried?.headers['x-stainless-retry-count']]).toEqual(['0', '1']);

    fake.enqueue(outcome.overloaded());
    expect((await client({ maxRetries: 2 }).messages.create(ask('hello'))).stop_reason).toBe('end_turn');
    expect(fake.accepted().slice(2).map((entry) => entry.status)).toEqual([529, 200]);

    fake.enqueue(outcome.overloaded());
    await expect(client().messages.create(ask('hello'))).rejects.toSatisfy((error) => error instanceof OverloadedError && error.type === 'overloaded_error');
  });

  it('holds a slow answer until the caller times out', async () => {
    fake.enqueue(outcome.slow(3000));
    const started = Date.now();
    await expect(client({ timeout: 300 }).messages.create(ask('hello'))).rejects.toBeInstanceOf(APIConnectionTimeoutError);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(fake.accepted()[0]?.status).toBe(0);
    expect((await client().messages.create(ask('hello'))).stop_reason).toBe('end_turn');
  });

  it('delivers refusals, truncations and malformed output as the caller would receive them', async () => {
    fake.setRespond(() => ({ risk: 'high', reasons: ['drops a table', 'no ticket'] }));
    const c = client();

    fake.enqueue(outcome.refusal({ category: 'cyber', explanation: 'Declined.' }));
    const refused = await c.messages.create({ ...ask('x'), ...forced });
    expect(refused.stop_reason).toBe('refusal');
    expect(refused.stop_details).toEqual({ type: 'refusal', category: 'cyber', explanation: 'Declined.' });
    expect(refused.content).toEqual([]);

    fake.enqueue(outcome.maxTokens());
    const cut = await c.messages.create({ ...ask('x'), ...forced });
    expect(cut.stop_reason).toBe('max_tokens');
    expect(cut.usage.output_tokens).toBe(512);
    // A tool call cut off keeps the properties written before the cut.
    expect(cut.content[0]).toMatchObject({ type: 'tool_use', name: 'record_verdict' });
    expect((cut.content[0] as Anthropic.ToolUseBlock).input).toEqual({ risk: 'high' });

    fake.setRespond(() => 'A long explanation that does not fit.');
    const truncated = await c.messages.create({ ...ask('x'), max_tokens: 3 });
    expect(truncated).toMatchObject({ stop_reason: 'max_tokens', content: [{ type: 'text', text: 'A long expla' }], usage: { output_tokens: 3 } });

    fake.enqueue(outcome.malformedToolInput({ risk: 'maybe' }));
    const malformed = await c.messages.create({ ...ask('x'), ...forced });
    expect(malformed).toMatchObject({ stop_reason: 'tool_use', content: [{ type: 'tool_use', name: 'record_verdict', input: { risk: 'maybe' } }] });

    fake.enqueue(outcome.textInsteadOfTool('It looks fine to me.'));
    const prose = await c.messages.create({ ...ask('x'), ...forced });
    expect(prose).toMatchObject({ stop_reason: 'end_turn', content: [{ type: 'text', text: 'It looks fine to me.' }] });

    fake.enqueue(outcome.invalidJson());
    await expect(c.messages.create(ask('x'))).rejects.toBeInstanceOf(SyntaxError);

    fake.enqueue(outcome.serverError());
    await expect(c.messages.create(ask('x'))).rejects.toSatisfy((error) => error instanceof InternalServerError && error.type === 'api_error');
  });

  it('fails loudly, without retries, when a test scripts what the API cannot answer', async () => {
    // The default hook answers text, and a forced tool cannot get text unless the test says so.
    const error = await client({ maxRetries: 2 }).messages.create({ ...ask('x'), ...forced }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InternalServerError);
    expect((error as InternalServerError).apiMessage).toMatch(/^fake Anthropic: respond returned text/);
    expect(fake.accepted()).toHaveLength(1);
  });

  it('describes the models it knows through the Models API, and 404s an unknown one or a wrong key', async () => {
    const info = await client().models.retrieve(MODEL);
    expect(info).toMatchObject({ type: 'model', id: MODEL, lifecycle: 'active' });
    const listed: string[] = [];
    for await (const model of client().models.list()) listed.push(model.id);
    expect(listed).toEqual(expect.arrayContaining(['claude-haiku-5-5', 'claude-sonnet-5-5', 'claude-opus-5-5']));
    await expect(client().models.retrieve('claude-nonexistent-1')).rejects.toBeInstanceOf(NotFoundError);
    await expect(client({ apiKey: 'sk-ant-wrong' }).models.retrieve(MODEL)).rejects.toBeInstanceOf(AuthenticationError);
    expect(fake.accepted()).toHaveLength(0);
  });
});
