import { code, joinRich, rich, type RichText } from '../../lib/rich-text.js';
import type { RequestDraft } from '../../modules/access-requests/access-request-types.js';
import type { MessageRef } from '../../db/schema/access-requests.js';

/**
 * What a person asks dbaccess to do, whatever the platform: a text command (`/dbaccess status` on
 * Slack, `dbaccess status` in Teams), a button on a card, or a form they submit. Adapters turn their
 * payloads into a `Command`; `dispatch` (dispatcher.ts) carries it out and answers with neutral replies.
 */
export type Command =
  // ---- typed as text ----
  | { kind: 'requestForm' }
  | { kind: 'help' }
  | { kind: 'unknown'; word: string }
  | { kind: 'usage'; of: UsageOf }
  | { kind: 'list' }
  | { kind: 'decide'; decision: 'approve' | 'deny'; requestId: string; reason?: string | undefined; mfa?: MfaProof | undefined; via: 'text' | 'button'; redraw?: boolean }
  | { kind: 'cancel'; requestId: string; redraw?: boolean }
  | { kind: 'revoke'; requestId: string; via: 'text' | 'button' }
  | { kind: 'mfaEnrol' }
  | { kind: 'mfaReset'; target: string }
  | { kind: 'status' }
  | { kind: 'insights' }
  | { kind: 'report'; query: string }
  | { kind: 'auditVerify' }
  | { kind: 'policy'; databaseId: string; about?: string | undefined }
  /** `login <code>`: confirms a terminal's sign-in (`dbaccess connect`) as the person who typed it. */
  | { kind: 'cliLogin'; code: string }
  // ---- buttons and forms ----
  /** Before a decision form opens: who may not decide is told at once (no database read). */
  | { kind: 'mayDecide'; request: { requestId: string; databaseId: string; requesterExternalId: string; level: string } }
  /** `shownIn`: the message that becomes the requester's receipt (Teams draws it in the form's place). */
  | { kind: 'submit'; draft: RequestDraft; shownIn?: MessageRef | undefined; deliverTo?: 'cli' | undefined }
  | { kind: 'analyze'; draft: RequestDraft; form: MessageRef }
  | { kind: 'useSuggestion'; draft: RequestDraft; analysisId: string }
  | { kind: 'extend'; requestId: string; duration: string; reason?: string | undefined }
  | { kind: 'reveal'; requestId: string; mfa: MfaProof; redraw?: boolean }
  | { kind: 'mfaConfirm'; code: string }
  | { kind: 'review'; requestId: string; redraw?: boolean }
  | { kind: 'retry'; requestId: string; redraw?: boolean }
  /** "Approve with changes…" before its form opens: who may not decide is told; the rest get the request's card. */
  | { kind: 'changesForm'; request: { requestId: string; databaseId: string; requesterExternalId: string; level: string } }
  /** The form of "Approve with changes…": narrower terms and a note for the requester. */
  | { kind: 'approveWithChanges'; requestId: string; changes: ChangesInput; mfa?: MfaProof | undefined; redraw?: boolean };

/** What an approver writes on the approve-with-changes form; a field left empty stays as it stands. */
export interface ChangesInput {
  level?: string | undefined;
  /** Scope items kept, as written on the card. */
  scope?: string[] | undefined;
  duration?: string | undefined;
  note?: string | undefined;
}

export type CommandKind = Command['kind'];

/**
 * A second factor to check. `dispatch` checks it before its reply's `after`, so Slack can acknowledge
 * in between and show a wrong code on the form. `redraw` on a command: answer with the request's
 * card as it now is (Teams replaces the clicked card with the answer).
 */
export type MfaProof = { code: string };

export type UsageOf = 'approve' | 'deny' | 'cancel' | 'revoke' | 'mfaReset' | 'auditVerify' | 'login';

/** How a platform writes commands and people. */
export interface Surface {
  /** What a person types first: `/dbaccess` on Slack, `dbaccess` in Teams. */
  prefix: string;
  /** How a person is written in a command, for usage texts: `@person`, `<email>`. */
  personHint: string;
  /** The platform id of the person a word names (a Slack mention, an email), if it names one. */
  person(word: string): string | undefined;
}

const REQUEST_ID = /^R[0-9A-Z]{9}$/;

