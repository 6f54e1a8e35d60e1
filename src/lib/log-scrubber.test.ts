import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateRecoveryCodes, newTotpSecret, otpauthUri } from '../modules/mfa/mfa-codes.js';
import { generatePassword } from './crypto.js';
import { safeError, scrubText, scrubValue } from './log-scrubber.js';
import { createLogger, isLostConnection } from './logger.js';
import { REDACTED, Secret, redactKnownSecrets, registerConnectionSecrets, registerSecretValue, secretForms } from './secret.js';

/** A logger at trace writing into an array, as the app's logger writes to stdout. */
function capture() {
  const lines: string[] = [];
  const logger = createLogger('trace', { write: (line: string) => void lines.push(line) });
  return { logger, lines, text: () => lines.join('') };
}

/** Every string anywhere in a parsed log line. */
function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (value && typeof value === 'object') for (const [key, inner] of Object.entries(value)) { out.push(key); strings(inner, out); }
  return out;
}

describe('Secret', () => {
  it('prints as [redacted] in every way a value gets printed, and reveals on purpose', () => {
    const secret = new Secret('p4ssw0rd-value');
    expect(JSON.stringify({ secret })).toBe('{"secret":"[redacted]"}');
    expect(String(secret)).toBe(REDACTED);
    expect(`${secret}`).toBe(REDACTED);
    expect(inspect({ nested: { secret } }, { depth: 10, showHidden: true })).not.toContain('p4ssw0rd');
    expect(Object.keys(secret)).toEqual([]);
    expect(secret.reveal()).toBe('p4ssw0rd-value');
  });
});

describe('registerConnectionSecrets (what every env:/vault: reference resolves to)', () => {
  it('registers the password of a connection URL, and the whole of a token, one with a colon included', () => {
    registerConnectionSecrets('postgres://admin:conn-pw-7c1e9a@db.internal:5432/orders');
    // Tokens and webhook secrets are references too; `whsec:…` parses as a URL (scheme `whsec`) without a password.
    for (const token of ['lin_api_4Rk8Zq2Wm7', 'whsec:9d2b7e4a1c6f', 'acme2:token-5e8b3d1a']) registerConnectionSecrets(token);
    const line = 'a conn-pw-7c1e9a, b lin_api_4Rk8Zq2Wm7, c whsec:9d2b7e4a1c6f, d acme2:token-5e8b3d1a';
    expect(redactKnownSecrets(line)).toBe(`a ${REDACTED}, b ${REDACTED}, c ${REDACTED}, d ${REDACTED}`);
    // A connection URL without a password has no secret: it stays readable.
    registerConnectionSecrets('postgres://readonly@db.internal:5432/orders');
    expect(redactKnownSecrets('postgres://readonly@db.internal:5432/orders')).toBe('postgres://readonly@db.internal:5432/orders');
  });
});

