import { z } from 'zod';
import { AppError, httpStatus } from '../../lib/errors.js';
import { consoleText } from './console-text.js';
import type { Command, Surface } from '../core/commands.js';
import type { InboundAdapter } from '../core/inbound-adapter.js';
import type { Reply, Screen, ScreenRenderers } from '../core/replies.js';
import { recoveryCodesText } from '../core/dispatcher-actions.js';

/** The console's text commands are Teams' words; people are written by their id. */
export const CONSOLE_SURFACE: Surface = {
  prefix: 'dbaccess',
  personHint: '<person id>',
  person: (word) => (/^[A-Za-z0-9._@-]{2,64}$/.test(word) ? word : undefined),
};

/** What a button of the console page sends. */
export const actionSchema = z.strictObject({
  action: z.enum(['approve', 'approveWithChanges', 'deny', 'end', 'cancel', 'extend', 'reveal', 'review', 'retry']),
  requestId: z.string().regex(/^R[0-9A-Z]{9}$/),
  as: z.enum(['requester', 'approver']),
  reason: z.string().max(500).optional(),
  duration: z.string().max(20).optional(),
  code: z.string().max(20).optional(),
  /** Approve with changes: the level, the scope items kept, the note (duration above). */
  level: z.string().max(31).optional(),
  scope: z.array(z.string().max(2000)).max(50).optional(),
  note: z.string().max(1000).optional(),
});

/** A button of the console page as a command. */
export function consoleActionCommand(input: z.infer<typeof actionSchema>): Command {
  const { action, requestId } = input;
  const code = input.code?.trim();
  switch (action) {
    case 'approve':
    case 'deny':
      return { kind: 'decide', decision: action, requestId, reason: input.reason?.trim() || undefined, mfa: code ? { code } : undefined, via: 'button' };
    case 'approveWithChanges':
      return { kind: 'approveWithChanges', requestId, changes: { level: input.level, scope: input.scope, duration: input.duration, note: input.note }, mfa: code ? { code } : undefined };
    case 'end':
      return { kind: 'revoke', requestId, via: 'button' };
    case 'cancel':
      return { kind: 'cancel', requestId };
    case 'extend':
      return { kind: 'extend', requestId, duration: input.duration ?? '', reason: input.reason };
    case 'reveal':
      return { kind: 'reveal', requestId, mfa: { code: code ?? '' } };
    case 'retry':
      return { kind: 'retry', requestId };
    case 'review':
      return { kind: 'review', requestId };
  }
}

/** What each screen adds to the console's JSON; the page draws forms, cards and the inbox itself. */
const SCREENS = {
  requestForm: () => ({}),
  formErrors: (show) => ({ errors: show.errors }),
  received: (show) => ({ id: show.request.id }),
  requestCard: () => ({}),
  credentialsWaiting: () => ({}),
  mfaSetup: (show) => ({ mfaSetup: { secret: show.secret, otpauthUri: show.otpauthUri } }),
  recoveryCodes: (show) => ({ recoveryCodes: show.codes }),
} satisfies ScreenRenderers<Record<string, unknown>>;



/** The console's inbound side, as the compiler checks it. */
export const consoleInbound = {
  surface: CONSOLE_SURFACE,
  renderText: consoleText,
  renderReply: (reply) => (reply.say.length ? reply.say.map(consoleText).join('\n') : undefined),
  screens: SCREENS,
} satisfies InboundAdapter<Record<string, unknown>>;

/**
 * A reply as the console's JSON: the text plain (people by their id, the page shows no markup), its
 * parts as rich text for a page that wants them, and what a screen carries that the page shows itself.
 */
export function consoleReply(reply: Reply) {
  const show = reply.show;
  const said = show?.kind === 'recoveryCodes' ? [...reply.say, recoveryCodesText(show.codes)] : reply.say;
  return {
    ok: reply.ok,
    message: consoleInbound.renderReply({ say: said }) ?? '',
    parts: said,
    notFound: reply.notFound === true,
    field: reply.ok ? undefined : reply.field,
    status: reply.notFound ? 404 : reply.error ? httpStatus(new AppError(reply.error, '')) : 200,
    ...(show ? (SCREENS[show.kind] as (show: Screen, reply: Reply) => Record<string, unknown>)(show, reply) : {}),
  };
}
