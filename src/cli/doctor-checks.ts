import Anthropic, { APIConnectionError, APIError, AuthenticationError, NotFoundError, PermissionDeniedError } from '@anthropic-ai/sdk';
import { LogLevel, WebClient, type Logger as SlackLogger } from '@slack/web-api';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { CatalogView, DatabaseEntry, LevelDefinition } from '../config/catalog.js';
import type { Config } from '../config/env.js';
import { pendingMigrations } from '../db/client.js';
import { checkAdmin, serverEngineOf, type ProviderRegistry } from '../modules/credentials/engines/registry.js';
import { REFUSED_TOKEN } from '../chat/slack/slack-socket.js';
import type { AdminFinding } from '../modules/credentials/admin-check.js';
import { catalogFileName, createReferenceResolver } from '../modules/credentials/targets.js';
import type { VaultClient } from '../modules/credentials/vault-client.js';
import { displayAddress } from '../modules/credentials/vault-client.js';
import { operatorMessage } from './cli-io.js';

/**
 * The checks of `dbaccess doctor`, one per dependency: each reaches its service the way dbaccess
 * does, reads what it needs, changes nothing, and says what to fix. Messages never carry a secret or
 * a connection string (hosts and ports only).
 */
export type Status = 'ok' | 'warning' | 'problem' | 'skipped';
export type Found = AdminFinding;

export interface Outcome {
  /** `skipped` when the service is not configured; otherwise from the worst finding. */
  skipped?: string;
  findings: Found[];
}

export interface DoctorCheck {
  name: string;
  run(timeoutMs: number): Promise<Outcome>;
}

export const statusOf = (outcome: Outcome): Status =>
  outcome.skipped !== undefined ? 'skipped' : outcome.findings.some((f) => f.severity === 'problem') ? 'problem' : outcome.findings.some((f) => f.severity === 'warning') ? 'warning' : 'ok';

const ok = (message: string): Found => ({ severity: 'ok', message });
const problem = (message: string, fix?: string): Found => ({ severity: 'problem', message, ...(fix ? { fix } : {}) });
const warning = (message: string, fix?: string): Found => ({ severity: 'warning', message, ...(fix ? { fix } : {}) });

/** host:port/path of a URL, never its user or password. */
export function addressOf(url: string, defaultPort: number): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || defaultPort}${parsed.pathname.length > 1 ? parsed.pathname : ''}`;
  } catch {
    return '(not a URL)';
  }
}

/** Where the CLI found the state database (cli-state.ts `openState`), or why it could not. */
export type StateAccess = { url: string; startedHere: boolean } | { error: unknown };

export function stateDatabaseCheck(config: Config, state: StateAccess): DoctorCheck {
  return {
    name: 'state database',
    async run(timeoutMs) {
      const { env } = config;
      const queue = env.REDIS_URL ? '' : '; the job queue runs here too (schema bullmq)';
      if ('error' in state) {
        return { findings: [problem(`The embedded PostgreSQL under ${env.DATA_DIR} did not start: ${operatorMessage(state.error)}`, `Check that ${env.DATA_DIR} is writable and that nothing else uses port ${env.EMBEDDED_PG_PORT} (or set EMBEDDED_PG_PORT), then run dbaccess doctor again.`)] };
      }
      const { url } = state;
      const where = env.DATABASE_URL ? addressOf(url, 5432) : `embedded, ${env.DATA_DIR}${state.startedHere ? ' (not running: started for this check as dbaccess starts it, and stopped after)' : ''}`;
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, application_name: 'dbaccess-doctor' });
      client.on('error', () => {});
      try {
        await client.connect();
        const version = (await client.query<{ version: string }>("SELECT current_setting('server_version') AS version")).rows[0]!.version;
        const { applied, pending } = await pendingMigrations(url);
        const findings = [ok(`PostgreSQL ${version.split(' ')[0]} at ${where}${queue}`)];
        if (pending.length === 0) findings.push(ok(`${applied} migrations applied`));
        else findings.push(problem(`${pending.length} migration${pending.length === 1 ? '' : 's'} not applied: ${pending.join(', ')}.`, 'dbaccess migrate (or start dbaccess, which applies them)'));
        return { findings };
      } catch (error) {
        return { findings: [problem(`Cannot use the state database at ${where}: ${operatorMessage(error)}.`, env.DATABASE_URL ? 'Check DATABASE_URL (user, password, host, port, database) and that the server accepts connections from here.' : `Check the embedded PostgreSQL's output (LOG_LEVEL=debug dbaccess doctor).`)] };
      } finally {
        await client.end().catch(() => {});
      }
    },
  };
}

