import type { CatalogView } from '../../config/catalog.js';
import { isAppError, publicMessage, type ErrorCode } from '../../lib/errors.js';
import { text, type RichText } from '../../lib/rich-text.js';
import type { DraftField } from '../../modules/access-requests/access-request-schemas.js';
import type { RequestDraft, RequestView } from '../../modules/access-requests/access-request-types.js';
import type { Actor, Platform } from '../../modules/tenants/tenant-service.js';
import type { FormState, UnavailableDatabases } from './request-form.js';

/** Who asks: known at once by their platform id; the full actor (a state-database read) only when needed. */
export interface Caller {
  platform: Platform;
  tenantId: string;
  externalUserId: string;
  /** A display name, when the platform gives one (the MFA key's label). */
  name?: string | undefined;
  actor(): Promise<Actor>;
}

/** What the person sees besides text: each adapter draws it its own way. */
export type Screen =
  /** The request form, empty or filled in (with its analysis). */
  | { kind: 'requestForm'; catalog: CatalogView; state?: FormState | undefined }
  /** The form as sent, with what to fix, field by field. */
  | { kind: 'formErrors'; catalog: CatalogView; draft: RequestDraft; errors: Partial<Record<DraftField, string>>; unavailable?: UnavailableDatabases | undefined }
  /** The requester's receipt of a stored request. */
  | { kind: 'received'; request: RequestView }
  /** The request's card as it now is (platforms that answer a click with the clicked card redraw it). */
  | { kind: 'requestCard'; request: RequestView | undefined; requestId: string }
  /** Where a reveal waits: the credentials message with its code input. */
  | { kind: 'credentialsWaiting'; request: RequestView | undefined }
  /** The authenticator set-up, shown to its owner only. */
  | { kind: 'mfaSetup'; secret: string; otpauthUri: string; qrPng: Buffer }
  /** The one-time recovery codes after a confirmed set-up, shown to their owner only. */
  | { kind: 'recoveryCodes'; codes: string[] };

/** The answer to one command, the same on every platform; adapters render it. */
export interface Reply {
  /** False when nothing changed (a refusal, a wrong code, a stale button). */
  ok: boolean;
  /** The request named does not exist (or is another tenant's). */
  notFound?: boolean | undefined;
  /** The code of the error that ended the command, when one did (an HTTP adapter answers with its status). */
  error?: ErrorCode | undefined;
  /** What to tell the person, privately: one message each. */
  say: RichText[];
  /**
   * What was said is also visible on the card or message a job redraws: platforms that redraw the
   * clicked card (Slack) may leave it unsaid.
   */
  quiet?: boolean | undefined;
  /** On a form: the field a refusal concerns (Slack shows it under that input). */
  field?: string | undefined;
  show?: Screen | undefined;
  /**
   * The rest of the work, for after the platform's acknowledgement (Slack allows 3 s): what has to
   * show on a form is checked before, the slow part (a model, a queue, a chat post) runs here.
   */
  after?: (() => Promise<Reply>) | undefined;
}

export const done = (...say: RichText[]): Reply => ({ ok: true, say });
export const refused = (...say: RichText[]): Reply => ({ ok: false, say });

/** A service's error as the person reads it; a request of another tenant is "not found". */
export function failed(error: unknown): Reply {
  return { ok: false, say: [text(publicMessage(error))], notFound: isAppError(error) && error.code === 'NOT_FOUND', error: isAppError(error) ? error.code : 'INTERNAL' };
}

/** Runs the work left for after the acknowledgement and joins what each step says, last screen wins. */
export async function settle(first: Reply | Promise<Reply>): Promise<Reply> {
  let reply = await first;
  while (reply.after) {
    const next: Reply = await reply.after().catch(failed);
    reply = { ...next, ok: reply.ok && next.ok, error: reply.error ?? next.error, field: reply.field ?? next.field, notFound: reply.notFound || next.notFound, say: [...reply.say, ...next.say], show: next.show ?? reply.show };
  }
  return reply;
}

export type ScreenKind = Screen['kind'];

/**
 * One renderer per screen an adapter draws from its replies: declared `satisfies ScreenRenderers<…>`,
 * so a screen added to the core and forgotten by an adapter does not compile.
 */
export type ScreenRenderers<Out> = { [K in ScreenKind]: (screen: Extract<Screen, { kind: K }>, reply: Reply) => Out };
