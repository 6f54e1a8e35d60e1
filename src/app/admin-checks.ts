import type { CatalogSet } from '../config/catalog.js';
import type { ChatNotifier } from '../chat/core/notifications.js';
import type { Db } from '../db/client.js';
import type { Logger } from '../lib/logger.js';
import type { AdminAvailability } from '../modules/credentials/admin-availability.js';
import { createAdminNotices } from '../modules/credentials/admin-notices.js';
import type { Platform } from '../modules/tenants/tenant-service.js';

interface Deps {
  db: Db;
  availability: Pick<AdminAvailability, 'refresh' | 'all'>;
  notifier: Pick<ChatNotifier, 'send'>;
  catalogs: () => CatalogSet;
  logger: Logger;
  /** The platforms whose approvers are told; `lasting: false` for one whose messages are gone at a restart. */
  platforms: ReadonlyArray<{ platform: Platform; lasting: boolean }>;
  /** False where no worker runs (RUN_MODE=web): the log is told, the approvers are not. */
  announces: boolean;
}

/** Databases whose admin reference does not resolve: checked at the start, on a timer and after a catalog reload. */
export function createAdminChecks({ db, availability, notifier, catalogs, logger, platforms, announces }: Deps) {
  /**
   * The approvers of each platform hear once that a database cannot be served, and once that it can
   * again: told by the processes that run the workers (where requests are served), recorded in the
   * state database (the console's messages live in memory, and so does its record).
   */
  const notices = createAdminNotices({
    db,
    platforms,
    send: async ({ platform, databaseId, unavailable }) => {
      await notifier.send(unavailable ? { type: 'databaseUnavailable', platform, databaseId, message: unavailable.message } : { type: 'databaseAvailable', platform, databaseId });
    },
    logger,
  });
  let loggedUnavailable = '';
  /** Reads the admin references again (Vault's too) and tells the approvers (and the log, once) what changed. */
  async function checkAdmins(): Promise<void> {
    await availability.refresh();
    const unavailable = availability.all();
    const said = unavailable.map((problem) => problem.message).join('\n');
    if (said !== loggedUnavailable) for (const problem of unavailable) logger.warn({ databaseId: problem.databaseId }, problem.message);
    loggedUnavailable = said;
    if (announces) await notices.announce(unavailable, catalogs().databases().map((database) => database.id));
  }
  /** The check a reload, the start or the timer started, which a stop waits for (it uses the state database). */
  let checking: Promise<void> = Promise.resolve();
  const checkLater = () => {
    checking = checkAdmins().catch((error: unknown) => logger.warn({ err: error }, 'could not check the admin references'));
  };
  /** The check in progress, for a stop to wait for. */
  const settled = () => checking;
  return { checkAdmins, checkLater, settled };
}