export function redisCheck(config: Config): DoctorCheck {
  return {
    name: 'queue (Redis)',
    async run(timeoutMs) {
      const url = config.env.REDIS_URL;
      if (!url) return { skipped: 'REDIS_URL is not set: the queue runs on the state database', findings: [] };
      const where = addressOf(url, 6379);
      const redis = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
      redis.on('error', () => {});
      try {
        await redis.connect();
        const pong = await redis.ping();
        const version = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown version';
        const findings = [ok(`Redis ${version} at ${where} answers ${pong}`)];
        const policy = await redis.config('GET', 'maxmemory-policy').then((reply) => (reply as string[])[1], () => undefined);
        if (policy && policy !== 'noeviction') {
          findings.push(warning(`maxmemory-policy is ${policy}: under memory pressure Redis may drop queued jobs (the sweep re-creates revocations, other jobs are lost).`, 'CONFIG SET maxmemory-policy noeviction (and in redis.conf)'));
        }
        return { findings };
      } catch (error) {
        return { findings: [problem(`Cannot reach Redis at ${where}: ${operatorMessage(error)}.`, 'Check REDIS_URL and that Redis is running and reachable from here.')] };
      } finally {
        redis.disconnect();
      }
    },
  };
}

/** The bot scopes of manifests/slack/app-manifest.yaml: what the app calls needs exactly these. */
export const SLACK_SCOPES = ['commands', 'chat:write', 'im:write'] as const;
const silentSlackLogger: SlackLogger = {
  debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, setLevel: () => {}, getLevel: () => LogLevel.ERROR, setName: () => {},
};

export function slackCheck(config: Config): DoctorCheck {
  return {
    name: 'slack',
    async run(timeoutMs) {
      const { SLACK_BOT_TOKEN: token, SLACK_API_URL: apiUrl } = config.env;
      if (!token) return { skipped: 'SLACK_BOT_TOKEN is not set: Slack is off', findings: [] };
      const client = new WebClient(token, { slackApiUrl: apiUrl, retryConfig: { retries: 0 }, timeout: timeoutMs, logger: silentSlackLogger, rejectRateLimitedCalls: true });
      try {
        const result = await client.auth.test();
        const findings = [ok(`auth.test: bot ${result.user ?? '?'} (${result.user_id ?? '?'}) in workspace ${result.team ?? '?'} (${result.team_id ?? '?'})`)];
        const scopes = result.response_metadata?.scopes;
        const missing = scopes ? SLACK_SCOPES.filter((scope) => !scopes.includes(scope)) : [];
        if (missing.length > 0) {
          findings.push(problem(`The token lacks the scope${missing.length === 1 ? '' : 's'} ${missing.join(', ')}.`, 'Add them under OAuth & Permissions (or recreate the app from manifests/slack/app-manifest.yaml), reinstall the app, and copy the new token.'));
        }
        if (config.env.SLACK_APP_TOKEN) findings.push(await socketModeFinding(config.env.SLACK_APP_TOKEN, apiUrl, timeoutMs));
        return { findings };
      } catch (error) {
        const code = (error as { data?: { error?: unknown } }).data?.error;
        if (typeof code === 'string' && REFUSED_TOKEN.has(code)) {
          return { findings: [problem(`Slack refused SLACK_BOT_TOKEN (${code}).`, "Copy the Bot User OAuth Token (xoxb-...) from the app's OAuth & Permissions page into SLACK_BOT_TOKEN.")] };
        }
        return { findings: [problem(`auth.test at ${apiUrl} failed: ${typeof code === 'string' ? code : operatorMessage(error)}.`, 'Check SLACK_API_URL and that this host can reach Slack.')] };
      }
    },
  };
}

