import { describe, expect, it } from 'vitest';
import {
  ANOMALY_THRESHOLD, median, minutesOutside, robustZ, scoreRequest, scoreSession, surprisal, usualWindow, windowText,
} from './insights-scoring.js';
import type { PastRequest, ScopeWidth, SessionPoint } from './insights-types.js';

const DAY = 86_400_000;
/** Monday 2026-11-23 00:00 UTC: "now" in these histories. */
const NOW = Date.UTC(2026, 10, 23);
const at = (daysAgo: number, hour: number, minute = 0) => new Date(NOW - daysAgo * DAY + (hour * 60 + minute) * 60_000);

const request = (requesterId: string, createdAt: Date, changes: Partial<PastRequest> & { scopeWidth?: ScopeWidth } = {}): PastRequest => ({
  requesterId, level: 'read', durationSeconds: 1800, outcome: 'approved', scopeWidth: 'tables', createdAt, ...changes,
});

/**
 * Bob: 20 read requests on orders over 90 days, every 4 to 5 days, on office hours (09:00-17:00 UTC),
 * for 30m to 1h, on named tables. Alice: 10 like them. No outliers in the baseline itself.
 */
function officeHistory(): PastRequest[] {
  const bob = Array.from({ length: 20 }, (_, i) => request('bob', at(90 - Math.floor(i * 4.5), 9 + (i % 9), (i * 7) % 60), { durationSeconds: [1800, 2700, 3600][i % 3]! }));
  const alice = Array.from({ length: 10 }, (_, i) => request('alice', at(85 - i * 8, 10 + (i % 6)), { durationSeconds: 3600 }));
  return [...bob, ...alice];
}

const current = (changes: Partial<Parameters<typeof scoreRequest>[0]> = {}) => ({
  requesterId: 'bob', level: 'read', durationSeconds: 2700, at: at(0, 11, 30), databaseId: 'orders', scopeWidth: 'tables' as ScopeWidth, ...changes,
});

describe('statistics', () => {
  it('scores with the median and the MAD, so outliers already in the baseline do not hide new ones', () => {
    const baseline = [10, 11, 12, 13, 14, 100];
    expect(median(baseline)).toBe(12.5);
    const { z, scale } = robustZ(40, baseline, 0);
    // MAD = 1.5 -> scale 2.22; a mean and standard deviation (mean 26.7, sd 35) would give 0.4.
    expect(scale).toBeCloseTo(2.2239, 3);
    expect(z).toBeGreaterThan(12);
  });

  it('falls back to the mean absolute deviation when most values are equal, and never below the floor', () => {
    expect(robustZ(5, [1, 1, 1, 1, 3], 0).scale).toBeCloseTo(1.2533 * 0.4, 4);
    expect(robustZ(2, [1, 1, 1, 1, 1], 0.5)).toMatchObject({ z: 2, scale: 0.5 });
  });

  it('measures surprise in bits: never seen reaches 3.5 at 5 observations; once seen, at 16', () => {
    expect(surprisal(0, 4)).toBeLessThan(ANOMALY_THRESHOLD);
    expect(surprisal(0, 5)).toBeCloseTo(3.585, 3);
    expect(surprisal(1, 15)).toBeLessThan(ANOMALY_THRESHOLD);
    expect(surprisal(1, 16)).toBeGreaterThanOrEqual(ANOMALY_THRESHOLD);
  });

  it('finds the usual hours as the shortest arc with 80% of them, across midnight for night shifts', () => {
    const night = usualWindow([22 * 60, 23 * 60, 23 * 60 + 30, 30, 60])!;
    expect(night).toEqual({ start: 23 * 60, end: 60, length: 120 });
    expect(windowText(night)).toBe('23-01');
    expect(minutesOutside(30, night)).toBe(0);
    expect(minutesOutside(2 * 60, night)).toBe(60);
    expect(minutesOutside(12 * 60, night)).toBe(11 * 60);
    const office = usualWindow([9 * 60, 10 * 60, 12 * 60, 17 * 60 + 50, 15 * 60])!;
    expect(windowText(office)).toBe('09-15');
    expect(minutesOutside(3 * 60 + 12, office)).toBe(5 * 60 + 48);
  });
});

