import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCatalogSet, validateCatalog, type CatalogSet } from '../../src/config/catalog.js';
import { createLogger } from '../../src/lib/logger.js';
import { createDirectoryGroups } from '../../src/modules/directory-groups/directory-service.js';
import { canApprove, personOf } from '../../src/modules/policy/policy-evaluator.js';
import { policyContext } from '../../src/modules/access-requests/request-policy.js';
import { startFakeEntra, startFakeGoogle, startFakeOkta, type FakeDirectory } from '../support/fake-directories.js';

/**
 * The directory service against loopback doubles of Okta, Microsoft Entra and Google Workspace, through
 * their documented HTTP contracts (tokens, pagination, nested groups), with a clock the test moves.
 */

const ENTRA_TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const ENTRA_CLIENT = '0b6d2b1c-4f3e-4a43-9d8f-1c2b3a4d5e6f';
const DATABASES = `databases:
  - { id: orders, engine: postgres, host: 127.0.0.1, port: 5432, database: orders, environment: production, admin: env:ORDERS_ADMIN_URL }
`;

describe('identity-provider groups', () => {
  const fakes: FakeDirectory[] = [];
  afterEach(async () => {
    await Promise.all(fakes.splice(0).map((fake) => fake.close()));
  });

  const serviceFor = (catalogs: CatalogSet, secrets: Record<string, string>, clock = { now: 1_000_000 }) => {
    const byTenant = (tenantId: string) => catalogs.sections.find((section) => section.name === tenantId)?.view ?? catalogs.sections[0]!.view;
    const service = createDirectoryGroups({
      catalogOf: async (tenantId) => byTenant(tenantId),
      resolveSecret: async (reference) => secrets[reference] ?? Promise.reject(new Error(`${reference.slice(4)} is not set`)),
      logger: createLogger('silent'),
      now: () => clock.now,
    });
    return { service, clock, view: byTenant };
  };

  const oktaCatalog = (url: string, extra = '') =>
    parseCatalogSet(`approvers:
  slack: { channel: C0APPROVALS, users: [U0ALICE] }
integrations:
  okta: { url: "${url}", token: env:OKTA_TOKEN, cacheFor: 2m }
roles:
  requesters:
    - { who: okta:00gdevs }
policies:
  - { name: dbas, approvers: [okta:00gdbas, manager:okta] }
${extra}${DATABASES}`);

  const okta = async (pageSize = 200) => {
    const fake = await startFakeOkta({
      token: 'okta-token-123456',
      pageSize,
      users: [
        { id: '00uann', email: 'ann@acme.test', managerId: '00ubea' },
        { id: '00ubea', email: 'bea@acme.test' },
        { id: '00ucid', email: 'cid@acme.test' },
        { id: '00udan', email: 'dan@acme.test', status: 'SUSPENDED' },
        { id: '00ueve', email: 'Eve@Acme.test', managerId: '00ueve' },
      ],
      groups: { '00gdbas': ['00ubea', '00ucid', '00udan', '00uann'], '00gdevs': ['00uann', '00ueve'] },
    });
    fakes.push(fake);
    return fake;
  };

  it('Okta: follows Link rel="next" to a member on a later page, sends SSWS, skips suspended people, and finds managers', async () => {
    const fake = await okta(2);
    const { service } = serviceFor(oktaCatalog(fake.url), { 'env:OKTA_TOKEN': 'okta-token-123456' });
    const ann = await service.enrich('default', personOf('ann@acme.test'));
    // ann is the fourth of 00gdbas: page 2 of 2.
    expect(ann.directoryGroups).toEqual(['okta:00gdbas', 'okta:00gdevs']);
    expect(ann.managers).toEqual({ okta: 'bea@acme.test' });
    expect(fake.callsTo('/groups/00gdbas/users').map((call) => call.query.after ?? 'first')).toEqual(['first', '00ucid']);
    expect((await service.enrich('default', personOf('dan@acme.test'))).directoryGroups).toEqual([]);
    expect((await service.enrich('default', personOf('eve@acme.test'))).directoryGroups).toEqual(['okta:00gdevs']);
    // A wrong token is a refusal, and it says so.
    const { service: wrong } = serviceFor(oktaCatalog(fake.url), { 'env:OKTA_TOKEN': 'not-the-token' });
    expect((await wrong.enrich('default', personOf('ann@acme.test'))).directoryProblems).toEqual(["Okta refused dbaccess's token (HTTP 401); check it under integrations in the catalog, so its groups and managers count for nobody right now."]);
  });

  it('keeps answers for cacheFor: within it the cached members hold even with Okta down; past it, Okta down grants nothing and says why', async () => {
    const fake = await okta();
    const { service, clock } = serviceFor(oktaCatalog(fake.url), { 'env:OKTA_TOKEN': 'okta-token-123456' });
    expect((await service.enrich('default', personOf('cid@acme.test'))).directoryGroups).toEqual(['okta:00gdbas']);
    const asked = fake.calls.length;

    fake.down = true;
    clock.now += 119_000;
    const cached = await service.enrich('default', personOf('cid@acme.test'));
    expect(cached.directoryGroups).toEqual(['okta:00gdbas']);
    expect(cached.directoryProblems).toBeUndefined();
    expect(fake.calls.length).toBe(asked);

    clock.now += 2_000;
    const closed = await service.enrich('default', personOf('cid@acme.test'));
    expect(closed.directoryGroups).toEqual([]);
    expect(closed.directoryProblems).toEqual(['Okta answered HTTP 503, so its groups and managers count for nobody right now.']);

    fake.down = false;
    expect((await service.enrich('default', personOf('cid@acme.test'))).directoryGroups).toEqual(['okta:00gdbas']);
  });

  it('an Okta that cannot be reached at all (nothing listens) grants nothing', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => {
        const { port: free } = server.address() as { port: number };
        server.close(() => resolve(free));
      });
    });
    const { service } = serviceFor(oktaCatalog(`http://127.0.0.1:${port}`), { 'env:OKTA_TOKEN': 'okta-token-123456' });
    const ann = await service.enrich('default', personOf('ann@acme.test'));
    expect(ann.directoryGroups).toEqual([]);
    expect(ann.managers).toBeUndefined();
    expect(ann.directoryProblems).toEqual(['Okta could not be reached, so its groups and managers count for nobody right now.']);
  });

  it('manager approval: the manager approves, someone else\'s manager cannot, and nobody approves as their own manager', async () => {
    const fake = await okta();
    const catalogs = oktaCatalog(fake.url);
    const { service, view } = serviceFor(catalogs, { 'env:OKTA_TOKEN': 'okta-token-123456' });
    const request = { databaseId: 'orders', level: 'read', durationSeconds: 3600, scope: [], reason: 'look at the orders', ticket: null };
    const check = async (requester: string, approver: string) => {
      const ctx = policyContext(view('default'), request, await service.enrich('default', personOf(requester)), new Date())!;
      return canApprove(await service.enrich('default', personOf(approver)), ctx, [], view('default').policy);
    };
    // bea is ann's manager (and in 00gdbas too): take someone who approves only as manager.
    const catalogs2 = parseCatalogSet(`approvers:
  slack: { channel: C0APPROVALS, users: [U0ALICE] }
integrations:
  okta: { url: "${fake.url}", token: env:OKTA_TOKEN }
policies:
  - { name: managers, approvers: [manager:okta] }
${DATABASES}`);
    const managersOnly = serviceFor(catalogs2, { 'env:OKTA_TOKEN': 'okta-token-123456' });
    const checkManagers = async (requester: string, approver: string) => {
      const ctx = policyContext(managersOnly.view('default'), request, await managersOnly.service.enrich('default', personOf(requester)), new Date())!;
      return canApprove(await managersOnly.service.enrich('default', personOf(approver)), ctx, [], managersOnly.view('default').policy);
    };
    const approved = await checkManagers('ann@acme.test', 'bea@acme.test');
    expect(approved.allowed).toBe(true);
    expect(approved.allowed && approved.via).toBe('manager:okta');
    const other = await checkManagers('cid@acme.test', 'bea@acme.test');
    expect(other.allowed).toBe(false);
    expect(!other.allowed && other.rule).toBe('not-an-approver');
    // Eve is her own manager in Okta: still no self-approval.
    const self = await checkManagers('eve@acme.test', 'eve@acme.test');
    expect(!self.allowed && self.rule).toBe('self-approval');
    // The group route of the first catalog gives the audit its basis.
    const viaGroup = await check('eve@acme.test', 'cid@acme.test');
    expect(viaGroup.allowed && viaGroup.via).toBe('okta:00gdbas');
  });

  it('two tenants with different Okta orgs: the same group id is a different group, each asked with its own token', async () => {
    const orgA = await startFakeOkta({ token: 'token-of-org-a-1234', users: [{ id: '00uann', email: 'ann@acme.test' }], groups: { '00gdbas': ['00uann'] } });
    const orgB = await startFakeOkta({ token: 'token-of-org-b-5678', users: [{ id: '00uben', email: 'ben@beta.test' }], groups: { '00gdbas': ['00uben'] } });
    fakes.push(orgA, orgB);
    const section = (name: string, team: string, url: string, token: string, db: string) => `  - name: ${name}
    slack: [${team}]
    approvers: { slack: { channel: C0APPROVALS, users: [U0ALICE] } }
    integrations:
      okta: { url: "${url}", token: ${token} }
    policies:
      - { name: dbas, approvers: [okta:00gdbas] }
    settings: { userPrefix: ${name}_ }
    databases:
      - { id: ${db}, engine: postgres, host: 127.0.0.1, port: 5432, database: ${db}, environment: production, admin: env:ADMIN_URL }
`;
    const catalogs = parseCatalogSet(`tenants:\n${section('alpha', 'T0ALPHA', orgA.url, 'env:OKTA_A', 'orders')}${section('beta', 'T0BETA', orgB.url, 'env:OKTA_B', 'shop')}`);
    const { service } = serviceFor(catalogs, { 'env:OKTA_A': 'token-of-org-a-1234', 'env:OKTA_B': 'token-of-org-b-5678' });
    expect((await service.enrich('alpha', personOf('ann@acme.test'))).directoryGroups).toEqual(['okta:00gdbas']);
    expect((await service.enrich('beta', personOf('ann@acme.test'))).directoryGroups).toEqual([]);
    expect((await service.enrich('beta', personOf('ben@beta.test'))).directoryGroups).toEqual(['okta:00gdbas']);
    expect((await service.enrich('alpha', personOf('ben@beta.test'))).directoryGroups).toEqual([]);
    expect(orgA.calls.length).toBe(1);
    expect(orgB.calls.length).toBe(1);
  });

  it('Entra: a client-credentials token, transitive members across pages (nested groups), managers', async () => {
    const fake = await startFakeEntra({
      tenantId: ENTRA_TENANT, clientId: ENTRA_CLIENT, clientSecret: 'entra-secret-123456', pageSize: 2,
      groups: { 'g-dbas': [{ user: 'ann@acme.test' }, { group: 'g-oncall' }], 'g-oncall': [{ user: 'bea@acme.test' }, { group: 'g-deep' }], 'g-deep': [{ user: 'cid@acme.test' }] },
      managers: { 'ann@acme.test': 'bea@acme.test' },
    });
    fakes.push(fake);
    const catalogs = parseCatalogSet(`approvers:
  slack: { channel: C0APPROVALS, users: [U0ALICE] }
integrations:
  entra: { tenantId: ${ENTRA_TENANT}, clientId: ${ENTRA_CLIENT}, clientSecret: env:ENTRA_SECRET, loginUrl: "${fake.url}", graphUrl: "${fake.url}" }
policies:
  - { name: dbas, approvers: [entra:g-dbas, manager:entra] }
${DATABASES}`);
    const { service } = serviceFor(catalogs, { 'env:ENTRA_SECRET': 'entra-secret-123456' });
    const cid = await service.enrich('default', personOf('cid@acme.test'));
    expect(cid.directoryGroups).toEqual(['entra:g-dbas']);
    const ann = await service.enrich('default', personOf('ann@acme.test'));
    expect(ann.managers).toEqual({ entra: 'bea@acme.test' });
    // 5 objects (3 people, 2 groups) at 2 a page: 3 pages, one token for every call.
    expect(fake.callsTo('/transitiveMembers')).toHaveLength(3);
    expect(fake.callsTo('/oauth2/v2.0/token')).toHaveLength(1);
    // A wrong secret: the token endpoint refuses, nobody gains anything.
    const { service: wrong } = serviceFor(catalogs, { 'env:ENTRA_SECRET': 'wrong' });
    expect((await wrong.enrich('default', personOf('cid@acme.test'))).directoryProblems).toEqual(["Microsoft Entra refused dbaccess's token (HTTP 401); check it under integrations in the catalog, so its groups and managers count for nobody right now."]);
  });

  it('Google: a signed service-account JWT for a token, derived (nested) members across pages, the manager relation', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const fake = await startFakeGoogle({
      serviceAccount: 'dbaccess@acme.iam.gserviceaccount.com', subject: 'admin@acme.test', publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), pageSize: 2,
      groups: { 'dbas@acme.test': ['ann@acme.test', 'bea@acme.test', { group: 'oncall@acme.test' }], 'oncall@acme.test': ['cid@acme.test'] },
      managers: { 'ann@acme.test': 'bea@acme.test' },
    });
    fakes.push(fake);
    const catalogs = parseCatalogSet(`approvers:
  slack: { channel: C0APPROVALS, users: [U0ALICE] }
integrations:
  google: { serviceAccount: dbaccess@acme.iam.gserviceaccount.com, privateKey: env:GOOGLE_KEY, subject: admin@acme.test, tokenUrl: "${fake.url}/token", apiUrl: "${fake.url}" }
policies:
  - { name: dbas, approvers: ["google:dbas@acme.test", manager:google] }
${DATABASES}`);
    const { service } = serviceFor(catalogs, { 'env:GOOGLE_KEY': pem });
    expect((await service.enrich('default', personOf('cid@acme.test'))).directoryGroups).toEqual(['google:dbas@acme.test']);
    expect((await service.enrich('default', personOf('ann@acme.test'))).managers).toEqual({ google: 'bea@acme.test' });
    expect(fake.callsTo('/members').map((call) => [call.query.includeDerivedMembership, call.query.pageToken ?? 'first'])).toEqual([['true', 'first'], ['true', '2']]);
    expect(fake.callsTo('/token')).toHaveLength(1);
    // Another key: the signature does not verify, and nobody is a member.
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const { service: wrong } = serviceFor(catalogs, { 'env:GOOGLE_KEY': other });
    const refused = await wrong.enrich('default', personOf('cid@acme.test'));
    expect(refused.directoryGroups).toEqual([]);
    expect(refused.directoryProblems).toEqual(['Google Workspace answered HTTP 400, so its groups and managers count for nobody right now.']);
  });

  it('checks the catalog line by line: an unconfigured provider, a manager outside approvers, a secret written in place', () => {
    const result = validateCatalog(`approvers:
  slack: { channel: C0APPROVALS, users: [U0ALICE] }
roles:
  admins: [manager:okta]
policies:
  - { name: dbas, approvers: [okta:00gdbas] }
${DATABASES}`, 'dbaccess.yaml');
    expect(result.ok).toBe(false);
    const lines = !result.ok ? result.problems.map((problem) => `${problem.line}: ${problem.path}: ${problem.message}`) : [];
    expect(lines).toEqual([
      '4: roles.admins.0: manager:okta needs integrations.okta (how to reach okta)',
      "4: roles.admins.0: manager:okta (the requester's manager) can only be named among a policy's approvers",
      '6: policies.0.approvers.0: okta:00gdbas needs integrations.okta (how to reach okta)',
    ]);
    const secret = validateCatalog(`approvers:
  slack: { channel: C0APPROVALS, users: [U0ALICE] }
integrations:
  okta:
    url: https://acme.okta.com
    token: 00abcdefSECRET
${DATABASES}`, 'dbaccess.yaml');
    expect(!secret.ok && secret.problems.map((problem) => `${problem.line}: ${problem.path}: ${problem.message}`)).toEqual([
      '6: integrations.okta.token: must be a reference such as env:OKTA_API_TOKEN or vault:secret/data/okta#token, never the secret itself',
    ]);
  });
});