/**
 * Socket Mode: the app-level token opens a connection (apps.connections.open hands out a one-time
 * WebSocket URL, which is left unused), so the token is right and Socket Mode is on for the app.
 */
async function socketModeFinding(appToken: string, apiUrl: string, timeoutMs: number): Promise<Found> {
  const client = new WebClient(appToken, { slackApiUrl: apiUrl, retryConfig: { retries: 0 }, timeout: timeoutMs, logger: silentSlackLogger, rejectRateLimitedCalls: true });
  try {
    await client.apps.connections.open();
    return ok('Socket Mode: SLACK_APP_TOKEN opens a connection');
  } catch (error) {
    const code = (error as { data?: { error?: unknown } }).data?.error;
    if (typeof code === 'string' && REFUSED_TOKEN.has(code)) {
      return problem(`Slack refused SLACK_APP_TOKEN for Socket Mode (${code}).`, "Generate an app-level token with the connections:write scope (the app settings, under App-Level Tokens) and copy it (xapp-...) into SLACK_APP_TOKEN.");
    }
    return problem(`apps.connections.open failed: ${typeof code === 'string' ? code : operatorMessage(error)}.`, 'Turn Socket Mode on for the app (Settings, Socket Mode), or unset SLACK_APP_TOKEN to receive Slack over HTTP.');
  }
}

export function vaultCheck(config: Config, vault: VaultClient | undefined): DoctorCheck {
  return {
    name: 'vault',
    async run() {
      if (!vault || !config.env.VAULT_ADDR) return { skipped: 'VAULT_ADDR is not set', findings: [] };
      const where = displayAddress(config.env.VAULT_ADDR);
      try {
        await vault.health();
        const token = await vault.lookupSelf();
        const findings = [ok(`${where} is unsealed; the token (${token.displayName || 'no display name'}) has policies ${token.policies.join(', ') || 'none'}`)];
        if (token.ttlSeconds > 0) {
          const hours = Math.floor(token.ttlSeconds / 3600);
          findings.push(warning(`The token expires in ${hours >= 1 ? `${hours}h` : `${Math.ceil(token.ttlSeconds / 60)}m`}${token.renewable ? ' (renewable)' : ''}; dbaccess does not renew it.`, 'Use a periodic or long-lived token for dbaccess, or renew it before it expires.'));
        }
        return { findings };
      } catch (error) {
        return { findings: [problem(operatorMessage(error), 'Check VAULT_ADDR, VAULT_TOKEN (and VAULT_NAMESPACE) and the policies attached to the token.')] };
      }
    },
  };
}

