import { watchFile, unwatchFile } from 'node:fs';
import { loadCatalog, type CatalogSet } from '../config/catalog.js';
import type { ChatNotifier } from '../chat/core/notifications.js';
import { publicMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { AdminAvailability } from '../modules/credentials/admin-availability.js';
import { catalogEngines } from '../modules/credentials/engines/catalog-rules.js';

interface Deps {
  /** The catalog file, resolved. */
  path: string;
  intervalMs: number;
  /** Puts a reloaded catalog in force. */
  use: (next: CatalogSet) => void;
  availability: Pick<AdminAvailability, 'check'>;
  /** Checks the admin references again, off the reload (Vault's answer, the approvers' notice). */
  checkLater: () => void;
  notifier: Pick<ChatNotifier, 'send'>;
  logger: Logger;
  closers: Array<() => Promise<unknown>>;
}

/**
 * Policy as code: the catalog file is read again when it changes. A file with mistakes is not
 * applied; the last good catalog stays in force and the approvers' channel is told what is wrong.
 */
export function watchCatalog({ path, intervalMs, use, availability, checkLater, notifier, logger, closers }: Deps): void {
  let lastProblem: string | undefined;
  const reload = () => {
    try {
      const next = loadCatalog(path, catalogEngines);
      if (!next.source) return;
      use(next);
      lastProblem = undefined;
      logger.info({ path }, 'catalog reloaded');
      // The forms see a changed reference at once; Vault's answer and the approvers' notice follow.
      availability.check();
      checkLater();
    } catch (error) {
      const problem = publicMessage(error);
      if (problem === lastProblem) return;
      lastProblem = problem;
      logger.error({ path, problem }, 'catalog not reloaded: the last good one stays in force');
      notifier.send({ type: 'configProblem', message: problem }).catch((alertError: unknown) => logger.warn({ err: alertError }, 'could not report a catalog problem'));
    }
  };
  watchFile(path, { interval: intervalMs }, (current, previous) => {
    if (current.mtimeMs !== previous.mtimeMs) reload();
  });
  closers.unshift(async () => unwatchFile(path));
}
