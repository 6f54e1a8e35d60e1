/**
 * A Slack Web API on loopback, for tests that drive the real @slack/web-api and Bolt clients.
 *
 * It speaks Slack's HTTP contract as @slack/web-api 8 uses it: `POST {apiUrl}{method}` with a Bearer token
 * (or a `token` form field), form-encoded, JSON or multipart arguments, HTTP 200 with `{ok:true,...}` or
 * `{ok:false,error}`, and 429 with `Retry-After` when rate limited. It also plays `response_url`.
 *
 * With `socketMode`, it also plays Socket Mode: `apps.connections.open`, called with the app-level token,
 * answers with a URL of the WebSocket double (fake-slack-socket.ts), which is `fake.socket`.
 *
 * The fake grants exactly the bot scopes of manifests/slack/app-manifest.yaml (unless told otherwise), so a
 * method the manifest does not cover fails here with `missing_scope` as it would in a real workspace.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { startFakeSlackSocket, type FakeSlackSocket, type FakeSlackSocketOptions } from './fake-slack-socket.js';

export interface FakeSlackOptions {
  teamId?: string;
  teamDomain?: string;
  botUserId?: string;
  botId?: string;
  appId?: string;
  /** Bot scopes the token has. Default: `oauth_config.scopes.bot` of manifests/slack/app-manifest.yaml. */
  scopes?: readonly string[];
  /** Lifetime of trigger ids minted by `triggerId()`; Slack's is 3 s. Other trigger ids never expire here. */
  triggerTtlMs?: number;
  /** The one bot token the workspace knows; any other gets `invalid_auth`. Default: any `xoxb-` token. */
  botToken?: string;
  /** Profiles users.info answers with (others get `user_not_found`). */
  users?: Record<string, { email?: string; name?: string }>;
  /** User groups (`S…` id -> member user ids) usergroups.list answers with. */
  usergroups?: Record<string, string[]>;
  /** Socket Mode on: the one app-level token (`xapp-…`, with connections:write) apps.connections.open takes. */
  socketMode?: FakeSlackSocketOptions & { appToken: string };
  /** Answer 429 with `Retry-After` past Slack's documented rates (SLACK_RATE_LIMITS). Default off. */
  rateLimited?: boolean;
  /**
   * How many workspaces the one bot token stands for (default 1). Slack's tiers are per workspace; a call
   * without a channel cannot say which, so its method's one bucket holds that many workspaces' rate and
   * burst (even load over the workspaces assumed).
   */
  workspaces?: number;
}

/**
 * Slack's documented rates as token buckets: chat.postMessage about 1 a second per channel with short
 * bursts; Tier 3 (chat.update, conversations.open) 50+ a minute and Tier 4 (views.*) 100+ a minute per
 * workspace. The fake has one bot token for every workspace, so a bucket is kept per method and channel
 * (a channel belongs to one workspace; a call without a channel shares one bucket per method).
 */
export const SLACK_RATE_LIMITS: Record<string, { perMinute: number; burst: number }> = {
  'chat.postMessage': { perMinute: 60, burst: 10 },
  'chat.update': { perMinute: 50, burst: 20 },
  'conversations.open': { perMinute: 50, burst: 20 },
  'conversations.history': { perMinute: 50, burst: 20 },
  'views.open': { perMinute: 100, burst: 20 },
  'views.update': { perMinute: 100, burst: 20 },
};

/** One request the fake received, Web API call or response_url post. */
export interface RecordedCall {
  /** Web API method (`chat.postMessage`), or `response_url` for posts to a response URL. */
  method: string;
  /** Arguments as sent over the wire (form values stay strings); `blocks`, `view` and `attachments` JSON-decoded. `token` is moved to `token`. */
  args: Record<string, unknown>;
  token: string | undefined;
  /** `Date.now()` when the request arrived. */
  at: number;
  /** What the fake answered. */
  status: number;
  response: unknown;
  /** For `response_url` posts: the id given to `responseUrl(id)`. */
  responseUrlId?: string;
}

export interface Fault {
  /**
   * 429 answers with `Retry-After`; 500 with a server error. Without a status a Web API call gets HTTP 200
   * `{ok:false,error}` and a response_url post gets HTTP 400 with `error` as its body.
   */
  status?: 429 | 500;
  /** Slack error code for HTTP 200 failures (default `internal_error`). */
  error?: string;
  /** Seconds in the `Retry-After` header of a 429 (default 1, Slack never sends less). */
  retryAfter?: number;
  /** How many consecutive calls fail (default 1). */
  count?: number;
  /**
   * Slack does the work, but its answer never arrives: the connection closes before the response (a
   * post made, its ts never seen by the caller).
   */
  lost?: boolean;
  /** Only calls whose arguments this accepts fail (default: the next calls of the method, whatever they carry). */
  match?: (args: Record<string, unknown>) => boolean;
}

/** Slack taking its time over a call (FakeSlack.holdNext). */
export interface Hold {
  /** Only a call whose arguments this accepts is held (default: the next call of the method). */
  match?: (args: Record<string, unknown>) => boolean;
  /**
   * Called as the call arrives: Slack does the work and answers once the promise it returns settles.
   * `gone` resolves if the caller closes the connection first; the work is done all the same (a post
   * lands), its answer goes nowhere.
   */
  until: (call: { args: Record<string, unknown>; gone: Promise<void> }) => Promise<unknown>;
}

