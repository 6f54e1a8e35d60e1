import { asSystem } from '../modules/tenants/tenant-scope.js';
import type { LeaseService } from '../modules/credentials/lease-service.js';
import { EXIT, relativeTime, table, utc } from './cli-io.js';
import type { Command } from './command.js';

export type LiveLease = Awaited<ReturnType<LeaseService['listLive']>>[number];

/** The state as a person reads it: the request's state, and a failing revocation called out. */
export function leaseState(lease: LiveLease): string {
  const failing = lease.revokeAttempts > 0 ? ` (revocation failed ${lease.revokeAttempts}x, retrying)` : '';
  return `${lease.provisionedAt ? lease.state : `${lease.state}, user not created yet`}${failing}`;
}

export const requesterOf = (lease: LiveLease) => `${lease.platform}:${lease.requester}${lease.requesterName ? ` (${lease.requesterName})` : ''}`;

export function leaseTable(leases: LiveLease[], now = new Date()): string[] {
  return table(
    ['REQUEST', 'DATABASE', 'USER', 'REQUESTER', 'EXPIRES', 'STATE'],
    leases.map((lease) => [lease.requestId, lease.databaseId, lease.username, requesterOf(lease), `${utc(lease.expiresAt)} (${relativeTime(lease.expiresAt, now)})`, leaseState(lease)]),
  );
}

export const leasesCommand: Command = {
  name: 'leases',
  summary: 'list the leases that are not revoked yet',
  usage: 'dbaccess leases [--json] [--database <id>]',
  help: `Lists every lease not revoked yet, in every workspace, soonest expiry first: request id,
database, temporary user, requester, expiry and state (a failing revocation is called out).
Reads the state database the server uses: DATABASE_URL, else the embedded PostgreSQL under DATA_DIR
(started for the command, as the server starts it, when no dbaccess is running).

  --json            one JSON array on stdout instead of the table
  --database <id>   only the leases on this catalog database

Exit: 0 listed (also when there are none), 1 the state database could not be read, 2 usage mistake.`,
  options: { json: { type: 'boolean' }, database: { type: 'string' } },
  maxPositionals: 0,
  async run({ values }, { io, config }) {
    const { openContainer } = await import('./cli-state.js');
    const app = await openContainer(config(), io.err);
    try {
      const databaseId = typeof values.database === 'string' ? values.database : undefined;
      const leases = await asSystem('cli:leases', () => app.leases.listLive(databaseId));
      if (values.json) {
        io.out(JSON.stringify(leases.map((lease) => ({
          requestId: lease.requestId, leaseId: lease.leaseId, databaseId: lease.databaseId, username: lease.username,
          requester: { platform: lease.platform, workspace: lease.workspace, id: lease.requester, name: lease.requesterName },
          expiresAt: lease.expiresAt.toISOString(), state: lease.state, provisioned: lease.provisionedAt !== null, revokeAttempts: lease.revokeAttempts,
        })), null, 2));
        return EXIT.ok;
      }
      if (leases.length === 0) {
        io.out(databaseId ? `No active leases on ${databaseId}.` : 'No active leases.');
        return EXIT.ok;
      }
      for (const line of leaseTable(leases)) io.out(line);
      io.out(`${leases.length} lease${leases.length === 1 ? '' : 's'}.`);
      return EXIT.ok;
    } finally {
      await app.stop();
    }
  },
};