describe('scoreRequest', () => {
  it('finds nothing in a request like the history', () => {
    const scored = scoreRequest(current(), officeHistory());
    expect(scored).toEqual({ anomalies: [], notes: [] });
  });

  it('scores each planted outlier: first write, long, at night, whole database', () => {
    const scored = scoreRequest(current({ level: 'write', durationSeconds: 8 * 3600, at: at(0, 3, 12), scopeWidth: 'whole' }), officeHistory());
    const byFeature = Object.fromEntries(scored.anomalies.map((anomaly) => [`${anomaly.feature}/${anomaly.baseline}`, anomaly]));
    expect(Object.keys(byFeature).sort()).toEqual(['duration/person', 'hour/person', 'level/database', 'level/person', 'scope/person']);
    expect(byFeature['level/person']).toMatchObject({ score: 5.4, text: 'First write request by this person on orders in 90 days (20 requests: 20 read)' });
    expect(byFeature['level/database']).toMatchObject({ score: 6, text: 'First write request on orders in 90 days (30 requests by 2 people)' });
    expect(byFeature['hour/person']!.text).toBe('Requested at 03:12 (UTC); usual hours 09-16 for this person over 20 requests');
    expect(byFeature['hour/person']!.score).toBe(5.8);
    expect(byFeature['duration/person']!.text).toBe("Duration 8h is 11x this person's median of 45m over 20 requests");
    expect(byFeature['scope/person']!.text).toBe('The whole database on orders, where this person asked for named tables in 20 of 20 requests');
    // Highest first, every one at or over the threshold.
    expect(scored.anomalies.map((a) => a.score)).toEqual([...scored.anomalies.map((a) => a.score)].sort((a, b) => b - a));
    expect(scored.anomalies.every((a) => a.score >= ANOMALY_THRESHOLD)).toBe(true);
  });

  it('reads hours in the catalog\'s timezone', () => {
    const scored = scoreRequest(current({ at: at(0, 3, 12) }), officeHistory(), { timeZone: 'Europe/Berlin' });
    expect(scored.anomalies.map((a) => a.text)).toEqual(['Requested at 04:12 (Europe/Berlin); usual hours 11-18 for this person over 20 requests']);
  });

  it('keeps an hour just outside the window below the threshold', () => {
    expect(scoreRequest(current({ at: at(0, 19, 0) }), officeHistory()).anomalies).toEqual([]);
  });

  it('scores a burst of requests against the person\'s weekly counts', () => {
    const burst = [1, 2, 3, 4, 5].map((daysAgo) => request('bob', at(daysAgo, 10)));
    const scored = scoreRequest(current(), [...officeHistory().filter((r) => r.createdAt < at(7, 0)), ...burst]);
    expect(scored.anomalies).toEqual([
      expect.objectContaining({ feature: 'frequency', baseline: 'person', text: expect.stringMatching(/^6 requests by this person for orders in the last 7 days; usually 2 a week over 1\d weeks$/) }),
    ]);
    expect(scored.anomalies[0]!.score).toBeGreaterThanOrEqual(ANOMALY_THRESHOLD);
  });

  it('is robust to an outlier already in the baseline: one past 8h request does not make 8h usual', () => {
    const history = officeHistory();
    history[3] = { ...history[3]!, durationSeconds: 8 * 3600 };
    const scored = scoreRequest(current({ durationSeconds: 8 * 3600 }), history);
    expect(scored.anomalies.map((a) => a.feature)).toEqual(['duration']);
  });

  it('does not flag the harmless direction: read, shorter, narrower', () => {
    const history = officeHistory().map((r) => ({ ...r, level: 'write', durationSeconds: 4 * 3600, scopeWidth: 'whole' as const }));
    expect(scoreRequest(current({ level: 'read', durationSeconds: 600, scopeWidth: 'tables' }), history).anomalies).toEqual([]);
  });

  it('ignores history from after the request', () => {
    const later = Array.from({ length: 10 }, (_, i) => request('bob', at(-1 - i, 3), { level: 'write' }));
    const scored = scoreRequest(current({ level: 'write' }), [...officeHistory(), ...later]);
    expect(scored.anomalies.map((a) => a.feature)).toEqual(['level', 'level']);
  });

  describe('cold start', () => {
    it('says there is no history instead of inventing a baseline', () => {
      expect(scoreRequest(current({ level: 'admin', at: at(0, 3) }), [])).toEqual({
        anomalies: [], notes: ['No history for orders yet: nothing is scored until it has 5 requests.'],
      });
    });

    it('scores nothing below 5 requests, and says so', () => {
      const few = officeHistory().slice(0, 4);
      expect(scoreRequest(current({ level: 'admin', durationSeconds: 8 * 3600, at: at(0, 3) }), few)).toEqual({
        anomalies: [], notes: ['Too little history to score: 4 past requests for orders, 5 needed.'],
      });
    });

    it('uses everyone\'s baseline for a newcomer, and says so', () => {
      const scored = scoreRequest(current({ requesterId: 'carol', durationSeconds: 8 * 3600, at: at(0, 3) }), officeHistory());
      expect(scored.notes).toEqual(["This person has 0 past requests for orders, fewer than 5: compared with everyone's 30 instead."]);
      expect(scored.anomalies.map((a) => `${a.feature}/${a.baseline}`).sort()).toEqual(['duration/database', 'hour/database']);
      expect(scored.anomalies.find((a) => a.feature === 'duration')!.text).toBe('Duration 8h is 8x the median for orders of 1h over 30 requests');
    });
  });
});

