import type { Container } from '../../../src/app/container.js';

/**
 * One way to drive dbaccess from outside, per chat platform, so that one acceptance suite runs on
 * every platform. A driver speaks the platform's real interface (signed Slack requests against the
 * fake Slack Web API, Bot Framework activities from the fake Bot Framework's process, the console's
 * HTTP API) and reads back only what a person sees there: texts and buttons.
 *
 * Buttons have neutral names (`approve`, `deny`, `cancel`, `end`, `extend`, `reveal`, `analyze`,
 * `useSuggestion`, `mfaConfirm`); each driver maps them to its platform's action ids or verbs.
 */
export type Platform = 'slack' | 'teams' | 'console';

/** The two people every platform has: one asks, one approves (an approver acts as admin and auditor while the catalog names none). */
export type Person = 'requester' | 'approver';

export type Button = 'approve' | 'deny' | 'cancel' | 'end' | 'extend' | 'reveal' | 'analyze' | 'useSuggestion' | 'mfaConfirm' | 'review' | 'retry';

/** What a person sees of one message, form or card: its text as the platform renders it, and its buttons. */
export interface Shown {
  text: string;
  buttons: Button[];
}

export interface Draft {
  databaseId: string;
  level: string;
  scope: string;
  duration: string;
  reason: string;
  ticket: string;
}

/** Where a button is pressed: the approvers' card, the requester's receipt, the requester's credentials message. */
export type Where = 'card' | 'receipt' | 'credentials';

/**
 * What a person is told in answer to a command or a click (an ephemeral message, a modal's field
 * error, the invoke's answer, the console's answer). `says` waits (up to 10 s) for an answer that
 * matches, and returns it; it fails with everything that was said otherwise.
 */
export interface Told {
  says(pattern: RegExp): Promise<string>;
}

export interface StartOptions {
  /** `never`: no step-up anywhere; `always`: approvals and reveals need an MFA code. */
  mfa: 'never' | 'always';
}

export interface PlatformDriver {
  readonly platform: Platform;
  /** The running app (for the real effects: state rows, the audit trail). */
  readonly app: Container;
  /** The prefix of the temporary users on the target (to check that nothing is left). */
  readonly prefix: string;
  /** How a command names a person (a Slack mention, a Teams email, the console's person). */
  mention(person: Person): string;

  /** The requester asks: the request form opens. */
  openForm(): Promise<Shown>;
  /** "Analyze risk" on the open form with these values: the form as it shows the analysis. */
  analyze(draft: Partial<Draft>): Promise<Shown>;
  /** "Use suggestion" on the analyzed form: the values the form now holds. */
  useSuggestion(): Promise<Draft>;
  /** Submits the open form (a new one if none is open) with these values; `breakGlass` ticks the emergency box. */
  submit(draft: Partial<Draft> & { breakGlass?: boolean }): Promise<{ id: string; receipt: Shown }>;

  /** The approvers' card of a request, as it is now (waits for it to be posted). */
  card(id: string): Promise<Shown>;
  /** Waits until the card matches. */
  waitCard(id: string, predicate: (card: Shown) => boolean, what: string): Promise<Shown>;
  /** The requester's receipt of a request (the message with its Cancel). */
  receipt(id: string): Promise<Shown>;
  /** The requester's credentials message of a request (or the one waiting for Reveal), once there. */
  credentials(id: string): Promise<Shown & { uri: string | undefined }>;
  /** Messages in a person's direct chat with dbaccess, oldest first. */
  inbox(person: Person): Promise<Shown[]>;
  /** Top-level messages in the approvers' channel (cards and alerts), oldest first. */
  channel(): Promise<Shown[]>;
  /** Replies under a request's card, oldest first. */
  thread(id: string): Promise<Shown[]>;

  /** Presses a button, filling what its form asks (a reason, a duration, an MFA code). */
  press(person: Person, button: Button, id: string, where: Where, inputs?: { reason?: string; duration?: string; code?: string }): Promise<Told>;
  /** A text command (`/dbaccess <text>`, `dbaccess <text>`, the console's command box). */
  command(person: Person, text: string): Promise<Told>;
  /** Starts MFA set-up (`mfa`) and returns the key shown, and the confirmation with a first code. */
  enrolMfa(person: Person): Promise<{ secret: string; confirm(code: string): Promise<Told> }>;

  close(): Promise<void>;
}

export type StartDriver = (options: StartOptions) => Promise<PlatformDriver>;

/** Polls `probe` until it returns something, for what a person is told. */
export function toldFrom(probe: () => Promise<string[]> | string[], timeoutMs: number | undefined = 10_000): Told {
  timeoutMs ??= 10_000;
  return {
    async says(pattern) {
      const deadline = Date.now() + timeoutMs;
      let seen: string[] = [];
      for (;;) {
        seen = await probe();
        const hit = seen.find((text) => pattern.test(text));
        if (hit !== undefined) return hit;
        if (Date.now() > deadline) throw new Error(`Expected to be told ${pattern}, was told: ${seen.length ? seen.map((text) => JSON.stringify(text)).join(' | ') : 'nothing'}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}

export const DEFAULT_DRAFT: Draft = {
  databaseId: 'orders', level: 'read', scope: 'sales.orders', duration: '1h', reason: 'Investigate the failed payouts of last night for OPS-1234', ticket: '',
};

/** The catalog's policy for a driver: its own approvers, step-up as asked, break-glass for the requester. */
export const policyFor = (approvers: string[], requester: string, mfa: StartOptions['mfa']) =>
  `policies:\n  - { name: tests, approvers: [${approvers.join(', ')}], mfa: ${mfa}, breakGlass: { allowed: true, who: [${requester}] } }\n`;
