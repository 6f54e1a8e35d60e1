import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../support/app-harness.js';
import { freePort } from '../support/ports.js';

/**
 * The promise of the README's first command, in a real browser: `npm start` with nothing configured
 * starts the embedded PostgreSQL with the sandbox and prints the console's address; from there a
 * newcomer asks for access, approves it, copies the credentials, connects, ends access and reads the
 * session summary. Twice: on one named table (taking the analysis' suggestion), and on the whole
 * database (the scope left empty). Every panel must show the present: no analysis left over after
 * Submit, no error under a field that became valid, status lines that change as the request does.
 * Debian's Chromium, driven by playwright-core (no browser download). Timings land in
 * test/artifacts/console-timings.json; a failure leaves a screenshot there.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(process.cwd(), 'test', 'artifacts');

interface Ask {
  level: string;
  scope: string;
  duration: string;
  reason: string;
}

describe('the local console on the sandbox, in a browser', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'dbaccess-console-'));
  let child: ChildProcess | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let output = '';

  afterAll(async () => {
    await browser?.close();
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
      child.kill('SIGKILL');
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('goes from npm start to a working credential and back, on one table and on the whole database', async () => {
    const [port, pgPort] = await Promise.all([freePort(), freePort()]);
    const env = {
      PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir,
      EMBEDDED_PG_PORT: String(pgPort), DBACCESS_CONFIG: join(dataDir, 'dbaccess.yaml'), SWEEP_INTERVAL: '2s',
    };
    const started = performance.now();
    child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));

    // What a newcomer sees: the console's address, printed plainly.
    const url = await waitUntil(() => /open (http:\/\/127\.0\.0\.1:\d+\/console)/.exec(output)?.[1], 60_000, `the console URL (output: ${output.slice(-800)})`);
    await waitUntil(async () => (await fetch(url).catch(() => undefined))?.status === 200, 10_000, 'the console page');
    const consoleReadyMs = performance.now() - started;
    const origin = new URL(url).origin;

    try {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
      // Narrow enough for a URI not to fit its box: it must scroll, not break.
      const context = await browser.newContext({ viewport: { width: 640, height: 900 } });
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
      page = await context.newPage();
      const p = page;
      p.on('dialog', (dialog) => void dialog.accept());

      // The address people type: the bare host leads to the console.
      await p.goto(`${origin}/`);
      expect(p.url()).toBe(url);
      await p.getByText('Live: updates appear').waitFor();
      // Set once: still there at the end, so nothing below needed a reload.
      await p.evaluate('window.sameDocument = true');
      // Server text, plain or neutral rich text, reaches the page as text: never as markup.
      const shown = await p.evaluate(`import('/console/dom.js').then(({ el, rich }) => {
        const node = el('p', {}, rich({ parts: [{ kind: 'person', id: 'U1' }, { kind: 'text', text: ' <img src=x onerror=alert(1)> ' }, { kind: 'code', text: 'dba_1' }, { kind: 'link', url: 'https://evil.example', text: 'click' }] }), rich('<b>bold</b>'));
        return { text: node.textContent, markup: node.querySelectorAll('img, b, a').length, code: node.querySelector('code').textContent };
      })`);
      expect(shown).toEqual({ text: '@U1 <img src=x onerror=alert(1)> dba_1click<b>bold</b>', markup: 0, code: 'dba_1' });

      // A reason too short is refused under its field; once it is a real reason, the error goes.
      await p.selectOption('select[name=databaseId]', 'sandbox');
      await p.fill('textarea[name=reason]', 'look');
      await p.click('#submit');
      const reasonError = p.locator('.error[data-for=reason]');
      await reasonError.getByText('at least 10 letters').waitFor();
      await p.fill('textarea[name=reason]', 'investigating');
      await expect.poll(() => reasonError.innerText()).toContain('a few words');
      await p.fill('textarea[name=reason]', 'Count the failed orders in sales.orders for the finance report');
      expect(await reasonError.innerText()).toBe('');
      expect(await p.locator('#form-status').innerText()).toBe('');

      // 1. One table, by the analysis' suggestion.
      await p.selectOption('select[name=level]', 'write');
      await p.fill('input[name=duration]', '90m');
      await analyze(p);
      expect(await p.locator('#analysis').innerText()).toMatch(/Read instead of write, on sales\.orders/);
      await p.getByRole('button', { name: 'Use suggestion' }).click();
      await expect.poll(() => p.inputValue('input[name=scope]')).toBe('sales.orders');
      expect(await p.inputValue('select[name=level]')).toBe('read');
      // The analysis was of the form before the suggestion: it no longer claims to rate this one.
      await p.locator('#analysis').getByText('The form has changed since this analysis').waitFor();
      expect(await p.locator('#analysis').innerText()).not.toContain('Risk:');
      const table = await submitAndApprove(p, { level: 'read', scope: 'sales.orders', duration: '1h30m', reason: 'Count the failed orders in sales.orders for the finance report' });
      expect(table.cardText).toContain('Read access to sandbox');

      const uri = await copyBoth(p, table.credentials);
      const credentialsMs = performance.now() - started;
      const session = new pg.Client({ connectionString: uri });
      await session.connect();
      const { rows } = await session.query("SELECT count(*)::int AS n FROM sales.orders WHERE status = 'failed'");
      expect(rows[0]!.n).toBe(15);
      await expect(session.query('SELECT * FROM hr.employees')).rejects.toThrow(/permission denied/);
      await session.end();

      // End it from the inbox: every status line says so as it happens, the password leaves the
      // page, and the thread gets the summary.
      await endAccess(p, table.id, table.credentials);
      const summary = p.locator('#approvals article.card', { hasText: table.id }).locator('.summary');
      await summary.waitFor({ timeout: 30_000 });
      expect(await summary.innerText()).toContain('Session summary');
      expect(await summary.innerText()).toMatch(/What was run: \d+ statements?/);
      expect(await summary.innerText()).toContain('sales.orders');
      // People and names as words: no Slack markup on the console.
      expect(await summary.innerText()).not.toMatch(/<@|`/);
      expect(await p.locator('#inbox').innerText()).toContain('no longer exists');
      expect(await p.locator('#inbox').innerText()).not.toContain(new URL(uri).password);
      await expect(new pg.Client({ connectionString: uri }).connect()).rejects.toThrow();
      const wholeFlowMs = performance.now() - started;

      // 2. The most natural first request: read on the whole database, scope left empty, submitted
      // as it is whatever the analysis suggests. The sandbox's admin is not a superuser and
      // pg_stat_statements belongs to the superuser: the card says what is left out before approval,
      // and the request still ends active.
      const whole = { level: 'read', scope: '', duration: '30m', reason: 'Look around the shop data for the weekly report' };
      await p.selectOption('select[name=level]', whole.level);
      await p.fill('input[name=scope]', whole.scope);
      await p.fill('input[name=duration]', whole.duration);
      await p.fill('textarea[name=reason]', whole.reason);
      await analyze(p);
      const wholeRequest = await submitAndApprove(p, whole);
      expect(wholeRequest.cardText).toContain('whole database');
      expect(wholeRequest.cardText).toMatch(/Not included: .*public\.pg_stat_statements \(owned by [a-z_]+, an extension\)/);
      expect(await wholeRequest.credentials.innerText()).toContain('Not included');
      const wholeUri = await copyBoth(p, wholeRequest.credentials);
      const wholeSession = new pg.Client({ connectionString: wholeUri });
      await wholeSession.connect();
      expect((await wholeSession.query('SELECT count(*)::int AS n FROM hr.employees')).rows).toEqual([{ n: 3 }]);
      expect((await wholeSession.query('SELECT count(*)::int AS n FROM sales.orders')).rows).toEqual([{ n: 60 }]);
      await wholeSession.end();
      await endAccess(p, wholeRequest.id, wholeRequest.credentials);
      await expect(new pg.Client({ connectionString: wholeUri }).connect()).rejects.toThrow();

      expect(await p.evaluate('window.sameDocument')).toBe(true);

      mkdirSync(ARTIFACTS, { recursive: true });
      const timings = { date: new Date().toISOString(), consoleReadyMs: Math.round(consoleReadyMs), credentialsMs: Math.round(credentialsMs), wholeFlowMs: Math.round(wholeFlowMs) };
      writeFileSync(join(ARTIFACTS, 'console-timings.json'), `${JSON.stringify(timings, null, 2)}\n`);
      console.log(`console timings: ${JSON.stringify(timings)}`);
    } catch (error) {
      mkdirSync(ARTIFACTS, { recursive: true });
      await page?.screenshot({ path: join(ARTIFACTS, 'console-failure.png'), fullPage: true }).catch(() => {});
      throw error;
    }
  }, 240_000);
});

/** Analyze: the panel shows a rating of the form as it is. */
async function analyze(page: Page): Promise<void> {
  await page.click('#analyze');
  await page.locator('#analysis').getByText('Risk:').waitFor();
}

