import type { Db } from '../../db/client.js';
import type { Enqueue } from '../job-port.js';
import type { AuditService } from '../audit/audit-service.js';
import type { Actor } from '../tenants/tenant-service.js';
import type { AccessRequestRepo, RequestRow } from './access-request-repo.js';
import type { AccessRequestService } from './access-request-service.js';
import type { RequestState } from './access-request-state.js';
import type { RequestExitRepo } from './request-exit-repo.js';

interface Deps {
  db: Db;
  requests: Pick<AccessRequestRepo, 'get' | 'transition'>;
  exits: RequestExitRepo;
  audit: Pick<AuditService, 'record'>;
  enqueue: Enqueue;
  /** Who approves a database, and who is an admin, as the policy says. */
  access: Pick<AccessRequestService, 'isAdmin' | 'mayDecide'>;
  now?: () => Date;
}

export interface ExitOutcome {
  ok: boolean;
  /** For the person who clicked: what happened, or why nothing did. */
  message: string;
  /** No such request in the actor's tenant (a request of another tenant included). */
  notFound?: boolean;
  /** The actor may not do this (not the requester, an approver or an admin); the refusal is audited. */
  refused?: boolean;
}

/** Who may take a way out of a request: its requester, an approver of its database, an admin. */
export type ExitRole = 'requester' | 'approver' | 'admin';

/** States that wait (for a decision, for the database user): Cancel ends them. */
export const WAITING_STATES: readonly RequestState[] = ['pending', 'scheduled', 'approved', 'provisioning'];

const OVER: Partial<Record<RequestState, string>> = {
  denied: 'denied', expired: 'expired unanswered', cancelled: 'cancelled', failed: 'failed', revoked: 'over: its access has ended',
  extended: 'applied', lapsed: 'lapsed: its approval was not used in time', revoking: 'ending: its access is being revoked', revoke_failed: 'ending: its revocation is being retried',
};

const revokeJobId = (leaseId: string) => `revoke-${leaseId}`;

/**
 * The ways out of a request for people: Cancel while it waits (pending, approved, provisioning) and
 * Revoke (End access, for its requester) while it is active. Every click is answered; a person who
 * may not act is refused, and the refusal is audited. A lease that exists is made due and revoked:
 * a provisioning still under way finds its request cancelled and drops what it made.
 */
export function createRequestExitService({ db, requests, exits, audit, enqueue, access, now = () => new Date() }: Deps) {
  async function roleOf(actor: Actor, request: RequestRow): Promise<ExitRole | undefined> {
    if (request.requesterId === actor.userId) return 'requester';
    if (await access.mayDecide(actor, request.databaseId, request.level)) return 'approver';
    if (await access.isAdmin(actor)) return 'admin';
    return undefined;
  }

  /** Cancel while it waits; on active access it ends the access (a click that raced the activation). */
  async function stop(actor: Actor, requestId: string, asked: 'cancel' | 'revoke'): Promise<ExitOutcome> {
    const request = await requests.get(actor.tenantId, requestId);
    if (!request) return { ok: false, message: `Request ${requestId} was not found.`, notFound: true };
    const role = await roleOf(actor, request);
    if (!role) {
      await audit.record({
        tenantId: actor.tenantId, actor: `user:${actor.userId}`, action: `request.${asked}`, subject: `request:${requestId}`, outcome: 'refused', details: { why: 'not the requester, an approver or an admin' },
      });
      return { ok: false, refused: true, message: `Only the requester or an approver of ${request.databaseId} (or an admin) can ${asked} request ${requestId}. Nothing changed.` };
    }
    const state = request.state as RequestState;
    if (WAITING_STATES.includes(state)) {
      const cancelled = await withdraw(request, { actor: `user:${actor.userId}`, by: actor.userId, role, reason: 'cancelled', tellRequester: role !== 'requester' });
      if (!cancelled) return stop(actor, requestId, asked); // it moved on meanwhile: answer for its new state
      return { ok: true, message: cancelled.leaseId ? `Request ${requestId} is cancelled; the database user being created is dropped.` : `Request ${requestId} is cancelled.` };
    }
    if (state === 'active') {
      const ended = await endLease(request, { actor: `user:${actor.userId}`, by: actor.userId, reason: role === 'requester' ? 'ended' : 'revoked' });
      if (!ended) return { ok: false, message: `Access for ${requestId} is already ending. Nothing changed.` };
      return { ok: true, message: `Ending access for ${requestId} now: logins are blocked, open sessions are closed and the user is dropped.` };
    }
    return { ok: false, message: `Request ${requestId} is already ${OVER[state] ?? state}. Nothing changed.` };
  }

  /**
   * Moves a waiting request to `cancelled` and makes its lease (if one was written) due now, in one
   * transaction. Undefined when the request was no longer waiting.
   */
  async function withdraw(
    request: RequestRow,
    how: { actor: string; by: string | null; role: ExitRole | 'offboarding'; reason: 'cancelled' | 'offboarded'; tellRequester: boolean },
  ): Promise<{ leaseId: string | undefined } | undefined> {
    const done = await db.transaction(async (tx) => {
      const row = await requests.transition(request.tenantId, request.id, 'withdraw', {}, tx);
      if (!row) return undefined;
      const lease = await exits.endLeaseOf(request.tenantId, request.id, { at: now(), reason: how.reason, by: how.by }, tx);
      await audit.record(
        {
          tenantId: request.tenantId, actor: how.actor, action: 'request.cancelled', subject: `request:${request.id}`, outcome: 'success',
          details: { from: request.state, by: how.role, reason: how.reason, ...(lease ? { lease: lease.id, username: lease.username } : {}) },
        },
        tx,
      );
      return { leaseId: lease?.id };
    });
    if (!done) return undefined;
    await Promise.all([
      enqueue('syncCard', { requestId: request.id }),
      ...(done.leaseId ? [enqueue('revoke', { leaseId: done.leaseId }, { jobId: `${revokeJobId(done.leaseId)}-cancel` })] : []),
      ...(how.tellRequester ? [enqueue('notifyRequester', { requestId: request.id }, { jobId: `closed-${request.id}` })] : []),
    ]);
    return done;
  }

  /** Makes an active lease due now, recorded with who and why; the revoke job (or the caller) ends it. */
  async function endLease(request: RequestRow, how: { actor: string; by: string | null; reason: string; enqueue?: boolean }): Promise<{ leaseId: string } | undefined> {
    const lease = await db.transaction(async (tx) => {
      const row = await exits.endLeaseOf(request.tenantId, request.id, { at: now(), reason: how.reason, by: how.by }, tx);
      if (row) {
        await audit.record({ tenantId: request.tenantId, actor: how.actor, action: `lease.${how.reason}`, subject: `lease:${row.id}`, outcome: 'success', details: { request: request.id } }, tx);
      }
      return row;
    });
    if (!lease) return undefined;
    if (how.enqueue !== false) await enqueue('revoke', { leaseId: lease.id }, { jobId: revokeJobId(lease.id), takeOver: true });
    return { leaseId: lease.id };
  }

  return {
    /** Cancel (pending, approved, provisioning) by the requester, an approver or an admin. */
    cancel: (actor: Actor, requestId: string) => stop(actor, requestId, 'cancel'),
    /** Revoke (approvers, admins) or End access (the requester) of active access. */
    revoke: (actor: Actor, requestId: string) => stop(actor, requestId, 'revoke'),
    withdraw,
    endLease,
  };
}

export type RequestExitService = ReturnType<typeof createRequestExitService>;
