import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import pg, { escapeIdentifier } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPROVERS_CHANNEL, PEOPLE, shown, startHarness, waitUntil, type Harness } from '../support/app-harness.js';
import { MARIADB_ADMIN_URL, createMariaTarget, createStateDatabase, createTargetDatabase, onTarget, targetGroups, targetRoles } from '../support/databases.js';
import { startFakeAnthropic, type FakeAnthropic } from '../support/fake-anthropic.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';
import { startFakeVault, type FakeVault } from '../support/fake-vault.js';
import { freePort } from '../support/ports.js';
import { SERVICES } from '../support/services.js';

/**
 * The `dbaccess` command as a user runs it: the package's bin (bin/dbaccess.js, through tsx) in a child
 * process with only the environment given here, against the machine's PostgreSQL, MariaDB and Redis
 * and the fakes of Slack, Vault and Anthropic on loopback.
 */
const BIN = fileURLToPath(new URL('../../bin/dbaccess.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'dbaccess-cli-'));
/** Tests that start several CLI processes: each loads the whole app through tsx (2-3 s here, more under load). */
const SPAWNING_TIMEOUT = 240_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function dbaccess(args: string[], env: Record<string, string> = {}, input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: work,
      // Only what a shell would have plus what the test gives: nothing leaks in from the test runner.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? work, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

/** `line:col` (1-based) of the `nth` occurrence (from 1) of `needle` in `text`, `offset` characters in. */
function positionOf(text: string, needle: string, nth = 1, offset = 0): string {
  let index = -1;
  for (let found = 0; found < nth; found++) index = text.indexOf(needle, index + 1);
  if (index < 0) throw new Error(`${needle} is not in the catalog`);
  const before = text.slice(0, index).split('\n');
  return `${before.length}:${before.at(-1)!.length + 1 + offset}`;
}

function writeCatalog(name: string, text: string): string {
  const path = join(work, name);
  writeFileSync(path, text);
  return path;
}

const approvers = 'approvers:\n  slack: { channel: C0APPROVALS, users: [U0ALICE, U0BOB] }\n';
const postgresEntry = (id: string, database: string, admin: string, extra = '') =>
  `  - id: ${id}\n    engine: postgres\n    host: 127.0.0.1\n    port: 5433\n    database: ${database}\n    environment: production\n    admin: ${admin}\n${extra}`;
const mariaEntry = (id: string, database: string, admin: string, extra = '') =>
  `  - id: ${id}\n    engine: mariadb\n    host: 127.0.0.1\n    port: 3306\n    database: ${database}\n    environment: staging\n    admin: ${admin}\n${extra}`;

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('dbaccess: commands, help and usage', () => {
  it('lists the commands, explains each, and answers usage mistakes with exit 2', async () => {
    const [overview, noCommand, unknown, doctorHelp, badOption, extra, version, noPerson, badPerson] = await Promise.all([
      dbaccess(['--help']), dbaccess([]), dbaccess(['frobnicate']), dbaccess(['doctor', '--help']), dbaccess(['leases', '--bogus']),
      dbaccess(['check-config', 'a.yaml', 'b.yaml']), dbaccess(['--version']), dbaccess(['offboard']), dbaccess(['signout', "x'; drop"]),
    ]);
    expect(overview.code, overview.stdout + overview.stderr).toBe(0);
    for (const name of ['migrate', 'check-config', 'doctor', 'leases', 'revoke-all', 'offboard', 'signout', 'connect', 'login', 'logout']) expect(overview.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
    expect(noCommand.code, noCommand.stdout + noCommand.stderr).toBe(2);
    expect(noCommand.stderr).toContain('Usage: dbaccess <command>');
    expect(unknown).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command "frobnicate"') });
    expect(doctorHelp).toMatchObject({ code: 0, stdout: expect.stringContaining('Usage: dbaccess doctor') });
    expect(badOption).toMatchObject({ code: 2, stderr: expect.stringContaining("dbaccess leases: Unknown option '--bogus'.") });
    expect(extra).toMatchObject({ code: 2, stderr: expect.stringContaining('unexpected argument "b.yaml"') });
    expect(version).toMatchObject({ code: 0, stdout: '0.1.0\n' });
    expect(noPerson).toMatchObject({ code: 2, stderr: expect.stringContaining("dbaccess offboard: give the person's email or chat id.\nUsage: dbaccess offboard <email|id>") });
    expect(badPerson).toMatchObject({ code: 2, stderr: expect.stringContaining("dbaccess signout: give the person's email or chat id.\nUsage: dbaccess signout <email|id>") });
  });
});

describe('dbaccess check-config', () => {
  const env = { ORDERS_ADMIN_URL: 'postgresql://admin:s3cret-pw@db.internal:5432/orders', SHOP_ADMIN_URL: 'mysql://admin:other-pw@db.internal:3306/shop' };

  it('prints a one-line summary for a good catalog and environment', async () => {
    const path = writeCatalog('good.yaml', `${approvers}policies:\n  - { name: prod, environments: [production], approvers: [U0ALICE] }\nrules:\n  maxActiveLeases: 2\ndatabases:\n${postgresEntry('orders', 'orders', 'env:ORDERS_ADMIN_URL')}${mariaEntry('shop', 'shop', 'env:SHOP_ADMIN_URL')}`);
    const run = await dbaccess(['check-config', path], { ...env, DATABASE_URL: SERVICES.statePg, SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's', ANTHROPIC_API_KEY: 'k' });
    expect(run.stdout).toBe(`OK: ${path}: 2 databases (postgres 1, mariadb 1), 1 policy, 1 rule.\n`);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    // DBACCESS_CONFIG is the default path.
    const byEnv = await dbaccess(['check-config', '--quiet'], { ...env, DBACCESS_CONFIG: path });
    expect(byEnv).toMatchObject({ code: 0, stdout: expect.stringMatching(/^OK: .*good\.yaml: 2 databases \(postgres 1, mariadb 1\), 1 policy, 1 rule\.\n$/) });
  });

  it('reports every mistake of a broken catalog at its line and column', async () => {
    const text = `${approvers}databases:\n${postgresEntry('orders', 'orders', 'env:ORDERS_ADMIN_URL', '    maxDuration: 4 hours\n')}${mariaEntry('shop', 'shop', 'mysql://root:pw@db/shop', '    environment: prod\n').replace('    environment: staging\n', '')}`;
    const path = writeCatalog('broken.yaml', text);
    const run = await dbaccess(['check-config', path], env);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const lines = run.stdout.split('\n');
    expect(lines).toContain(`${path}:${positionOf(text, '4 hours')}: problem: databases.0.maxDuration: must be a duration such as 30m, 4h or 1h30m`);
    expect(lines).toContain(`${path}:${positionOf(text, 'prod\n')}: problem: databases.1.environment: Invalid option: expected one of "production"|"staging"|"development"`);
    expect(lines).toContain(`${path}:${positionOf(text, 'mysql://')}: problem: databases.1.admin: must be a reference such as env:ORDERS_ADMIN_URL or vault:secret/data/orders#url, never the secret itself`);
    expect(run.stdout).toContain(`3 problems found in ${path}`);
    // The secret written where a reference belongs is never echoed.
    expect(run.stdout + run.stderr).not.toContain('root:pw');
  });

  it('reports all cross-reference mistakes at once, and YAML syntax errors at their place', async () => {
    const text = `${approvers}databases:\n${postgresEntry('orders', 'orders', 'env:ORDERS_ADMIN_URL', '    levels: [read, suport]\n')}${mariaEntry('orders', 'shop', 'env:SHOP_ADMIN_URL', '    capture: pgaudit\n')}`;
    const path = writeCatalog('mistakes.yaml', text);
    const run = await dbaccess(['check-config', path], env);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toContain(`${path}:${positionOf(text, 'suport')}: problem: databases.0.levels: "suport" is neither read, write, admin nor a level under customLevels`);
    expect(run.stdout).toContain(`${path}:${positionOf(text, 'pgaudit')}: problem: databases.1.capture: mariadb supports server_audit, general_log, none`);
    expect(run.stdout).toContain(`${path}:${positionOf(text, 'id: orders', 2, 'id: '.length)}: problem: databases.1.id: duplicate database id "orders"`);

    const syntax = writeCatalog('syntax.yaml', 'approvers:\n  slack: [unclosed\ndatabases: []\n');
    const broken = await dbaccess(['check-config', syntax]);
    expect(broken.code, broken.stdout + broken.stderr).toBe(1);
    expect(broken.stdout).toMatch(new RegExp(`^${syntax.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+:\\d+: problem: YAML syntax error: `, 'm'));
  });

  it('names references that do not resolve and Vault without VAULT_ADDR, at the admin line, without values', async () => {
    const text = `${approvers}databases:\n${postgresEntry('orders', 'orders', 'env:ORDERS_ADMIN_URL')}${mariaEntry('shop', 'shop', 'env:SHOP_ADMIN_URL')}${postgresEntry('billing', 'billing', 'vault:secret/data/billing#url')}${postgresEntry('wrong', 'wrong', 'env:WRONG_ADMIN_URL')}`;
    const path = writeCatalog('references.yaml', text);
    const run = await dbaccess(['check-config', path], { SHOP_ADMIN_URL: env.SHOP_ADMIN_URL, WRONG_ADMIN_URL: 'mysql://admin:wrong-engine-pw@db/wrong' });
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toContain(`${path}:${positionOf(text, 'env:ORDERS_ADMIN_URL')}: problem: orders: env:ORDERS_ADMIN_URL does not resolve: the environment variable ORDERS_ADMIN_URL is not set.`);
    expect(run.stdout).toContain('  fix: Set ORDERS_ADMIN_URL to the admin connection string, e.g. postgresql://admin:password@host:5432/database.');
    expect(run.stdout).toContain(`${path}:${positionOf(text, 'vault:secret')}: problem: billing: vault:secret/data/billing#url is read from Vault, but Vault is not configured.`);
    expect(run.stdout).toContain(`${path}:${positionOf(text, 'env:WRONG_ADMIN_URL')}: problem: wrong: WRONG_ADMIN_URL starts with mysql:// but the database is postgres.`);
    expect(run.stdout).not.toMatch(/shop: /);
    expect(run.stdout + run.stderr).not.toMatch(/other-pw|wrong-engine-pw/);
    expect(run.stdout).toContain('3 problems found');

    const missing = await dbaccess(['check-config', join(work, 'nowhere.yaml')]);
    expect(missing).toMatchObject({ code: 1, stdout: expect.stringContaining('nowhere.yaml: problem: There is no catalog file here.') });
    const badEnv = await dbaccess(['check-config', path], { ...env, PORT: 'eighty', SLACK_BOT_TOKEN: 'xoxb-1' });
    expect(badEnv.code, badEnv.stdout + badEnv.stderr).toBe(1);
    expect(badEnv.stdout).toContain('environment PORT: problem:');
  });
});

describe('dbaccess migrate and doctor', () => {
  let state: Awaited<ReturnType<typeof createStateDatabase>>;
  let target: Awaited<ReturnType<typeof createTargetDatabase>>;
  let maria: Awaited<ReturnType<typeof createMariaTarget>>;
  let slack: FakeSlack;
  let vault: FakeVault;
  let anthropic: FakeAnthropic;
  const weak = `cli_weak_${randomBytes(3).toString('hex')}`;
  const weakPassword = `weak-${randomBytes(6).toString('hex')}`;
  const vaultToken = `hvs.${randomBytes(12).toString('hex')}`;
  let weakPgUrl: string;
  let weakMariaUrl: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    [state, target, maria, slack, anthropic] = await Promise.all([
      createStateDatabase(), createTargetDatabase(), createMariaTarget(), startFakeSlack({ botToken: 'xoxb-the-right-one' }), startFakeAnthropic({ apiKey: 'sk-ant-cli-key' }),
    ]);
    vault = await startFakeVault({ token: vaultToken });
    // An admin with a login and nothing else: no CREATEROLE, no grant options, no pg_signal_backend.
    await onTarget((client) => client.query(`CREATE ROLE ${escapeIdentifier(weak)} LOGIN PASSWORD '${weakPassword}'`));
    const pgUrl = new URL(target.adminUrl);
    pgUrl.username = weak;
    pgUrl.password = weakPassword;
    weakPgUrl = pgUrl.toString();
    const root = await mysql.createConnection({ uri: MARIADB_ADMIN_URL });
    await root.query(`CREATE USER ${mysql.escape(weak)}@'%' IDENTIFIED BY ${mysql.escape(weakPassword)}`);
    await root.query(`GRANT SELECT ON \`${maria.name}\`.* TO ${mysql.escape(weak)}@'%'`);
    await root.end();
    const mariaUrl = new URL(maria.adminUrl);
    mariaUrl.username = weak;
    mariaUrl.password = weakPassword;
    weakMariaUrl = mariaUrl.toString();
    env = {
      DATABASE_URL: state.url, REDIS_URL: SERVICES.redis, MASTER_KEY: randomBytes(32).toString('hex'),
      SLACK_BOT_TOKEN: 'xoxb-the-right-one', SLACK_SIGNING_SECRET: 'signing-secret', SLACK_API_URL: slack.apiUrl,
      VAULT_ADDR: vault.addr, VAULT_TOKEN: vaultToken,
      ANTHROPIC_API_KEY: 'sk-ant-cli-key', ANTHROPIC_BASE_URL: anthropic.url,
      ORDERS_ADMIN_URL: target.adminUrl, SHOP_ADMIN_URL: maria.adminUrl, WEAK_PG_URL: weakPgUrl, WEAK_MARIA_URL: weakMariaUrl,
    };
  });

  afterAll(async () => {
    await Promise.all([slack?.close(), vault?.close(), anthropic?.close()]);
    await Promise.all([state?.drop(), target?.drop(), maria?.drop()]);
    await onTarget((client) => client.query(`DROP ROLE IF EXISTS ${escapeIdentifier(weak)}`));
    const root = await mysql.createConnection({ uri: MARIADB_ADMIN_URL });
    await root.query(`DROP USER IF EXISTS ${mysql.escape(weak)}@'%'`).finally(() => root.end());
  });

  it('checks the Socket Mode token: the right one opens a connection, a wrong one is a problem with the fix', async () => {
    const appToken = 'xapp-1-A0DBACCESS-1-right';
    const socketSlack = await startFakeSlack({ botToken: 'xoxb-the-right-one', socketMode: { appToken } });
    try {
      const socketEnv = { ...env, SLACK_API_URL: socketSlack.apiUrl, SLACK_SIGNING_SECRET: '' };
      const [right, wrong] = await Promise.all([
        dbaccess(['doctor', '--only', 'slack'], { ...socketEnv, SLACK_APP_TOKEN: appToken }),
        dbaccess(['doctor', '--only', 'slack'], { ...socketEnv, SLACK_APP_TOKEN: 'xapp-1-A0DBACCESS-1-revoked' }),
      ]);
      expect(right.stdout).toMatch(/ok +slack: auth\.test: bot/);
      expect(right.stdout).toContain('Socket Mode: SLACK_APP_TOKEN opens a connection');
      // (The configuration check runs whatever --only says; there is no catalog file here.)
      expect(right.stdout).not.toMatch(/PROBLEM +slack/);
      expect(wrong.stdout).toMatch(/PROBLEM +slack: auth\.test: bot/);
      expect(wrong.stdout).toContain('problem: Slack refused SLACK_APP_TOKEN for Socket Mode (invalid_auth).');
      expect(wrong.stdout).toContain('fix: Generate an app-level token with the connections:write scope');
      expect(wrong.stdout + wrong.stderr).not.toContain('xapp-1-A0DBACCESS-1-revoked');
    } finally {
      await socketSlack.close();
    }
  }, SPAWNING_TIMEOUT);

  const goodCatalog = () =>
    writeCatalog('doctor-good.yaml', `${approvers}databases:\n${postgresEntry('orders', target.name, 'env:ORDERS_ADMIN_URL', '    capture: pgaudit\n')}${mariaEntry('shop', maria.name, 'env:SHOP_ADMIN_URL', '    capture: general_log\n')}`);

  it('finds the pending migrations, applies them with migrate, and then passes every check', async () => {
    const config = goodCatalog();
    const [before, check] = await Promise.all([dbaccess(['doctor'], { ...env, DBACCESS_CONFIG: config }), dbaccess(['migrate', '--check'], env)]);
    expect(before.code, before.stdout + before.stderr).toBe(1);
    expect(before.stdout).toMatch(/\] PROBLEM  state database: PostgreSQL 15\.\S+ at 127\.0\.0\.1:5432\/dbaccess_test_\w+\n +problem: \d+ migrations not applied: 0000_init, /);
    expect(before.stdout).toContain('fix: dbaccess migrate');

    expect(check).toMatchObject({ code: 1, stdout: expect.stringMatching(/^dbaccess: \d+ pending on DATABASE_URL: 0000_init/) });
    const migrate = await dbaccess(['migrate'], env);
    expect(migrate).toMatchObject({ code: 0, stdout: expect.stringMatching(/^dbaccess: migrations applied \((\d+) in DATABASE_URL, \1 new\)\.\n$/) });
    const [checked, run] = await Promise.all([dbaccess(['migrate', '--check'], env), dbaccess(['doctor', '--timeout', '20'], { ...env, DBACCESS_CONFIG: config })]);
    expect(checked).toMatchObject({ code: 0, stdout: expect.stringMatching(/^dbaccess: DATABASE_URL is up to date \(\d+ migrations applied\)\.\n$/) });
    const lines = run.stdout.split('\n');
    // One line per check as it completes, counted: state, Redis, Slack, Vault, model, two databases.
    expect(lines.filter((line) => /^\[\d\/7\] /.test(line)).map((line) => line.slice(6, 15).trim())).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
    expect(run.stdout).toMatch(/ok       state database: PostgreSQL 15\.\S+ at 127\.0\.0\.1:5432\/dbaccess_test_\w+; \d+ migrations applied/);
    expect(run.stdout).toMatch(/ok       queue \(Redis\): Redis 7\.\S+ at 127\.0\.0\.1:6379 answers PONG/);
    expect(run.stdout).toContain('ok       slack: auth.test: bot dbaccess (U0DBBOT) in workspace dbaccess-test (T0DBACCESS)');
    expect(run.stdout).toMatch(/ok       vault: http:\/\/127\.0\.0\.1:\d+ is unsealed; the token \(token\) has policies default, dbaccess/);
    expect(run.stdout).toMatch(/ok       model: claude-haiku-5-5 \(Claude Haiku 5\.5\) is available at 127\.0\.0\.1:\d+/);
    expect(run.stdout).toMatch(/ok       database orders: PostgreSQL 15\.\S+, admin dbaccess_admin \(superuser\); may end sessions; may create roles; may grant read, write, admin on every schema; capture pgaudit is set up on the server; may read the server log over SQL/);
    expect(run.stdout).toMatch(/ok       database shop: 10\.11\.\S+MariaDB\S*, admin root@\S+; may end sessions; may create users; may grant read, write, admin on target_\w+; may mark its users \(mysql\.global_priv\); capture general_log is set up/);
    expect(run.stdout).toMatch(/^ok       configuration: .*doctor-good\.yaml: 2 databases/m);
    expect(run.stdout).toContain('Summary: 8 ok, 0 warnings, 0 problems, 0 skipped.');
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(slack.callsTo('auth.test').at(-1)).toMatchObject({ token: 'xoxb-the-right-one', status: 200 });
    expect(vault.requestsTo('/v1/auth/token/lookup-self').length).toBeGreaterThan(0);
    expect(anthropic.accepted()).toHaveLength(0);
  }, SPAWNING_TIMEOUT);

  it('names what each broken dependency lacks and how to fix it, and never prints a secret', async () => {
    const text = `${approvers}databases:\n${postgresEntry('orders', target.name, 'env:ORDERS_ADMIN_URL')}${postgresEntry('weakpg', target.name, 'env:WEAK_PG_URL')}${mariaEntry('weakmaria', maria.name, 'env:WEAK_MARIA_URL')}${postgresEntry('down', 'postgres', 'env:DOWN_URL').replace('port: 5433', 'port: 1')}${postgresEntry('unset', 'postgres', 'env:UNSET_ADMIN_URL')}`;
    const config = writeCatalog('doctor-broken.yaml', text);
    const broken = {
      ...env, DBACCESS_CONFIG: config, SLACK_BOT_TOKEN: 'xoxb-stale-token', DBACCESS_AI_SUMMARY_MODEL: 'claude-nonexistent-9-9', DOWN_URL: 'postgresql://someone:down-pw@127.0.0.1:1/postgres',
    };
    const run = await dbaccess(['doctor', '--timeout', '20'], broken);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const out = run.stdout;
    const block = (name: string) => {
      const at = out.search(new RegExp(`\\] \\S+ +${name}:`));
      expect(at, `a line for ${name}`).toBeGreaterThanOrEqual(0);
      const start = out.lastIndexOf('\n', at) + 1;
      const next = out.slice(start + 1).search(/\n\[\s*\d+\/\d+\] /);
      return out.slice(start, next < 0 ? undefined : start + 1 + next);
    };

    expect(block('slack')).toContain('PROBLEM  slack: 1 problem');
    expect(block('slack')).toContain('problem: Slack refused SLACK_BOT_TOKEN (invalid_auth).');
    expect(block('slack')).toContain("fix: Copy the Bot User OAuth Token (xoxb-...) from the app's OAuth & Permissions page into SLACK_BOT_TOKEN.");

    const weakPg = block('database weakpg');
    expect(weakPg).toContain(`PROBLEM  database weakpg: PostgreSQL 15.`);
    expect(weakPg).toContain(`problem: ${weak} cannot end the sessions of temporary users (pg_terminate_backend).`);
    expect(weakPg).toContain(`fix: GRANT pg_signal_backend TO "${weak}";`);
    expect(weakPg).toContain(`problem: ${weak} may not create roles.`);
    expect(weakPg).toContain(`fix: ALTER ROLE "${weak}" CREATEROLE;`);
    expect(weakPg).toMatch(new RegExp(`problem: ${weak} may not grant what read, write, admin hand out: it lacks CONNECT, TEMPORARY on the database; schema privileges on public, sales; .*SELECT.* on public\\.notes, sales\\.customers, sales\\.orders`));
    expect(weakPg).toContain(`GRANT CREATE, USAGE ON SCHEMA "sales" TO "${weak}" WITH GRANT OPTION;`);

    const weakMaria = block('database weakmaria');
    expect(weakMaria).toContain(`problem: ${weak}@% cannot end the sessions of temporary users: it lacks CONNECTION ADMIN and PROCESS.`);
    expect(weakMaria).toContain(`fix: GRANT CONNECTION ADMIN, PROCESS ON *.* TO '${weak}'@'%';`);
    expect(weakMaria).toContain(`problem: ${weak}@% may not create users.`);
    expect(weakMaria).toMatch(/problem: \S+ may not grant SELECT, INSERT, UPDATE, DELETE, CREATE, DROP \(\+\d+ more\) on target_\w+/);
    expect(weakMaria).toContain(`problem: ${weak}@% cannot mark the users it creates: it lacks SELECT and UPDATE on mysql.global_priv.`);

    expect(block('database down')).toContain('problem: Cannot reach down (127.0.0.1:1): connection refused.');
    expect(block('database orders')).toMatch(/^\[\s*\d+\/10\] ok       database orders:/);
    // A reference that does not resolve: said in the configuration, and again by its database's check.
    expect(out).toMatch(/^PROBLEM  configuration: .*doctor-broken\.yaml: 5 databases/m);
    expect(out).toContain(`doctor-broken.yaml:${positionOf(text, 'env:UNSET_ADMIN_URL')}: problem: unset: env:UNSET_ADMIN_URL does not resolve`);
    // The server's words for it (the form, status and the approvers' channel say the same).
    expect(block('database unset')).toContain('problem: unset is unavailable: UNSET_ADMIN_URL is not set. Set it to the admin connection URL and restart, or remove unset from doctor-broken.yaml.');
    expect(block('model')).toContain('PROBLEM  model: claude-haiku-5-5 (Claude Haiku 5.5) is available at');
    expect(block('model')).toContain('problem: The model claude-nonexistent-9-9 does not exist at');
    expect(block('model')).toContain('fix: Set DBACCESS_AI_SUMMARY_MODEL to a model id such as claude-haiku-5-5.');
    // The configuration's PROBLEM line is counted like every check's.
    expect(out).toContain('Summary: 4 ok, 0 warnings, 7 problems, 0 skipped.');
    expect(out.match(/^(\[\s*\d+\/\d+\] )?PROBLEM /gm)).toHaveLength(7);

    for (const secret of [weakPassword, 'dbaccess-admin-pw', 'down-pw', 'xoxb-stale-token', vaultToken, 'sk-ant-cli-key']) {
      expect(run.stdout + run.stderr, 'no secret in the output').not.toContain(secret);
    }
    expect(slack.callsTo('auth.test').at(-1)).toMatchObject({ token: 'xoxb-stale-token', response: { ok: false, error: 'invalid_auth' } });
  }, SPAWNING_TIMEOUT);
});

describe('dbaccess on a first run: no catalog file, no DATABASE_URL', () => {
  // What the server serves then: the embedded PostgreSQL under DATA_DIR and the built-in sandbox catalog.
  const root = mkdtempSync(join(tmpdir(), 'dbaccess-cli-first-'));
  const dataDir = join(root, 'data');
  let env: Record<string, string>;
  beforeAll(async () => {
    // The embedded PostgreSQL runs as its own user (the tests run as root): it must reach DATA_DIR.
    chmodSync(root, 0o755);
    env = { DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()) };
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });
  const problemLines = (out: string) => out.split('\n').filter((line) => /^(\[\s*\d+\/\d+\] )?PROBLEM /.test(line));

  it('check-config checks the sandbox catalog the server serves, exits 0, and creates nothing', async () => {
    const run = await dbaccess(['check-config'], env);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('./dbaccess.yaml: note: No catalog file here and DATABASE_URL is not set: dbaccess serves the built-in sandbox catalog');
    expect(run.stdout).toContain('  fix: Copy dbaccess.example.yaml to ./dbaccess.yaml (or point DBACCESS_CONFIG at your catalog) to use your own databases.');
    expect(run.stdout).toMatch(/^OK: no \.\/dbaccess\.yaml, so the built-in sandbox catalog: 1 database \(postgres 1\), 1 policy, \d+ rules?\.$/m);
    expect(run.stdout).not.toContain('problem');
    expect(existsSync(dataDir), 'check-config connects nowhere and starts nothing').toBe(false);
  });

  it('doctor starts the embedded PostgreSQL as the server would, is all green, and stops it; leases and revoke-all read the same state', async () => {
    const run = await dbaccess(['doctor', '--timeout', '30'], env);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const out = run.stdout;
    expect(out).toMatch(/^ok       configuration: no \.\/dbaccess\.yaml, so the built-in sandbox catalog: 1 database \(postgres 1\)/m);
    expect(out).toMatch(/^\[\d\/6\] ok       state database: PostgreSQL \d+\.\S+ at embedded, \S+ \(not running: started for this check as dbaccess starts it, and stopped after\); the job queue runs here too \(schema bullmq\); \d+ migrations applied$/m);
    expect(out).toMatch(/^\[\d\/6\] ok       database sandbox: PostgreSQL \d+\.\S+, admin sandbox_admin; may end sessions; may create roles; may grant read, write/m);
    for (const name of ['queue \\(Redis\\)', 'slack', 'vault', 'model']) expect(out).toMatch(new RegExp(`^\\[\\d/6\\] skipped  ${name}: `, 'm'));
    expect(out).not.toMatch(/PROBLEM|WARNING|problem:|warning:/);
    expect(out).toContain('Summary: 3 ok, 0 warnings, 0 problems, 4 skipped.');
    const lines = out.trim().split('\n');
    expect(lines.filter((line) => /^(\[\d\/6\] )?ok /.test(line))).toHaveLength(3);
    // Stopped after: the port is free for the server.
    const port = Number(env.EMBEDDED_PG_PORT);
    await waitUntil(async () => (await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1').once('connect', () => (socket.destroy(), resolve(false))).once('error', () => resolve(true));
    })) || undefined, 20_000, 'the embedded PostgreSQL to stop');

    const leases = await dbaccess(['leases'], env);
    expect(leases, leases.stderr).toMatchObject({ code: 0, stdout: 'No active leases.\n' });
    const revoke = await dbaccess(['revoke-all', '--yes', '--database', 'sandbox'], env);
    expect(revoke, revoke.stderr).toMatchObject({ code: 0, stdout: 'No active leases on sandbox: nothing to revoke.\n' });
  }, SPAWNING_TIMEOUT);

  it('next to a running server, doctor and leases use its embedded PostgreSQL and its sandbox, and leave it running', async () => {
    const port = await freePort();
    const server = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../../src/main.ts', import.meta.url))], {
      // From the repository (tsx resolves there), which has no dbaccess.yaml either.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? work, ...env, PORT: String(port), HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    server.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    server.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      await waitUntil(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200 || undefined, 60_000, `the server (output so far: ${output.slice(-400)})`);
      const run = await dbaccess(['doctor', '--timeout', '30'], env);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.stdout).toMatch(/\] ok       state database: PostgreSQL \d+\.\S+ at embedded, \S+; the job queue runs here too/);
      expect(run.stdout).not.toContain('not running');
      expect(run.stdout).toMatch(/\] ok       database sandbox: PostgreSQL /);
      expect(run.stdout).toContain('Summary: 3 ok, 0 warnings, 0 problems, 4 skipped.');
      const leases = await dbaccess(['leases', '--database', 'sandbox'], env);
      expect(leases, leases.stderr).toMatchObject({ code: 0, stdout: 'No active leases on sandbox.\n' });
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 'the server still has its database').toBe(200);
    } finally {
      if (server.exitCode === null && server.signalCode === null) {
        const exited = new Promise((resolve) => server.once('exit', resolve));
        server.kill('SIGTERM');
        await exited;
      }
    }
  }, SPAWNING_TIMEOUT);

  it('a broken catalog makes check-config and doctor exit 1, counting every problem they print', async () => {
    const text = `${approvers}databases:\n${postgresEntry('orders', 'orders', 'env:ORDERS_ADMIN_URL', '    maxDuration: 4 hours\n').replace('environment: production', 'environment: prod')}`;
    const broken = { ...env, DBACCESS_CONFIG: writeCatalog('first-run-broken.yaml', text) };
    const check = await dbaccess(['check-config'], broken);
    expect(check.code, check.stdout + check.stderr).toBe(1);
    const printed = check.stdout.split('\n').filter((line) => /: problem: /.test(line));
    expect(printed).toHaveLength(2);
    expect(check.stdout).toContain(`2 problems found in ${broken.DBACCESS_CONFIG} and the environment.`);

    const run = await dbaccess(['doctor', '--timeout', '30'], broken);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toMatch(/^PROBLEM  configuration: .*first-run-broken\.yaml$/m);
    expect(run.stdout).toContain('(the catalog has problems: its databases are not checked)');
    const counted = /Summary: (\d+) ok, (\d+) warnings?, (\d+) problems?, (\d+) skipped\./.exec(run.stdout);
    expect(counted, run.stdout).not.toBeNull();
    expect(Number(counted![3])).toBe(problemLines(run.stdout).length);
    expect(problemLines(run.stdout)).toHaveLength(1);
    expect(run.stdout).toContain('Summary: 1 ok, 0 warnings, 1 problem, 4 skipped.');
  }, SPAWNING_TIMEOUT);
});

