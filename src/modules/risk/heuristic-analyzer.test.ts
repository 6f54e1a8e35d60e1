import { describe, expect, it } from 'vitest';
import { assessRisk } from './heuristic-analyzer.js';
import type { RiskInput } from './risk-types.js';

const at = (hour: number) => new Date(Date.UTC(2026, 10, 30, hour, 0));
const request = (overrides: Partial<RiskInput> = {}): RiskInput => ({
  environment: 'development',
  level: 'read',
  scopeSize: 1,
  tableScoped: true,
  durationSeconds: 3600,
  reason: 'Investigate the failed payout batch from last night for ORD-1234',
  ticket: 'ORD-1234',
  tags: [],
  requestedAt: at(10),
  ...overrides,
});

describe('heuristic risk', () => {
  it('rates a narrow read on development during the day Low', () => {
    expect(assessRisk(request()).level).toBe('low');
  });

  it('rates admin on a whole production database Critical, with reasons', () => {
    const risk = assessRisk(request({ environment: 'production', level: 'admin', scopeSize: 0, tableScoped: false }));
    expect(risk.level).toBe('critical');
    expect(risk.reasons).toEqual(expect.arrayContaining(['Production database.', 'Admin rights requested.']));
  });

  it('rates a scoped production write with a ticket Medium and without one High', () => {
    const write = request({ environment: 'production', level: 'write' });
    expect(assessRisk(write).level).toBe('medium');
    expect(assessRisk({ ...write, ticket: undefined, tableScoped: false }).level).toBe('high');
  });

  it('raises the rating at night, for long durations and vague reasons', () => {
    const base = assessRisk(request({ environment: 'staging' })).level;
    expect(base).toBe('low');
    expect(assessRisk(request({ environment: 'staging', requestedAt: at(3), reason: 'need data now pls' })).level).toBe('medium');
    expect(assessRisk(request({ environment: 'staging', durationSeconds: 9 * 3600, requestedAt: at(23) })).reasons).toContain(
      'Longer than 8 hours.',
    );
  });

  it('notes personal data when the whole database is asked for', () => {
    const risk = assessRisk(request({ tags: ['pii'], scopeSize: 0, tableScoped: false }));
    expect(risk.reasons.join(' ')).toMatch(/pii/);
  });
});