export interface MessageVersion {
  text: string | undefined;
  blocks: unknown[] | undefined;
  attachments: unknown[] | undefined;
  at: number;
  via: 'chat.postMessage' | 'chat.update' | 'response_url';
}

/** A message as a person in the channel sees it now, with every earlier version. */
export interface SlackMessage {
  channel: string;
  ts: string;
  threadTs: string | undefined;
  text: string | undefined;
  blocks: unknown[] | undefined;
  attachments: unknown[] | undefined;
  deleted: boolean;
  history: MessageVersion[];
  /** The message's metadata (chat.postMessage `metadata`): event_type and event_payload. */
  metadata: { event_type: string; event_payload: Record<string, unknown> } | undefined;
}

export interface EphemeralMessage {
  channel: string;
  user: string;
  messageTs: string;
  text: string | undefined;
  blocks: unknown[] | undefined;
  at: number;
  via: 'chat.postEphemeral' | 'response_url';
}

/** A modal as Slack returns it from views.open/update/push (the app's view plus Slack's fields). */
export type SlackView = Record<string, unknown> & { id: string; hash: string; type: string };

/** What a response URL answers for: the message it may replace, the channel and the person it was issued to. */
export interface ResponseUrlTarget {
  channel?: string;
  user?: string;
  messageTs?: string;
}

export interface FakeSlack {
  /** Base URL ending in `/api/`: Bolt's `clientOptions.slackApiUrl` or WebClient's `slackApiUrl`. */
  readonly apiUrl: string;
  /** Origin of the server (`http://127.0.0.1:port`). */
  readonly url: string;
  readonly calls: readonly RecordedCall[];
  /** A response URL on this server; bind it to a message so `replace_original` and `delete_original` act on it. */
  responseUrl(id: string, target?: ResponseUrlTarget): string;
  /** A trigger id in Slack's format that expires after `triggerTtlMs`, as Slack's do. */
  triggerId(): string;
  callsTo(method: string): RecordedCall[];
  /** Resolves with the first call (already recorded or future) to `method` matching `predicate`; failed calls count too. */
  waitFor(method: string, predicate?: (call: RecordedCall) => boolean, timeoutMs?: number): Promise<RecordedCall>;
  /** Makes the next call(s) to `method` (or `response_url`) fail. */
  failNext(method: string, fault?: Fault): void;
  /** Holds the next Web API call to `method` (that `hold.match` accepts) until `hold.until` says, then carries it out. */
  holdNext(method: string, hold: Hold): void;
  /** Sets (or, with no members, removes) a user group's members, as an admin would in Slack. */
  setUsergroup(id: string, members: string[]): void;
  message(channel: string, ts: string): SlackMessage | undefined;
  /** Messages not deleted, oldest first. A user id (`U…`) reads the bot's DM with that user. */
  messagesIn(channel: string): SlackMessage[];
  ephemeralsFor(user: string): EphemeralMessage[];
  view(id: string): SlackView | undefined;
  /** The id of the IM channel conversations.open returns for a user. */
  dmChannelFor(user: string): string;
  /** The Socket Mode double, when `socketMode` was given. */
  readonly socket: FakeSlackSocket | undefined;
  close(): Promise<void>;
}

type ApiResult = { ok: true } & Record<string, unknown>;
type ApiError = { ok: false; error: string } & Record<string, unknown>;
type Handler = (args: Record<string, unknown>) => ApiResult | ApiError;

const MANIFEST_URL = new URL('../../manifests/slack/app-manifest.yaml', import.meta.url);
/** Bot scope each implemented method needs; `null` when Slack requires none. */
const REQUIRED_SCOPE = {
  'auth.test': null,
  'chat.postMessage': 'chat:write',
  'chat.update': 'chat:write',
  'chat.postEphemeral': 'chat:write',
  'chat.delete': 'chat:write',
  'conversations.open': 'im:write',
  // The scope depends on the conversation's kind (checked in the handler): channels:history, groups:history or im:history.
  'conversations.history': null,
  'users.info': 'users:read',
  'usergroups.list': 'usergroups:read',
  'views.open': null,
  'views.update': null,
  'views.push': null,
} as const satisfies Record<string, string | null>;
type Method = keyof typeof REQUIRED_SCOPE;
const JSON_FIELDS = ['blocks', 'view', 'attachments', 'metadata'] as const;
/** Slack allows five posts to one response_url (within 30 minutes). */
const RESPONSE_URL_USES = 5;
/** First ts handed out; later ones grow by 100 µs. */
const TS_BASE_MICROS = 1_764_400_000_000_000;

