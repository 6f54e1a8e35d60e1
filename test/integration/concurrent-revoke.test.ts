import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Container } from '../../src/app/container.js';
import { asSystem } from '../../src/db/tenant-scope.js';
import { PEOPLE, shown, startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { targetRoles } from '../support/databases.js';
import { auditOf, leaseRow, requestIdIn, waitForState } from '../support/ways-out.js';

/**
 * One lease, revoked from two processes at the same moment (an operator's `dbaccess revoke-all` and
 * the workers' sweep; two workers). The user is dropped once, its revocation is recorded once, and no
 * process fails on what the other did ("role does not exist", "tuple concurrently updated").
 */
describe('one lease revoked by two processes at once', () => {
  let h: Harness;
  let second: Container;

  beforeAll(async () => {
    h = await startHarness({ queue: 'redis' });
    second = await h.startWorker();
  });
  afterAll(async () => {
    await h?.close();
  });

  /** A request approved through Slack, its user live on the target: its id and its lease row. */
  async function activeLease(reason: string) {
    const submitted = await h.submitRequest(PEOPLE.requester, { reason, scope: 'sales.orders' });
    expect(submitted.status).toBe(200);
    expect(submitted.body).toBe('');
    const card = await h.waitForCard((m) => shown(m).includes(reason));
    const requestId = requestIdIn(shown(card))!;
    await h.click(PEOPLE.alice, 'dbaccess.approve', card);
    await waitForState(h.app, requestId, 'active', 30_000);
    return { requestId, lease: (await leaseRow(h.app, requestId))! };
  }

  const revocations = async (leaseId: string) => {
    const events = await auditOf(h.app, `lease:${leaseId}`);
    // The operator's decision is a lease.revoked of its own (details.command): not a revocation.
    const revoked = events.filter((e) => e.action === 'lease.revoked' && e.outcome === 'success' && e.details.command === undefined);
    return { done: revoked, failed: events.filter((e) => e.action === 'lease.revoke') };
  };

  it('a lease due in two processes is revoked by one of them, once', async () => {
    for (let round = 0; round < 3; round += 1) {
      const { requestId, lease } = await activeLease(`checking the nightly totals, round ${round} of two workers`);
      await asSystem('test', () => h.app.pool.query('UPDATE leases SET expires_at = now() WHERE id = $1', [lease.id]));
      // Both processes at once, and the running app's sweep may join in.
      const outcomes = await asSystem('test', () => Promise.all([h.app.leases.revoke(lease.id), second.leases.revoke(lease.id), second.leases.revoke(lease.id)]));
      expect(outcomes.filter((outcome) => outcome.revoked).length).toBeLessThanOrEqual(1);
      await waitForState(h.app, requestId, 'revoked', 20_000);
      const { done, failed } = await revocations(lease.id);
      expect(done).toHaveLength(1);
      expect(failed).toEqual([]);
      expect(await targetRoles(h.prefix)).not.toContain(lease.username);
    }
  }, 120_000);

  it("an operator's emergency revoke is theirs, while the workers keep trying the same lease", async () => {
    for (let round = 0; round < 3; round += 1) {
      const { lease } = await activeLease(`checking the nightly totals, round ${round} of the operator`);
      let stop = false;
      // Another process revokes the lease over and over as soon as it is due.
      const worker = (async () => {
        while (!stop) await asSystem('test', () => second.leases.revoke(lease.id));
      })();
      const result = await asSystem('test', () => h.app.leases.endNow(lease.id, 'operator'));
      stop = true;
      await worker;
      expect(result).toMatchObject({ revoked: true });
      const { done, failed } = await revocations(lease.id);
      expect(done.map((event) => event.actor)).toEqual(['cli:operator']);
      expect(failed).toEqual([]);
      await waitUntil(async () => !(await targetRoles(h.prefix)).includes(lease.username), 10_000, 'the user dropped');
    }
  }, 120_000);
});
