import { createHmac, timingSafeEqual } from 'node:crypto';
import { IDS } from './slack-blocks.js';

/**
 * What reaches Bolt from Slack's endpoint, checked first: the signature (over the raw body, within five
 * minutes either way), Slack's exact content types, a payload that parses, and only the interactions
 * dbaccess offers. A modal's `private_metadata` carries an HMAC of who it was opened for, so a view
 * submission is accepted only for a view dbaccess itself opened, for that person and workspace (the
 * request form, whose submission is the person's own request whoever they are: for anyone). Refusals are answered with a 4xx before any listener runs.
 */

const MAX_SKEW_SECONDS = 5 * 60;
const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';
/** The ids of the buttons dbaccess draws, and of its modals (`…View`), from the one list the adapter uses. */
const ACTIONS: ReadonlySet<string> = new Set(Object.entries(IDS).filter(([name]) => !name.endsWith('View')).map(([, id]) => id));
/** The modals dbaccess opens, and whom each is bound to: the request form to anyone, the others to who opened them. */
const VIEWS: Readonly<Record<string, 'opener' | 'anyone'>> = Object.fromEntries(
  Object.entries(IDS).filter(([name]) => name.endsWith('View')).map(([name, id]) => [id, name === 'requestView' ? 'anyone' : 'opener']),
);
const ANYONE = '*';

export interface Refusal {
  status: 400 | 401 | 415;
  error: string;
}

export interface ViewSeal {
  /** The modal with its private_metadata sealed for `userId` of `teamId` (the request form: for anyone, no need to name them). */
  seal<V extends { callback_id?: unknown; private_metadata?: unknown }>(view: V, teamId?: string, userId?: string): V;
  /** The metadata as it was before sealing (the screen has checked the seal already). */
  data(privateMetadata: string | undefined): string;
}

export function createViewSeal(key: Buffer): ViewSeal & { check(callbackId: string, teamId: string, userId: string, privateMetadata: string): boolean } {
  const mac = (callbackId: string, teamId: string, userId: string, data: string) =>
    createHmac('sha256', key).update(`${callbackId}\n${teamId}\n${userId}\n${data}`).digest().subarray(0, 16).toString('base64url');
  return {
    seal(view, teamId = '', userId = '') {
      const callbackId = String(view.callback_id ?? '');
      const data = String(view.private_metadata ?? '');
      const [team, user] = VIEWS[callbackId] === 'anyone' ? [ANYONE, ANYONE] : [teamId, userId];
      return { ...view, private_metadata: `${data}.${mac(callbackId, team, user, data)}` };
    },
    data(privateMetadata) {
      const text = privateMetadata ?? '';
      const dot = text.lastIndexOf('.');
      return dot < 0 ? '' : text.slice(0, dot);
    },
    check(callbackId, teamId, userId, privateMetadata) {
      const dot = privateMetadata.lastIndexOf('.');
      if (dot < 0) return false;
      const given = Buffer.from(privateMetadata.slice(dot + 1));
      const [team, user] = VIEWS[callbackId] === 'anyone' ? [ANYONE, ANYONE] : [teamId, userId];
      const expected = Buffer.from(mac(callbackId, team, user, privateMetadata.slice(0, dot)));
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}

export type SlackScreen = (request: { headers: Record<string, string | string[] | undefined>; body: Buffer; now: number }) => Refusal | undefined;

export function createSlackScreen(signingSecret: string, seal: ReturnType<typeof createViewSeal>): SlackScreen {
  return ({ headers, body, now }) => {
    const header = (name: string) => (typeof headers[name] === 'string' ? (headers[name] as string) : '');
    const timestamp = Number(header('x-slack-request-timestamp'));
    const signature = Buffer.from(header('x-slack-signature'));
    const expected = Buffer.from(`v0=${createHmac('sha256', signingSecret).update(`v0:${header('x-slack-request-timestamp')}:`).update(body).digest('hex')}`);
    if (!Number.isFinite(timestamp) || Math.abs(now / 1000 - timestamp) > MAX_SKEW_SECONDS || signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
      return { status: 401, error: 'invalid or stale Slack signature' };
    }
    const type = header('content-type');
    if (type !== FORM && type !== JSON_TYPE) return { status: 415, error: `Slack sends ${FORM} or ${JSON_TYPE}` };
    const payload = type === JSON_TYPE ? parseJson(body.toString('utf8')) : formPayload(body.toString('utf8'));
    if (!isObject(payload)) return { status: 400, error: 'not a Slack payload' };
    return screenPayload(payload, seal);
  };
}

/**
 * The payload rules alone: what Slack sends over Socket Mode needs no signature (dbaccess opened the
 * connection with its own token) but is held to the same interactions and sealed views.
 */
export function screenPayload(payload: Record<string, unknown>, seal: ReturnType<typeof createViewSeal>): Refusal | undefined {
  if (payload.ssl_check === '1' || payload.type === 'url_verification') return undefined;
  const teamId = teamOf(payload);
  // Every listener runs in its workspace's scope: without one, nothing could answer it.
  if (!/^[A-Z0-9]{2,20}$/.test(teamId)) return { status: 400, error: 'no Slack workspace in the payload' };
  if (typeof payload.command === 'string') return payload.command === '/dbaccess' ? undefined : { status: 400, error: 'unknown command' };
  const user = isObject(payload.user) && typeof payload.user.id === 'string' ? payload.user.id : '';
  switch (payload.type) {
    case 'event_callback':
    case 'app_rate_limited':
      return undefined;
    case 'block_actions': {
      const actions = Array.isArray(payload.actions) ? payload.actions : [];
      if (actions.length === 0 || !actions.every((action) => isObject(action) && ACTIONS.has(String(action.action_id)))) return { status: 400, error: 'unknown action' };
      // A click inside a modal comes with the modal: it must be one dbaccess opened.
      if (isObject(payload.view) && !sealed(payload.view, teamId, user, seal)) return { status: 400, error: 'unknown view' };
      return undefined;
    }
    case 'view_submission':
      return isObject(payload.view) && sealed(payload.view, teamId, user, seal) ? undefined : { status: 400, error: 'unknown view' };
    default:
      return { status: 400, error: 'unsupported Slack payload' };
  }
}

function sealed(view: Record<string, unknown>, teamId: string, userId: string, seal: ReturnType<typeof createViewSeal>): boolean {
  const callbackId = String(view.callback_id ?? '');
  return callbackId in VIEWS && typeof view.private_metadata === 'string' && Boolean(teamId) && seal.check(callbackId, teamId, userId, view.private_metadata);
}

function teamOf(payload: Record<string, unknown>): string {
  const user = isObject(payload.user) ? payload.user : {};
  const team = isObject(payload.team) ? payload.team.id : payload.team;
  const id = payload.team_id ?? user.team_id ?? team;
  return typeof id === 'string' ? id : '';
}

function formPayload(text: string): unknown {
  const form = new URLSearchParams(text);
  const payload = form.get('payload');
  if (payload !== null) return parseJson(payload);
  return form.has('command') || form.has('ssl_check') ? Object.fromEntries(form) : undefined;
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
