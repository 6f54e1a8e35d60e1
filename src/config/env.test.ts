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

  it('turns Slack on with the bot token and one way in: the signing secret (HTTP) or the app-level token (Socket Mode)', () => {
    expect(() => loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1' })).toThrow(/^SLACK_BOT_TOKEN needs SLACK_APP_TOKEN \(Socket Mode, no public URL\) or SLACK_SIGNING_SECRET/);
    expect(() => loadConfig({ SLACK_SIGNING_SECRET: 's' })).toThrow(/^SLACK_SIGNING_SECRET needs SLACK_BOT_TOKEN too/);
    expect(() => loadConfig({ SLACK_APP_TOKEN: 'xapp-1-A0-1-abc' })).toThrow(/^SLACK_APP_TOKEN needs SLACK_BOT_TOKEN too/);
    expect(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' }).env.SLACK_APP_TOKEN).toBeUndefined();
    // Left empty in an env file: unset, so HTTP mode with a signing secret, and Slack off without one.
    expect(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's', SLACK_APP_TOKEN: '' }).env.SLACK_APP_TOKEN).toBeUndefined();
    expect(loadConfig({ SLACK_BOT_TOKEN: '', SLACK_SIGNING_SECRET: '', SLACK_APP_TOKEN: '' }).env.SLACK_APP_TOKEN).toBeUndefined();
    // Socket Mode needs no signing secret; one left over from HTTP mode is allowed (and unused).
    expect(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1-A0-1-abc' }).env.SLACK_SIGNING_SECRET).toBeUndefined();
    expect(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1-A0-1-abc', SLACK_SIGNING_SECRET: 's' }).env.SLACK_APP_TOKEN).toBe('xapp-1-A0-1-abc');
  });

  it('says in one line which Slack token went in the wrong variable', () => {
    const message = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error('loadConfig accepted it');
    };
    const botInAppSlot = message({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xoxb-2' });
    expect(botInAppSlot).toBe('Invalid environment: SLACK_APP_TOKEN: an app-level token starts with xapp- (the Slack app settings, App-Level Tokens); the xoxb- token goes in SLACK_BOT_TOKEN');
    expect(message({ SLACK_BOT_TOKEN: 'xapp-1-A0-1-abc', SLACK_APP_TOKEN: 'xapp-1-A0-1-abc' })).toMatch(/^Invalid environment: SLACK_BOT_TOKEN: this is an app-level token \(xapp-\): put it in SLACK_APP_TOKEN/);
    for (const text of [botInAppSlot, message({ SLACK_BOT_TOKEN: 'xoxb-1' })]) expect(text).not.toContain('\n');
  });

  it('resolves env: references from the same snapshot', () => {
    const config = loadConfig({ ORDERS_ADMIN_URL: 'postgresql://x' });
    expect(config.readEnvReference('ORDERS_ADMIN_URL')).toBe('postgresql://x');
    expect(config.readEnvReference('MISSING')).toBeUndefined();
  });
});
