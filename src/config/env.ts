import { z } from 'zod';
import { configError } from '../lib/errors.js';
import { parseDuration } from '../lib/time.js';

/**
 * A duration such as `8s`, `5m` or `1h30m`, parsed once here to milliseconds; `help` is the message
 * when it is not one, or falls outside [min, max] seconds.
 */
const durationMs = (help: string, { min = 1, max = Number.MAX_SAFE_INTEGER / 1000 }: { min?: number; max?: number } = {}) =>
  z
    .string()
    .max(20)
    .transform((text, ctx) => {
      const seconds = parseDuration(text);
      if (seconds === undefined || seconds < min || seconds > max) {
        ctx.addIssue({ code: 'custom', message: help });
        return z.NEVER;
      }
      return seconds * 1000;
    });

/**
 * The one environment schema. Nothing else reads process.env: services get slices of this config.
 * Later features add their names here.
 */
/** Durations (the *_INTERVAL, *_TIMEOUT and *_TTL variables) come out in milliseconds. */
const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().max(255).default('0.0.0.0'),
  DATABASE_URL: z.string().max(2000).url().optional(),
  DATA_DIR: z.string().max(1000).default('./.dbaccess'),
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65535).default(5488),
  REDIS_URL: z.string().max(2000).url().optional(),
  QUEUE_PREFIX: z.string().regex(/^[a-z0-9_-]{1,40}$/, 'lower-case letters, digits, _ or -').default('dbaccess'),
  DBACCESS_CONFIG: z.string().max(1000).default('./dbaccess.yaml'),
  MASTER_KEY: z.string().max(200).optional(),
  /** Slack over HTTP: Slack signs what it posts to /slack/events with this secret. */
  SLACK_SIGNING_SECRET: z.string().max(200).optional(),
  SLACK_BOT_TOKEN: z
    .string()
    .max(500)
    .refine((token) => !token.startsWith('xapp-'), 'this is an app-level token (xapp-): put it in SLACK_APP_TOKEN, and the Bot User OAuth Token (xoxb-) here')
    .optional(),
  /**
   * Slack in Socket Mode: the app-level token (scope connections:write). Set, dbaccess connects out to
   * Slack instead of serving /slack/events: no public URL, and no signing secret (Slack signs only HTTP).
   */
  SLACK_APP_TOKEN: z.preprocess(
    // `SLACK_APP_TOKEN=` left empty in an env file means unset, as for the other Slack variables.
    (value) => (value === '' ? undefined : value),
    z.string().max(500).startsWith('xapp-', 'an app-level token starts with xapp- (the Slack app settings, App-Level Tokens); the xoxb- token goes in SLACK_BOT_TOKEN').optional(),
  ),
  /** The public https address of this server (for images Slack fetches, such as MFA QR codes). */
  PUBLIC_URL: z.string().max(2000).url().optional(),
  SLACK_API_URL: z.string().max(2000).url().default('https://slack.com/api/'),
  VAULT_ADDR: z.string().max(2000).url().optional(),
  VAULT_TOKEN: z.string().max(2000).optional(),
  VAULT_NAMESPACE: z.string().max(200).optional(),
  /** Claude: without a key, the built-in heuristics do every analysis. */
  ANTHROPIC_API_KEY: z.string().max(500).optional(),
  ANTHROPIC_BASE_URL: z.string().max(2000).url().optional(),
  DBACCESS_AI_MODEL: z.string().regex(/^[a-z0-9][a-z0-9.-]{2,99}$/, 'a model id such as claude-haiku-5-5').default('claude-haiku-5-5'),
  /** The model for session summaries; the request model when unset. */
  DBACCESS_AI_SUMMARY_MODEL: z.string().regex(/^[a-z0-9][a-z0-9.-]{2,99}$/, 'a model id such as claude-sonnet-5-5').optional(),
  /** The most one model call may take, retries included, before the heuristics answer instead. */
  DBACCESS_AI_TIMEOUT: durationMs('a duration between 1s and 2m, e.g. 8s', { max: 120 }).prefault('8s'),
  /** Microsoft Teams: the bot's Azure registration. Set MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD to enable Teams. */
  MICROSOFT_APP_ID: z.string().max(100).optional(),
  MICROSOFT_APP_PASSWORD: z.string().max(500).optional(),
  MICROSOFT_APP_TENANT_ID: z.string().max(100).optional(),
  MICROSOFT_APP_TYPE: z.enum(['MultiTenant', 'SingleTenant', 'UserAssignedMSI']).default('MultiTenant'),
  /**
   * The Bot Framework's endpoints, for a sovereign cloud or one reached elsewhere; unset, the public cloud's.
   * Channel -> bot: the OpenID metadata of channel tokens (their signing keys) and their issuer.
   */
  MICROSOFT_OPENID_METADATA_URL: z.string().max(2000).url().optional(),
  MICROSOFT_CHANNEL_ISSUER: z.string().max(2000).url().optional(),
  /** Bot -> channel: the login authority (https), e.g. https://login.microsoftonline.us/<tenant>. */
  MICROSOFT_LOGIN_URL: z.string().max(2000).url().refine((url) => url.startsWith('https://'), 'an https:// URL (MSAL refuses other authorities)').optional(),
  /** Authority hosts (host[:port], comma-separated) trusted without asking login.microsoftonline.com; default MICROSOFT_LOGIN_URL's host. */
  MICROSOFT_KNOWN_AUTHORITIES: z.string().max(2000).regex(/^[a-z0-9.:\-]+(\s*,\s*[a-z0-9.:\-]+)*$/i, 'host names (host:port), comma-separated').optional(),
  /** The token endpoint; unset, read from the authority's OpenID configuration. */
  MICROSOFT_TOKEN_URL: z.string().max(2000).url().optional(),
  /** The scope of the bot's tokens (and the OAuth API), e.g. https://api.botframework.us for US Government. */
  MICROSOFT_OAUTH_SCOPE: z.string().max(2000).url().optional(),
  /** The local console at /console: `auto` turns it on when no chat platform is configured. */
  CONSOLE: z.enum(['auto', 'on', 'off']).default('auto'),
  /** Lets the console answer beyond this machine, to whoever presents this token. */
  CONSOLE_TOKEN: z.string().min(24, 'at least 24 characters').max(200).optional(),
  /** Audit export: JSON lines appended to this file (a SIEM agent tails it), at least once, resumable. */
  AUDIT_EXPORT_FILE: z.string().min(1).max(1000).optional(),
  /** Audit export: batches of JSON lines POSTed here (a SIEM's HTTP collector). */
  AUDIT_EXPORT_URL: z.string().max(2000).url().optional(),
  /** Sent as `Authorization: Bearer <token>` to AUDIT_EXPORT_URL. */
  AUDIT_EXPORT_TOKEN: z.string().max(2000).optional(),
  AUDIT_EXPORT_INTERVAL: durationMs('a duration such as 5s').prefault('5s'),
  /** How often each tenant's audit chain head is signed (a checkpoint), when it moved. */
  AUDIT_CHECKPOINT_INTERVAL: durationMs('a duration such as 5m').prefault('5m'),
  /** How often history past its retention (catalog `retention:`) is purged. */
  RETENTION_PURGE_INTERVAL: durationMs('a duration such as 1h').prefault('1h'),
  /** How long a report's download link works. */
  REPORT_LINK_TTL: durationMs('a duration of at most 30d, e.g. 24h', { max: 30 * 86400 }).prefault('24h'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `auto`: readable, coloured lines when stdout is a terminal, JSON lines otherwise (a pipe, a file, a container). */
  LOG_FORMAT: z.enum(['auto', 'pretty', 'json']).default('auto'),
  RUN_MODE: z.enum(['all', 'web', 'worker']).default('all'),
  CATALOG_POLL_INTERVAL: durationMs('a duration such as 2s').prefault('2s'),
  SWEEP_INTERVAL: durationMs('a duration such as 15s').prefault('15s'),
  RECONCILE_INTERVAL: durationMs('a duration such as 5m').prefault('5m'),
  /** How often the catalog's admin references are checked again (Vault ones are read) and approvers told of a change. */
  ADMIN_CHECK_INTERVAL: durationMs('a duration such as 1m').prefault('1m'),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  env: Env;
  /** Resolves `env:NAME` references of the catalog against the same environment snapshot. */
  readEnvReference(name: string): string | undefined;
}

