import { lookup } from 'node:dns/promises';
import type { DatabaseEntry } from '../../config/catalog.js';
import type { CredentialProvider, Target, UserListing } from './credential-types.js';
import { engineOf, serverEngineOf } from './engines/registry.js';

/**
 * The reconciler of orphans, per server. Roles are cluster-wide (PostgreSQL) and accounts server-wide
 * (MySQL, MariaDB): a user of one catalog entry is on the server of every other entry there. So
 * entries are grouped by server, the server's users are listed once, and a user is an orphan only if
 * it carries this install's marker and no live lease of any entry on that server owns it.
 */

/** A host's addresses, normalized; what cannot be resolved stands for itself (`name:<host>`). */
export type ResolveHost = (host: string) => Promise<string[]>;

export const resolveHost: ResolveHost = async (host) => {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  try {
    const found = await lookup(bare, { all: true, verbatim: true });
    if (found.length > 0) return found.map(({ address }) => normalizeAddress(address));
  } catch {
    // Unresolvable now: grouped only with the same spelling (such a server is unreachable anyway).
  }
  return [`name:${bare.toLowerCase()}`];
};

/**
 * Lower case, an IPv4-mapped IPv6 address as the IPv4 address it is, and every loopback address
 * (127.0.0.0/8, ::1) as one: `localhost` resolves to 127.0.0.1 on one machine and to ::1 on another,
 * and a server on this machine answers on both. Merging two servers can only keep users (their leases
 * are pooled), never drop one.
 */
export function normalizeAddress(address: string): string {
  const lower = address.toLowerCase();
  const v4 = /^(?:::ffff:)?(\d+\.\d+\.\d+\.\d+)$/.exec(lower)?.[1];
  if (v4) return v4.startsWith('127.') ? 'loopback' : v4;
  return lower === '::1' || lower === '0:0:0:0:0:0:0:1' ? 'loopback' : lower;
}

export interface Server<E extends DatabaseEntry = DatabaseEntry> {
  engine: string;
  port: number;
  /** Every address of the server's entries' hosts. */
  addresses: string[];
  /** In catalog order. */
  entries: E[];
}

/**
 * Entries on one server: same engine, same port, and hosts sharing an address (`localhost`,
 * `127.0.0.1` and `::1` are one server), transitively. Each distinct host is resolved once.
 */
export async function groupByServer<E extends DatabaseEntry>(entries: E[], resolve: ResolveHost = resolveHost): Promise<Array<Server<E>>> {
  const hosts = [...new Set(entries.map((entry) => entry.host.toLowerCase()))];
  const addressesOf = new Map(await Promise.all(hosts.map(async (host) => [host, await resolve(host)] as const)));
  // Union-find over entries: the first entry seen at (engine, port, address) joins every later one there.
  const parent = entries.map((_, index) => index);
  const root = (index: number): number => (parent[index] === index ? index : (parent[index] = root(parent[index]!)));
  const firstAt = new Map<string, number>();
  entries.forEach((entry, index) => {
    for (const address of addressesOf.get(entry.host.toLowerCase())!) {
      const key = JSON.stringify([serverEngineOf(entry).name, entry.port, address]);
      const first = firstAt.get(key);
      if (first === undefined) firstAt.set(key, index);
      else parent[root(index)] = root(first);
    }
  });
  const servers = new Map<number, Server<E>>();
  entries.forEach((entry, index) => {
    const at = root(index);
    let server = servers.get(at);
    if (!server) {
      server = { engine: serverEngineOf(entry).name, port: entry.port, addresses: [], entries: [] };
      servers.set(at, server);
    }
    server.entries.push(entry);
    for (const address of addressesOf.get(entry.host.toLowerCase())!) if (!server.addresses.includes(address)) server.addresses.push(address);
  });
  return [...servers.values()];
}

export interface ReconcileResult {
  /** `<entry>/<name>` of users and access groups dropped; the entry is the one whose admin listed the server. */
  dropped: string[];
  failed: Array<{ user: string; error: string }>;
  /** Entries whose server could not be listed. */
  unreachable: string[];
  /**
   * Users made before install ids (their marker has none) that no lease of this install owns: maybe
   * another install's, maybe an orphan. Never dropped; reported for a person to decide.
   */
  unclaimed: string[];
}

interface Deps {
  /** Every catalog entry (of every tenant's section) with its section's user prefix. */
  entries: Array<{ entry: DatabaseEntry; prefix: string }>;
  providerFor: (databaseId: string) => Promise<{ target: Target; provider: CredentialProvider }>;
  /** Users of the given entries that a live lease of this install owns. */
  liveUsernames: (databaseIds: string[]) => Promise<Set<string>>;
  resolve?: ResolveHost;
}

/** One listing per server (one round trip), then the orphans among this install's users dropped. */
export async function reconcileServers({ entries, providerFor, liveUsernames, resolve }: Deps): Promise<ReconcileResult> {
  const result: ReconcileResult = { dropped: [], failed: [], unreachable: [], unclaimed: [] };
  const prefixOf = new Map(entries.map(({ entry, prefix }) => [entry.id, prefix]));
  for (const server of await groupByServer(entries.map(({ entry }) => entry), resolve)) {
    // An issuer (Vault) lists nothing (it owns its users); any other entry's admin can list the server.
    const listers = server.entries.filter((entry) => engineOf(entry).kind === 'server');
    if (listers.length === 0) continue;
    const prefixes = [...new Set(server.entries.map((entry) => prefixOf.get(entry.id)!))];
    let listed: { via: { target: Target; provider: CredentialProvider }; users: UserListing } | undefined;
    for (const entry of listers) {
      try {
        const via = await providerFor(entry.id);
        listed = { via, users: await via.provider.listUsers(via.target, prefixes) };
        break;
      } catch {
        // Another entry's admin on the same server may still get through.
      }
    }
    if (!listed) {
      result.unreachable.push(...listers.map((entry) => entry.id));
      continue;
    }
    const { via, users } = listed;
    const label = via.target.entry.id;
    // Read after the listing: a lease row is written before its user is created, so every user
    // listed that a lease owns is in this set.
    const live = await liveUsernames(server.entries.map((entry) => entry.id));
    result.unclaimed.push(...users.legacy.filter((name) => !live.has(name)).map((name) => `${label}/${name}`));
    for (const username of users.ours.filter((name) => !live.has(name))) {
      try {
        await via.provider.revoke(via.target, username);
        result.dropped.push(`${label}/${username}`);
      } catch (error) {
        result.failed.push({ user: `${label}/${username}`, error: (error as Error).message });
      }
    }
    // Access groups whose last member's revocation could not drop them (they lend nothing meanwhile).
    try {
      for (const group of (await via.provider.dropEmptyGroups?.(via.target, prefixes)) ?? []) result.dropped.push(`${label}/${group}`);
    } catch (error) {
      result.failed.push({ user: `${label}/access groups`, error: (error as Error).message });
    }
  }
  return result;
}
