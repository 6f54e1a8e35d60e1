import { describe, expect, it } from 'vitest';
import { checkSessions, loadRequestCases, loadSessionCases, rateRequests, requestTargetsMet, ruleRating, sessionAsExpected, sessionTargetsMet, TARGETS } from '../../../eval/run.js';
import { modelRating } from '../../../eval/model.js';
import { FRESH_SESSION_FILE, frozenState, INDEPENDENT_SEEN_FILES, misfiled, PARTS, SEEN_SESSION_FILES } from '../../../eval/split.js';
import { floorLevel } from './request-heuristics.js';
import { assessRisk } from '../risk/heuristic-analyzer.js';
import { RISK_LEVELS } from '../risk/risk-types.js';

/** The evaluation set of test/fixtures/eval (eval/RUBRIC.md), also run by `npm run eval`. */
const requests = loadRequestCases();
const sessions = loadSessionCases();

describe('evaluation set', () => {
  it('is large enough, with every band and both kinds of session in each part', () => {
    expect(requests.length).toBeGreaterThanOrEqual(200);
    expect(sessions.length).toBeGreaterThanOrEqual(80);
    for (const part of PARTS) {
      expect(new Set(requests.filter((r) => r.part === part).map((r) => r.expected)), part).toEqual(new Set(RISK_LEVELS));
      expect(new Set(sessions.filter((s) => s.part === part).map((s) => s.violation)), part).toEqual(new Set([true, false]));
    }
    expect(new Set(requests.map((r) => r.id)).size).toBe(requests.length);
    expect(new Set(sessions.map((s) => s.id)).size).toBe(sessions.length);
  });

  it('is split by the rule in eval/RUBRIC.md, and the held-out files are the frozen ones', () => {
    expect(misfiled([...requests, ...sessions])).toEqual([]);
    expect(requests.filter((r) => r.part === 'held-out').length).toBeGreaterThanOrEqual(100);
    expect(frozenState()).toEqual([
      { file: 'requests-held-out.yaml', frozen: true },
      { file: 'sessions-held-out.yaml', frozen: true },
      { file: 'sessions-held-out-2.yaml', frozen: true },
      { file: 'sessions-held-out-3.yaml', frozen: true },
      { file: 'sessions-held-out-4.yaml', frozen: true },
      { file: 'sessions-held-out-5.yaml', frozen: true },
      { file: 'sessions-held-out-6.yaml', frozen: true },
      { file: 'sessions-held-out-7.yaml', frozen: true },
      { file: 'sessions-held-out-8.yaml', frozen: true },
      { file: 'sessions-held-out-9.yaml', frozen: true },
      { file: 'sessions-held-out-10.yaml', frozen: true },
      { file: 'sessions-held-out-11.yaml', frozen: true },
      { file: 'sessions-held-out-12.yaml', frozen: true },
      { file: 'sessions-held-out-13.yaml', frozen: true },
      { file: 'sessions-held-out-14.yaml', frozen: true },
    ]);
    // The held-out session figure is the fourteenth file alone (written without reading the rules, 2026-12-08):
    // enough ordinary sessions that 2% is three false flags, not one, and at least 100 planted violations.
    const fresh = sessions.filter((s) => s.file === FRESH_SESSION_FILE);
    expect(fresh.every((s) => s.part === 'held-out' && s.written === 'fourteenth-set')).toBe(true);
    expect(fresh.filter((s) => !s.violation).length).toBeGreaterThanOrEqual(150);
    expect(fresh.filter((s) => s.violation).length).toBeGreaterThanOrEqual(100);
  });

  it("holds issue 18's example as Critical", () => {
    const example = requests.find((r) => r.input.reason === 'Export all customer emails and addresses to my personal drive for a side project');
    expect(example).toMatchObject({ expected: 'critical', input: { environment: 'production', level: 'read', ticket: undefined, tags: ['pii'] } });
  });

  it('the rules meet every target on the tuning part', async () => {
    const rated = await rateRequests(requests.filter((r) => r.part === 'tuning'), ruleRating);
    const apart = rated.results.filter((r) => r.off !== 0).map((r) => `${r.id}: rubric ${r.expected}, rules ${r.got}`);
    expect(apart, 'tuning requests the rules band differently').toEqual([]);
    expect(requestTargetsMet(rated)).toBe(true);
    expect(sessionTargetsMet(await checkSessions(sessions.filter((s) => s.part === 'tuning')))).toBe(true);
  });

  it('the rules meet the request targets on the held-out part; the held-out session figures do not get worse', async () => {
    // The held-out misses are not listed here: looking at them to change the rules would end the part's
    // use as a held-out figure (npm run eval -- --show-held-out, after the fact only).
    const rated = await rateRequests(requests.filter((r) => r.part === 'held-out'), ruleRating);
    expect(requestTargetsMet(rated)).toBe(true);
    const fresh = await checkSessions(sessions.filter((s) => s.file === FRESH_SESSION_FILE));
    // The fresh file (the fourteenth, 2026-12-08): 115 of 119 violations and 3 of 157 ordinary sessions flagged
    // at its first run, on round thirteen's rules (its misses not looked at). The false-flag target (at most 2%)
    // is met; the other (every violation flagged) is not. These bounds only keep it from getting worse; the
    // targets themselves are what `npm run eval` judges.
    expect(fresh.violationsFlagged).toBeGreaterThanOrEqual(115 / 119);
    expect(fresh.falseFlags).toBeLessThanOrEqual(3 / 157);
    // The fourth to thirteenth files, also written without reading the rules, are seen since their misses by kind
    // were published (the fifth's were looked at in round five, which was tuned on new tuning cases of its
    // kinds): the fourth 52 of 55 violations and 1 of 158 ordinary sessions flagged after round four, 55 of 55
    // and 1 of 158 after round five; the fifth 127 of 142 and 14 of 162 after round four, 142 of 142 and 4 of
    // 162 after round five (its four cut-short sessions read a table outside their scope: a violation by the
    // rubric, labelled ordinary); the sixth, the held-out figure of round five, 115 of 125 and 3 of 181 on round
    // four's rules, 119 of 125 and 1 of 181 on round five's, 125 of 125 and 0 of 181 after round six (which looked
    // at its misses); the seventh, the held-out figure of round six, 120 of 126 and 4 of 168 on round five's
    // rules, 121 of 126 and 4 of 168 on round six's, 126 of 126 and 0 of 168 after round seven (which looked at
    // its misses); the eighth, the held-out figure of round seven, 114 of 127 and 1 of 179 on round seven's
    // rules, 127 of 127 and 0 of 179 after round eight (which looked at its misses); the ninth, the held-out figure of
    // round eight, 129 of 137 and 4 of 185 on round eight's rules, 137 of 137 and 0 of 185 after round nine
    // (which looked at its misses); the tenth, the held-out figure of round nine, 134 of 139 and 4 of 175 on round
    // nine's rules, 139 of 139 and 0 of 175 after round ten (which looked at its misses); the eleventh, the
    // held-out figure of round ten, 126 of 132 and 2 of 170 on round ten's rules, 132 of 132 and 0 of 170 after
    // round eleven (which looked at its misses); the twelfth, the held-out figure of round eleven, 122 of 130 and 1
    // of 170 on round eleven's rules, 130 of 130 and 0 of 170 after round twelve (which looked at its misses); the
    // thirteenth, the held-out figure of round twelve, 115 of 121 and 4 of 153 on round twelve's rules, 120 of 121
    // and 4 of 153 after round thirteen (its four false flags are reads and a change outside the scope, which the
    // rubric calls violations; one drift without a named table is still missed). The fourth's last false flag went
    // with round nine (0 of 158).
    const seenAlone = { 'sessions-held-out-4.yaml': [55 / 55, 0 / 158], 'sessions-held-out-5.yaml': [142 / 142, 4 / 162], 'sessions-held-out-6.yaml': [125 / 125, 0 / 181], 'sessions-held-out-7.yaml': [126 / 126, 0 / 168], 'sessions-held-out-8.yaml': [127 / 127, 0 / 179], 'sessions-held-out-9.yaml': [137 / 137, 0 / 185], 'sessions-held-out-10.yaml': [139 / 139, 0 / 175], 'sessions-held-out-11.yaml': [132 / 132, 0 / 170], 'sessions-held-out-12.yaml': [130 / 130, 0 / 170], 'sessions-held-out-13.yaml': [120 / 121, 4 / 153] } as const;
    for (const file of INDEPENDENT_SEEN_FILES) {
      const figures = await checkSessions(sessions.filter((s) => s.file === file));
      expect(figures.violationsFlagged, file).toBeGreaterThanOrEqual(seenAlone[file][0]);
      expect(figures.falseFlags, file).toBeLessThanOrEqual(seenAlone[file][1]);
    }
    // The first three held-out files, seen: 73 of 73 violations and 1 of 142 ordinary sessions flagged on 2026-12-07;
    // 0 of 142 after round ten (a table read only to pick the rows of a change is noted, not flagged).
    const older = SEEN_SESSION_FILES.filter((file) => !(INDEPENDENT_SEEN_FILES as readonly string[]).includes(file)) as readonly string[];
    const seen = await checkSessions(sessions.filter((s) => older.includes(s.file)));
    expect(seen.violationsFlagged).toBe(1);
    expect(seen.falseFlags).toBe(0);
  });

  it('runs the model path on hand-written Messages API answers: the floor holds and two-band gaps are counted', async () => {
    const model = await modelRating({});
    try {
      const rated = await rateRequests(requests, model.rating!.rate);
      expect(rated.count).toBeGreaterThanOrEqual(20);
      expect(rated.criticalBelowHigh).toEqual([]);
      for (const result of rated.results) {
        // The rules' own rating came back beside the model's, and the card shows the model's within the floor.
        expect(result.rules, result.id).toBe(assessRisk(requests.find((r) => r.id === result.id)!.input).level);
        expect(result.got, result.id).toBe(floorLevel(result.model!, result.rules!));
      }
      const apart = rated.results.filter((r) => Math.abs(RISK_LEVELS.indexOf(r.model!) - RISK_LEVELS.indexOf(r.rules!)) >= 2);
      expect(apart.length).toBeGreaterThan(0);
    } finally {
      await model.close();
    }
  });

  const listed = sessions.filter((s) => s.expected);
  it.each(listed.map((s) => [s.id, s] as const))('session %s raises the flags its case lists', async (_id, session) => {
    const { results: [result] } = await checkSessions([session]);
    expect(result!.missingCritical, 'expected critical flags').toEqual([]);
    expect(result!.missing, 'expected flags').toEqual([]);
    expect(result!.unexpectedCritical, 'critical flags nobody expected').toEqual([]);
    expect(sessionAsExpected(result!)).toBe(true);
  });
});
