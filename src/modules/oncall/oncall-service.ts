import { onCallKey, PROVIDER_NAMES, type OnCallRule } from '../../config/oncall-schema.js';
import type { Integrations } from '../../config/integrations-schema.js';
import type { PolicyConfig } from '../../config/policy-config.js';
import type { Logger } from '../../lib/logger.js';
import { choosePolicy } from '../policy/policy-choice.js';
import type { OnCallAnswers, OnCallFacts, OnCallShift, OpenIncident } from '../policy/policy-oncall.js';
import { autoApproveBaseMisses } from '../policy/policy-rules.js';
import type { RequestContext } from '../policy/policy-types.js';
import { windowsOf } from '../policy/policy-words.js';
import { publicMessage } from '../../lib/errors.js';
import { ProviderUnreachable } from './oncall-http.js';
import { createIncidentIoClient } from './incidentio-client.js';
import { createPagerDutyClient } from './pagerduty-client.js';

/**
 * Asks PagerDuty or incident.io, live, whether a requester is on call for what a policy's on-call
 * rule names (and whether an incident is open), for the rules that would otherwise approve the
 * request. Called after the request is taken (never while a chat platform waits for its
 * acknowledgement). Answers are kept at most `cacheSeconds` (60 s at most, never past the end of the
 * shift they report); a provider that cannot be asked is not cached, and the request goes to its
 * approvers with the reason.
 */

interface Deps {
  /** The tenant's catalog section's integrations. */
  integrationsOf: (tenantId: string) => Promise<Integrations>;
  /** `env:`/`vault:` references, resolved like the admin URLs (credentials/targets.ts). */
  resolveReference: (reference: string, what: string) => Promise<string>;
  logger?: Pick<Logger, 'warn'> | undefined;
  now?: () => Date;
  fetch?: typeof fetch;
}

interface Cached {
  facts: OnCallFacts;
  expiresAt: number;
}

/** Provider user ids by email: an identity, not an on-call answer, so kept longer. */
const USER_ID_TTL_MS = 10 * 60_000;
const MAX_ENTRIES = 10_000;

