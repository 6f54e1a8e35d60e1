/**
 * The Anthropic Messages API on loopback, for tests that drive the real @anthropic-ai/sdk (1.x).
 *
 * It speaks the contract as that SDK uses it: `POST {baseURL}/v1/messages` with `Authorization: Bearer <key>`
 * (older clients send `x-api-key`, which wins when both are present, as on the real API) and
 * `anthropic-version`; JSON answers carrying a `request-id` header; errors shaped
 * `{type:'error', error:{type, message}, request_id}` with the statuses the SDK maps to its error classes
 * (400, 401, 404, 429 with `retry-after`, 500, 529). `GET /v1/models` and `/v1/models/{id}` list the models it knows. Validation follows API version 2026-10-21: a top-level
 * field the API does not know, `temperature`, `top_p` and `top_k` included, is a 400
 * `<field>: Extra inputs are not permitted` (2023-06-01 still takes the three sampling fields).
 *
 * Token counts are deterministic (`estimateTokens`: 4 characters a token) and prompt caching behaves as
 * documented: the prompt is read as tools, then system, then messages; a block with `cache_control` (or the
 * top-level `cache_control`, which marks the last block) ends a cacheable prefix; a prefix shorter than
 * the minimum is silently not cached; a later request reads the longest cached prefix that ends at one of
 * its breakpoints or up to 20 blocks before one. `input_tokens` counts only what was neither read nor
 * written. Streaming is not implemented.
 */
