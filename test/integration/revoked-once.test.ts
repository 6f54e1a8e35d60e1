import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asSystem } from '../../src/db/tenant-scope.js';
import { APPROVERS_CHANNEL, PEOPLE, activeLease, hasButton, leaseOf, shown, startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { onTarget, targetRoles } from '../support/databases.js';
import { auditOf, requestRow } from '../support/ways-out.js';

/**
 * One `lease.revoked` per revocation, whatever fails between its event and the lease's mark (chaos
 * run: the state database restarted after the event was committed; the retry revoked the lease again
 * and recorded it a second time). Auditors count these events.
 */
describe('a revocation whose lease cannot be marked after its event is committed', () => {
  let h: Harness;
  let owner: pg.Client;
  beforeAll(async () => {
    h = await startHarness({ queue: 'redis' });
    owner = new pg.Client({ connectionString: h.app.stateUrl });
    await owner.connect();
  });
  afterAll(async () => {
    await owner?.end();
    await h?.close();
  });

  /**
   * From now on the state database refuses to mark any lease revoked, as it does while it restarts;
   * each refusal counted (a sequence: the refused statement's own writes are rolled back).
   */
  async function refuseMarks(): Promise<{ refusals: () => Promise<number>; lift: () => Promise<void> }> {
    await owner.query(`
      CREATE SEQUENCE refused_marks;
      CREATE FUNCTION refuse_mark() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
        BEGIN PERFORM nextval('refused_marks'); RAISE EXCEPTION 'the database system is shutting down'; END $$;
      CREATE TRIGGER refuse_mark BEFORE UPDATE OF revoked_at ON leases
        FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL) EXECUTE FUNCTION refuse_mark();`);
    return {
      refusals: async () => {
        const { rows } = await owner.query<{ n: string }>('SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS n FROM refused_marks');
        return Number(rows[0]!.n);
      },
      lift: async () => {
        await owner.query('DROP TRIGGER refuse_mark ON leases; DROP FUNCTION refuse_mark(); DROP SEQUENCE refused_marks');
      },
    };
  }

  const revocationsOf = async (leaseId: string) => (await auditOf(h.app, `lease:${leaseId}`)).filter((e) => e.action === 'lease.revoked');
  /** The revocation's own event counts the sessions it killed; a person's decision filed as lease.revoked does not. */
  const isRevocation = (event: { details: Record<string, unknown> }) => 'sessionsKilled' in event.details;

  async function expectRevokedOnce(requestId: string, leaseId: string, username: string) {
    const revoked = await waitUntil(async () => (await leaseOf(h, requestId))?.revokedAt, 45_000, 'the lease marked revoked');
    expect(revoked).toBeInstanceOf(Date);
    const events = (await revocationsOf(leaseId)).filter(isRevocation);
    expect(events, JSON.stringify(events)).toHaveLength(1);
    expect(events[0]).toMatchObject({ outcome: 'success', details: { username } });
    expect((await requestRow(h.app, requestId))!.state).toBe('revoked');
    expect(await targetRoles(username)).toEqual([]);
    const lease = (await leaseOf(h, requestId))!;
    expect(await asSystem('test', () => h.app.audit.verify(lease.tenantId))).toMatchObject({ ok: true });
  }

  it('at expiry (the workers\' batch): retried until it can be marked, recorded once', async () => {
    const before = new Set(h.slack.messagesIn(APPROVERS_CHANNEL).map((m) => m.ts));
    await h.submitRequest(PEOPLE.requester, { duration: '4s' });
    const card = await h.waitForCard((m) => !before.has(m.ts));
    await h.click(PEOPLE.alice, 'dbaccess.approve', card);
    const requestId = /R[0-9A-Z]{9}/.exec(shown(card))![0];
    const lease = await waitUntil(async () => {
      const row = await leaseOf(h, requestId);
      return row?.provisionedAt ? row : undefined;
    }, 20_000, 'provisioning');

    const fault = await refuseMarks();
    try {
      // The first attempt drops the user and commits its event; the mark is refused, and so is a retry's.
      await waitUntil(async () => (await fault.refusals()) >= 2 || undefined, 30_000, 'two refused marks');
      expect(await targetRoles(lease.username)).toEqual([]);
      expect((await revocationsOf(lease.id)).filter(isRevocation)).toHaveLength(1);
      expect((await leaseOf(h, requestId))!.revokedAt).toBeNull();
    } finally {
      await fault.lift();
    }
    await expectRevokedOnce(requestId, lease.id, lease.username);
    await h.waitForCard((m) => m.ts === card.ts && /access ended/.test(shown(m)));
  });

  it('revoke-all (an operator, waiting on the answer): the workers finish it, recorded once beside the operator\'s decision', async () => {
    const lease = await activeLease(h, PEOPLE.requester);
    const fault = await refuseMarks();
    try {
      await expect(asSystem('test', () => h.app.leases.endNow(lease.id, 'ops'))).rejects.toThrow();
      // The operator's call handed it to the workers, whose retries are refused too.
      await waitUntil(async () => (await fault.refusals()) >= 3 || undefined, 30_000, 'refused marks after the operator\'s');
      expect((await revocationsOf(lease.id)).filter(isRevocation)).toHaveLength(1);
    } finally {
      await fault.lift();
    }
    await expectRevokedOnce(lease.requestId, lease.id, lease.username);
    const decisions = (await revocationsOf(lease.id)).filter((e) => !isRevocation(e));
    expect(decisions).toMatchObject([{ actor: 'cli:ops', details: { command: 'revoke-all' } }]);
  });

  it('an approver\'s End access whose first attempt failed on the target: their decision is no revocation, the user is dropped and recorded', async () => {
    const lease = await activeLease(h, PEOPLE.requester);
    const card = await h.waitForCard((m) => shown(m).includes(lease.requestId) && hasButton(m, 'dbaccess.end'));
    // Someone changed the user behind our back: it no longer carries our marker, so we refuse to drop it.
    await onTarget((client) => client.query(`COMMENT ON ROLE "${lease.username}" IS 'changed by hand'`));
    await h.click(PEOPLE.alice, 'dbaccess.end', card);
    const failed = await waitUntil(async () => ((await leaseOf(h, lease.requestId))?.revokeAttempts ?? 0) >= 1 || undefined, 20_000, 'a failed attempt');
    expect(failed).toBe(true);
    // The request shows a revocation under way, and the approver's lease.revoked is in the log.
    expect((await requestRow(h.app, lease.requestId))!.state).toMatch(/^revok(ing|e_failed)$/);
    expect(await revocationsOf(lease.id)).toMatchObject([{ actor: expect.stringMatching(/^user:/), details: { request: lease.requestId } }]);

    const { ROLE_MARKER } = await import('../../src/modules/credentials/engines/postgres/provider.js');
    await onTarget((client) => client.query(`COMMENT ON ROLE "${lease.username}" IS '${ROLE_MARKER}'`));
    await expectRevokedOnce(lease.requestId, lease.id, lease.username);
  });
});
