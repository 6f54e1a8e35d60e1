import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DatabaseEntry } from '../../config/catalog.js';
import { serverEngineOf } from './engines/registry.js';
import { groupByServer, normalizeAddress, resolveHost } from './reconciler.js';

type Engine = 'postgres' | 'mysql' | 'mariadb';

const entryOf = (id: string, engine: Engine, host: string, port: number, vault: boolean) =>
  ({ id, host, port, engine: vault ? 'vault' : engine, ...(vault ? { vault: { engine, role: 'r', mount: 'database' } } : {}) }) as unknown as DatabaseEntry;

describe('servers of the reconciler', () => {
  it('localhost, 127.0.0.1, ::1 and their spellings are one server, by the real resolver; another port or engine is another', async () => {
    const spellings = ['localhost', '127.0.0.1', '::1', '[::1]', 'LocalHost', '::ffff:127.0.0.1', '127.0.0.2'];
    const entries = [
      ...spellings.map((host, i) => entryOf(`pg${i}`, 'postgres', host, 5433, false)),
      entryOf('pg-other-port', 'postgres', 'localhost', 5432, false),
      entryOf('maria', 'mariadb', '127.0.0.1', 5433, false),
      entryOf('vault-pg', 'postgres', '::1', 5433, true),
    ];
    const servers = await groupByServer(entries);
    const ids = servers.map((server) => server.entries.map((entry) => entry.id));
    expect(ids).toEqual([[...spellings.map((_, i) => `pg${i}`), 'vault-pg'], ['pg-other-port'], ['maria']]);
    expect(servers[0]).toMatchObject({ engine: 'postgres', port: 5433, addresses: ['loopback'] });
  });

  it('normalizes addresses: case, IPv4-mapped IPv6, loopback', () => {
    expect(normalizeAddress('FE80::1')).toBe('fe80::1');
    expect(normalizeAddress('::FFFF:10.0.0.7')).toBe('10.0.0.7');
    expect(normalizeAddress('127.8.9.10')).toBe('loopback');
    expect(normalizeAddress('0:0:0:0:0:0:0:1')).toBe('loopback');
  });

  it('a host that does not resolve stands for itself (same spelling, any case)', async () => {
    expect(await resolveHost('no-such-host.invalid')).toEqual(['name:no-such-host.invalid']);
    const servers = await groupByServer([entryOf('a', 'postgres', 'no-such-host.invalid', 5432, false), entryOf('b', 'postgres', 'NO-SUCH-HOST.invalid', 5432, false)]);
    expect(servers.map((server) => server.entries.map((entry) => entry.id))).toEqual([['a', 'b']]);
  });

  /**
   * A world of servers: the local one per engine and port (reached as localhost, 127.0.0.1, ::1 and
   * their spellings), and remote ones with addresses of their own, reached by name (resolving to one
   * or both of their addresses, the first always), by address, or as an IPv4-mapped IPv6 address. A
   * catalog names them in any spelling, some through Vault. Two entries share a server in the result
   * exactly when they are on one server in the world.
   */
  it('groups any catalog by server, whatever the spellings (property)', async () => {
    const server = fc.record({
      engine: fc.constantFrom<Engine>('postgres', 'mysql', 'mariadb'),
      port: fc.constantFrom(3306, 5432, 5433),
      local: fc.boolean(),
    });
    const world = fc.array(server, { minLength: 1, maxLength: 6 });
    await fc.assert(
      fc.asyncProperty(
        world,
        fc.array(fc.record({ server: fc.nat(), spelling: fc.nat(), vault: fc.boolean(), upper: fc.boolean() }), { minLength: 1, maxLength: 12 }),
        fc.boolean(),
        async (servers, picks, localhostIsV6) => {
          const names = new Map<string, string[]>();
          const spellingsOf = servers.map((s, index) => {
            if (s.local) return ['localhost', '127.0.0.1', '::1', '[::1]', '::ffff:127.0.0.1'];
            const [first, second] = [`10.${index}.0.1`, `10.${index}.0.2`];
            names.set(`db${index}.example`, [first, second]);
            names.set(`db${index}-a.example`, [first]);
            return [`db${index}.example`, `db${index}-a.example`, first, `::ffff:${first}`];
          });
          names.set('localhost', localhostIsV6 ? ['::1'] : ['127.0.0.1']);
          const resolve = async (host: string) => (names.get(host.toLowerCase()) ?? (await resolveHost(host))).map(normalizeAddress);
          const entries = picks.map((pick, i) => {
            const at = pick.server % servers.length;
            const options = spellingsOf[at]!;
            const spelling = options[pick.spelling % options.length]!;
            return { entry: entryOf(`e${i}`, servers[at]!.engine, pick.upper ? spelling.toUpperCase() : spelling, servers[at]!.port, pick.vault), at };
          });
          // Where an entry really is: the local server of its engine and port, or remote server `at`.
          const identity = ({ at }: { at: number }) => (servers[at]!.local ? `local:${servers[at]!.engine}:${servers[at]!.port}` : `remote:${at}`);
          const grouped = await groupByServer(entries.map(({ entry }) => entry), resolve);
          const groupOf = new Map(grouped.flatMap((group, index) => group.entries.map((entry) => [entry.id, index] as const)));
          expect(grouped.flatMap((group) => group.entries)).toHaveLength(entries.length);
          for (const a of entries) {
            for (const b of entries) {
              expect(groupOf.get(a.entry.id) === groupOf.get(b.entry.id)).toBe(identity(a) === identity(b));
            }
          }
          for (const group of grouped) {
            expect(new Set(group.entries.map((entry) => `${serverEngineOf(entry).name}:${entry.port}`)).size).toBe(1);
            // Catalog order within a server: the first reachable entry's admin lists it.
            const order = group.entries.map((entry) => Number(entry.id.slice(1)));
            expect(order).toEqual([...order].sort((x, y) => x - y));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
