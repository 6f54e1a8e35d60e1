import { describe, expect, it } from 'vitest';
import { loadConfig } from './env.js';

describe('environment', () => {
  it('applies the documented defaults', () => {
    const { env } = loadConfig({});
    expect(env).toMatchObject({ PORT: 3000, DATA_DIR: './.dbaccess', DBACCESS_CONFIG: './dbaccess.yaml', RUN_MODE: 'all', LOG_LEVEL: 'info', SLACK_API_URL: 'https://slack.com/api/' });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.REDIS_URL).toBeUndefined();
  });

  it('fails fast naming the variable', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ RUN_MODE: 'both' })).toThrow(/RUN_MODE/);
    expect(() => loadConfig({ DATABASE_URL: 'not a url' })).toThrow(/DATABASE_URL/);
  });

  it('parses durations once, to milliseconds, and names a variable that is not one', () => {
    const { env } = loadConfig({ SWEEP_INTERVAL: '1m30s', DBACCESS_AI_TIMEOUT: '4s' });
    expect(env).toMatchObject({ SWEEP_INTERVAL: 90_000, DBACCESS_AI_TIMEOUT: 4_000, CATALOG_POLL_INTERVAL: 2_000, RECONCILE_INTERVAL: 300_000, REPORT_LINK_TTL: 86_400_000 });
    expect(() => loadConfig({ SWEEP_INTERVAL: 'often' })).toThrow(/SWEEP_INTERVAL: a duration such as 15s/);
    expect(() => loadConfig({ CATALOG_POLL_INTERVAL: '' })).toThrow(/CATALOG_POLL_INTERVAL/);
    expect(() => loadConfig({ DBACCESS_AI_TIMEOUT: '3m' })).toThrow(/DBACCESS_AI_TIMEOUT: a duration between 1s and 2m/);
    expect(() => loadConfig({ REPORT_LINK_TTL: '31d' })).toThrow(/REPORT_LINK_TTL/);
  });

  it('needs both Slack secrets or neither', () => {
    expect(() => loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1' })).toThrow(/SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET/);
  });

  it('resolves env: references from the same snapshot', () => {
    const config = loadConfig({ ORDERS_ADMIN_URL: 'postgresql://x' });
    expect(config.readEnvReference('ORDERS_ADMIN_URL')).toBe('postgresql://x');
    expect(config.readEnvReference('MISSING')).toBeUndefined();
  });
});
