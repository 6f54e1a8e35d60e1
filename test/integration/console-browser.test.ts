import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../support/app-harness.js';
import { freePort } from '../support/ports.js';

/**
 * The promise of the README's first command, in a real browser: `npm start` with nothing configured
 * starts the embedded PostgreSQL with the sandbox, prints the console's address, and from there a
 * person asks for access, approves it, connects with the credentials from the inbox, ends access and
 * reads the session summary. Debian's Chromium, driven by playwright-core (no browser download).
 * Timings land in test/artifacts/console-timings.json; a failure leaves a screenshot there.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(process.cwd(), 'test', 'artifacts');

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

  it('goes from npm start to a working credential, then to the session summary', async () => {
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

    try {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
      page = await browser.newPage();
      page.on('dialog', (dialog) => void dialog.accept());
      await page.goto(url);
      await page.getByText('Live: updates appear').waitFor();

      // Ask: the form lists the sandbox; the analysis suggests and rates before submitting.
      await page.selectOption('select[name=databaseId]', 'sandbox');
      await page.selectOption('select[name=level]', 'write');
      await page.fill('input[name=duration]', '90m');
      await page.fill('textarea[name=reason]', 'Count the failed orders in sales.orders for the finance report');
      await page.click('#analyze');
      await page.locator('#analysis').getByText('Risk:').waitFor();
      await expect.poll(() => page!.locator('#analysis').innerText()).toMatch(/Read instead of write, on sales\.orders/);
      await page.getByRole('button', { name: 'Use suggestion' }).click();
      await expect.poll(() => page!.inputValue('input[name=scope]')).toBe('sales.orders');
      expect(await page.inputValue('select[name=level]')).toBe('read');
      await page.click('#submit');
      await page.getByText(/Request R[0-9A-Z]{9} submitted/).waitFor();

      // Approve as the approver: the card carries the analysis and the grants.
      const card = page.locator('#approvals article.card').first();
      await card.getByRole('button', { name: 'Approve' }).waitFor();
      expect(await card.innerText()).toContain('Read access to sandbox');
      await card.getByRole('button', { name: 'Approve' }).click();

      // The inbox plays the DM: the credentials connect, for what was granted only.
      const credentials = page.locator('#inbox .credentials').first();
      await credentials.waitFor();
      const uri = (await credentials.locator('pre.uri').innerText()).trim();
      const credentialsMs = performance.now() - started;
      const session = new pg.Client({ connectionString: uri });
      await session.connect();
      const { rows } = await session.query("SELECT count(*)::int AS n FROM sales.orders WHERE status = 'failed'");
      expect(rows[0]!.n).toBe(15);
      await expect(session.query('SELECT * FROM hr.employees')).rejects.toThrow(/permission denied/);
      await session.end();

      // End it from the inbox: the password leaves the page, the thread gets the summary.
      await credentials.getByRole('button', { name: 'End access now' }).click();
      await page.locator('#approvals .summary').first().waitFor({ timeout: 30_000 });
      const summary = await page.locator('#approvals .summary').first().innerText();
      expect(summary).toContain('Session summary');
      expect(summary).toMatch(/What was run: \d+ statements?/);
      expect(summary).toContain('sales.orders');
      expect(await page.locator('#inbox').innerText()).toContain('no longer exists');
      expect(await page.locator('#inbox').innerText()).not.toContain(new URL(uri).password);
      await expect(new pg.Client({ connectionString: uri }).connect()).rejects.toThrow();
      const wholeFlowMs = performance.now() - started;

      // The most natural first request: read on the whole database, scope left empty. The sandbox's
      // admin is not a superuser and pg_stat_statements belongs to the superuser: the card says what
      // is left out before approval, and the request still ends active.
      await page.selectOption('select[name=level]', 'read');
      await page.fill('input[name=scope]', '');
      await page.fill('input[name=duration]', '30m');
      await page.fill('textarea[name=reason]', 'Look around the shop data for the weekly report');
      await page.click('#analyze');
      await page.locator('#analysis').getByText('Risk:').waitFor();
      const suggestion = page.getByRole('button', { name: 'Use suggestion' });
      if (await suggestion.count()) await suggestion.click();
      expect(await page.inputValue('input[name=scope]')).toBe('');
      await page.selectOption('select[name=level]', 'read');
      await page.click('#submit');
      await page.getByText(/Request R[0-9A-Z]{9} submitted/).last().waitFor();
      const whole = page.locator('#approvals article.card', { hasText: 'whole database' }).first();
      await whole.getByRole('button', { name: 'Approve' }).waitFor();
      expect(await whole.innerText()).toMatch(/Not included: .*public\.pg_stat_statements \(owned by [a-z_]+, an extension\)/);
      await whole.getByRole('button', { name: 'Approve' }).click();
      await expect.poll(() => whole.locator('.status').innerText(), { timeout: 30_000 }).toMatch(/access active until/);
      const wholeCredentials = page.locator('#inbox .credentials', { hasText: 'Not included' }).first();
      await wholeCredentials.waitFor();
      const wholeSession = new pg.Client({ connectionString: (await wholeCredentials.locator('pre.uri').innerText()).trim() });
      await wholeSession.connect();
      expect((await wholeSession.query('SELECT count(*)::int AS n FROM hr.employees')).rows).toEqual([{ n: 3 }]);
      expect((await wholeSession.query('SELECT count(*)::int AS n FROM sales.orders')).rows).toEqual([{ n: 60 }]);
      await wholeSession.end();

      mkdirSync(ARTIFACTS, { recursive: true });
      const timings = { date: new Date().toISOString(), consoleReadyMs: Math.round(consoleReadyMs), credentialsMs: Math.round(credentialsMs), wholeFlowMs: Math.round(wholeFlowMs) };
      writeFileSync(join(ARTIFACTS, 'console-timings.json'), `${JSON.stringify(timings, null, 2)}\n`);
      console.log(`console timings: ${JSON.stringify(timings)}`);
    } catch (error) {
      mkdirSync(ARTIFACTS, { recursive: true });
      await page?.screenshot({ path: join(ARTIFACTS, 'console-failure.png'), fullPage: true }).catch(() => {});
      throw error;
    }
  }, 180_000);
});
