import { loadCatalog, parseCatalogSet, singleCatalog, type CatalogSet, type CatalogView } from '../config/catalog.js';
import type { Config } from '../config/env.js';
import { runMigrations } from '../db/client.js';
import type { Logger } from '../lib/logger.js';
import { catalogEngines } from '../modules/credentials/engines/catalog-rules.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { abandonEarly, embeddedPreload, type EarlyStart } from './early-start.js';
import { SANDBOX_ADMIN_REFERENCE, ensureSandbox, type Sandbox } from './sandbox.js';

interface Options {
  catalog?: CatalogView | CatalogSet;
  stateUrl?: string;
  applyMigrations?: boolean;
  early?: EarlyStart | undefined;
}

/**
 * The first steps of a start: the catalog (the file, or one given), and the state database migrated:
 * DATABASE_URL's, or the embedded PostgreSQL (started early by src/main.ts, or here), with the
 * sandbox and its catalog on a fresh install.
 */
export async function openStateAndCatalog(
  config: Config,
  options: Options,
  { logger, closers, dataDir }: { logger: Logger; closers: Array<() => Promise<unknown>>; dataDir: string },
): Promise<{ catalogSet: CatalogSet; sandbox: Sandbox | undefined; stateUrl: string; readEnvReference: (name: string) => string | undefined }> {
  const { env } = config;
  let catalogSet: CatalogSet;
  try {
    catalogSet = !options.catalog ? loadCatalog(env.DBACCESS_CONFIG, catalogEngines) : 'sections' in options.catalog ? options.catalog : singleCatalog(options.catalog);
  } catch (error) {
    await abandonEarly(options.early);
    throw error;
  }
  // A fresh install (embedded state, no catalog file) is the sandbox: sample data and a catalog for it.
  const sandboxMode = !env.DATABASE_URL && !catalogSet.source;
  if (!catalogSet.source && !sandboxMode) {
    logger.warn({ path: env.DBACCESS_CONFIG }, 'no catalog file: starting without databases; copy dbaccess.example.yaml to dbaccess.yaml and restart');
  }

  let stateUrl = options.stateUrl ?? env.DATABASE_URL;
  let sandbox: Sandbox | undefined;
  const migrate = async (url: string) => {
    if (options.applyMigrations !== false) await runMigrations(url, () => logger.info('another process is applying the migrations: waiting for it'));
  };
  if (stateUrl) {
    await abandonEarly(options.early);
    await migrate(stateUrl);
  } else {
    const preload = embeddedPreload(sandboxMode);
    const early = options.early;
    const startedEarly = early && early.preload.join() === preload.join() ? early : undefined;
    if (early && !startedEarly) await abandonEarly(early);
    const embedded = startedEarly ? await startedEarly.embedded : await startEmbeddedPostgres({ dataDir, port: env.EMBEDDED_PG_PORT, logger, preload });
    closers.push(() => embedded.stop());
    stateUrl = embedded.url;
    logger.info({ dataDir }, 'using the embedded PostgreSQL');
    // Two databases of the one server: the sandbox is made while the state database is migrated.
    [sandbox] = await Promise.all([sandboxMode ? ensureSandbox({ superUrl: embedded.url, dataDir, logger }) : undefined, migrate(embedded.url)]);
    if (sandbox) {
      catalogSet = parseCatalogSet(sandbox.catalogYaml, 'sandbox (built in)', catalogEngines);
      logger.info({ path: env.DBACCESS_CONFIG }, `no catalog file: the sandbox database is ready; add ${env.DBACCESS_CONFIG} to use your own databases`);
    }
  }
  const readEnvReference = (name: string) => (sandbox && name === SANDBOX_ADMIN_REFERENCE ? sandbox.adminUrl : config.readEnvReference(name));
  return { catalogSet, sandbox, stateUrl, readEnvReference };
}