describe('dbaccess leases and revoke-all against a running app', () => {
  let h: Harness;
  const masterKey = randomBytes(32).toString('hex');
  let env: Record<string, string>;

  beforeAll(async () => {
    h = await startHarness({ queue: 'redis', env: { MASTER_KEY: masterKey } });
    env = {
      DATABASE_URL: h.app.stateUrl!, REDIS_URL: SERVICES.redis, QUEUE_PREFIX: h.redisPrefix, DBACCESS_CONFIG: h.catalogPath,
      DATA_DIR: dirname(h.catalogPath), MASTER_KEY: masterKey, ORDERS_ADMIN_URL: h.target.adminUrl,
    };
  });
  afterAll(async () => {
    await h?.close();
  });

  /** One approved request with its temporary user live on the target: its id and the DMed connection URI. */
  async function activeLease(scope: string): Promise<{ id: string; uri: string }> {
    const cards = h.slack.messagesIn(APPROVERS_CHANNEL).filter((message) => !message.threadTs).length;
    const dm = h.slack.dmChannelFor(PEOPLE.requester);
    const ready = () => h.slack.messagesIn(dm).filter((message) => /is ready until/.test(message.history[0]?.text ?? ''));
    const delivered = ready().length;
    expect((await h.submitRequest(PEOPLE.requester, { scope, duration: '1h' })).status).toBe(200);
    const card = await waitUntil(() => h.slack.messagesIn(APPROVERS_CHANNEL).filter((message) => !message.threadTs)[cards], 30_000, 'a new card');
    const id = /Access request (R[0-9A-Z]{9})/.exec(card.text ?? '')![1]!;
    await h.click(PEOPLE.alice, 'dbaccess.approve', card);
    const message = await waitUntil(() => ready()[delivered], 30_000, 'the credentials DM');
    const uri = /postgresql:\/\/[^\s`"]+/.exec(shown({ text: message.history[0]!.text, blocks: message.history[0]!.blocks }))![0];
    return { id, uri };
  }

  const auditOf = async (actorPrefix: string) => {
    const client = new pg.Client({ connectionString: h.app.stateUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ actor: string; action: string; subject: string; outcome: string }>(
        'SELECT actor, action, subject, outcome FROM audit_events WHERE starts_with(actor, $1) ORDER BY id',
        [actorPrefix],
      );
      return rows;
    } finally {
      await client.end();
    }
  };

  it('lists the live leases, refuses without the right confirmation, then revokes them all with progress', async () => {
    const { id: first, uri } = await activeLease('sales.orders');
    const { id: second } = await activeLease('public.notes');
    const users = await targetRoles(h.prefix);
    expect(users).toHaveLength(2);
    // The requester is connected: revoke-all must end that session too.
    const session = new pg.Client({ connectionString: uri });
    session.on('error', () => {});
    await session.connect();
    await session.query('SELECT count(*) FROM sales.orders');
    const sessionUser = decodeURIComponent(new URL(uri).username);

    // Read-only commands side by side, as several operators might run them.
    const [listed, asJson, elsewhere] = await Promise.all([dbaccess(['leases'], env), dbaccess(['leases', '--json'], env), dbaccess(['leases', '--database', 'elsewhere'], env)]);
    expect(listed.code, listed.stdout + listed.stderr).toBe(0);
    const [header, ...rows] = listed.stdout.trim().split('\n');
    expect(header).toMatch(/^REQUEST +DATABASE +USER +REQUESTER +EXPIRES +STATE$/);
    expect(rows.slice(0, 2).map((row) => row.split(/ {2,}/)[0]).sort()).toEqual([first, second].sort());
    for (const user of users) expect(listed.stdout).toMatch(new RegExp(`orders +${user} +slack:${PEOPLE.requester}(?: \\([^)]*\\))? +20\\d\\d-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC \\(in 5\\dm\\) +active`));
    expect(rows.at(-1)).toBe('2 leases.');
    const json = JSON.parse(asJson.stdout) as Array<{ requestId: string; username: string; state: string; requester: { id: string } }>;
    expect(json.map((lease) => lease.requestId).sort()).toEqual([first, second].sort());
    expect(json.every((lease) => lease.state === 'active' && lease.requester.id === PEOPLE.requester)).toBe(true);
    expect(elsewhere.stdout).toBe('No active leases on elsewhere.\n');

    const [refused, noInput] = await Promise.all([dbaccess(['revoke-all'], env, '1\n'), dbaccess(['revoke-all'], env)]);
    expect(refused.code, refused.stdout + refused.stderr).toBe(1);
    expect(refused.stderr).toContain('Revoke these 2 leases now? Type 2 to confirm: ');
    expect(refused.stdout).toContain('Not confirmed: nothing was revoked.');
    expect(noInput).toMatchObject({ code: 1, stdout: expect.stringContaining('Not confirmed (no input): nothing was revoked.') });
    expect(await targetRoles(h.prefix)).toEqual(users);

    const run = await dbaccess(['revoke-all'], env, '2\n');
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const progress = run.stdout.split('\n').filter((line) => /^\[\d\/2\] /.test(line));
    expect(progress.map((line) => line.slice(0, 5))).toEqual(['[1/2]', '[2/2]']);
    for (const user of users) {
      expect(run.stdout).toMatch(new RegExp(`\\] revoked orders/${user} \\(request R\\w+; ${user === sessionUser ? '1 session' : '0 sessions'} ended\\)`));
    }
    expect(run.stdout).toContain('Revoked 2 of 2 leases; 0 failed.');
    expect(await targetRoles(h.prefix)).toEqual([]);
    expect(await targetGroups(h.prefix)).toEqual([]);
    await expect(session.query('SELECT 1')).rejects.toThrow();
    await expect(new pg.Client({ connectionString: uri }).connect()).rejects.toThrow(/password authentication failed|does not exist/);

    // Audited as the operator's decision, then as the revocation itself; the card says what happened.
    const events = await auditOf('cli:');
    expect(events.filter((event) => event.action === 'lease.revoked' && event.outcome === 'success')).toHaveLength(4);
    await waitUntil(() => h.slack.messagesIn(APPROVERS_CHANNEL).filter((message) => !message.threadTs && shown(message).includes('(revoked by an operator: emergency revoke-all)')).length === 2, 20_000, 'both cards updated');
    const [none, nothing] = await Promise.all([dbaccess(['leases'], env), dbaccess(['revoke-all', '--yes'], env)]);
    expect(none.stdout).toBe('No active leases.\n');
    expect(nothing).toMatchObject({ code: 0, stdout: 'No active leases: nothing to revoke.\n' });
  }, SPAWNING_TIMEOUT);

  it('lists a revocation it could not do, exits 1, and leaves it to the workers, who finish it', async () => {
    const { id } = await activeLease('sales.orders');
    const [user] = await targetRoles(h.prefix);
    // The CLI alone is given a wrong admin address: its revocation fails where the app's would not.
    const unreachable = { ...env, ORDERS_ADMIN_URL: h.target.adminUrl.replace(':5433/', ':1/') };
    const run = await dbaccess(['revoke-all', '--yes', '--database', 'orders'], unreachable);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toContain(`[1/1] FAILED orders/${user} (request ${id}): Cannot reach orders (127.0.0.1:5433): connection refused.`);
    expect(run.stdout).toContain('Revoked 0 of 1 lease on orders; 1 failed.');
    expect(run.stdout).toContain(`  orders/${user} (request ${id}): Cannot reach orders (127.0.0.1:5433): connection refused.`);
    expect(run.stdout + run.stderr).not.toContain('dbaccess-admin-pw');
    await waitUntil(async () => (await targetRoles(h.prefix)).length === 0, 30_000, 'the workers to revoke it');
    expect((await auditOf('cli:')).some((event) => event.action === 'lease.revoke' && event.outcome === 'failure' && event.subject.startsWith('lease:'))).toBe(true);
  }, SPAWNING_TIMEOUT);
});
