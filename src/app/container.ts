import { createDirectoryGroups, resolveIntegrationSecret } from '../modules/directory-groups/directory-service.js';
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { sql } from 'drizzle-orm';
import { emptyCatalog, type CatalogOf, type CatalogSet, type CatalogView } from '../config/catalog.js';
import type { Config } from '../config/env.js';
import { createLockPool, createSessionLocks, createStateDb, type Db } from '../db/client.js';
import { createSecretBox, deriveKey, loadMasterKey } from '../lib/crypto.js';
import { registerConnectionSecrets, registerSecretValue } from '../lib/secret.js';
import { createLogger, type Logger } from '../lib/logger.js';
import { createJobHandlers } from '../jobs/handlers.js';
import { startJobWorkers } from './workers.js';
import { createAdminChecks } from './admin-checks.js';
import { watchCatalog } from './catalog-watch.js';
import { openStateAndCatalog } from './state-and-catalog.js';
import { loadSlackModules, loadTeamsModules } from './chat-modules.js';
import { createInbox, createInboxReplay } from '../modules/inbox/inbox-service.js';
import { createJobQueue, type QueueBackend } from '../jobs/queue.js';
import { personOf, type PersonResolver } from '../modules/policy/policy-evaluator.js';
import { namesPeopleBy } from '../config/policy-config.js';
import { createOnCallService } from '../modules/oncall/oncall-service.js';
import type { ChatNotifier } from '../chat/core/notifications.js';
import { routeNotifications } from '../chat/core/notification-router.js';
import { consoleApp } from '../chat/console/console-app.js';
import { cliApi } from '../http/cli-api.js';
import { createCliSessionService } from '../modules/cli-sessions/cli-session-service.js';
import { consoleSite } from '../chat/console/console-site.js';
import { createConsoleNotifier } from '../chat/console/console-notifier.js';
import { createConsoleStore } from '../chat/console/console-store.js';
import { grantableVerdict } from '../modules/credentials/grantable-verdict.js';
import { createMetrics } from '../http/metrics.js';
import { buildServer, closeHttp } from '../http/server.js';
import { createAccessRequestRepo } from '../modules/access-requests/access-request-repo.js';
import { createAccessRequestService } from '../modules/access-requests/access-request-service.js';
import type { ScopeChecker } from '../modules/access-requests/request-check.js';
import { scopeProblems } from '../modules/credentials/scope-check.js';
import { publicMessage } from '../lib/errors.js';
import { createAuditService } from '../modules/audit/audit-service.js';
import { createAuditExporter, createFileSink, createHttpSink } from '../modules/audit/audit-export.js';
import { createRetentionService } from '../modules/retention/retention-service.js';
import { createReportLinks } from '../modules/reports/report-links.js';
import { createReportRepo } from '../modules/reports/report-repo.js';
import { createReportService } from '../modules/reports/report-service.js';
import { createLeaseRepo } from '../modules/credentials/lease-repo.js';
import { createLeaseService } from '../modules/credentials/lease-service.js';
import { catalogFileName, createReferenceResolver, createTargetResolver } from '../modules/credentials/targets.js';
import { createAdminAvailability } from '../modules/credentials/admin-availability.js';
import { createProviders, issuedByVault } from '../modules/credentials/engines/registry.js';
import { heuristicAnalyzer } from '../modules/risk/heuristic-analyzer.js';
import { createAnalysisRepo } from '../modules/analysis/analysis-repo.js';
import { createAnalysisService } from '../modules/analysis/analysis-service.js';
import { createInsightsRepo } from '../modules/insights/insights-repo.js';
import { createInsightsService } from '../modules/insights/insights-service.js';
import { createCaptureRepo } from '../modules/capture/capture-repo.js';
import { createCaptureService } from '../modules/capture/capture-service.js';
import { createTenantService } from '../modules/tenants/tenant-service.js';
import { configError } from '../lib/errors.js';
import type { EarlyStart } from './early-start.js';
import { CONSOLE_PEOPLE } from './sandbox.js';
import { createMfaRepo } from '../modules/mfa/mfa-repo.js';
import { UNKNOWN_INSTALLATION, installationId } from '../modules/installation/installation-id.js';
import { createRequestExitRepo } from '../modules/access-requests/request-exit-repo.js';
import { createRequestExitService, type RequestExitService } from '../modules/access-requests/request-exit-service.js';
import { createTicketRepo } from '../modules/tickets/ticket-repo.js';
import { createTicketService } from '../modules/tickets/ticket-service.js';
import { ticketWebhookRoutes } from '../http/ticket-webhooks.js';
import { createOffboardingRepo } from '../modules/offboarding/offboarding-repo.js';
import { createOffboardingService } from '../modules/offboarding/offboarding-service.js';
import { createMfaService } from '../modules/mfa/mfa-service.js';
import { createShortLivedFiles } from '../http/short-lived-files.js';