describe('the log scrubber', () => {
  it('removes, at trace, every secret the project hands out from Bolt-style debug strings', () => {
    const password = new Secret(generatePassword());
    const key = new Secret(newTotpSecret());
    const codes = generateRecoveryCodes().map((code) => new Secret(code));
    const { logger, text } = capture();
    const blocks = JSON.stringify([{ type: 'section', text: { type: 'mrkdwn', text: `*Password*\n\`${password.reveal()}\`\n${otpauthUri('dbaccess', 'bob', key.reveal())}\n${codes.map((c) => c.reveal()).join('  ')}` } }]);
    // What @slack/web-api's debug output hands Bolt's logger: a body with JSON strings inside JSON.
    logger.debug(`http request body: ${JSON.stringify({ channel: 'D1', text: `Password ${password.reveal()}`, blocks })}`);
    logger.trace(`form: ${new URLSearchParams({ blocks, token: 'xoxb-1-2-abc' }).toString()}`);
    logger.debug({ password, key, codes }, 'objects');
    const out = text();
    for (const secret of [password, key, ...codes]) for (const form of secretForms(secret.reveal())) expect(out).not.toContain(form);
    expect(out).not.toContain('xoxb-1-2-abc');
    for (const line of out.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
  });

  it('removes secret shapes it was never told about', () => {
    const cases: Array<[string, string]> = [
      ['connect postgres://admin:hunter2@db:5432/x failed', 'hunter2'],
      ['url=postgresql%3A%2F%2Fadmin%3Ahunter2%40db%3A5432', 'hunter2'],
      ['Authorization: Bearer abcdef123456789', 'abcdef123456789'],
      // user:password and admin:hunter2 in base64: letters only, and letters with digits.
      ['Authorization: Basic dXNlcjpwYXNzd29yZA', 'dXNlcjpwYXNzd29yZA'],
      ['authorization: basic YWRtaW46aHVudGVyMg==', 'YWRtaW46aHVudGVyMg'],
      ['token xoxb-1234-5678-abcdefghij sent', 'xoxb-1234-5678-abcdefghij'],
      ['x-api-key: sk-ant-api03-abcdefgh', 'sk-ant-api03-abcdefgh'],
      ['header X-Vault-Token: hvs.CAESIabcdefghijkl', 'hvs.CAESIabcdefghijkl'],
      ['body {"password":"hunter2hunter2","user":"x"}', 'hunter2hunter2'],
      ['body {\\"password\\":\\"hunter2hunter2\\",\\"user\\":\\"x\\"}', 'hunter2hunter2'],
      ['password=hunter2hunter2&user=x', 'hunter2hunter2'],
      ["mysql --user='u' --password='hunter2hunter2' db", 'hunter2hunter2'],
      ['Client { processID: 12, secretKey: 987654321, host: "x" }', '987654321'],
      ['{"secretKey":987654321}', '987654321'],
      ["CREATE ROLE x LOGIN PASSWORD 'SCRAM-SHA-256$4096:abc=$def=:ghi='", 'SCRAM-SHA-256$4096'],
      ["CREATE USER 'x'@'%' IDENTIFIED BY PASSWORD '*ABCDEF0123456789'", 'ABCDEF0123456789'],
      ['scan otpauth://totp/dbaccess:bob?secret=JBSWY3DPEHPK3PXP&issuer=dbaccess', 'JBSWY3DPEHPK3PXP'],
      ['eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJib3QifQ.c2lnbmF0dXJl', 'eyJzdWIiOiJib3QifQ'],
    ];
    for (const [text, secret] of cases) expect(scrubText(text), text).not.toContain(secret);
  });

  it('leaves a plain word after "Basic" readable', () => {
    expect(scrubText('Generate it under Basic Information, App-Level Tokens')).toBe('Generate it under Basic Information, App-Level Tokens');
  });

  it('removes recovery codes of the shape the project makes, and leaves ids alone', () => {
    fc.assert(fc.property(fc.constant(null), fc.string(), fc.string(), (_, before, after) => {
      const [code] = generateRecoveryCodes(1);
      const text = `${before} ${code!} ${after}`;
      return !scrubText(text).includes(code!);
    }), { numRuns: 200 });
    expect(scrubText('request 0f8e4c2a-a3b4-c5d6-e7f8-1234567890ab R0ABCDEFGH')).toBe('request 0f8e4c2a-a3b4-c5d6-e7f8-1234567890ab R0ABCDEFGH');
  });

  it('never lets a random registered secret survive in a random structure, at any level', () => {
    const secretText = fc.string({ minLength: 6, maxLength: 40, unit: fc.oneof(fc.constantFrom('"', '\\', '/', ' ', '&', '%', '\n', 'é', '🔑'), fc.string({ minLength: 1, maxLength: 1, unit: 'grapheme-ascii' })) })
      // A secret made of the placeholder's own letters would be "found" in the placeholder.
      .filter((value) => !REDACTED.includes(value) && !/[[\]]/.test(value));
    /** A structure with the secret somewhere: as a value, inside text, URL-encoded, or JSON inside JSON. */
    const holder = (secret: string) => fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.tuple(fc.string(), fc.string()).map(([a, b]) => `${a}${secret}${b}`),
        fc.constant(encodeURIComponent(secret)),
        fc.constant(JSON.stringify({ text: `x ${secret} y` })),
        fc.constant(JSON.stringify(JSON.stringify({ blocks: [secret] }))),
        fc.anything({ maxDepth: 1 }),
        fc.array(tie('node'), { maxLength: 3 }),
        fc.dictionary(fc.string({ maxLength: 8 }), tie('node'), { maxKeys: 3 }),
      ),
    })).node;
    fc.assert(
      fc.property(secretText.chain((secret) => fc.tuple(fc.constant(secret), holder(secret), fc.constantFrom('trace', 'debug', 'info', 'error') as fc.Arbitrary<'trace'>)), ([secret, structure, level]) => {
        registerSecretValue(secret);
        const { logger, lines } = capture();
        logger[level]({ structure }, `message ${secret} ${JSON.stringify(structure)}`);
        logger[level](`${JSON.stringify({ structure })}`);
        logger.child({ bound: structure })[level]('child');
        for (const line of lines) {
          const parsed = JSON.parse(line) as unknown;
          for (const text of strings(parsed)) if (text.includes(secret)) return false;
          if (secretForms(secret).some((form) => form.length >= 6 && line.includes(form))) return false;
        }
        return true;
      }),
      { numRuns: 300 },
    );
  });

  it('keeps of an error only its safe fields: no client, no SQL, no headers', () => {
    const error = Object.assign(new Error('Connection terminated unexpectedly'), {
      code: '57P01',
      client: { secretKey: 123456789, connectionParameters: { password: 'client-pass' } },
      sql: "CREATE USER 'u' IDENTIFIED BY 'sql-pass'",
      config: { headers: { 'X-Vault-Token': 'vault-token-value' } },
    });
    const safe = safeError(error);
    expect(Object.keys(safe).sort()).toEqual(['code', 'message', 'stack', 'type']);
    expect(JSON.stringify(scrubValue({ err: error }))).not.toMatch(/123456789|client-pass|sql-pass|vault-token-value/);
  });

  it('writes a logged error with its own type and its cause\'s codes, for whoever reads the log', () => {
    const { logger, lines } = capture();
    const cause = Object.assign(new Error('invalid chunk'), { code: 'HPE_INVALID_CHUNK_SIZE', data: 'Bearer echoed-token-77' });
    logger.warn({ err: new TypeError('terminated', { cause }) }, 'lookup failed');
    logger.error(new RangeError('out of range'));
    const [first, second] = lines.map((line) => JSON.parse(line) as { err: Record<string, unknown> });
    expect(first!.err).toMatchObject({ type: 'TypeError', message: 'terminated', cause: { type: 'Error', code: 'HPE_INVALID_CHUNK_SIZE' } });
    expect(JSON.stringify(first)).not.toContain('echoed-token-77');
    expect(second!.err).toMatchObject({ type: 'RangeError', message: 'out of range' });
  });
});

describe('isLostConnection (what a stopping app logs at debug)', () => {
  it('knows the server ending a connection in the driver\'s words and in a provider\'s', () => {
    expect(isLostConnection(new Error('terminating connection due to administrator command'))).toBe(true);
    expect(isLostConnection({ err: new Error('Cannot reach sandbox (127.0.0.1:41411): the server is shutting down or starting up.') })).toBe(true);
    expect(isLostConnection('Cannot reach sandbox (127.0.0.1:41411): the server is shutting down or starting up.')).toBe(true);
    expect(isLostConnection(new Error('permission denied to drop role'))).toBe(false);
  });
});