describe('scoreSession', () => {
  const session = (requesterId: string, daysAgo: number, changes: Partial<SessionPoint> = {}): SessionPoint => ({
    requesterId, at: at(daysAgo, 10), statements: 20, objects: ['sales.orders', 'sales.customers'], dml: 0, ddl: 0, ...changes,
  });
  /** Bob: 8 sessions of 15-30 statements on two tables, read only; Alice: 6 on a third table. */
  const history = () => [
    ...[15, 18, 20, 22, 25, 30, 20, 19].map((statements, i) => session('bob', 60 - i * 7, { statements })),
    ...Array.from({ length: 6 }, (_, i) => session('alice', 50 - i * 5, { objects: ['sales.refunds'] })),
  ];
  const now = (changes: Partial<SessionPoint> = {}) => ({ ...session('bob', 0), databaseId: 'orders', ...changes });

  it('finds nothing in a session like the person\'s, and says rows are not captured', () => {
    expect(scoreSession(now(), history())).toEqual({ anomalies: [], notes: ['Rows read or changed are not captured by this recording, so they are not compared.'] });
  });

  it('scores many more statements than usual, tables never touched, and first writes', () => {
    const scored = scoreSession(now({ statements: 400, objects: ['sales.orders', 'sales.payments', 'sales.refunds', 'pg_catalog.pg_class'], dml: 12 }), history());
    const byFeature = Object.fromEntries(scored.anomalies.map((anomaly) => [anomaly.feature, anomaly]));
    expect(Object.keys(byFeature).sort()).toEqual(['statements', 'tables', 'writes']);
    expect(byFeature.statements!.text).toBe("400 statements in this session; this person's median is 20 over 8 recorded sessions");
    expect(byFeature.statements!.score).toBeGreaterThan(8);
    // System catalogs are not tables of the database; sales.refunds is Alice's, new to Bob only.
    expect(byFeature.tables!.text).toBe('First time this person touched sales.payments, sales.refunds on orders in 8 recorded sessions (60 days); no one touched sales.payments in 14');
    expect(byFeature.tables!.score).toBe(4.9);
    expect(byFeature.writes!.text).toBe("Changed data or schema (12 statements) for the first time in this person's 8 recorded sessions on orders");
  });

  it('compares rows when the recording captures them', () => {
    const past = history().map((s) => ({ ...s, rows: 100 }));
    const scored = scoreSession({ ...now(), rows: 250_000 }, past);
    expect(scored.notes).toEqual([]);
    expect(scored.anomalies).toEqual([expect.objectContaining({ feature: 'rows', text: "250000 rows read or changed; this person's median is 100 over 8 sessions" })]);
  });

  it('says there is no baseline yet below 5 recorded sessions, and scores nothing', () => {
    const scored = scoreSession(now({ statements: 5000, objects: ['secret.keys'], dml: 9 }), history().slice(0, 3));
    expect(scored).toEqual({
      anomalies: [],
      notes: ['No baseline yet for sessions on orders: 3 recorded before this one, 5 needed.', 'Rows read or changed are not captured by this recording, so they are not compared.'],
    });
  });

  it('compares a newcomer with everyone\'s sessions: statements, and tables no one touched', () => {
    const scored = scoreSession(now({ requesterId: 'carol', statements: 900, objects: ['secret.keys'] }), history());
    expect(scored.notes[0]).toBe("This person has 0 recorded sessions on orders, fewer than 5: compared with everyone's 14 instead.");
    expect(scored.anomalies.map((a) => `${a.feature}/${a.baseline}`).sort()).toEqual(['statements/database', 'tables/database']);
  });
});
