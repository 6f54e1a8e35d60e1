import { z } from 'zod';
import { configError } from '../lib/errors.js';
import { parseDuration } from '../lib/time.js';

/**
 * The one environment schema. Nothing else reads process.env: services get slices of this config.
 * Later features add their names here.
 */
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
  SLACK_SIGNING_SECRET: z.string().max(200).optional(),
  SLACK_BOT_TOKEN: z.string().max(500).optional(),
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
  DBACCESS_AI_TIMEOUT: z.string().max(20).refine((text) => { const s = parseDuration(text); return s !== undefined && s >= 1 && s <= 120; }, 'a duration between 1s and 2m, e.g. 8s').default('8s'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  RUN_MODE: z.enum(['all', 'web', 'worker']).default('all'),
  CATALOG_POLL_INTERVAL: z.string().max(20).default('2s'),
  SWEEP_INTERVAL: z.string().max(20).default('15s'),
  RECONCILE_INTERVAL: z.string().max(20).default('5m'),
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
  if (Boolean(env.SLACK_BOT_TOKEN) !== Boolean(env.SLACK_SIGNING_SECRET)) {
    throw configError('SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET must be set together to enable Slack.');
  }
  if (Boolean(env.VAULT_ADDR) !== Boolean(env.VAULT_TOKEN)) {
    throw configError('VAULT_ADDR and VAULT_TOKEN must be set together to use Vault.');
  }
  const snapshot = { ...source };
  return { env, readEnvReference: (name) => snapshot[name] };
}
