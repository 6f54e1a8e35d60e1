/**
 * Requests as Slack sends them to an app's Request URL: signed, form-encoded, with the payload shapes of
 * real slash commands, button clicks and modal submissions. The payloads are typed with Bolt's own types
 * (`SlashCommand`, `BlockAction`, `ViewSubmitAction`), so a misspelt field fails the type check.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { BlockAction, ButtonAction, SlashCommand, ViewOutput, ViewStateValue, ViewSubmitAction } from '@slack/bolt';

/** Exactly what Slack sends: Bolt compares the header with `===`, so a `; charset=utf-8` suffix gets a 400. */
export const SLACK_CONTENT_TYPE = 'application/x-www-form-urlencoded';
/** Slack's legacy verification token is still sent in every payload; Bolt ignores it. */
const VERIFICATION_TOKEN = 'verification-token-unused';
const DEFAULTS = {
  teamDomain: 'dbaccess-test',
  apiAppId: 'A0DBACCESS',
  channelId: 'C0DBACCESS',
  botUserId: 'U0DBBOT',
  botId: 'B0DBBOT',
} as const;

export interface SlackRequestHeaders {
  'Content-Type': string;
  'X-Slack-Request-Timestamp': string;
  'X-Slack-Signature': string;
  'User-Agent': string;
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** `v0=` + hex HMAC-SHA256(signing secret, `v0:{timestamp}:{raw body}`). */
export function slackSignature(secret: string, body: string, timestamp: number): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export function signSlackRequest(secret: string, body: string, timestamp: number = nowSeconds()): SlackRequestHeaders {
  return {
    'Content-Type': SLACK_CONTENT_TYPE,
    'X-Slack-Request-Timestamp': String(timestamp),
    'X-Slack-Signature': slackSignature(secret, body, timestamp),
    'User-Agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
  };
}

/** A trigger id in Slack's format (`digits.digits.hex`). */
export function newTriggerId(): string {
  return `${Date.now() % 1e11}.${Math.floor(Math.random() * 1e9)}.${randomBytes(16).toString('hex')}`;
}

/** The person acting, and their workspace. */
export interface SlackActor {
  teamId: string;
  userId: string;
  /** Default: derived from the user id. */
  userName?: string;
  teamDomain?: string;
  apiAppId?: string;
}

export interface SlashCommandInput extends SlackActor {
  text: string;
  responseUrl: string;
  triggerId?: string;
  channelId?: string;
  channelName?: string;
  command?: string;
}

/** The form body Slack posts for `/dbaccess <text>`. */
export function slashCommand(input: SlashCommandInput): string {
  const channelId = input.channelId ?? DEFAULTS.channelId;
  const command: SlashCommand = {
    token: VERIFICATION_TOKEN,
    team_id: input.teamId,
    team_domain: input.teamDomain ?? DEFAULTS.teamDomain,
    channel_id: channelId,
    channel_name: input.channelName ?? channelNameFor(channelId),
    user_id: input.userId,
    user_name: userNameFor(input),
    command: input.command ?? '/dbaccess',
    text: input.text,
    api_app_id: input.apiAppId ?? DEFAULTS.apiAppId,
    is_enterprise_install: 'false',
    response_url: input.responseUrl,
    trigger_id: input.triggerId ?? newTriggerId(),
  };
  return new URLSearchParams(Object.entries(command).filter((entry): entry is [string, string] => typeof entry[1] === 'string')).toString();
}

/** A message as the app posted it: pass one from the fake (`fake.message(channel, ts)`) to click its buttons. */
export interface SourceMessage {
  ts: string;
  channel?: string;
  text?: string;
  blocks?: unknown[];
}

/** A modal as the app opened it: pass one from the fake (`fake.view(id)`). */
export interface SourceView {
  id?: string;
  callback_id?: string;
  private_metadata?: string;
  blocks?: unknown[];
  [field: string]: unknown;
}

export interface BlockActionInput extends SlackActor {
  actionId: string;
  /** Where the button is. Its `block_id`, `value` and text are read from there unless given. */
  message?: SourceMessage;
  view?: SourceView;
  /** For a click in a modal: what the person has entered so far (the view's state). */
  viewValues?: ViewStateValues;
  blockId?: string;
  value?: string;
  buttonText?: string;
  /** Slack sends a response_url for clicks in messages, not in modals. */
  responseUrl?: string;
  triggerId?: string;
  channelId?: string;
  channelName?: string;
  /** Clicks in ephemeral messages carry no `message`. */
  isEphemeral?: boolean;
  botUserId?: string;
}

/** The `payload=` body Slack posts when someone clicks a button. */
export function blockAction(input: BlockActionInput): string {
  const source = input.view?.blocks ?? input.message?.blocks;
  const element = source ? findElement(source, input.actionId) : undefined;
  if (source && !element) {
    throw new Error(`blockAction: no element with action_id "${input.actionId}" in the ${input.view ? 'view' : 'message'}; a person could not click it`);
  }
  const value = input.value ?? element?.value;
  const action: ButtonAction = {
    type: 'button',
    action_id: input.actionId,
    block_id: input.blockId ?? element?.blockId ?? randomBlockId(),
    text: { type: 'plain_text', text: input.buttonText ?? element?.text ?? input.actionId, emoji: true },
    action_ts: slackTs(),
    ...(value !== undefined ? { value } : {}),
  };
  const common = {
    type: 'block_actions' as const,
    user: actorUser(input),
    api_app_id: input.apiAppId ?? DEFAULTS.apiAppId,
    token: VERIFICATION_TOKEN,
    trigger_id: input.triggerId ?? newTriggerId(),
    team: { id: input.teamId, domain: input.teamDomain ?? DEFAULTS.teamDomain },
    is_enterprise_install: false,
    state: { values: {} },
    actions: [action],
  };

  let payload: BlockActionPayload;
  if (input.view) {
    payload = {
      ...common,
      container: { type: 'view', view_id: input.view.id ?? 'V0000000000' },
      view: viewOutput(input.view, input.teamId, input.viewValues ?? {}),
      ...(input.responseUrl ? { response_url: input.responseUrl } : {}),
    };
  } else {
    if (!input.responseUrl) throw new Error('blockAction: a click in a message needs the responseUrl Slack sends with it');
    const channelId = input.channelId ?? input.message?.channel ?? DEFAULTS.channelId;
    const messageTs = input.message?.ts ?? slackTs();
    payload = {
      ...common,
      container: { type: 'message', message_ts: messageTs, channel_id: channelId, is_ephemeral: input.isEphemeral ?? false },
      channel: { id: channelId, name: input.channelName ?? channelNameFor(channelId) },
      response_url: input.responseUrl,
      ...(input.isEphemeral
        ? {}
        : {
            message: {
              type: 'message' as const,
              user: input.botUserId ?? DEFAULTS.botUserId,
              bot_id: DEFAULTS.botId,
              app_id: input.apiAppId ?? DEFAULTS.apiAppId,
              team: input.teamId,
              ts: messageTs,
              text: input.message?.text ?? '',
              ...(input.message?.blocks ? { blocks: input.message.blocks } : {}),
            },
          }),
    };
  }
  // Slack sends `enterprise: null` outside Enterprise Grid; Bolt's type only allows it to be absent.
  return payloadBody({ ...payload, enterprise: null });
}

/** Bolt's BlockAction, with response_url optional: Slack sends none for clicks inside modals. */
type BlockActionPayload = Omit<BlockAction<ButtonAction>, 'response_url'> & { response_url?: string };

export type ViewStateValues = Record<string, Record<string, ViewStateValue>>;

export interface ViewSubmissionInput extends SlackActor {
  /** The modal being submitted, as the app opened it (`fake.view(id)`), or at least its callback_id. */
  view: SourceView & { callback_id: string };
  /** What the person entered: `{ [block_id]: { [action_id]: value } }`; use `plainTextInput()` and friends. */
  values: ViewStateValues;
  triggerId?: string;
}

/**
 * The `payload=` body Slack posts when someone submits a modal. When the view's blocks are known, values must
 * name its input blocks, unfilled optional inputs are sent as empty (as Slack does), and an unfilled required
 * input throws: Slack's client would not submit the form.
 */
export function viewSubmission(input: ViewSubmissionInput): string {
  const values = input.view.blocks ? completeValues(input.view.blocks, input.values) : input.values;
  const payload: ViewSubmitAction & { user: { username: string } } = {
    type: 'view_submission',
    team: { id: input.teamId, domain: input.teamDomain ?? DEFAULTS.teamDomain },
    user: actorUser(input),
    api_app_id: input.apiAppId ?? DEFAULTS.apiAppId,
    token: VERIFICATION_TOKEN,
    trigger_id: input.triggerId ?? newTriggerId(),
    view: viewOutput(input.view, input.teamId, values),
    response_urls: [],
    is_enterprise_install: false,
  };
  return payloadBody({ ...payload, enterprise: null });
}

export const plainTextInput = (value: string | null): ViewStateValue => ({ type: 'plain_text_input', value });
export const staticSelect = (value: string, text = value): ViewStateValue => ({
  type: 'static_select',
  selected_option: { text: { type: 'plain_text', text, emoji: true }, value },
});
export const radioButtons = (value: string, text = value): ViewStateValue => ({
  type: 'radio_buttons',
  selected_option: { text: { type: 'plain_text', text, emoji: true }, value },
});

export interface SignOptions {
  secret: string;
  /** Seconds since the epoch; default now. */
  timestamp?: number;
  /** Send this signature instead of the right one. */
  signature?: string;
  /** Send this content type instead of Slack's. */
  contentType?: string;
}

/** Anything with Fastify's `inject()`. */
export interface InjectTarget {
  inject(options: { method: 'POST'; url: string; headers: Record<string, string>; payload: string }): PromiseLike<{
    statusCode: number;
    body: string;
  }>;
}

export interface SignedResponse {
  status: number;
  body: string;
  /** The body parsed as JSON, when it is JSON. */
  json: unknown;
}

/** Signs `body` and POSTs it over HTTP to `baseUrl + path`, or through `inject()`. */
export async function postSigned(target: string | InjectTarget, path: string, body: string, options: SignOptions): Promise<SignedResponse> {
  const signed = signSlackRequest(options.secret, body, options.timestamp);
  const headers: Record<string, string> = {
    ...signed,
    ...(options.signature !== undefined ? { 'X-Slack-Signature': options.signature } : {}),
    ...(options.contentType !== undefined ? { 'Content-Type': options.contentType } : {}),
  };
  if (typeof target === 'string') {
    const response = await fetch(`${target.replace(/\/+$/, '')}${path}`, { method: 'POST', headers, body });
    const text = await response.text();
    return { status: response.status, body: text, json: parseJson(text) };
  }
  const response = await target.inject({ method: 'POST', url: path, headers, payload: body });
  return { status: response.statusCode, body: response.body, json: parseJson(response.body) };
}

function payloadBody(payload: object): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

function actorUser(actor: SlackActor): { id: string; username: string; name: string; team_id: string } {
  const name = userNameFor(actor);
  return { id: actor.userId, username: name, name, team_id: actor.teamId };
}

function userNameFor(actor: SlackActor): string {
  return actor.userName ?? actor.userId.toLowerCase();
}

/** Slack's channel_name for conversations without one. */
function channelNameFor(channelId: string): string {
  if (channelId.startsWith('D')) return 'directmessage';
  if (channelId.startsWith('G')) return 'privategroup';
  return 'dbaccess-requests';
}

function viewOutput(view: SourceView, teamId: string, values: ViewStateValues): ViewOutput {
  const id = view.id ?? 'V0000000000';
  const str = (value: unknown, fallback: string): string => (typeof value === 'string' ? value : fallback);
  return {
    ...view,
    id,
    team_id: str(view.team_id, teamId),
    type: str(view.type, 'modal'),
    callback_id: str(view.callback_id, ''),
    private_metadata: str(view.private_metadata, ''),
    title: (view.title as ViewOutput['title'] | undefined) ?? { type: 'plain_text', text: 'dbaccess' },
    close: (view.close as ViewOutput['close'] | undefined) ?? null,
    submit: (view.submit as ViewOutput['submit'] | undefined) ?? null,
    blocks: (view.blocks ?? []) as ViewOutput['blocks'],
    state: { values },
    hash: str(view.hash, `${nowSeconds()}.${randomBytes(4).toString('hex')}`),
    root_view_id: str(view.root_view_id, id),
    previous_view_id: null,
    app_id: str(view.app_id, DEFAULTS.apiAppId),
    app_installed_team_id: str(view.app_installed_team_id, teamId),
    bot_id: str(view.bot_id, DEFAULTS.botId),
    external_id: str(view.external_id, ''),
    clear_on_close: view.clear_on_close === true,
    notify_on_close: view.notify_on_close === true,
  };
}

interface InputBlock {
  blockId: string;
  actionId: string;
  type: string;
  optional: boolean;
}

function completeValues(blocks: unknown[], given: ViewStateValues): ViewStateValues {
  const inputs: InputBlock[] = blocks.flatMap((block) => {
    if (!isObject(block) || block.type !== 'input' || !isObject(block.element)) return [];
    const { block_id: blockId } = block;
    const { action_id: actionId, type } = block.element;
    if (typeof blockId !== 'string' || typeof actionId !== 'string' || typeof type !== 'string') {
      throw new Error('viewSubmission: an input block without block_id or action_id cannot be read back by the app');
    }
    return [{ blockId, actionId, type, optional: block.optional === true }];
  });
  for (const [blockId, actions] of Object.entries(given)) {
    for (const actionId of Object.keys(actions)) {
      if (!inputs.some((input) => input.blockId === blockId && input.actionId === actionId)) {
        throw new Error(`viewSubmission: the modal has no input ${blockId}/${actionId}`);
      }
    }
  }
  const values: ViewStateValues = {};
  for (const input of inputs) {
    const value = given[input.blockId]?.[input.actionId];
    if (!value || isEmpty(value)) {
      if (!input.optional) throw new Error(`viewSubmission: required input ${input.blockId}/${input.actionId} is empty; Slack would not submit`);
      values[input.blockId] = { [input.actionId]: emptyValue(input.type) };
    } else {
      values[input.blockId] = { [input.actionId]: value };
    }
  }
  return values;
}

function isEmpty(value: ViewStateValue): boolean {
  if ('value' in value) return value.value === null || value.value === '' || value.value === undefined;
  if ('selected_option' in value) return value.selected_option === null || value.selected_option === undefined;
  if ('selected_options' in value) return (value.selected_options ?? []).length === 0;
  return false;
}

function emptyValue(type: string): ViewStateValue {
  switch (type) {
    case 'plain_text_input':
    case 'number_input':
    case 'email_text_input':
    case 'url_text_input':
      return { type, value: null };
    case 'static_select':
    case 'external_select':
    case 'radio_buttons':
      return { type, selected_option: null };
    case 'multi_static_select':
    case 'multi_external_select':
    case 'checkboxes':
      return { type, selected_options: [] };
    case 'datepicker':
      return { type, selected_date: null };
    case 'timepicker':
      return { type, selected_time: null };
    case 'users_select':
      return { type, selected_user: null };
    case 'conversations_select':
      return { type, selected_conversation: null };
    case 'channels_select':
      return { type, selected_channel: null };
    default:
      return { type };
  }
}

function findElement(blocks: unknown[], actionId: string): { blockId: string | undefined; value: string | undefined; text: string | undefined } | undefined {
  for (const block of blocks) {
    if (!isObject(block)) continue;
    const elements = [...(Array.isArray(block.elements) ? block.elements : []), block.accessory, block.element];
    for (const element of elements) {
      if (isObject(element) && element.action_id === actionId) {
        return {
          blockId: typeof block.block_id === 'string' ? block.block_id : undefined,
          value: typeof element.value === 'string' ? element.value : undefined,
          text: isObject(element.text) && typeof element.text.text === 'string' ? element.text.text : undefined,
        };
      }
    }
  }
  return undefined;
}

/** Slack fills in a random block_id when the app gives none. */
function randomBlockId(): string {
  return randomBytes(3).toString('base64url');
}

function slackTs(): string {
  const micros = Date.now() * 1000 + Math.floor(Math.random() * 1000);
  return `${Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, '0')}`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
