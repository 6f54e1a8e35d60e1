import { describe, expect, it } from 'vitest';
import { createLogger, logFormatFor } from './logger.js';
import { registerSecretValue } from './secret.js';

/** A logger writing pretty lines into an array, as the app's writes them to a terminal. */
function pretty(level = 'info', colour = false) {
  const lines: string[] = [];
  const logger = createLogger(level, { write: (line: string) => void lines.push(line) }, { format: 'pretty', colour });
  return { logger, text: () => lines.join('') };
}

describe('pretty log lines', () => {
  it('read as a sentence: time, level, component, message, then the other fields', () => {
    const { logger, text } = pretty();
    logger.child({ component: 'http' }).info({ port: 3000, mode: 'all', note: 'two words' }, 'dbaccess started');
    expect(text()).toMatch(/^\d\d:\d\d:\d\d INFO  \[http\] dbaccess started  port=3000 mode=all note="two words"\n$/);
  });

  it('are scrubbed as JSON lines are: registered secrets and secret-shaped text never show', () => {
    const { logger, text } = pretty('trace', true);
    const value = `pretty-secret-${Date.now()}`;
    registerSecretValue(value, { permanent: true });
    logger.info({ token: 'xoxb-123-456-abc', detail: `it was ${value}` }, `connecting to postgres://admin:hunter2@db:5432/x with ${value}`);
    logger.error(new Error(`failed with password=hunter2 and ${value}`));
    expect(text()).not.toContain(value);
    expect(text()).not.toContain('hunter2');
    expect(text()).not.toContain('xoxb-123');
    expect(text()).toContain('[redacted]');
  });

  it('show an error by its message; its stack only at debug and trace', () => {
    const info = pretty('info');
    info.logger.error({ err: Object.assign(new Error('address in use'), { code: 'EADDRINUSE' }) }, 'could not start');
    expect(info.text()).toMatch(/ERROR could not start: address in use \(EADDRINUSE\)\n$/);
    expect(info.text()).not.toMatch(/^\s+at /m);
    const debug = pretty('debug');
    debug.logger.error({ err: new Error('boom') }, 'could not start');
    expect(debug.text()).toMatch(/^\s+at /m);
  });

  it('are what LOG_FORMAT=auto picks on a terminal only; colours only on a terminal', () => {
    expect(logFormatFor('auto', { isTTY: true })).toEqual({ format: 'pretty', colour: true });
    expect(logFormatFor('auto', { isTTY: false })).toEqual({ format: 'json', colour: false });
    expect(logFormatFor('pretty', {})).toEqual({ format: 'pretty', colour: false });
    expect(logFormatFor('json', { isTTY: true })).toEqual({ format: 'json', colour: false });
  });
});