/** Stands in for Vault when none is configured; start-up refuses catalogs that would need it. */
export interface ContainerOptions {
  logger?: Logger;
  /** A catalog already loaded (tests); otherwise the file at DBACCESS_CONFIG. */
  catalog?: CatalogView | CatalogSet;
  /** The state database to use instead of DATABASE_URL or starting the embedded one (the CLI, next to a running app). */
  stateUrl?: string;
  /** False for the CLI's reads and emergency commands: they must not change the schema under a running app. */
  applyMigrations?: boolean;
  /** The embedded PostgreSQL, already starting (src/main.ts starts it while the code loads). */
  early?: EarlyStart | undefined;
  /** The clock of the request lifecycle and the leases (scheduled starts, lapses, expiries); the system's by default. */
  now?: (() => Date) | undefined;
}

/**
 * The composition root: builds infrastructure, repos, services and adapters, and nothing else.
 * `start()` runs what RUN_MODE asks for: the HTTP server, the workers, or both.
 */
export async function createContainer(config: Config, options: ContainerOptions = {}) {
  const { env } = config;
  const logger = options.logger ?? createLogger(env.LOG_LEVEL);
  const closers: Array<() => Promise<unknown>> = [];
  const dataDir = resolve(env.DATA_DIR);

  const opened = await openStateAndCatalog(config, options, { logger, closers, dataDir });
  let catalogSet = opened.catalogSet;
  const { sandbox, stateUrl, readEnvReference } = opened;
  /** The whole file: every tenant's section (the sweep, the reconciler, capture by database id). */
  const catalogs = () => catalogSet;
  const { db, pool } = createStateDb(stateUrl);
  const lockPool = createLockPool(stateUrl);
  // Group-committed audit appends get connections of their own: their callers may hold state
  // connections (a transaction) while they wait, and must not starve the write they wait for.
  const { db: auditDb, pool: auditPool } = createStateDb(stateUrl, 4);
  closers.unshift(() => pool.end(), () => lockPool.end(), () => auditPool.end());

  const masterKey = loadMasterKey(env.MASTER_KEY, dataDir);
  // Configuration secrets join the log scrubber's registry: no log line at any level shows them.
  for (const value of [env.MASTER_KEY, masterKey.toString('hex'), masterKey.toString('base64'), env.SLACK_BOT_TOKEN, env.SLACK_SIGNING_SECRET, env.SLACK_APP_TOKEN, env.MICROSOFT_APP_PASSWORD, env.VAULT_TOKEN, env.ANTHROPIC_API_KEY, env.CONSOLE_TOKEN, env.AUDIT_EXPORT_TOKEN]) {
    if (value) registerSecretValue(value, { permanent: true });
  }
  for (const url of [stateUrl, env.REDIS_URL, env.AUDIT_EXPORT_URL]) registerConnectionSecrets(url);
  const secrets = createSecretBox(masterKey);
  const backend: QueueBackend = env.REDIS_URL
    ? { kind: 'redis', url: env.REDIS_URL, prefix: env.QUEUE_PREFIX }
    : { kind: 'postgres', url: stateUrl, schema: 'bullmq' };
  const queue = createJobQueue(backend, logger.child({ component: 'jobs' }));
  closers.unshift(() => queue.close());

  const vault = env.VAULT_ADDR && env.VAULT_TOKEN ? (await import('../modules/credentials/vault-client.js')).createVaultClient({ addr: env.VAULT_ADDR, token: env.VAULT_TOKEN, namespace: env.VAULT_NAMESPACE }) : undefined;
  const needsVault = catalogSet.databases().filter((db) => issuedByVault(db) || db.admin.startsWith('vault:')).map((db) => db.id);
  if (needsVault.length > 0 && !vault) {
    throw configError(`${needsVault.join(', ')} use${needsVault.length === 1 ? 's' : ''} Vault: set VAULT_ADDR and VAULT_TOKEN.`);
  }
  // Made once and kept in the state database; every user the providers create carries it.
  const installId = (await installationId(db)) ?? UNKNOWN_INSTALLATION;
  if (installId === UNKNOWN_INSTALLATION) logger.warn('the state database has no install id yet (run dbaccess migrate): only users made before install ids can be revoked from here');
  const providers = createProviders({ installId, vault });
  closers.push(() => providers.close());

  const tenants = createTenantService({ db });
  /** A tenant's catalog: its section of the file (a file without tenants: serves every tenant). */
  const catalogOf: CatalogOf = async (tenantId) => {
    const set = catalogSet;
    if (set.sections[0]?.everyone) return set.sections[0].view;
    const key = await tenants.keyOf(tenantId);
    return key ? set.forTenant(key.platform, key.externalId) : emptyCatalog(set.source);
  };
  // Slack people by email or user group, when a tenant's catalog names them so (Teams people are emails).
  // Chat platforms and the model SDK load only when configured (start-up time: issue 17).
  const slackModules = env.SLACK_BOT_TOKEN ? await loadSlackModules() : undefined;
  const slackDirectory = slackModules && env.SLACK_BOT_TOKEN
    ? slackModules.createSlackDirectory({
        client: new slackModules.WebClient(env.SLACK_BOT_TOKEN, { slackApiUrl: env.SLACK_API_URL, retryConfig: { retries: 1, maxTimeout: 2000 }, timeout: 5000, logger: slackModules.boltLogger(logger.child({ component: 'slack-directory' })) }),
        needs: async (tenantId) => {
          const { policy } = await catalogOf(tenantId);
          const needs = namesPeopleBy(policy);
          // A ticket that must be assigned to the requester is matched by their email.
          return { ...needs, emails: needs.emails || policy.rules.ticket.some((entry) => entry.assigned === true) };
        },
        logger,
      })
    : undefined;
  const chatPerson: PersonResolver = async (tenantId, externalUserId) =>
    slackDirectory && (await tenants.keyOf(tenantId))?.platform === 'slack' ? slackDirectory.person(tenantId, externalUserId) : personOf(externalUserId);
  // Identity-provider groups and managers (integrations: okta, google, entra), matched by the person's email.
  const directoryGroups = createDirectoryGroups({ catalogOf, logger, resolveSecret: (reference) => resolveIntegrationSecret(reference, { readEnvReference, readVault }) });
  const people: PersonResolver = async (tenantId, externalUserId) => directoryGroups.enrich(tenantId, await chatPerson(tenantId, externalUserId));
  const audit = createAuditService({ db, appendDb: auditDb, checkpointKey: deriveKey(masterKey, 'audit-checkpoints') });
  const requestRepo = createAccessRequestRepo({ db });
  const leaseRepo = createLeaseRepo({ db });
  const readVault = vault && ((path: string, field: string) => vault.readKv(path, field));
  const resolveReference = createReferenceResolver({ readEnvReference, readVault, catalogFile: () => catalogFileName(catalogs().source) });
  // Which databases cannot be served (their admin reference does not resolve): the forms, status and submissions ask it.
  const availability = createAdminAvailability({ catalogs, readEnvReference, readVault, recheckMs: env.ADMIN_CHECK_INTERVAL });
  const resolveTarget = createTargetResolver({ catalogs, resolveReference });
  const checkScope: ScopeChecker = async (databaseId, scope, grant) => {
    try {
      // An admin reference that does not resolve holds nothing up here: the card says why, provisioning fails visibly.
      const target = await resolveTarget(databaseId);
      const provider = providers.of(target.entry);
      const problems = scope.length > 0 ? scopeProblems(scope, await provider.listObjects(target, scope), databaseId) : [];
      if (problems.length > 0 || !grant || !provider.grantable) return { problems };
      return grantableVerdict(await provider.grantable(target, { level: grant.level, privileges: grant.privileges, scope }), target.entry.id);
    } catch (error) {
      return { unreachable: publicMessage(error) };
    }
  };
  // Its own lock connections: a log read holds its lock for a while, and must not starve the card locks.
  const captureLockPool = createLockPool(stateUrl, 4);
  closers.unshift(() => captureLockPool.end());
  const capture = createCaptureService({ db, repo: createCaptureRepo({ db }), lockPool: captureLockPool, catalogs, resolveTarget });
  const claude = env.ANTHROPIC_API_KEY
    ? (await import('../modules/analysis/claude-analyzer.js')).createClaudeAnalyzer({
        apiKey: env.ANTHROPIC_API_KEY, baseURL: env.ANTHROPIC_BASE_URL, model: env.DBACCESS_AI_MODEL,
        summaryModel: env.DBACCESS_AI_SUMMARY_MODEL ?? env.DBACCESS_AI_MODEL, timeoutMs: env.DBACCESS_AI_TIMEOUT,
        policy: (databaseId) => {
          const section = catalogs().ofDatabase(databaseId)?.catalog;
          return section ? JSON.stringify({ timezone: section.timezone, policies: section.policies, rules: section.rules }).slice(0, 8000) : '';
        },
      })
    : undefined;
  const insightsService = createInsightsService({ repo: createInsightsRepo({ db }), catalogOf });
  /** Anomalies and recommendations of a period, in the shape the report builder takes. */
  const insights = insightsService.insights;
  const auditExporter = createAuditExporter({
    db, lockPool,
    sinks: [
      ...(env.AUDIT_EXPORT_FILE ? [createFileSink(resolve(env.AUDIT_EXPORT_FILE))] : []),
      ...(env.AUDIT_EXPORT_URL ? [createHttpSink(env.AUDIT_EXPORT_URL, { token: env.AUDIT_EXPORT_TOKEN })] : []),
    ],
  });
  const retention = createRetentionService({ db, audit, retention: () => catalogs().sections[0]!.view.catalog.retention });
  const analysis = createAnalysisService({
    repo: createAnalysisRepo({ db }), requests: requestRepo, leaseById: (id) => leaseRepo.getById(id), capture, catalogOf, people, claude,
    enqueue: queue.enqueue, logger: logger.child({ component: 'analysis' }), sessionInsights: insightsService.forSession,
  });
  // Who is on call (PagerDuty, incident.io), for on-call auto-approval; their API keys are references like the admin URLs.
  const onCall = createOnCallService({ integrationsOf: async (tenantId) => (await catalogOf(tenantId)).catalog.integrations, resolveReference, logger: logger.child({ component: 'on-call' }) });
  // Tickets that bind (modules/tickets): verified live before the card; the access ends when the ticket closes.
  // The exit service it ends leases through is made below: it is reached late, when a ticket closes.
  let endLease: RequestExitService['endLease'] = async () => undefined;
  const tickets = createTicketService({
    catalogOf, catalogs, resolveReference, repo: createTicketRepo({ db }), requests: requestRepo, audit, logger,
    exits: { endLease: (request, how) => endLease(request, how) },
  });
  const requests = createAccessRequestService({ checkScope, db, requests: requestRepo, audit, risk: heuristicAnalyzer, enqueue: queue.enqueue, catalogOf, people, analyses: analysis, availability, onCall, tickets, ...(options.now ? { now: options.now } : {}) });
  const reports = createReportService({
    repo: createReportRepo({ db }), audit, catalogOf, people, isAdmin: (actor) => requests.isAdmin(actor), insights,
    links: createReportLinks({ key: deriveKey(masterKey, 'report-links'), ttlMs: env.REPORT_LINK_TTL }),
    publicUrl: env.PUBLIC_URL, logger: logger.child({ component: 'reports' }),
  });
  const revocationLocks = createSessionLocks(stateUrl);
  closers.unshift(() => revocationLocks.end());
  const leases = createLeaseService({
    db, requests: requestRepo, leases: leaseRepo, audit, enqueue: queue.enqueue, enqueueMany: queue.enqueueMany, providers, secrets, catalogs,
    resolveTarget, locks: revocationLocks, ...(options.now ? { now: options.now } : {}),
  });
  const exitRepo = createRequestExitRepo({ db });
  const exits = createRequestExitService({ db, requests: requestRepo, exits: exitRepo, audit, enqueue: queue.enqueue, access: requests });
  endLease = exits.endLease;
  const cliSessions = createCliSessionService({ db, audit });
  const offboarding = createOffboardingService({ repo: createOffboardingRepo({ db }), exitRepo, exits, leases, cliSessions, audit, enqueue: queue.enqueue });
  // The sweep replays the inbox's intents that the process taking them in did not finish (it died).
  const inboxReplay = createInboxReplay({ db, tenants, exits, offboarding, audit });
  const status = async (tenantId: string) => {
    const [activeLeases, queueCounts, failingRevocations, unreviewedBreakGlass, catalog] = await Promise.all([
      leaseRepo.countActive(), queue.counts(), leases.failingRevocations(tenantId), requests.unreviewedBreakGlass(tenantId), catalogOf(tenantId),
    ]);
    const unavailableDatabases = availability.in(catalog).map(({ databaseId, message }) => ({ databaseId, message }));
    return { activeLeases, queue: queueCounts, failingRevocations, unreviewedBreakGlass, unavailableDatabases };
  };
  const metrics = createMetrics({ requestsByState: () => requestRepo.countByState(), activeLeases: () => leaseRepo.countActive() });

  const mfa = createMfaService({ db, repo: createMfaRepo({ db }), audit, secrets });
  const qrCodes = createShortLivedFiles({ ttlMs: 10 * 60_000 });
  const publishQr = env.PUBLIC_URL ? (png: Buffer) => `${env.PUBLIC_URL!.replace(/\/$/, '')}/mfa/qr/${qrCodes.put(png)}.png` : undefined;
  // Socket Mode when there is an app-level token (Slack signs nothing on the socket); signed HTTP otherwise.
  const slackInbound = env.SLACK_APP_TOKEN ? { appToken: env.SLACK_APP_TOKEN } : env.SLACK_SIGNING_SECRET ? { signingSecret: env.SLACK_SIGNING_SECRET } : undefined;
  if (env.SLACK_APP_TOKEN && env.SLACK_SIGNING_SECRET) logger.info('Slack in Socket Mode (SLACK_APP_TOKEN): SLACK_SIGNING_SECRET is not used and /slack/events is not served');
  // Slack deliveries are claimed on connections of their own (2, opened on first use): a burst's claims
  // come right after its acknowledgements, and must not queue behind the work of earlier deliveries.
  const claimsDb = (): Db => {
    const { db: claims, pool: claimsPool } = createStateDb(stateUrl, 2);
    closers.unshift(() => claimsPool.end());
    return claims;
  };
  // The inbox of deliveries that reduce access is written on the same connections, before the acknowledgement.
  const slackIntake = (modules: NonNullable<typeof slackModules>) => {
    const claims = claimsDb();
    return { deliveries: modules.createSlackDeliveries({ db: claims }), inbox: createInbox({ db: claims }) };
  };
  const slack =
    slackModules && env.SLACK_BOT_TOKEN && slackInbound
      ? slackModules.createSlackApp({ inbound: slackInbound, botToken: env.SLACK_BOT_TOKEN, apiUrl: env.SLACK_API_URL, viewKey: deriveKey(masterKey, 'slack-views') }, { mfa, cliSessions, publishQr, status, availability, tenants, ...slackIntake(slackModules), requests, analysis, insights: insightsService, leases, exits, offboarding, reports, audit, catalogOf, catalogs, directory: slackDirectory, logger })
      : undefined;
  if (Boolean(env.MICROSOFT_APP_ID) !== Boolean(env.MICROSOFT_APP_PASSWORD) && env.MICROSOFT_APP_TYPE !== 'UserAssignedMSI') {
    throw configError('MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD must be set together to enable Teams.');
  }
  const teamsModules = env.MICROSOFT_APP_ID ? await loadTeamsModules() : undefined;
  const teams = teamsModules && env.MICROSOFT_APP_ID
    ? teamsModules.createTeamsApp(
        {
          appId: env.MICROSOFT_APP_ID, appPassword: env.MICROSOFT_APP_PASSWORD ?? '', appTenantId: env.MICROSOFT_APP_TENANT_ID, appType: env.MICROSOFT_APP_TYPE,
          cloud: teamsModules.teamsCloudFromEnv(env),
        },
        { tenants, requests, analysis, leases, exits, offboarding, mfa, cliSessions, conversations: teamsModules.createTeamsConversations({ db }), reports, audit, status, availability, insights: insightsService, catalogOf, catalogs, logger },
      )
    : undefined;
  // The local console: on by default when no chat platform is configured (and so in the sandbox).
  const consoleOn = env.CONSOLE === 'on' || (env.CONSOLE === 'auto' && !slack && !teams);
  const consoleStore = consoleOn ? createConsoleStore() : undefined;
  const notifier: ChatNotifier = routeNotifications({
    adapters: {
      ...(slack ? { slack: slack.notifier } : {}),
      ...(teams ? { teams: teams.notifier } : {}),
      ...(consoleStore ? { console: createConsoleNotifier({ store: consoleStore, serves: (databaseId) => catalogs().forTenant('console', '').database(databaseId) !== undefined }) } : {}),
    },
    platformOf: (tenantId) => tenants.platformOf(tenantId),
    logger,
  });
  const consoleRoutes = consoleStore
    ? consoleSite({ token: env.CONSOLE_TOKEN }, consoleApp(
        { people: { requester: CONSOLE_PEOPLE.requester, approver: CONSOLE_PEOPLE.approver } },
        { store: consoleStore, notifier, tenants, requests, analysis, leases, exits, history: exitRepo, mfa, cliSessions, status, availability, insights: insightsService, reports, audit, catalogOf, logger },
      ))
    : undefined;

  const adminChecks = createAdminChecks({
    db, availability, notifier, catalogs, logger, announces: env.RUN_MODE !== 'web',
    platforms: [...(slack ? [{ platform: 'slack' as const, lasting: true }] : []), ...(teams ? [{ platform: 'teams' as const, lasting: true }] : []), ...(consoleStore ? [{ platform: 'console' as const, lasting: false }] : [])],
  });
  const { checkAdmins, checkLater } = adminChecks;

  let http: FastifyInstance | undefined;
  let started = false;

  return {
    db, pool, queue, catalogs, catalogOf, stateUrl, installId, mfa, requests, availability, checkAdmins, analysis, capture, leases, exits, offboarding, cliSessions, audit, tenants, logger, metrics, insights, reports, retention, auditExporter,
    get http() {
      return http;
    },
    /** Where the local console answers, once the server listens (undefined when it is off). */
    get consoleUrl(): string | undefined {
      const address = http?.server.address();
      if (!consoleStore || !address || typeof address !== 'object') return undefined;
      return `http://127.0.0.1:${address.port}/console`;
    },
    sandbox: Boolean(sandbox),

    async start(): Promise<void> {
      if (slack) await slack.init();
      if (!options.catalog) {
        watchCatalog({ path: resolve(env.DBACCESS_CONFIG), intervalMs: env.CATALOG_POLL_INTERVAL, use: (next) => (catalogSet = next), availability, checkLater, notifier, logger, closers });
      }
      // Off the start: a Vault reference is a network call. Then again every ADMIN_CHECK_INTERVAL.
      checkLater();
      const recheck = setInterval(checkLater, env.ADMIN_CHECK_INTERVAL);
      recheck.unref();
      closers.unshift(async () => {
        clearInterval(recheck);
        await adminChecks.settled();
      });
      // The workers and the HTTP server start side by side (start-up time, issue 17).
      const startWorkers = async () => {
        if (env.RUN_MODE === 'web') return;
        const handlers = createJobHandlers({ requests, analysis, capture, requestRepo, leases, notifier, lockPool, logger: logger.child({ component: 'jobs' }), metrics, auditExporter, audit, retention, offboarding, tickets, inbox: inboxReplay, enqueue: queue.enqueue });
        // Web and worker in one process: a burst of Slack requests is acknowledged before jobs take the process's time.
        await startJobWorkers({ queue, handlers, metrics, env, exportsAudit: auditExporter.configured, inboxReplay, logger, closers, before: env.RUN_MODE === 'worker' ? undefined : slack?.urgent.idle });
      };
      const startServer = async () => {
        if (env.RUN_MODE === 'worker') return;
        http = await buildServer({
          logger,
          metrics,
          slack: slack?.http,
          qrCodes,
          reports,
          console: consoleRoutes,
          teams: teams?.route,
          ticketWebhooks: ticketWebhookRoutes({ tickets }),
          cli: cliApi({ sessions: cliSessions, requests, analysis, leases, exits, mfa, catalogOf, logger, loginHint: slack ? '/dbaccess' : 'dbaccess' }),
          // Ready once start() has finished: the HTTP server may listen before the workers run.
          readiness: { database: () => db.execute(sql`SELECT 1`), queue: () => queue.ping(), started: async () => (started ? undefined : Promise.reject(new Error('starting'))) },
        });
        await http.listen({ port: env.PORT, host: env.HOST });
        closers.unshift(() => closeHttp(http!));
      };
      // Both settle before a failure is reported, so that stop() finds everything either one started.
      const failed = (await Promise.allSettled([startWorkers(), startServer()])).find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
      // Socket Mode: Slack's deliveries start once everything that answers them is up; they stop first.
      const socket = slack?.socket;
      if (socket && env.RUN_MODE !== 'worker') {
        closers.unshift(() => socket.stop());
        await socket.start();
      }
      started = true;
    },

    async stop(): Promise<void> {
      for (const close of closers) {
        await close().catch((error: unknown) => logger.warn({ err: error }, 'error while shutting down'));
      }
    },
  };
}

export type Container = Awaited<ReturnType<typeof createContainer>>;
