import type { Enqueue, JobData } from '../job-port.js';
import type { AuditService } from '../audit/audit-service.js';
import type { RequestExitRepo } from '../access-requests/request-exit-repo.js';
import { WAITING_STATES, type RequestExitService } from '../access-requests/request-exit-service.js';
import type { CliSessionService } from '../cli-sessions/cli-session-service.js';
import type { LeaseService } from '../credentials/lease-service.js';
import type { KnownPerson, OffboardingRepo } from './offboarding-repo.js';

/** Where the news that someone left came from. */
export type OffboardingSource = 'slack' | 'teams' | 'cli';

export interface OffboardingResult {
  person: KnownPerson;
  /** Requests whose active access was revoked. */
  ended: string[];
  /** Requests cancelled while they waited (pending, approved, provisioning). */
  cancelled: string[];
  /** Requests whose revocation failed here: the workers keep retrying them. */
  failed: string[];
  sessionsKilled: number;
}

interface Deps {
  repo: OffboardingRepo;
  exitRepo: Pick<RequestExitRepo, 'ofRequester'>;
  exits: Pick<RequestExitService, 'withdraw' | 'endLease'>;
  /** Ends a lease and revokes it now, here (the queue would add its latency to the kill switch). */
  leases: Pick<LeaseService, 'endAndRevoke' | 'leaseOf'>;
  /** The person's signed-in terminals (`dbaccess connect`): signed out first, so none fetches anything more. */
  cliSessions: Pick<CliSessionService, 'revokeAllOf'>;
  audit: Pick<AuditService, 'record'>;
  enqueue: Enqueue;
}

/**
 * The kill switch for someone who left (their chat account deleted or deactivated, removed from the
 * organisation's team, or `dbaccess offboard`): every active lease revoked at once, sessions killed,
 * every waiting request cancelled, all of it audited, and the approvers told.
 */
export function createOffboardingService({ repo, exitRepo, exits, leases, cliSessions, audit, enqueue }: Deps) {
  async function offboard(person: KnownPerson, source: OffboardingSource, actor: string): Promise<OffboardingResult> {
    const requests = await exitRepo.ofRequester(person.tenantId, person.userId, [...WAITING_STATES, 'active']);
    await audit.record({ tenantId: person.tenantId, actor, action: 'person.offboarded', subject: `user:${person.userId}`, outcome: 'success', details: { source, requests: requests.map((r) => r.id) } });
    const result: OffboardingResult = { person, ended: [], cancelled: [], failed: [], sessionsKilled: 0 };
    await cliSessions.revokeAllOf(person.tenantId, person.userId, actor);
    await Promise.all(requests.map(async (request) => {
      if (request.state === 'active') {
        const lease = await leases.leaseOf(request.tenantId, request.id);
        if (!lease) return;
        const end = async () => Boolean(await exits.endLease(request, { actor, by: null, reason: 'offboarded', enqueue: false }));
        try {
          const outcome = await leases.endAndRevoke(lease.id, actor, end);
          // Busy: a worker is revoking it already (it expired meanwhile); it ends all the same.
          if (outcome.ended || outcome.busy) result.ended.push(request.id);
          result.sessionsKilled += outcome.sessionsKilled;
        } catch {
          // The workers (and the sweep) go on revoking it, and alert if it keeps failing.
          result.ended.push(request.id);
          result.failed.push(request.id);
        }
        await enqueue('syncCard', { requestId: request.id });
        return;
      }
      const withdrawn = await exits.withdraw(request, { actor, by: null, role: 'offboarding', reason: 'offboarded', tellRequester: false });
      if (withdrawn) result.cancelled.push(request.id);
    }));
    await enqueue('notifyOffboarded', { tenantId: person.tenantId, userId: person.userId, source, ended: result.ended, cancelled: result.cancelled, failed: result.failed });
    return result;
  }

  return {
    offboard,
    /** A person who left a chat tenant; nothing to do for someone dbaccess never saw. */
    async offboardInTenant(tenantId: string, externalId: string, source: OffboardingSource): Promise<OffboardingResult | undefined> {
      const person = await repo.inTenant(tenantId, externalId);
      return person ? offboard(person, source, `system:offboarding:${source}`) : undefined;
    },
    /** Everyone with this id or email, in every tenant (the CLI). */
    findAnywhere: (externalId: string) => repo.anywhere(externalId),
    /** What the approvers are told, from the job's ids. */
    async notice(data: JobData<'notifyOffboarded'>) {
      const [person] = (await repo.anywhereById(data.tenantId, data.userId));
      return person ? { ...data, personExternalId: person.externalId } : undefined;
    },
  };
}

export type OffboardingService = ReturnType<typeof createOffboardingService>;