import { createHash, randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Anthropic from '@anthropic-ai/sdk';

export type MessagesRequest = Anthropic.MessageCreateParamsNonStreaming;

const OUTCOME = Symbol('fake-anthropic outcome');
type OutcomeSpec =
  | { kind: 'rate_limited'; retryAfterSeconds: number }
  | { kind: 'overloaded' }
  | { kind: 'server_error' }
  | { kind: 'slow'; ms: number; then: Answer | undefined }
  | { kind: 'malformed_tool_input'; input: unknown }
  | { kind: 'text_instead_of_tool'; text: string }
  | { kind: 'invalid_json' }
  | { kind: 'refusal'; category: Anthropic.RefusalStopDetails['category']; explanation: string | null; text: string | undefined }
  | { kind: 'max_tokens'; then: Answer | undefined }
  | { kind: 'message'; message: Anthropic.Message };
/** Built by `outcome.*`; the brand tells an outcome from a tool input that happens to have a `kind`. */
export type Outcome = OutcomeSpec & { readonly [OUTCOME]: true };
/** Text, the input of the forced (or only) tool, or a scripted outcome. */
export type Answer = string | Record<string, unknown> | Outcome;
export type Respond = (body: MessagesRequest) => Answer | Promise<Answer>;

const brand = (spec: OutcomeSpec): Outcome => ({ ...spec, [OUTCOME]: true });

/** Scripted outcomes, for `respond` to return or for `enqueue`. */
export const outcome = {
  /** 429 `rate_limit_error` with `retry-after` in seconds. */
  rateLimited: (retryAfterSeconds = 1) => brand({ kind: 'rate_limited', retryAfterSeconds }),
  /** 529 `overloaded_error`. */
  overloaded: () => brand({ kind: 'overloaded' }),
  /** 500 `api_error`. */
  serverError: () => brand({ kind: 'server_error' }),
  /** Answers after `ms` (with `then`, or what `respond` gives), unless the caller gave up first. */
  slow: (ms: number, then?: Answer) => brand({ kind: 'slow', ms, then }),
  /** A `tool_use` block with this input as is, however it fits the tool's schema. */
  malformedToolInput: (input: unknown) => brand({ kind: 'malformed_tool_input', input }),
  /** A text answer (`end_turn`) although the request forced a tool. */
  textInsteadOfTool: (text: string) => brand({ kind: 'text_instead_of_tool', text }),
  /** HTTP 200, `application/json`, with a body cut off mid-JSON. */
  invalidJson: () => brand({ kind: 'invalid_json' }),
  /** `stop_reason: 'refusal'` with `stop_details`, and any text written before the refusal. */
  refusal: (details: { category?: Anthropic.RefusalStopDetails['category']; explanation?: string; text?: string } = {}) =>
    brand({ kind: 'refusal', category: details.category ?? null, explanation: details.explanation ?? null, text: details.text }),
  /** The answer (`then`, or what `respond` gives) cut in half, `stop_reason: 'max_tokens'`, `output_tokens` = max_tokens. */
  maxTokens: (then?: Answer) => brand({ kind: 'max_tokens', then }),
  /** A whole Messages API response written by hand, sent as is (200, JSON): its content, stop reason and usage. */
  message: (message: Anthropic.Message) => brand({ kind: 'message', message }),
};

export interface FakeAnthropicOptions {
  /** The only key accepted. Default `sk-ant-test-key`. */
  apiKey?: string;
  /** Model ids that exist; any other is a 404. Default: Haiku, Sonnet and Opus 5.5. */
  models?: readonly string[];
  /** Shortest prefix the cache stores; the real minimum depends on the model (512 to 4096). Default 1024. */
  minCacheableTokens?: number;
  /** Answers requests no queued outcome claims. Default: the text `OK` (forced tool use then needs a hook). */
  respond?: Respond;
}

export interface RecordedRequest {
  /** `Date.now()` when the request arrived. */
  at: number;
  method: string;
  path: string;
  headers: {
    authorization?: string;
    'x-api-key'?: string;
    'anthropic-version'?: string;
    'anthropic-beta'?: string;
    'x-stainless-retry-count'?: string;
    'x-stainless-timeout'?: string;
  };
  /** The parsed JSON body (empty when it was not JSON); `rawBody` has the text. */
  body: Partial<MessagesRequest> & Record<string, unknown>;
  rawBody: string;
  /** 0 while unanswered, and when the caller went away before a slow answer. */
  status: number;
  response: unknown;
}

export interface FakeAnthropic {
  /** `http://127.0.0.1:<port>`, the SDK's `baseURL`. */
  readonly url: string;
  readonly apiKey: string;
  readonly requests: readonly RecordedRequest[];
  /** Requests to `/v1/messages` that passed authentication and validation (the ones a model saw). */
  accepted(): RecordedRequest[];
  /** One-shot outcomes for the next accepted requests, in order, before `respond` is asked. */
  enqueue(...outcomes: Outcome[]): void;
  setRespond(respond: Respond): void;
  /** Forgets every cache entry, as if their TTL had run out. */
  clearCache(): void;
  close(): Promise<void>;
}

const HEADERS = ['authorization', 'x-api-key', 'anthropic-version', 'anthropic-beta', 'x-stainless-retry-count', 'x-stainless-timeout'] as const;
const VERSIONS = ['2023-06-01', '2026-10-21'];
const BODY_FIELDS = new Set([
  'model', 'max_tokens', 'messages', 'cache_control', 'container', 'diagnostics', 'inference_geo', 'metadata', 'output_config',
  'service_tier', 'speed', 'stop_sequences', 'stream', 'system', 'thinking', 'tool_choice', 'tools',
]);
const SAMPLING_FIELDS = new Set(['temperature', 'top_p', 'top_k']);
const MAX_BREAKPOINTS = 4;
const LOOKBACK_BLOCKS = 20;
const TTL_MS = { '5m': 5 * 60_000, '1h': 60 * 60_000 } as const;
type Ttl = keyof typeof TTL_MS;
const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

class ApiError extends Error {
  constructor(readonly status: number, readonly type: string, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}
/** A test scripted the fake in a way the real API could not answer; reported as a non-retryable 500. */
const misuse = (message: string) => new ApiError(500, 'api_error', `fake Anthropic: ${message}`, { 'x-should-retry': 'false' });

/** The fake's tokenizer: 4 characters a token, rounded up. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export async function startFakeAnthropic(options: FakeAnthropicOptions = {}): Promise<FakeAnthropic> {
  const apiKey = options.apiKey ?? 'sk-ant-test-key';
  const models = new Set(options.models ?? ['claude-haiku-5-5', 'claude-sonnet-5-5', 'claude-opus-5-5']);
  const minCacheable = options.minCacheableTokens ?? 1024;
  let respond: Respond = options.respond ?? (() => 'OK');
  const requests: RecordedRequest[] = [];
  const accepted = new Set<RecordedRequest>();
  const queue: Outcome[] = [];
  const cache = new Map<string, { expiresAt: number; ttl: Ttl }>();

  /** The key (x-api-key wins over Bearer, as on the real API) and the API version, for every endpoint. */
  function authenticate(entry: RecordedRequest): string {
    const apiKeyHeader = entry.headers['x-api-key'];
    const bearer = /^Bearer\s+(\S+)$/i.exec(entry.headers.authorization ?? '')?.[1];
    if (apiKeyHeader === undefined && bearer === undefined) throw new ApiError(401, 'authentication_error', 'x-api-key or Authorization header is required');
    if ((apiKeyHeader ?? bearer) !== apiKey) throw new ApiError(401, 'authentication_error', apiKeyHeader !== undefined ? 'invalid x-api-key' : 'invalid bearer token');
    const version = entry.headers['anthropic-version'];
    if (!version) throw new ApiError(400, 'invalid_request_error', 'anthropic-version: header is required');
    if (!VERSIONS.includes(version)) throw new ApiError(400, 'invalid_request_error', `anthropic-version: unknown version '${version}'`);
    return version;
  }

  /** `GET /v1/models` (one page, newest first as the API lists them) and `GET /v1/models/{id}`. */
  function answerModels(res: ServerResponse, entry: RecordedRequest): void {
    authenticate(entry);
    const known = [...models].reverse().map(modelInfo);
    if (entry.path === '/v1/models') {
      send(res, entry, 200, { data: known, has_more: false, first_id: known[0]?.id ?? null, last_id: known.at(-1)?.id ?? null });
      return;
    }
    const id = decodeURIComponent(entry.path.slice('/v1/models/'.length));
    const found = known.find((info) => info.id === id);
    if (!found) throw new ApiError(404, 'not_found_error', `model: ${id}`);
    send(res, entry, 200, found);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, entry: RecordedRequest): Promise<void> {
    if (req.method === 'GET' && (entry.path === '/v1/models' || entry.path.startsWith('/v1/models/'))) return answerModels(res, entry);
    if (req.method !== 'POST' || entry.path !== '/v1/messages') throw new ApiError(404, 'not_found_error', 'Not Found');
    const version = authenticate(entry);
    let parsed: unknown;
    try {
      parsed = JSON.parse(entry.rawBody);
    } catch {
      throw new ApiError(400, 'invalid_request_error', 'The request body is not valid JSON.');
    }
    if (!isObject(parsed)) throw new ApiError(400, 'invalid_request_error', 'The request body must be a JSON object.');
    entry.body = parsed;
    const body = validate(parsed, version, models);
    accepted.add(entry);

    let answer: Answer = queue.shift() ?? (await respond(body));
    while (isOutcome(answer) && answer.kind === 'slow') {
      if (!(await holdOpen(res, answer.ms))) return;
      answer = answer.then ?? (await respond(body));
    }
    if (isOutcome(answer)) {
      if (answer.kind === 'rate_limited') {
        throw new ApiError(429, 'rate_limit_error', 'This request would exceed your organization\'s rate limit. Please try again later.', {
          'retry-after': String(answer.retryAfterSeconds),
        });
      }
      if (answer.kind === 'overloaded') throw new ApiError(529, 'overloaded_error', 'Overloaded');
      if (answer.kind === 'server_error') throw new ApiError(500, 'api_error', 'Internal server error');
      if (answer.kind === 'message') return send(res, entry, 200, answer.message);
      if (answer.kind === 'invalid_json') {
        return send(res, entry, 200, `{"id":"${newId('msg_01', 22)}","type":"message","role":"assistant","content":[{"type":"te`);
      }
    }
    send(res, entry, 200, await answerMessage(body, answer));
  }

  async function answerMessage(body: MessagesRequest, answer: Answer): Promise<unknown> {
    let truncate = false;
    if (isOutcome(answer) && answer.kind === 'max_tokens') {
      truncate = true;
      answer = answer.then ?? (await respond(body));
    }
    if (isOutcome(answer) && answer.kind === 'refusal') {
      const content = answer.text ? [{ type: 'text', text: answer.text, citations: null }] : [];
      const details = { type: 'refusal', category: answer.category, explanation: answer.explanation };
      return { ...message(body, content, 'refusal', estimateTokens(answer.text ?? '') || 1), stop_details: details };
    }
    const forced = body.tool_choice?.type === 'tool' ? body.tool_choice.name : undefined;
    const toolName = (): string => {
      const tools = (body.tools ?? []) as Array<{ name: string }>;
      const name = forced ?? (tools.length === 1 && body.tool_choice?.type !== 'none' ? tools[0]?.name : undefined);
      if (!name) throw misuse('respond returned a tool input, but the request neither forces a tool nor offers exactly one');
      return name;
    };
    let draft: { text: string } | { name: string; input: unknown };
    if (typeof answer === 'string') {
      if (forced) throw misuse(`respond returned text but the request forces tool '${forced}'; script outcome.textInsteadOfTool() for that`);
      draft = { text: answer };
    } else if (!isOutcome(answer)) draft = { name: toolName(), input: answer };
    else if (answer.kind === 'malformed_tool_input') draft = { name: toolName(), input: answer.input };
    else if (answer.kind === 'text_instead_of_tool') draft = { text: answer.text };
    else throw misuse(`outcome '${answer.kind}' cannot follow outcome.maxTokens()`);

    const size = 'text' in draft ? draft.text.length : JSON.stringify(draft.input).length;
    const needed = Math.max(1, Math.ceil(size / 4));
    let stop: Anthropic.StopReason = 'text' in draft ? 'end_turn' : 'tool_use';
    let outputTokens = needed;
    if (truncate || needed > body.max_tokens) {
      stop = 'max_tokens';
      outputTokens = body.max_tokens;
      const keepChars = Math.min(body.max_tokens * 4, truncate ? Math.floor(size / 2) : size);
      draft = 'text' in draft ? { text: draft.text.slice(0, keepChars) } : { name: draft.name, input: partialInput(draft.input, keepChars) };
    }
    const block = body.max_tokens === 0 ? [] : 'text' in draft
      ? [{ type: 'text', text: draft.text, citations: null }]
      : [{ type: 'tool_use', id: newId('toolu_01', 22), name: draft.name, input: draft.input, caller: { type: 'direct' } }];
    return message(body, block, stop, outputTokens);
  }

  function message(body: MessagesRequest, content: unknown[], stopReason: Anthropic.StopReason, outputTokens: number) {
    return {
      id: newId('msg_01', 22),
      type: 'message',
      role: 'assistant',
      model: body.model,
      content,
      stop_reason: stopReason,
      stop_sequence: null,
      stop_details: null,
      container: null,
      diagnostics: null,
      usage: { ...cacheUsage(body), output_tokens: outputTokens, output_tokens_details: null, server_tool_use: null, service_tier: 'standard', inference_geo: null, speed: 'standard' },
    };
  }

  /** Reads the longest cached prefix, writes the new ones, and splits the input tokens accordingly. */
  function cacheUsage(body: MessagesRequest) {
    const blocks = promptBlocks(body);
    const now = Date.now();
    const prefixTokens: number[] = [];
    blocks.reduce((sum, block, i) => (prefixTokens[i] = sum + block.tokens), 0);
    const total = prefixTokens.at(-1) ?? 0;
    const breakpoints = blocks.flatMap((block, i) => (block.ttl ? [i] : []));

    let readAt = -1;
    for (const b of breakpoints) {
      for (let i = b; i >= Math.max(0, b - LOOKBACK_BLOCKS + 1); i -= 1) {
        const entry = cache.get(blocks[i]!.key);
        if (entry && entry.expiresAt > now) {
          if (i > readAt) readAt = i;
          entry.expiresAt = now + TTL_MS[entry.ttl];
          break;
        }
      }
    }
    const read = readAt >= 0 ? prefixTokens[readAt]! : 0;
    const written = { '5m': 0, '1h': 0 };
    let cachedUpTo = read;
    for (const b of breakpoints) {
      const ttl = blocks[b]!.ttl!;
      if (b <= readAt || prefixTokens[b]! < minCacheable) continue;
      cache.set(blocks[b]!.key, { expiresAt: now + TTL_MS[ttl], ttl });
      written[ttl] += prefixTokens[b]! - cachedUpTo;
      cachedUpTo = prefixTokens[b]!;
    }
    const creation = written['5m'] + written['1h'];
    return {
      input_tokens: total - read - creation,
      cache_creation_input_tokens: creation,
      cache_read_input_tokens: read,
      cache_creation: { ephemeral_5m_input_tokens: written['5m'], ephemeral_1h_input_tokens: written['1h'] },
    };
  }

  const server = createServer((req, res) => {
    res.setHeader('request-id', newId('req_011C', 20));
    const url = new URL(req.url ?? '/', 'http://fake');
    const entry: RecordedRequest = {
      at: Date.now(),
      method: req.method ?? '',
      path: url.pathname,
      headers: Object.fromEntries(HEADERS.flatMap((name) => (typeof req.headers[name] === 'string' ? [[name, req.headers[name]]] : []))),
      body: {},
      rawBody: '',
      status: 0,
      response: undefined,
    };
    requests.push(entry);
    (async () => {
      entry.rawBody = await readBody(req);
      await handle(req, res, entry);
    })().catch((error: unknown) => {
      const apiError = error instanceof ApiError ? error : misuse(`respond failed: ${(error as Error).message}`);
      const requestId = String(res.getHeader('request-id'));
      const body = { type: 'error', error: { type: apiError.type, message: apiError.message }, request_id: requestId };
      send(res, entry, apiError.status, body, apiError.headers);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    requests,
    accepted: () => requests.filter((entry) => accepted.has(entry)),
    enqueue: (...outcomes) => void queue.push(...outcomes),
    setRespond(next) {
      respond = next;
    },
    clearCache: () => cache.clear(),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

function validate(body: Record<string, unknown>, version: string, models: Set<string>): MessagesRequest {
  const invalid = (message: string) => new ApiError(400, 'invalid_request_error', message);
  for (const field of ['model', 'max_tokens', 'messages']) if (!(field in body)) throw invalid(`${field}: Field required`);
  for (const field of Object.keys(body)) {
    if (!BODY_FIELDS.has(field) && !(version === '2023-06-01' && SAMPLING_FIELDS.has(field))) throw invalid(`${field}: Extra inputs are not permitted`);
  }
  if (typeof body.model !== 'string') throw invalid('model: Input should be a valid string');
  if (!Number.isInteger(body.max_tokens) || (body.max_tokens as number) < 0) throw invalid('max_tokens: Input should be a valid integer greater than or equal to 0');
  if (!Array.isArray(body.messages) || body.messages.length === 0) throw invalid('messages: at least one message is required');
  body.messages.forEach((message: unknown, i) => {
    if (!isObject(message) || !['user', 'assistant', 'system'].includes(message.role as string)) throw invalid(`messages.${i}.role: Input should be 'user', 'assistant' or 'system'`);
    if (typeof message.content !== 'string' && !(Array.isArray(message.content) && message.content.length > 0)) throw invalid(`messages.${i}.content: Field required`);
  });
  if (body.stream === true) throw misuse('streaming is not implemented');
  const tools = body.tools ?? [];
  if (!Array.isArray(tools)) throw invalid('tools: Input should be a valid list');
  tools.forEach((tool: unknown, i) => {
    if (!isObject(tool) || typeof tool.name !== 'string') throw invalid(`tools.${i}.name: Field required`);
    if (!isObject(tool.input_schema) || tool.input_schema.type !== 'object') throw invalid(`tools.${i}.input_schema.type: Input should be 'object'`);
  });
  const choice = body.tool_choice;
  if (isObject(choice) && choice.type === 'tool' && !tools.some((tool) => tool.name === choice.name)) {
    throw invalid(`tool_choice: Tool '${String(choice.name)}' not found in provided tools`);
  }
  const request = body as unknown as MessagesRequest;
  const breakpoints = promptBlocks(request).filter((block) => block.ttl).length;
  if (breakpoints > MAX_BREAKPOINTS) throw invalid(`A maximum of ${MAX_BREAKPOINTS} blocks with cache_control may be provided. Found ${breakpoints}.`);
  if (!models.has(body.model)) throw new ApiError(404, 'not_found_error', `model: ${body.model}`);
  return request;
}

interface PromptBlock {
  tokens: number;
  /** Hash of the model and every block up to this one: equal keys mean an identical prefix. */
  key: string;
  ttl: Ttl | undefined;
}

/** The prompt in cache order (tools, system, messages), one entry per block. */
function promptBlocks(body: MessagesRequest): PromptBlock[] {
  const raw: Array<{ identity: unknown; text: string; cacheControl?: unknown }> = [];
  const add = (block: unknown, role?: string): void => {
    if (typeof block === 'string') return void raw.push({ identity: [role, block], text: block });
    const { cache_control: cacheControl, ...rest } = block as Record<string, unknown>;
    const text = rest.type === 'text' && typeof rest.text === 'string' ? rest.text : JSON.stringify(rest);
    raw.push({ identity: [role, rest], text, cacheControl });
  };
  for (const tool of body.tools ?? []) add(tool);
  if (typeof body.system === 'string') add(body.system, 'system');
  else for (const block of body.system ?? []) add(block, 'system');
  // A different tool_choice invalidates the cached messages, not the tools or system before them.
  raw.push({ identity: ['tool_choice', body.tool_choice ?? null], text: '' });
  for (const message of body.messages) {
    if (typeof message.content === 'string') add(message.content, message.role);
    else for (const block of message.content) add(block, message.role);
  }
  // Top-level (automatic) caching puts the breakpoint on the last block.
  if (isObject(body.cache_control)) raw.at(-1)!.cacheControl ??= body.cache_control;

  let key = createHash('sha256').update(body.model).digest('hex');
  return raw.map((block) => {
    key = createHash('sha256').update(key).update(JSON.stringify(block.identity)).digest('hex');
    const control = block.cacheControl;
    const ttl = isObject(control) && control.type === 'ephemeral' ? ((control.ttl as Ttl | undefined) ?? '5m') : undefined;
    return { tokens: estimateTokens(block.text), key, ttl };
  });
}

/** What a tool call cut off by max_tokens carries: the properties written before the cut. */
function partialInput(input: unknown, maxChars: number): unknown {
  if (!isObject(input)) return {};
  const partial: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(input)) {
    if (JSON.stringify({ ...partial, [name]: value }).length > maxChars) break;
    partial[name] = value;
  }
  return partial;
}

/** Waits `ms`; false when the caller closed the connection first (its timeout fired). */
function holdOpen(res: ServerResponse, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      res.off('close', onClose);
      resolve(!res.destroyed);
    }, ms);
    const onClose = () => {
      clearTimeout(timer);
      resolve(false);
    };
    res.once('close', onClose);
  });
}

function send(res: ServerResponse, entry: RecordedRequest, status: number, body: unknown, headers: Record<string, string> = {}): void {
  entry.status = status;
  entry.response = body;
  if (res.destroyed || res.headersSent) return;
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function newId(prefix: string, length: number): string {
  return prefix + Array.from({ length }, () => BASE62[randomInt(BASE62.length)]).join('');
}

/** A model as the Models API describes it (capabilities left out: the SDK does not need them). */
function modelInfo(id: string) {
  const line = (['haiku', 'sonnet', 'opus'] as const).find((name) => id.includes(name)) ?? null;
  const display = id.replace(/^claude-/, 'Claude ').replace(/-(\d+)-(\d+)$/, ' $1.$2').replace(/\b([a-z])/g, (letter) => letter.toUpperCase());
  return {
    type: 'model' as const, id, display_name: display, created_at: '2026-09-01T00:00:00Z', capabilities: null, deprecated_at: null,
    lifecycle: 'active' as const, line, max_input_tokens: 200_000, max_tokens: 64_000, retires_at: null,
  };
}

function isOutcome(answer: Answer): answer is Outcome {
  return typeof answer === 'object' && OUTCOME in answer;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
