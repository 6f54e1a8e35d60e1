import { and, eq, inArray, notInArray, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { databaseNotices } from '../../db/schema/leases.js';
import type { Logger } from '../../lib/logger.js';
import type { Platform } from '../tenants/tenant-service.js';
import type { Unavailable } from './targets.js';

/** What the approvers of one platform are told: a database became unavailable, or is available again. */
export type AdminNotice =
  | { platform: Platform; databaseId: string; unavailable: Unavailable }
  | { platform: Platform; databaseId: string; unavailable?: undefined };

/** What was told where: claimed before it is sent, so that one process of many sends it. */
interface Ledger {
  /** True when this problem of this database was not told yet on this platform (it is now claimed). */
  claim(databaseId: string, platform: Platform, problem: string): Promise<boolean>;
  /** Gives a claim back (its message could not be sent): the next check tries again. */
  release(databaseId: string, platform: Platform, problem: string): Promise<void>;
  /** Forgets the databases of the platform that are fine now (returned: each is told once) or gone from the catalog (quietly). */
  settle(platform: Platform, fine: string[], inCatalog: string[]): Promise<string[]>;
}

/** In the state database: every process and every restart shares it. */
function stateLedger(db: Db): Ledger {
  const notice = (databaseId: string, platform: Platform) => and(eq(databaseNotices.databaseId, databaseId), eq(databaseNotices.platform, platform));
  return {
    async claim(databaseId, platform, problem) {
      const rows = await db.insert(databaseNotices).values({ databaseId, platform, problem })
        .onConflictDoUpdate({
          target: [databaseNotices.databaseId, databaseNotices.platform],
          set: { problem, noticedAt: sql`now()` },
          setWhere: sql`${databaseNotices.problem} <> excluded.problem`,
        })
        .returning({ databaseId: databaseNotices.databaseId });
      return rows.length > 0;
    },
    async release(databaseId, platform, problem) {
      await db.delete(databaseNotices).where(and(notice(databaseId, platform), eq(databaseNotices.problem, problem)));
    },
    async settle(platform, fine, inCatalog) {
      const fixed = fine.length === 0 ? [] : await db.delete(databaseNotices)
        .where(and(eq(databaseNotices.platform, platform), inArray(databaseNotices.databaseId, fine)))
        .returning({ databaseId: databaseNotices.databaseId });
      await db.delete(databaseNotices).where(and(eq(databaseNotices.platform, platform), ...(inCatalog.length ? [notInArray(databaseNotices.databaseId, inCatalog)] : [])));
      return fixed.map((row) => row.databaseId);
    },
  };
}

/** In memory, for a platform whose messages do not outlive the process either (the console's). */
function memoryLedger(): Ledger {
  const told = new Map<string, string>();
  const key = (databaseId: string, platform: Platform) => `${platform}\u0000${databaseId}`;
  return {
    async claim(databaseId, platform, problem) {
      if (told.get(key(databaseId, platform)) === problem) return false;
      told.set(key(databaseId, platform), problem);
      return true;
    },
    async release(databaseId, platform, problem) {
      if (told.get(key(databaseId, platform)) === problem) told.delete(key(databaseId, platform));
    },
    async settle(platform, fine, inCatalog) {
      const fixed = fine.filter((databaseId) => told.delete(key(databaseId, platform)));
      for (const stored of [...told.keys()]) {
        const [storedPlatform, databaseId] = stored.split('\u0000') as [string, string];
        if (storedPlatform === platform && !inCatalog.includes(databaseId)) told.delete(stored);
      }
      return fixed;
    },
  };
}

/**
 * Tells each platform's approvers once about a catalog database that cannot be served, once more
 * when the same database has a different problem, and once when it is fixed: not on every check,
 * not once per process. A message that could not be sent is tried again at the next check.
 */
export function createAdminNotices({ db, platforms, send, logger }: {
  db: Db;
  /** The platforms whose approvers are told; `lasting: false` for one whose messages are gone at a restart. */
  platforms: ReadonlyArray<{ platform: Platform; lasting: boolean }>;
  send: (notice: AdminNotice) => Promise<void>;
  logger: Logger;
}) {
  const lasting = stateLedger(db);
  const fleeting = memoryLedger();
  let running: Promise<void> = Promise.resolve();

  async function announceOn(platform: Platform, ledger: Ledger, problems: Unavailable[], inCatalog: string[]): Promise<void> {
    for (const problem of problems) {
      if (!(await ledger.claim(problem.databaseId, platform, problem.message))) continue;
      try {
        await send({ platform, databaseId: problem.databaseId, unavailable: problem });
      } catch (error) {
        logger.warn({ err: error, databaseId: problem.databaseId, platform }, 'could not tell the approvers about an unavailable database; trying again at the next check');
        await ledger.release(problem.databaseId, platform, problem.message);
      }
    }
    const broken = new Set(problems.map((problem) => problem.databaseId));
    for (const databaseId of await ledger.settle(platform, inCatalog.filter((id) => !broken.has(id)), inCatalog)) {
      await send({ platform, databaseId }).catch((error: unknown) => logger.warn({ err: error, databaseId, platform }, 'could not tell the approvers a database is available again'));
    }
  }

  return {
    /** Tells what changed since the last time; one call at a time (a reload may come during a check). */
    announce(problems: Unavailable[], inCatalog: string[]): Promise<void> {
      running = running.then(async () => {
        for (const { platform, lasting: keeps } of platforms) {
          await announceOn(platform, keeps ? lasting : fleeting, problems, inCatalog).catch((error: unknown) => logger.warn({ err: error, platform }, 'could not check what the approvers were told about unavailable databases'));
        }
      });
      return running;
    },
  };
}

export type AdminNotices = ReturnType<typeof createAdminNotices>;
