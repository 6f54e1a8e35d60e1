import { Writable } from 'node:stream';
import { expect } from 'vitest';

/**
 * The app's log in memory, and the look for secrets in it, for the log-redaction tests: a secret is
 * looked for as written, URL- and form-encoded, base64/base64url, and JSON-escaped once and twice (a
 * DM's blocks are JSON inside the JSON of a Web API call).
 */

/** The app's log, line by line, as its logger writes it. */
export function logCapture() {
  const chunks: string[] = [];
  const stream = new Writable({ write(chunk: Buffer | string, _encoding, done) { chunks.push(String(chunk)); done(); } });
  return { stream, text: () => chunks.join(''), lines: () => chunks.join('').split('\n').filter(Boolean) };
}

/** Every form a secret could be written in. */
export function formsOf(secret: string): string[] {
  const json = (text: string) => JSON.stringify(text).slice(1, -1);
  const base = [secret, encodeURIComponent(secret), encodeURIComponent(secret).replace(/%20/g, '+'), Buffer.from(secret).toString('base64').replace(/=+$/, ''), Buffer.from(secret).toString('base64url')];
  return [...new Set(base.flatMap((form) => [form, json(form), json(json(form))]))].filter((form) => form.length >= 6);
}

/** Asserts the log holds none of the secrets in any form; names what leaked and where. */
export function expectAbsent(log: string, secrets: Record<string, string | string[]>): void {
  const leaks: string[] = [];
  for (const [name, values] of Object.entries(secrets)) {
    for (const value of [values].flat()) {
      for (const form of formsOf(value)) {
        const at = log.indexOf(form);
        if (at >= 0) leaks.push(`${name} (${form === value ? 'as is' : 'encoded'}) in: ${log.slice(Math.max(0, at - 120), at + form.length + 40)}`);
      }
    }
  }
  expect(leaks).toEqual([]);
}