export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  const result = envSchema.safeParse(source);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw configError(`Invalid environment: ${problems.join('; ')}`);
  }
  const env = result.data;
  const [pairProblem] = pairProblems(env);
  if (pairProblem) throw configError(pairProblem.message);
  const snapshot = { ...source };
  return { env, readEnvReference: (name) => snapshot[name] };
}

/** Variables that only work together. */
function pairProblems(env: Env): EnvironmentProblem[] {
  const problems: EnvironmentProblem[] = [];
  const slackProblem = slackPairProblem(env);
  if (slackProblem) problems.push(slackProblem);
  if (Boolean(env.VAULT_ADDR) !== Boolean(env.VAULT_TOKEN)) {
    problems.push({ name: env.VAULT_ADDR ? 'VAULT_TOKEN' : 'VAULT_ADDR', message: 'VAULT_ADDR and VAULT_TOKEN must be set together to use Vault.' });
  }
  return problems;
}

/**
 * Slack needs the bot token and one way in: the signing secret (Slack posts to /slack/events) or the
 * app-level token (Socket Mode, which wins when both are set: Slack signs nothing it sends over the socket).
 */
function slackPairProblem(env: Env): EnvironmentProblem | undefined {
  if (env.SLACK_BOT_TOKEN && !env.SLACK_APP_TOKEN && !env.SLACK_SIGNING_SECRET) {
    return { name: 'SLACK_SIGNING_SECRET', message: 'SLACK_BOT_TOKEN needs SLACK_APP_TOKEN (Socket Mode, no public URL) or SLACK_SIGNING_SECRET (Slack posts to /slack/events) to enable Slack.' };
  }
  if (!env.SLACK_BOT_TOKEN && env.SLACK_APP_TOKEN) {
    return { name: 'SLACK_BOT_TOKEN', message: 'SLACK_APP_TOKEN needs SLACK_BOT_TOKEN too (the Bot User OAuth Token, xoxb-, of the same app) to enable Slack in Socket Mode.' };
  }
  if (!env.SLACK_BOT_TOKEN && env.SLACK_SIGNING_SECRET) {
    return { name: 'SLACK_BOT_TOKEN', message: 'SLACK_SIGNING_SECRET needs SLACK_BOT_TOKEN too (the Bot User OAuth Token, xoxb-) to enable Slack.' };
  }
  return undefined;
}

export interface EnvironmentProblem {
  /** The variable to fix. */
  name: string;
  message: string;
}

/**
 * Every problem of the environment at once, for `dbaccess check-config`; `config` when there is none.
 * `catalogPath` is DBACCESS_CONFIG (or its default) whenever that variable itself is valid.
 */
export function inspectEnvironment(source: Record<string, string | undefined>): { config?: Config; problems: EnvironmentProblem[]; catalogPath?: string } {
  const result = envSchema.safeParse(source);
  const catalogPath = envSchema.shape.DBACCESS_CONFIG.safeParse(source.DBACCESS_CONFIG);
  const path = catalogPath.success ? catalogPath.data : undefined;
  if (!result.success) {
    const problems = result.error.issues.map((issue) => ({ name: issue.path.map(String).join('.'), message: issue.message }));
    return { problems, catalogPath: path };
  }
  const problems = pairProblems(result.data);
  if (problems.length > 0) return { problems, catalogPath: path };
  try {
    return { config: loadConfig(source), problems: [], catalogPath: path };
  } catch (error) {
    // A rule loadConfig checks that the ones above do not: report it whole, under the environment.
    return { problems: [{ name: '(environment)', message: (error as Error).message }], catalogPath: path };
  }
}
