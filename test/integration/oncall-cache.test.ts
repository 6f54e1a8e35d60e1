import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { integrationsSchema } from '../../src/config/integrations-schema.js';
import { onCallSchema } from '../../src/config/oncall-schema.js';
import { policyConfig } from '../../src/config/policy-config.js';
import { policySchema } from '../../src/config/policy-schema.js';
import { createOnCallService } from '../../src/modules/oncall/oncall-service.js';
import { personOf, type RequestContext } from '../../src/modules/policy/policy-evaluator.js';
import { startFakeIncidentIo, type FakeIncidentIo } from '../support/fake-incidentio.js';
import { startFakePagerDuty, type FakePagerDuty } from '../support/fake-pagerduty.js';

/**
 * The on-call lookup against both doubles over HTTP, with an injected clock: answers are reused at
 * most cacheSeconds (never more than 60 s, never past the end of the shift they report), a failure
 * is never reused, and two tenants' accounts are never mixed.
 */
const START = new Date('2026-12-07T03:00:00Z');
const HOUR = 3600_000;

describe('on-call lookups and their cache', () => {
  let pd: FakePagerDuty;
  let pd2: FakePagerDuty;
  let io: FakeIncidentIo;
  beforeAll(async () => {
    [pd, pd2, io] = await Promise.all([startFakePagerDuty({ token: 'key-a' }), startFakePagerDuty({ token: 'key-b' }), startFakeIncidentIo({ token: 'io-key' })]);
    for (const [fake, user] of [[pd, 'PA'], [pd2, 'PB']] as const) {
      fake.now = () => clock.now;
      fake.users = [{ id: user, name: 'Rita', email: 'rita@acme.test' }];
      fake.oncalls = [{ userId: user, schedule: { id: 'PSCHED1', name: `Payments ${user}` }, policy: { id: 'PEP1', name: 'Payments' }, level: 1, start: new Date(START.getTime() - HOUR), end: new Date(START.getTime() + 6 * HOUR) }];
    }
    io.schedules = [{ id: '01SCHED', name: 'Platform on-call', entries: [{ userId: 'U1', name: 'Rita', email: 'rita@acme.test', start: new Date(START.getTime() - HOUR), end: new Date(START.getTime() + 90_000) }] }];
    io.incidents = [{ id: 'I1', reference: 'INC-87', name: 'Checkout down', category: 'active' }, { id: 'I2', reference: 'INC-80', name: 'Old', category: 'closed' }];
  });
  afterAll(async () => {
    await Promise.all([pd?.close(), pd2?.close(), io?.close()]);
  });
  const clock = { now: START };

  const setUp = () => {
    const tenants: Record<string, ReturnType<typeof integrationsSchema.parse>> = {
      a: integrationsSchema.parse({ pagerduty: { token: 'env:PD_A', apiUrl: pd.url, cacheSeconds: 60 }, incidentio: { token: 'env:IO', apiUrl: io.url, cacheSeconds: 60 } }),
      b: integrationsSchema.parse({ pagerduty: { token: 'env:PD_B', apiUrl: pd2.url, cacheSeconds: 20 } }),
    };
    const secrets: Record<string, string> = { 'env:PD_A': 'key-a', 'env:PD_B': 'key-b', 'env:IO': 'io-key' };
    return createOnCallService({
      integrationsOf: async (tenantId) => tenants[tenantId]!,
      resolveReference: async (reference) => secrets[reference]!,
      now: () => clock.now,
    });
  };
  const ctxFor = (onCall: unknown): { ctx: RequestContext; config: ReturnType<typeof policyConfig> } => {
    const policy = policySchema.parse({ name: 'p', approvers: ['U0ALICE'], autoApprove: [{ maxRisk: 'critical', onCall }] });
    const config = policyConfig({ approvers: {}, settings: { pendingTimeout: 3600 }, databases: [], policies: [policy] });
    const ctx: RequestContext = {
      requester: { ...personOf('U0RITA'), email: 'rita@acme.test' }, database: { id: 'orders', environment: 'production', tags: [], engine: 'postgres' },
      level: 'read', durationSeconds: 3600, scope: [], reason: 'x', risk: 'low', now: clock.now, activeLeases: [],
    };
    return { ctx, config };
  };

  it('reuses a PagerDuty answer for at most cacheSeconds, and never a failure', async () => {
    clock.now = START;
    const service = setUp();
    const { ctx, config } = ctxFor({ provider: 'pagerduty', schedules: ['PSCHED1'] });
    const first = Object.values((await service.answersFor('a', ctx, config))!)[0]!;
    expect(first).toMatchObject({ reachable: true, known: true, shifts: [{ name: 'Payments PA', escalationLevel: 1 }] });
    await service.answersFor('a', ctx, config);
    expect(pd.callsTo('/oncalls')).toHaveLength(1);

    clock.now = new Date(START.getTime() + 59_000);
    await service.answersFor('a', ctx, config);
    expect(pd.callsTo('/oncalls')).toHaveLength(1);
    clock.now = new Date(START.getTime() + 60_000);
    await service.answersFor('a', ctx, config);
    expect(pd.callsTo('/oncalls')).toHaveLength(2);

    // A failure is not kept: the next request asks again, and gets the answer.
    pd.fault = { kind: 'status', status: 503 };
    clock.now = new Date(START.getTime() + 200_000);
    expect(Object.values((await service.answersFor('a', ctx, config))!)[0]).toMatchObject({ reachable: false, problem: 'answered HTTP 503' });
    pd.fault = undefined;
    expect(Object.values((await service.answersFor('a', ctx, config))!)[0]).toMatchObject({ reachable: true });
    expect(pd.callsTo('/oncalls')).toHaveLength(4);
  });

  it('keeps two tenants\' PagerDuty accounts apart, each with its own key and cache time', async () => {
    clock.now = START;
    const service = setUp();
    const { ctx, config } = ctxFor({ provider: 'pagerduty', schedules: ['PSCHED1'] });
    const [a, b] = await Promise.all([service.answersFor('a', ctx, config), service.answersFor('b', ctx, config)]);
    expect(Object.values(a!)[0]).toMatchObject({ shifts: [{ name: 'Payments PA' }] });
    expect(Object.values(b!)[0]).toMatchObject({ shifts: [{ name: 'Payments PB' }] });
    expect(pd2.calls.every((call) => call.authorization === 'Token token=key-b')).toBe(true);
    const before = pd2.callsTo('/oncalls').length;
    clock.now = new Date(START.getTime() + 21_000);
    await service.answersFor('b', ctx, config);
    expect(pd2.callsTo('/oncalls').length).toBe(before + 1);
  });

  it('reads incident.io schedule entries and active incidents, and asks again once the shift has ended', async () => {
    clock.now = START;
    const service = setUp();
    const { ctx, config } = ctxFor({ provider: 'incidentio', schedules: ['01SCHED'], incidentOpen: true });
    const facts = Object.values((await service.answersFor('a', ctx, config))!)[0]!;
    expect(facts).toMatchObject({ reachable: true, shifts: [{ name: 'Platform on-call', until: new Date(START.getTime() + 90_000) }], incidents: [{ label: 'INC-87' }] });
    expect(io.calls.every((call) => call.authorization === 'Bearer io-key')).toBe(true);
    expect(io.callsTo('/v2/incidents')[0]!.query.get('status_category[one_of]')).toBe('active');
    const entries = io.callsTo('/v2/schedule_entries');
    expect(entries).toHaveLength(1);
    // The shift ends 90 s after START: the 60 s cache holds, then it is asked again.
    clock.now = new Date(START.getTime() + 59_000);
    await service.answersFor('a', ctx, config);
    expect(io.callsTo('/v2/schedule_entries')).toHaveLength(1);
    clock.now = new Date(START.getTime() + 95_000);
    const after = Object.values((await service.answersFor('a', { ...ctx, now: clock.now }, config))!)[0]!;
    expect(io.callsTo('/v2/schedule_entries')).toHaveLength(2);
    expect(after).toMatchObject({ reachable: true, shifts: [] });
  });

  it('refuses a cache longer than 60 s and incident.io settings that are PagerDuty\'s, at the field', () => {
    const tooLong = integrationsSchema.safeParse({ pagerduty: { token: 'env:PD', cacheSeconds: 120 } });
    expect(tooLong.success).toBe(false);
    expect(tooLong.error!.issues[0]).toMatchObject({ path: ['pagerduty', 'cacheSeconds'], message: 'on-call answers are never kept longer than 60 s' });
    const secret = integrationsSchema.safeParse({ pagerduty: { token: 'u+abcdefSECRET' } });
    expect(secret.error!.issues[0]!.path).toEqual(['pagerduty', 'token']);
    const mixed = onCallSchema.safeParse({ provider: 'incidentio', schedules: ['01S'], maxEscalationLevel: 1 });
    expect(mixed.error!.issues[0]).toMatchObject({ path: ['maxEscalationLevel'], message: 'maxEscalationLevel is for PagerDuty; on incident.io name schedules' });
  });
});
