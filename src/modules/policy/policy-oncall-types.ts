import type { OnCallProvider } from '../../config/oncall-schema.js';

/** What an on-call provider said about a requester (policy-oncall.ts judges it). */

/** One current shift of the requester on a schedule or escalation policy the rule names. */
export interface OnCallShift {
  /** The schedule's name as the provider shows it (or the escalation policy's, without a schedule). */
  name: string;
  scheduleId?: string | undefined;
  escalationPolicyId?: string | undefined;
  /** PagerDuty's escalation level (1: first responder). */
  escalationLevel?: number | undefined;
  /** When the shift ends; undefined: it does not (always on call). */
  until?: Date | undefined;
}

export interface OpenIncident {
  /** As people say it: `#4312` (PagerDuty), `INC-87` (incident.io). */
  label: string;
  title: string;
}

export type OnCallFacts =
  | {
      provider: OnCallProvider;
      reachable: true;
      /** The requester's email, or undefined when chat did not give one. */
      email: string | undefined;
      /** Whether the provider knows a user with that email. */
      known: boolean;
      shifts: OnCallShift[];
      /** Open incidents, when the rule asks for one (undefined: not asked). */
      incidents?: OpenIncident[] | undefined;
      checkedAt: Date;
    }
  | { provider: OnCallProvider; reachable: false; problem: string; checkedAt: Date };

/** What the providers said, by onCallKey of the rule that asked. */
export type OnCallAnswers = Readonly<Record<string, OnCallFacts>>;