export function createOnCallService({ integrationsOf, resolveReference, logger, now = () => new Date(), fetch: fetchImpl = fetch }: Deps) {
  const answers = new Map<string, Cached>();
  const inflight = new Map<string, Promise<OnCallFacts>>();
  const userIds = new Map<string, { id: string | undefined; expiresAt: number }>();
  const names = new Map<string, { name: string; expiresAt: number }>();

  const remember = <V>(map: Map<string, V>, key: string, value: V) => {
    if (map.size >= MAX_ENTRIES) map.delete(map.keys().next().value!);
    map.set(key, value);
  };

  async function ask(tenantId: string, integrations: Integrations, rule: OnCallRule, email: string | undefined, at: Date): Promise<OnCallFacts> {
    const provider = rule.provider;
    const account = integrations[provider];
    if (!account) return { provider, reachable: false, problem: `is not configured under integrations.${provider}`, checkedAt: at };
    if (!email) return { provider, reachable: true, email, known: false, shifts: [], checkedAt: at };
    let token: string;
    try {
      token = await resolveReference(account.token, `integrations.${provider}`);
    } catch (error) {
      return { provider, reachable: false, problem: `has no API key here (${publicMessage(error)})`, checkedAt: at };
    }
    const client = { apiUrl: account.apiUrl, token, timeoutSeconds: account.timeoutSeconds };
    const accountKey = `${tenantId}|${account.apiUrl}|${account.token}`;
    try {
      if (provider === 'pagerduty') {
        const pagerDuty = createPagerDutyClient(client, fetchImpl);
        const userKey = `${accountKey}|${email}`;
        const cachedUser = userIds.get(userKey);
        let userId = cachedUser && cachedUser.expiresAt > at.getTime() ? cachedUser.id : undefined;
        if (!cachedUser || cachedUser.expiresAt <= at.getTime()) {
          userId = await pagerDuty.userIdByEmail(email);
          remember(userIds, userKey, { id: userId, expiresAt: at.getTime() + USER_ID_TTL_MS });
        }
        if (!userId) return { provider, reachable: true, email, known: false, shifts: [], checkedAt: at };
        const [shifts, incidents] = await Promise.all([
          pagerDuty.shiftsOf(userId, rule),
          rule.incidentOpen ? pagerDuty.openIncidents(rule.services) : Promise.resolve(undefined),
        ]);
        return { provider, reachable: true, email, known: true, shifts, incidents, checkedAt: at };
      }
      const incidentIo = createIncidentIoClient(client, fetchImpl);
      const scheduleName = async (id: string) => {
        const key = `${accountKey}|${id}`;
        const known = names.get(key);
        if (known && known.expiresAt > at.getTime()) return known.name;
        const name = await incidentIo.scheduleName(id);
        remember(names, key, { name, expiresAt: at.getTime() + USER_ID_TTL_MS });
        return name;
      };
      const [shifts, incidents] = await Promise.all([
        incidentIo.shiftsOf(email, rule, at, scheduleName),
        rule.incidentOpen ? incidentIo.activeIncidents() : Promise.resolve(undefined),
      ]);
      return { provider, reachable: true, email, known: true, shifts, incidents, checkedAt: at };
    } catch (error) {
      const problem = error instanceof ProviderUnreachable ? error.message : 'could not be asked';
      if (!(error instanceof ProviderUnreachable)) logger?.warn({ err: error, provider }, 'on-call lookup failed');
      return { provider, reachable: false, problem, checkedAt: at };
    }
  }

  /** What the provider says now, or a fresh enough answer from at most `cacheSeconds` ago. */
  async function factsFor(tenantId: string, integrations: Integrations, rule: OnCallRule, email: string | undefined): Promise<OnCallFacts> {
    const at = now();
    const account = integrations[rule.provider];
    const key = `${tenantId}|${account?.apiUrl}|${account?.token}|${onCallKey(rule)}|${email ?? ''}`;
    const cached = answers.get(key);
    if (cached && cached.expiresAt > at.getTime()) return cached.facts;
    const running = inflight.get(key);
    if (running) return running;
    const asking = ask(tenantId, integrations, rule, email, at).then((facts) => {
      const ttlMs = Math.min(account?.cacheSeconds ?? 0, 60) * 1000;
      // Kept only when the provider answered, and never past the end of a shift it reported.
      if (facts.reachable && ttlMs > 0) {
        const ends = facts.shifts.flatMap((shift: OnCallShift) => (shift.until ? [shift.until.getTime()] : []));
        const expiresAt = Math.min(at.getTime() + ttlMs, ...ends);
        if (expiresAt > at.getTime()) remember(answers, key, { facts, expiresAt });
      }
      return facts;
    }).finally(() => inflight.delete(key));
    inflight.set(key, asking);
    return asking;
  }

  return {
    /**
     * The answers the request's on-call rules need: only rules of the policy that decides the
     * request, and only those whose other conditions hold (nobody is asked about a request an
     * on-call rule could not approve anyway). Undefined when no rule needs asking.
     */
    async answersFor(tenantId: string, ctx: RequestContext, config: PolicyConfig): Promise<OnCallAnswers | undefined> {
      const { policy } = choosePolicy(ctx.database, ctx.level, config);
      const windows = windowsOf(config);
      const rules = policy.autoApprove.flatMap((rule) => (rule.onCall && autoApproveBaseMisses(rule, ctx, config, windows).length === 0 ? [rule.onCall] : []));
      if (rules.length === 0) return undefined;
      const integrations = await integrationsOf(tenantId);
      const unique = new Map(rules.map((rule) => [onCallKey(rule), rule]));
      const entries = await Promise.all([...unique].map(async ([key, rule]) => [key, await factsFor(tenantId, integrations, rule, ctx.requester.email)] as const));
      return Object.fromEntries(entries);
    },
  };
}

export type OnCallService = ReturnType<typeof createOnCallService>;

/** One line for the audit log: what the provider said, in words, without the token or the body. */
export function onCallAuditDetails(answers: OnCallAnswers): Array<Record<string, unknown>> {
  return Object.values(answers).map((facts) => facts.reachable
    ? {
        provider: PROVIDER_NAMES[facts.provider], onCall: facts.shifts.length > 0, known: facts.known,
        shifts: facts.shifts.map((shift) => ({ name: shift.name, level: shift.escalationLevel, until: shift.until?.toISOString() })),
        ...(facts.incidents ? { incidents: facts.incidents.map((incident: OpenIncident) => incident.label) } : {}),
      }
    : { provider: PROVIDER_NAMES[facts.provider], unreachable: facts.problem });
}