/**
 * Submit, then approve as the approver. After Submit the analysis panel is gone for good (it
 * described the form, not the request), and the card carries its own rating. After Approve the
 * requester's inbox and the form's line say so: nothing still says the request waits.
 */
async function submitAndApprove(page: Page, ask: Ask): Promise<{ id: string; cardText: string; credentials: Locator }> {
  await page.click('#submit');
  const note = await page.locator('#form-status').getByText(/Request R[0-9A-Z]{9} submitted/).innerText();
  const id = /R[0-9A-Z]{9}/.exec(note)![0];
  const card = page.locator('#approvals article.card', { hasText: id });
  await card.getByRole('button', { name: 'Approve', exact: true }).waitFor();
  await card.getByText('Risk:').waitFor();
  expect(await page.locator('#analysis').isHidden()).toBe(true);
  expect(await page.getByRole('button', { name: 'Use suggestion' }).count()).toBe(0);
  expect(await page.locator('#request-form').innerText()).not.toContain('Risk:');
  const cardText = await card.innerText();
  expect(cardText).toMatch(/Risk: (Low|Medium|High|Critical) \(/);
  expect(cardText).toContain(`Scope\n${ask.scope || 'whole database'}`);
  expect(cardText).toContain(`Duration\n${ask.duration}`);
  const receipt = page.locator('#inbox .message', { hasText: `Your request ${id}` });
  await receipt.getByText('Waiting for an approver').waitFor();

  await card.getByRole('button', { name: 'Approve', exact: true }).click();
  await card.locator('.status').getByText(/access active until/).waitFor({ timeout: 30_000 });
  await receipt.getByText(/access active until/).waitFor();
  await page.locator('#form-status').getByText(new RegExp(`Request ${id} submitted: Approved by .* access active until`)).waitFor();
  expect(await page.locator('#inbox').innerText()).not.toMatch(/waiting for an approver/i);
  expect(await card.getByRole('button', { name: 'Approve', exact: true }).count()).toBe(0);
  const credentials = page.locator(`#inbox .credentials[data-request="${id}"]`);
  await credentials.waitFor();
  return { id, cardText, credentials };
}

/** Both Copy buttons put exactly what is shown on the clipboard; the URI stays on one line and scrolls. */
async function copyBoth(page: Page, credentials: Locator): Promise<string> {
  const uriBox = credentials.locator('pre.uri');
  const uri = (await uriBox.innerText()).trim();
  expect(uri).toMatch(/^postgresql:\/\/dba_[a-z0-9]+:[^@\s]+@127\.0\.0\.1:\d+\/sandbox$/);
  // Polled: the inbox is drawn again as the request's messages change, and a node measured as it is
  // replaced has no layout (no rectangles, no computed font).
  const box = () => uriBox.evaluate((node) => {
    const text = node.ownerDocument.createRange();
    text.selectNodeContents(node);
    return { lines: text.getClientRects().length, scrolls: node.scrollWidth > node.clientWidth, font: node.ownerDocument.defaultView!.getComputedStyle(node).fontFamily };
  });
  await expect.poll(box, { timeout: 10_000 }).toEqual({ lines: 1, scrolls: true, font: expect.stringMatching(/monospace/) });

  await credentials.getByRole('button', { name: 'Copy URI' }).click();
  await credentials.locator('button[data-copy=uri]').getByText('Copied').waitFor();
  expect(await page.evaluate('navigator.clipboard.readText()')).toBe(uri);

  const command = (await credentials.locator('pre.command').innerText()).trim();
  expect(command).toBe(`psql "${uri}"`);
  await credentials.getByRole('button', { name: 'Copy psql command' }).click();
  await credentials.locator('button[data-copy=command]').getByText('Copied').waitFor();
  expect(await page.evaluate('navigator.clipboard.readText()')).toBe(command);
  return uri;
}

/**
 * End access from the inbox; without a reload, the card's status line, the receipt and the form's
 * line turn to "ended", and "Access active until" leaves the thread.
 */
async function endAccess(page: Page, id: string, credentials: Locator): Promise<void> {
  const card = page.locator('#approvals article.card', { hasText: id });
  expect(await card.innerText()).toContain('Access active until');
  await credentials.getByRole('button', { name: 'End access now' }).click();
  await card.locator('.status').getByText(/access ended at/).waitFor({ timeout: 30_000 });
  await page.locator('#inbox .message', { hasText: `Your request ${id}` }).getByText(/access ended at/).waitFor();
  await page.locator(`#inbox [data-request="${id}"]`, { hasText: 'no longer exists' }).waitFor();
  await page.locator('#form-status').getByText(new RegExp(`Request ${id} submitted: .*access ended at`)).waitFor();
  expect(await card.innerText()).not.toContain('Access active until');
  expect(await card.innerText()).not.toMatch(/active until/);
  expect(await card.getByRole('button', { name: 'Revoke now' }).count()).toBe(0);
  expect((await page.locator(`#inbox [data-request="${id}"]`).allInnerTexts()).join('\n')).not.toMatch(/active until|ready until|Ending access/);
}