/** One parser for the text commands of every platform: the same words everywhere. */
export function parseCommand(input: string, surface: Surface): Command {
  const [first = '', ...args] = input.trim().split(/\s+/).filter(Boolean);
  const word = first.toLowerCase();
  const requestId = (args[0] ?? '').toUpperCase();
  switch (word) {
    case '':
    case 'request':
      return { kind: 'requestForm' };
    case 'help':
      return { kind: 'help' };
    case 'list':
      return { kind: 'list' };
    case 'approve':
    case 'deny': {
      if (!REQUEST_ID.test(requestId)) return { kind: 'usage', of: word };
      const reason = word === 'deny' ? args.slice(1).join(' ').trim().slice(0, 500) || undefined : undefined;
      return { kind: 'decide', decision: word, requestId, reason, via: 'text' };
    }
    case 'cancel':
      return REQUEST_ID.test(requestId) ? { kind: 'cancel', requestId } : { kind: 'usage', of: 'cancel' };
    case 'revoke':
      return REQUEST_ID.test(requestId) ? { kind: 'revoke', requestId, via: 'text' } : { kind: 'usage', of: 'revoke' };
    case 'mfa': {
      if ((args[0] ?? '').toLowerCase() !== 'reset') return { kind: 'mfaEnrol' };
      const target = surface.person(args[1] ?? '');
      return target ? { kind: 'mfaReset', target } : { kind: 'usage', of: 'mfaReset' };
    }
    case 'status':
      return { kind: 'status' };
    case 'insights':
      return { kind: 'insights' };
    case 'report':
      return { kind: 'report', query: args.join(' ').slice(0, 500) };
    case 'audit':
      return (args[0] ?? '').toLowerCase() === 'verify' ? { kind: 'auditVerify' } : { kind: 'usage', of: 'auditVerify' };
    case 'login':
      return args.length > 0 && args.join('').length <= 20 ? { kind: 'cliLogin', code: args.join(' ') } : { kind: 'usage', of: 'login' };
    case 'policy':
      return { kind: 'policy', databaseId: (args[0] ?? '').toLowerCase().slice(0, 40), about: args[1] ? surface.person(args[1]) : undefined };
    default:
      return { kind: 'unknown', word: first.slice(0, 30) };
  }
}

/** How to write a command that was written wrong. */
export function usageText(of: UsageOf, surface: Surface): RichText {
  const p = surface.prefix;
  switch (of) {
    case 'approve':
    case 'deny':
      return rich`Usage: ${code(`${p} ${of} <request id>${of === 'deny' ? ' [reason]' : ''}`)}, e.g. ${code(`${p} ${of} R7F3K2QX9A`)}.`;
    case 'cancel':
    case 'revoke':
      return rich`Usage: ${code(`${p} ${of} <request id>`)}, e.g. ${code(`${p} ${of} R7F3K2QX9A`)} (see ${code(`${p} list`)}).`;
    case 'mfaReset':
      return rich`Usage: ${code(`${p} mfa reset ${surface.personHint}`)} (admins).`;
    case 'auditVerify':
      return rich`Usage: ${code(`${p} audit verify`)} (auditors and admins): checks that the audit log is complete and unaltered.`;
    case 'login':
      return rich`Usage: ${code(`${p} login <code>`)} with the code ${code('dbaccess connect')} printed in your terminal, e.g. ${code(`${p} login ABCD-EFGH`)}.`;
  }
}

/** The one help text: every command, on every platform. */
export function helpText(surface: Surface, platformName: string): RichText {
  const p = surface.prefix;
  const line = (command: string, what: string) => rich`• ${code(`${p}${command ? ` ${command}` : ''}`)}: ${what}`;
  return joinRich([
    rich`dbaccess: temporary database access, approved in ${platformName}.`,
    line('', 'request access (opens a form)'),
    line('list', 'your recent requests and active access'),
    line('revoke <request id>', 'end access now (yours, or any as an approver)'),
    line('cancel <request id>', 'cancel a request that waits (yours, or any as an approver)'),
    rich`• ${code(`${p} approve <request id>`)} / ${code(`${p} deny <request id> [reason]`)}: decide without the card (approvers)`,
    line('mfa', 'set up the second factor some approvals and reveals need'),
    line('login <code>', 'sign in the terminal that runs dbaccess connect, as you'),
    line(`mfa reset ${surface.personHint}`, 'reset someone\'s MFA (admins)'),
    line('status', 'system health, break-glass to review, unavailable databases and failing revocations (admins)'),
    line(`policy <database> [${surface.personHint}]`, 'who approves, what needs MFA, which rules apply (admins)'),
    line('insights', 'anomalies of the last 30 days and policy recommendations (admins)'),
    rich`• ${code(`${p} report <period> [db:<database>] [env:<environment>] [${surface.personHint}]`)}: who had what access, approvals, MFA, break-glass, flags; with download links (auditors, admins). Periods: ${code('2026-11')}, ${code('2026-Q4')}, ${code('last 30d')}, ${code('2026-11-01..2026-11-15')}`,
    line('audit verify', 'check that the audit log is complete and unaltered (auditors, admins)'),
    line('help', 'this message'),
  ], '\n');
}