export async function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const team = {
    id: options.teamId ?? 'T0DBACCESS',
    domain: options.teamDomain ?? 'dbaccess-test',
    botUserId: options.botUserId ?? 'U0DBBOT',
    botId: options.botId ?? 'B0DBBOT',
    appId: options.appId ?? 'A0DBACCESS',
  };
  const scopes = new Set(options.scopes ?? (await manifestBotScopes()));
  const triggerTtlMs = options.triggerTtlMs ?? 3000;
  const socket = options.socketMode ? await startFakeSlackSocket({ appId: team.appId, ...options.socketMode }) : undefined;

  const calls: RecordedCall[] = [];
  const waiters = new Set<{ method: string; predicate: (call: RecordedCall) => boolean; resolve: (call: RecordedCall) => void }>();
  const faults = new Map<string, Array<Required<Pick<Fault, 'retryAfter'>> & Fault>>();
  const holds = new Map<string, Hold[]>();
  const messages = new Map<string, SlackMessage>();
  const ephemerals: EphemeralMessage[] = [];
  const views = new Map<string, SlackView>();
  const mintedTriggers = new Map<string, number>();
  const exchangedTriggers = new Set<string>();
  const openedIms = new Set<string>();
  const responseUrls = new Map<string, { target: ResponseUrlTarget; uses: number }>();
  let tsCounter = 0;
  let viewCounter = 0;
  const buckets = new Map<string, { tokens: number; at: number }>();

  /** Seconds to wait when `method` is over its rate now (Slack's Retry-After, at least 1), else 0 and a token taken. */
  const rateLimitWait = (method: string, args: Record<string, unknown>): number => {
    const limit = options.rateLimited ? SLACK_RATE_LIMITS[method] : undefined;
    if (!limit) return 0;
    const channel = stringOrUndefined(args.channel);
    const id = channel ? `${method}/${conversationFor(channel)}` : method;
    const scale = channel ? 1 : Math.max(1, options.workspaces ?? 1);
    const perMs = (limit.perMinute * scale) / 60_000;
    const burst = limit.burst * scale;
    const now = Date.now();
    const bucket = buckets.get(id) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + (now - bucket.at) * perMs);
    bucket.at = now;
    buckets.set(id, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
  };

  const nextTs = (): string => {
    tsCounter += 1;
    const micros = TS_BASE_MICROS + tsCounter * 100;
    return `${Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, '0')}`;
  };
  const dmChannelFor = (user: string): string => `D${user}`;
  /** chat.postMessage and chat.postEphemeral accept a user id and post to the app's DM with that user. */
  const conversationFor = (channel: string): string => (/^[UW]/.test(channel) ? dmChannelFor(channel) : channel);
  const key = (channel: string, ts: string): string => `${channel}/${ts}`;

  const record = (call: RecordedCall): void => {
    calls.push(call);
    for (const waiter of [...waiters]) {
      if (waiter.method === call.method && waiter.predicate(call)) {
        waiters.delete(waiter);
        waiter.resolve(call);
      }
    }
  };

  const takeFault = (method: string, args: Record<string, unknown>): (Fault & { retryAfter: number }) | undefined => {
    const queue = faults.get(method);
    const index = queue?.findIndex((fault) => !fault.match || fault.match(args)) ?? -1;
    if (!queue || index < 0) return undefined;
    const [fault] = queue.splice(index, 1);
    if (queue.length === 0) faults.delete(method);
    return fault;
  };

  const takeHold = (method: string, args: Record<string, unknown>): Hold | undefined => {
    const queue = holds.get(method) ?? [];
    const index = queue.findIndex((hold) => !hold.match || hold.match(args));
    return index < 0 ? undefined : queue.splice(index, 1)[0];
  };

  const postMessageVersion = (channel: string, ts: string, args: Record<string, unknown>, via: MessageVersion['via']): SlackMessage => {
    const version: MessageVersion = {
      text: stringOrUndefined(args.text),
      blocks: arrayOrUndefined(args.blocks),
      attachments: arrayOrUndefined(args.attachments),
      at: Date.now(),
      via,
    };
    const message: SlackMessage = {
      channel,
      ts,
      threadTs: stringOrUndefined(args.thread_ts),
      ...pickContent(version),
      deleted: false,
      history: [version],
      metadata: metadataOf(args.metadata),
    };
    messages.set(key(channel, ts), message);
    return message;
  };

  /** Fields absent from an update keep their value, as chat.update documents for blocks and attachments. */
  const updateMessage = (message: SlackMessage, args: Record<string, unknown>, via: MessageVersion['via']): void => {
    const version: MessageVersion = {
      text: 'text' in args ? stringOrUndefined(args.text) : message.text,
      blocks: 'blocks' in args ? arrayOrUndefined(args.blocks) : message.blocks,
      attachments: 'attachments' in args ? arrayOrUndefined(args.attachments) : message.attachments,
      at: Date.now(),
      via,
    };
    Object.assign(message, pickContent(version));
    message.history.push(version);
  };

  const messageObject = (message: SlackMessage, withMetadata = false): Record<string, unknown> => ({
    type: 'message',
    user: team.botUserId,
    bot_id: team.botId,
    app_id: team.appId,
    team: team.id,
    ts: message.ts,
    text: message.text ?? '',
    ...(message.blocks ? { blocks: message.blocks } : {}),
    ...(message.attachments ? { attachments: message.attachments } : {}),
    ...(message.threadTs ? { thread_ts: message.threadTs } : {}),
    ...(withMetadata && message.metadata ? { metadata: message.metadata } : {}),
  });

  const exchangeTrigger = (triggerId: unknown): ApiError | undefined => {
    if (typeof triggerId !== 'string' || triggerId === '') return fail('invalid_arguments', ['[ERROR] missing required field: trigger_id']);
    if (exchangedTriggers.has(triggerId)) return fail('exchanged_trigger_id');
    const minted = mintedTriggers.get(triggerId);
    if (minted !== undefined && Date.now() - minted > triggerTtlMs) return fail('expired_trigger_id');
    return undefined;
  };

  const storeView = (input: Record<string, unknown>, id: string, previous?: SlackView): SlackView => {
    const view: SlackView = {
      id,
      team_id: team.id,
      app_id: team.appId,
      bot_id: team.botId,
      app_installed_team_id: team.id,
      callback_id: '',
      private_metadata: '',
      external_id: '',
      clear_on_close: false,
      notify_on_close: false,
      close: null,
      submit: null,
      state: { values: {} },
      root_view_id: previous ? previous.root_view_id : id,
      previous_view_id: null,
      ...input,
      type: typeof input.type === 'string' ? input.type : 'modal',
      hash: `${Math.floor(Date.now() / 1000)}.${randomBytes(4).toString('hex')}`,
    };
    views.set(id, view);
    return view;
  };

  const viewArgument = (args: Record<string, unknown>): { view: Record<string, unknown> } | { error: ApiError } => {
    const view = args.view;
    if (!isObject(view)) return { error: fail('invalid_arguments', ['[ERROR] missing required field: view']) };
    const problems = checkView(view);
    return problems.length > 0 ? { error: fail('invalid_arguments', problems) } : { view };
  };

  /** views.open and views.push both exchange the trigger; a rejected view leaves the trigger unused. */
  const openView = (args: Record<string, unknown>): ApiResult | ApiError => {
    const parsed = viewArgument(args);
    if ('error' in parsed) return parsed.error;
    const triggerError = exchangeTrigger(args.trigger_id);
    if (triggerError) return triggerError;
    exchangedTriggers.add(args.trigger_id as string);
    viewCounter += 1;
    return { ok: true, view: storeView(parsed.view, `V${String(viewCounter).padStart(10, '0')}`) };
  };

  const users = new Map(Object.entries(options.users ?? {}));
  const usergroups = new Map(Object.entries(options.usergroups ?? {}));
  const handlers = {
    // The email is in the profile only with users:read.email, as Slack documents.
    'users.info': (args: Record<string, unknown>) => {
      const id = stringOrUndefined(args.user);
      const found = id ? users.get(id) : undefined;
      if (!id || !found) return fail('user_not_found');
      const profile = { real_name: found.name ?? id, ...(found.email && scopes.has('users:read.email') ? { email: found.email } : {}) };
      return { ok: true, user: { id, team_id: team.id, name: found.name ?? id.toLowerCase(), deleted: false, profile } };
    },
    'usergroups.list': (args: Record<string, unknown>) => ({
      ok: true,
      usergroups: [...usergroups.entries()].map(([id, members]) => ({
        id, team_id: team.id, handle: id.toLowerCase(), name: id, is_usergroup: true, user_count: members.length,
        ...(args.include_users === true || args.include_users === 'true' ? { users: [...members] } : {}),
      })),
    }),
    'auth.test': () => ({
      ok: true,
      url: `https://${team.domain}.slack.com/`,
      team: team.domain,
      user: 'dbaccess',
      team_id: team.id,
      user_id: team.botUserId,
      bot_id: team.botId,
      is_enterprise_install: false,
    }),

    'chat.postMessage': (args) => {
      const channel = stringOrUndefined(args.channel);
      if (!channel) return fail('channel_not_found');
      const content = checkMessageContent(args);
      if (content) return content;
      const message = postMessageVersion(conversationFor(channel), nextTs(), args, 'chat.postMessage');
      return { ok: true, channel: message.channel, ts: message.ts, message: messageObject(message) };
    },

    'chat.update': (args) => {
      const channel = stringOrUndefined(args.channel);
      const ts = stringOrUndefined(args.ts);
      // chat.update needs the conversation id (D…), not a user id, unlike chat.postMessage.
      if (!channel || /^[UW]/.test(channel)) return fail('channel_not_found');
      if (!ts) return fail('message_not_found');
      const message = messages.get(key(channel, ts));
      if (!message || message.deleted) return fail('message_not_found');
      const content = checkMessageContent(args);
      if (content) return content;
      updateMessage(message, args, 'chat.update');
      return { ok: true, channel, ts, text: message.text ?? '', message: messageObject(message) };
    },

    'chat.postEphemeral': (args) => {
      const channel = stringOrUndefined(args.channel);
      const user = stringOrUndefined(args.user);
      if (!channel) return fail('channel_not_found');
      if (!user) return fail('user_not_in_channel');
      const content = checkMessageContent(args);
      if (content) return content;
      const messageTs = nextTs();
      ephemerals.push({
        channel: conversationFor(channel),
        user,
        messageTs,
        text: stringOrUndefined(args.text),
        blocks: arrayOrUndefined(args.blocks),
        at: Date.now(),
        via: 'chat.postEphemeral',
      });
      return { ok: true, message_ts: messageTs };
    },

    'chat.delete': (args) => {
      const channel = stringOrUndefined(args.channel);
      const ts = stringOrUndefined(args.ts);
      if (!channel || /^[UW]/.test(channel)) return fail('channel_not_found');
      const message = ts ? messages.get(key(channel, ts)) : undefined;
      if (!message || message.deleted) return fail('message_not_found');
      message.deleted = true;
      return { ok: true, channel, ts: message.ts };
    },

    'conversations.open': (args) => {
      const users = stringOrUndefined(args.users)?.split(',').map((user) => user.trim()).filter(Boolean) ?? [];
      const channelArg = stringOrUndefined(args.channel);
      if (users.length === 0 && !channelArg) return fail('users_list_not_supplied');
      if (users.some((user) => !/^[UW][A-Z0-9]+$/.test(user))) return fail('user_not_found');
      const id = channelArg ?? (users.length === 1 ? dmChannelFor(users[0] as string) : `G${users.join('')}`);
      const alreadyOpen = openedIms.has(id);
      openedIms.add(id);
      return { ok: true, ...(alreadyOpen ? { no_op: true, already_open: true } : {}), channel: { id } };
    },

    /**
     * A conversation's messages, newest first (thread replies are not listed), between `oldest` and
     * `latest`, `limit` a page (default 100, at most 999) with a cursor; metadata only with
     * `include_all_metadata`.
     */
    'conversations.history': (args) => {
      const channel = stringOrUndefined(args.channel);
      if (!channel || /^[UW]/.test(channel)) return fail('channel_not_found');
      const needed = channel.startsWith('C') ? 'channels:history' : channel.startsWith('G') ? 'groups:history' : 'im:history';
      if (!scopes.has(needed)) return { ok: false, error: 'missing_scope', needed, provided: [...scopes].join(',') };
      const oldest = Number(stringOrUndefined(args.oldest) ?? '0');
      const latest = Number(stringOrUndefined(args.latest) ?? 'Infinity');
      const limit = Math.min(Math.max(Number(args.limit ?? 100) || 100, 1), 999);
      const offset = Number(stringOrUndefined(args.cursor)?.replace(/^offset:/, '') ?? '0') || 0;
      const withMetadata = args.include_all_metadata === true || args.include_all_metadata === 'true';
      const listed = [...messages.values()]
        .filter((message) => message.channel === channel && !message.deleted && (!message.threadTs || message.threadTs === message.ts))
        // The fake's ts are counters from a fixed base, not times: `oldest` and `latest` (times, as Slack's
        // ts are) are compared with when the message was posted.
        .filter((message) => message.history[0]!.at / 1000 > oldest && message.history[0]!.at / 1000 < latest)
        .sort((a, b) => Number(b.ts) - Number(a.ts));
      const page = listed.slice(offset, offset + limit);
      const more = offset + limit < listed.length;
      return { ok: true, messages: page.map((message) => messageObject(message, withMetadata)), has_more: more, response_metadata: { next_cursor: more ? `offset:${offset + limit}` : '' } };
    },

    'views.open': (args) => openView(args),

    // Slack also caps the stack at 3 views (push_limit_reached); not modelled.
    'views.push': (args) => openView(args),

    'views.update': (args) => {
      const viewId = stringOrUndefined(args.view_id);
      const externalId = stringOrUndefined(args.external_id);
      if (!viewId && !externalId) return fail('invalid_arguments', ['[ERROR] either view_id or external_id is required']);
      const parsed = viewArgument(args);
      if ('error' in parsed) return parsed.error;
      const current = viewId ? views.get(viewId) : [...views.values()].find((view) => view.external_id === externalId);
      if (!current) return fail('not_found');
      const hash = stringOrUndefined(args.hash);
      if (hash !== undefined && hash !== current.hash) return fail('hash_conflict');
      return { ok: true, view: storeView(parsed.view, current.id, current) };
    },
  } satisfies Record<Method, Handler>;

  const handleApi = async (method: string, req: IncomingMessage, raw: Buffer, url: URL, res: ServerResponse): Promise<void> => {
    const at = Date.now();
    const parsed = await parseArgs(req, raw, url);
    const hold = takeHold(method, parsed.args);
    if (hold) await hold.until({ args: parsed.args, gone: new Promise((resolve) => res.once('close', () => resolve())) });
    const token = bearerToken(req) ?? parsed.bodyToken;
    const fault = takeFault(method, parsed.args);
    const answer = (status: number, response: Record<string, unknown>, headers: Record<string, string> = {}): void => {
      record({ method, args: parsed.args, token, at, status, response });
      if (fault?.lost) res.socket?.destroy();
      else if (!res.destroyed) sendJson(res, status, response, headers);
    };

    if (fault?.status === 429) {
      answer(429, { ok: false, error: 'ratelimited' }, { 'Retry-After': String(fault.retryAfter) });
      return;
    }
    if (fault?.status === 500) {
      answer(500, { ok: false, error: fault.error ?? 'internal_error' });
      return;
    }
    if (fault && !fault.lost) {
      answer(200, { ok: false, error: fault.error ?? 'internal_error' });
      return;
    }
    const wait = rateLimitWait(method, parsed.args);
    if (wait > 0) {
      answer(429, { ok: false, error: 'ratelimited' }, { 'Retry-After': String(wait) });
      return;
    }
    if (!token) {
      answer(200, { ok: false, error: 'not_authed' });
      return;
    }
    // apps.connections.open takes the app-level token only; every other method refuses it.
    if (method === 'apps.connections.open' || token.startsWith('xapp-')) {
      answer(200, appTokenCall(method, token));
      return;
    }
    if (!token.startsWith('xoxb-') || (options.botToken !== undefined && token !== options.botToken)) {
      answer(200, { ok: false, error: 'invalid_auth' });
      return;
    }
    const scopeHeaders = { 'X-OAuth-Scopes': [...scopes].join(',') };
    if (!isMethod(method)) {
      answer(200, { ok: false, error: 'unknown_method', req_method: method }, scopeHeaders);
      return;
    }
    const needed = REQUIRED_SCOPE[method];
    if (needed !== null && !scopes.has(needed)) {
      answer(200, { ok: false, error: 'missing_scope', needed, provided: [...scopes].join(',') }, {
        ...scopeHeaders,
        'X-Accepted-OAuth-Scopes': needed,
      });
      return;
    }
    if (parsed.error) {
      answer(200, parsed.error, scopeHeaders);
      return;
    }
    answer(200, handlers[method](parsed.args), { ...scopeHeaders, ...(needed ? { 'X-Accepted-OAuth-Scopes': needed } : {}) });
  };

  const appTokenCall = (method: string, token: string): ApiResult | ApiError => {
    if (method !== 'apps.connections.open' || !token.startsWith('xapp-')) return fail('not_allowed_token_type');
    if (!socket || token !== options.socketMode?.appToken) return fail('invalid_auth');
    return { ok: true, url: socket.mintUrl() };
  };

  const handleResponseUrl = (id: string, req: IncomingMessage, raw: Buffer, res: ServerResponse): void => {
    const at = Date.now();
    let args: Record<string, unknown> = {};
    let invalid = false;
    try {
      const body: unknown = JSON.parse(raw.toString('utf8'));
      if (isObject(body)) args = body;
      else invalid = true;
    } catch {
      invalid = true;
    }
    const answer = (status: number, text: string): void => {
      record({ method: 'response_url', args, token: undefined, at, status, response: text, responseUrlId: id });
      res.writeHead(status, { 'Content-Type': 'text/html' });
      res.end(text);
    };

    const fault = takeFault('response_url', args);
    if (fault) {
      if (fault.status === 429) res.setHeader('Retry-After', String(fault.retryAfter));
      answer(fault.status ?? 400, fault.error ?? (fault.status === 429 ? 'rate_limited' : 'internal_error'));
      return;
    }
    if (req.method !== 'POST') return answer(405, 'invalid_method');
    if (invalid) return answer(400, 'invalid_payload');
    const entry = responseUrls.get(id) ?? { target: {}, uses: 0 };
    responseUrls.set(id, entry);
    // Bolt's respond() treats any non-2xx as a failure; the exact body Slack sends past the limit is not documented.
    if (entry.uses >= RESPONSE_URL_USES) return answer(404, 'used_url');
    const { channel, user, messageTs } = entry.target;
    const original = channel && messageTs ? messages.get(key(channel, messageTs)) : undefined;

    if (args.delete_original === true || args.delete_original === 'true') {
      if (!original || original.deleted) return answer(404, 'message_not_found');
      entry.uses += 1;
      original.deleted = true;
      return answer(200, 'ok');
    }
    const hasContent = typeof args.text === 'string' || Array.isArray(args.blocks) || Array.isArray(args.attachments);
    if (!hasContent) return answer(400, 'no_text');
    const problems = Array.isArray(args.blocks) ? checkBlocks(args.blocks, 'message') : [];
    if (problems.length > 0) return answer(400, 'invalid_blocks');
    entry.uses += 1;

    if (args.replace_original === true || args.replace_original === 'true') {
      if (original && !original.deleted) updateMessage(original, args, 'response_url');
      return answer(200, 'ok');
    }
    if (args.response_type === 'in_channel' && channel) {
      postMessageVersion(channel, nextTs(), args, 'response_url');
    } else if (channel && user) {
      ephemerals.push({
        channel,
        user,
        messageTs: nextTs(),
        text: stringOrUndefined(args.text),
        blocks: arrayOrUndefined(args.blocks),
        at: Date.now(),
        via: 'response_url',
      });
    }
    return answer(200, 'ok');
  };

  const server = createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname.startsWith('/api/')) {
        await handleApi(decodeURIComponent(url.pathname.slice('/api/'.length)), req, raw, url, res);
      } else if (url.pathname.startsWith('/response/')) {
        handleResponseUrl(decodeURIComponent(url.pathname.slice('/response/'.length)), req, raw, res);
      } else {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('not found');
      }
    })().catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(`fake slack failed: ${(error as Error).message}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;

  return {
    apiUrl: `${origin}/api/`,
    url: origin,
    calls,
    responseUrl(id, target = {}) {
      const entry = responseUrls.get(id);
      if (entry) entry.target = { ...entry.target, ...target };
      else responseUrls.set(id, { target, uses: 0 });
      return `${origin}/response/${encodeURIComponent(id)}`;
    },
    triggerId() {
      const id = `${Date.now() % 1e11}.${Math.floor(Math.random() * 1e9)}.${randomBytes(16).toString('hex')}`;
      mintedTriggers.set(id, Date.now());
      return id;
    },
    callsTo: (method) => calls.filter((call) => call.method === method),
    waitFor(method, predicate = () => true, timeoutMs = 10_000) {
      const found = calls.find((call) => call.method === method && predicate(call));
      if (found) return Promise.resolve(found);
      return new Promise<RecordedCall>((resolve, reject) => {
        const waiter = {
          method,
          predicate,
          resolve: (call: RecordedCall) => {
            clearTimeout(timer);
            resolve(call);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          const seen = calls.filter((call) => call.method === method).map((call) => JSON.stringify(call.args));
          reject(new Error(`fake Slack: no matching ${method} within ${timeoutMs} ms; ${method} calls seen: ${seen.length === 0 ? 'none' : seen.join('\n')}`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    setUsergroup(id, members) {
      if (members.length === 0) usergroups.delete(id);
      else usergroups.set(id, [...members]);
    },
    failNext(method, fault = {}) {
      const queue = faults.get(method) ?? [];
      for (let i = 0; i < (fault.count ?? 1); i += 1) queue.push({ ...fault, retryAfter: fault.retryAfter ?? 1 });
      faults.set(method, queue);
    },
    holdNext(method, hold) {
      holds.set(method, [...(holds.get(method) ?? []), hold]);
    },
    message: (channel, ts) => messages.get(key(conversationFor(channel), ts)),
    messagesIn(channel) {
      const conversation = conversationFor(channel);
      return [...messages.values()]
        .filter((message) => message.channel === conversation && !message.deleted)
        .sort((a, b) => Number(a.ts) - Number(b.ts));
    },
    ephemeralsFor: (user) => ephemerals.filter((ephemeral) => ephemeral.user === user),
    view: (id) => views.get(id),
    dmChannelFor,
    socket,
    async close() {
      waiters.clear();
      await socket?.close();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

async function manifestBotScopes(): Promise<string[]> {
  const manifest: unknown = parseYaml(await readFile(MANIFEST_URL, 'utf8'));
  const scopes = isObject(manifest) && isObject(manifest.oauth_config) && isObject(manifest.oauth_config.scopes)
    ? manifest.oauth_config.scopes.bot
    : undefined;
  if (!Array.isArray(scopes) || !scopes.every((scope) => typeof scope === 'string')) {
    throw new Error(`fake Slack: ${MANIFEST_URL.pathname} has no oauth_config.scopes.bot list`);
  }
  return scopes;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

interface ParsedArgs {
  args: Record<string, unknown>;
  bodyToken: string | undefined;
  error?: ApiError;
}

/** Slack takes arguments from the query string and from a form, multipart or JSON body. */
async function parseArgs(req: IncomingMessage, raw: Buffer, url: URL): Promise<ParsedArgs> {
  const args: Record<string, unknown> = Object.fromEntries(url.searchParams);
  const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  let error: ApiError | undefined;
  let bodyToken: string | undefined;

  if (contentType === 'application/json') {
    try {
      const body: unknown = JSON.parse(raw.toString('utf8'));
      if (isObject(body)) Object.assign(args, body);
      else error = fail('invalid_json');
    } catch {
      error = fail('invalid_json');
    }
    // A JSON body cannot carry the token: Slack reads it only from the Authorization header.
    delete args.token;
  } else if (contentType === 'multipart/form-data') {
    const form = await new Response(raw, { headers: { 'content-type': req.headers['content-type'] ?? '' } }).formData();
    form.forEach((value, name) => {
      args[name] = typeof value === 'string' ? value : `<file ${value.name}>`;
    });
  } else if (contentType === 'application/x-www-form-urlencoded' || raw.length === 0) {
    Object.assign(args, Object.fromEntries(new URLSearchParams(raw.toString('utf8'))));
  } else {
    error = fail('invalid_form_data');
  }
  if (typeof args.token === 'string') bodyToken = args.token;
  delete args.token;

  for (const field of JSON_FIELDS) {
    const value = args[field];
    if (typeof value !== 'string') continue;
    try {
      args[field] = JSON.parse(value);
    } catch {
      error ??= fail(field === 'blocks' ? 'invalid_blocks_format' : field === 'attachments' ? 'invalid_attachments' : 'invalid_arguments');
    }
  }
  return error ? { args, bodyToken, error } : { args, bodyToken };
}

function bearerToken(req: IncomingMessage): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  return match?.[1];
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

function fail(error: string, messages?: string[]): ApiError {
  return messages ? { ok: false, error, response_metadata: { messages } } : { ok: false, error };
}

function checkMessageContent(args: Record<string, unknown>): ApiError | undefined {
  const text = stringOrUndefined(args.text);
  const hasBlocks = Array.isArray(args.blocks) && args.blocks.length > 0;
  const hasAttachments = Array.isArray(args.attachments) && args.attachments.length > 0;
  if (!text && !hasBlocks && !hasAttachments) return fail('no_text');
  if ('blocks' in args && !Array.isArray(args.blocks)) return fail('invalid_blocks_format');
  if (text && text.length > 40_000) return fail('msg_too_long');
  const problems = Array.isArray(args.blocks) ? checkBlocks(args.blocks, 'message') : [];
  return problems.length > 0 ? { ...fail('invalid_blocks', problems), errors: problems } : undefined;
}

/** The Block Kit limits apps most often trip over; Slack rejects the whole call when one is broken. */
function checkBlocks(blocks: unknown[], surface: 'message' | 'modal'): string[] {
  const problems: string[] = [];
  const maxBlocks = surface === 'message' ? 50 : 100;
  if (blocks.length > maxBlocks) problems.push(`[ERROR] no more than ${maxBlocks} items allowed [json-pointer:/blocks]`);
  const blockIds = new Set<string>();
  blocks.forEach((block, index) => {
    const at = `/blocks/${index}`;
    if (!isObject(block) || typeof block.type !== 'string') {
      problems.push(`[ERROR] missing required field: type [json-pointer:${at}]`);
      return;
    }
    if (block.block_id !== undefined) {
      if (typeof block.block_id !== 'string' || block.block_id.length > 255) problems.push(`[ERROR] invalid block_id [json-pointer:${at}/block_id]`);
      else if (blockIds.has(block.block_id)) problems.push(`[ERROR] duplicate block_id [json-pointer:${at}/block_id]`);
      else blockIds.add(block.block_id);
    }
    const actionIds = new Set<string>();
    const checkElement = (element: unknown, path: string): void => {
      if (!isObject(element) || typeof element.type !== 'string') {
        problems.push(`[ERROR] missing required field: type [json-pointer:${path}]`);
        return;
      }
      if (typeof element.action_id === 'string') {
        if (element.action_id.length > 255) problems.push(`[ERROR] must be less than 256 characters [json-pointer:${path}/action_id]`);
        if (actionIds.has(element.action_id)) problems.push(`[ERROR] duplicate action_id [json-pointer:${path}/action_id]`);
        actionIds.add(element.action_id);
      }
      if (element.type === 'button') {
        checkText(element.text, 75, `${path}/text`, problems, true);
        if (typeof element.value === 'string' && element.value.length > 2000) problems.push(`[ERROR] must be less than 2001 characters [json-pointer:${path}/value]`);
      }
    };
    switch (block.type) {
      case 'section':
        if (block.text === undefined && block.fields === undefined) problems.push(`[ERROR] must provide either text or fields [json-pointer:${at}]`);
        if (block.text !== undefined) checkText(block.text, 3000, `${at}/text`, problems);
        if (Array.isArray(block.fields)) {
          if (block.fields.length > 10) problems.push(`[ERROR] no more than 10 items allowed [json-pointer:${at}/fields]`);
          block.fields.forEach((field, i) => checkText(field, 2000, `${at}/fields/${i}`, problems));
        }
        if (block.accessory !== undefined) checkElement(block.accessory, `${at}/accessory`);
        break;
      case 'header':
        checkText(block.text, 150, `${at}/text`, problems, true);
        break;
      case 'actions':
        if (!Array.isArray(block.elements) || block.elements.length === 0) problems.push(`[ERROR] missing required field: elements [json-pointer:${at}]`);
        else {
          if (block.elements.length > 25) problems.push(`[ERROR] no more than 25 items allowed [json-pointer:${at}/elements]`);
          block.elements.forEach((element, i) => checkElement(element, `${at}/elements/${i}`));
        }
        break;
      case 'context':
        if (!Array.isArray(block.elements) || block.elements.length === 0) problems.push(`[ERROR] missing required field: elements [json-pointer:${at}]`);
        else if (block.elements.length > 10) problems.push(`[ERROR] no more than 10 items allowed [json-pointer:${at}/elements]`);
        break;
      case 'input':
        if (surface === 'message') problems.push(`[ERROR] input blocks are not allowed in messages [json-pointer:${at}]`);
        checkText(block.label, 2000, `${at}/label`, problems, true);
        if (block.element === undefined) problems.push(`[ERROR] missing required field: element [json-pointer:${at}]`);
        else checkElement(block.element, `${at}/element`);
        break;
      default:
        break;
    }
  });
  return problems;
}

function checkView(view: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (view.type !== 'modal') problems.push('[ERROR] must be modal [json-pointer:/view/type]');
  checkText(view.title, 24, '/view/title', problems, true);
  if (view.submit !== undefined) checkText(view.submit, 24, '/view/submit', problems, true);
  if (view.close !== undefined) checkText(view.close, 24, '/view/close', problems, true);
  if (typeof view.private_metadata === 'string' && view.private_metadata.length > 3000) {
    problems.push('[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]');
  }
  if (typeof view.callback_id === 'string' && view.callback_id.length > 255) {
    problems.push('[ERROR] must be less than 256 characters [json-pointer:/view/callback_id]');
  }
  if (!Array.isArray(view.blocks)) {
    problems.push('[ERROR] missing required field: blocks [json-pointer:/view/blocks]');
    return problems;
  }
  const hasInput = view.blocks.some((block) => isObject(block) && block.type === 'input');
  if (hasInput && view.submit === undefined) problems.push('[ERROR] a view with input blocks needs submit [json-pointer:/view/submit]');
  return [...problems, ...checkBlocks(view.blocks, 'modal').map((problem) => problem.replace('[json-pointer:/', '[json-pointer:/view/'))];
}

function checkText(text: unknown, max: number, path: string, problems: string[], plainOnly = false): void {
  if (!isObject(text) || typeof text.text !== 'string' || typeof text.type !== 'string') {
    problems.push(`[ERROR] missing required field: text [json-pointer:${path}]`);
    return;
  }
  if (plainOnly && text.type !== 'plain_text') problems.push(`[ERROR] must be plain_text [json-pointer:${path}/type]`);
  if (text.text.length === 0) problems.push(`[ERROR] must be more than 0 characters [json-pointer:${path}/text]`);
  if (text.text.length > max) problems.push(`[ERROR] must be less than ${max + 1} characters [json-pointer:${path}/text]`);
}

function pickContent(version: MessageVersion): Pick<SlackMessage, 'text' | 'blocks' | 'attachments'> {
  return { text: version.text, blocks: version.blocks, attachments: version.attachments };
}

function isMethod(method: string): method is Method {
  return Object.hasOwn(REQUIRED_SCOPE, method);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** chat.postMessage `metadata`: an event type and a payload object, as Slack stores it. */
function metadataOf(value: unknown): SlackMessage['metadata'] {
  if (!value || typeof value !== 'object') return undefined;
  const { event_type: type, event_payload: payload } = value as Record<string, unknown>;
  return typeof type === 'string' && payload && typeof payload === 'object' ? { event_type: type, event_payload: payload as Record<string, unknown> } : undefined;
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function arrayOrUndefined(value: unknown): unknown[] | undefined {
  return Array.isArray(value) ? value : undefined;
}
