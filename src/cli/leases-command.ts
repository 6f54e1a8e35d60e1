import { asSystem } from '../modules/tenants/tenant-scope.js';
import type { LeaseService } from '../modules/credentials/lease-service.js';
import { EXIT, relativeTime, table, utc, type CliIo } from './cli-io.js';
import { ApiError, call, readSession, serverOf } from './cli-session.js';
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
  usage: 'dbaccess leases [--mine] [--json] [--database <id>] [--server <url>]',
  help: `Lists every lease not revoked yet, in every workspace, soonest expiry first: request id,
database, temporary user, requester, expiry and state (a failing revocation is called out).
Reads the state database the server uses: DATABASE_URL, else the embedded PostgreSQL under DATA_DIR
(started for the command, as the server starts it, when no dbaccess is running).

With --mine, from any terminal signed in with dbaccess login (or connect): your own active accesses,
asked of the server, wherever they were delivered (this terminal or a chat DM). End one with
dbaccess end <request id>.

  --mine            your own accesses, from the server you are signed in to
  --json            one JSON array on stdout instead of the table
  --database <id>   only the leases on this catalog database
  --server <url>    with --mine: the dbaccess server (default: DBACCESS_URL, else the one signed in to)

Exit: 0 listed (also when there are none), 1 the state database could not be read, 2 usage mistake.`,
  options: { mine: { type: 'boolean' }, json: { type: 'boolean' }, database: { type: 'string' }, server: { type: 'string' } },
  maxPositionals: 0,
  async run({ values }, { io, config, environment }) {
    if (values.mine) return myLeases(values, io, environment);
    if (values.server !== undefined) {
      io.err(`dbaccess leases: --server goes with --mine.\nUsage: ${leasesCommand.usage}`);
      return EXIT.usage;
    }
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

interface MyLease { requestId: string; databaseId: string; level: string; scope: string[]; expiresAt: string; delivery: string }

/** `leases --mine`: the person's own active accesses, asked of the server with their terminal sign-in. */
async function myLeases(values: Record<string, string | boolean | undefined>, io: CliIo, environment: Record<string, string | undefined>): Promise<number> {
  const stored = readSession(environment);
  if (!stored) {
    io.err('This terminal is not signed in: run dbaccess login.');
    return EXIT.problems;
  }
  // The token goes only to the server that issued it.
  const server = serverOf(values.server, environment);
  if (server.replace(/\/+$/, '') !== stored.server.replace(/\/+$/, '')) {
    io.err(`This terminal is signed in to ${stored.server}, not ${server}: run dbaccess login --server ${server}.`);
    return EXIT.problems;
  }
  const database = typeof values.database === 'string' ? values.database.toLowerCase() : '';
  try {
    const { body } = await call<{ leases: MyLease[] }>(stored.server, `/cli/api/leases?all=1${database ? `&database=${encodeURIComponent(database)}` : ''}`, { token: stored.token });
    const leases = [...body.leases].sort((a, b) => a.expiresAt.localeCompare(b.expiresAt));
    if (values.json) {
      io.out(JSON.stringify(leases, null, 2));
      return EXIT.ok;
    }
    if (leases.length === 0) {
      io.out(database ? `You have no active access to ${database}.` : 'You have no active access.');
      return EXIT.ok;
    }
    const now = new Date();
    for (const line of table(['REQUEST', 'DATABASE', 'LEVEL', 'SCOPE', 'EXPIRES', 'DELIVERED'], leases.map((lease) => [
      lease.requestId, lease.databaseId, lease.level, lease.scope.length > 0 ? lease.scope.join(', ') : 'whole database',
      `${utc(new Date(lease.expiresAt))} (${relativeTime(new Date(lease.expiresAt), now)})`, lease.delivery === 'cli' ? 'terminal' : 'chat DM',
    ]))) io.out(line);
    io.out(`${leases.length} active access${leases.length === 1 ? '' : 'es'}. End one with: dbaccess end <request id>`);
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    io.err(`dbaccess leases: ${error.message}`);
    return EXIT.problems;
  }
}