export function modelCheck(config: Config): DoctorCheck {
  return {
    name: 'model',
    async run(timeoutMs) {
      const { env } = config;
      if (!env.ANTHROPIC_API_KEY) return { skipped: 'ANTHROPIC_API_KEY is not set: the built-in heuristics do the analyses', findings: [] };
      const client = new Anthropic({ apiKey: env.ANTHROPIC_API_KEY, baseURL: env.ANTHROPIC_BASE_URL ?? null, maxRetries: 0, timeout: timeoutMs });
      const where = env.ANTHROPIC_BASE_URL ? addressOf(env.ANTHROPIC_BASE_URL, 443) : 'the Anthropic API';
      const models = [...new Set([env.DBACCESS_AI_MODEL, env.DBACCESS_AI_SUMMARY_MODEL ?? env.DBACCESS_AI_MODEL])];
      const findings: Found[] = [];
      for (const [index, model] of models.entries()) {
        const variable = index === 0 ? 'DBACCESS_AI_MODEL' : 'DBACCESS_AI_SUMMARY_MODEL';
        try {
          const info = await client.models.retrieve(model);
          findings.push(ok(`${model} (${info.display_name}) is available at ${where}`));
        } catch (error) {
          const said = apiMessage(error);
          if (error instanceof AuthenticationError || error instanceof PermissionDeniedError) {
            return { findings: [problem(`${where} refused ANTHROPIC_API_KEY (${error.status}: ${said}).`, 'Create a key in the Anthropic Console and put it in ANTHROPIC_API_KEY (or unset it to use the heuristics only).')] };
          }
          if (error instanceof NotFoundError && /model/i.test(said)) {
            findings.push(problem(`The model ${model} does not exist at ${where} (${said}).`, `Set ${variable} to a model id such as claude-haiku-5-5.`));
          } else if (error instanceof NotFoundError) {
            // A gateway without the Models API: one minimal message instead (about 10 tokens).
            findings.push(await minimalCall(client, model, where, variable));
          } else if (error instanceof APIConnectionError) {
            return { findings: [problem(`Cannot reach ${where}: ${said}.`, 'Check ANTHROPIC_BASE_URL (unset for the Anthropic API) and that this host can reach it.')] };
          } else {
            findings.push(problem(`Asking ${where} about ${model} failed: ${said}.`));
          }
        }
      }
      return { findings };
    },
  };
}

async function minimalCall(client: Anthropic, model: string, where: string, variable: string): Promise<Found> {
  try {
    await client.messages.create({ model, max_tokens: 1, messages: [{ role: 'user', content: 'ping' }] });
    return ok(`${model} answers at ${where} (no Models API there; one 1-token message sent)`);
  } catch (error) {
    return problem(`${model} does not answer at ${where}: ${apiMessage(error)}.`, `Check ${variable} and ANTHROPIC_BASE_URL.`);
  }
}

function apiMessage(error: unknown): string {
  if (error instanceof APIError) {
    const body = error.error as { error?: { message?: unknown } } | undefined;
    const message = body?.error?.message;
    if (typeof message === 'string') return operatorMessage(new Error(message));
  }
  return operatorMessage(error);
}

export interface DatabaseCheckDeps {
  config: Config;
  catalog: CatalogView;
  /** The providers of the engines that hold users (Vault-managed databases are reached through theirs). */
  providers: Pick<ProviderRegistry, 'ofServer'>;
  vault: VaultClient | undefined;
}

/** Reaches one catalog database with its admin account and checks what the provider will ask of it. */
export function databaseCheck(entry: DatabaseEntry, { config, catalog, providers, vault }: DatabaseCheckDeps): DoctorCheck {
  // The server's words for a reference that does not resolve (the form, status and the approvers read the same).
  const resolveReference = createReferenceResolver({ readEnvReference: config.readEnvReference, readVault: vault && ((path, field) => vault.readKv(path, field)), catalogFile: () => catalogFileName(catalog.source) });
  return {
    name: `database ${entry.id}`,
    async run() {
      const engine = serverEngineOf(entry).name;
      let adminUrl: string;
      try {
        adminUrl = await resolveReference(entry.admin, entry.id);
      } catch (error) {
        return { findings: [problem(operatorMessage(error), `Set the admin reference ${entry.admin} (dbaccess check-config shows where it is used).`)] };
      }
      const target = { entry, adminUrl };
      try {
        await providers.ofServer(entry).ping(target);
      } catch (error) {
        return { findings: [problem(operatorMessage(error), `Check the admin connection string of ${entry.admin} and that ${entry.host}:${entry.port} (${engine}) is reachable from here.`)] };
      }
      const levels = entry.levels.map((name) => catalog.level(name)).filter((level): level is LevelDefinition => level !== undefined);
      return { findings: await checkAdmin(target, levels) };
    },
  };
}
