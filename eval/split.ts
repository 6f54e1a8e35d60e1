/**
 * The split of the evaluation set (eval/RUBRIC.md, "The split"): which part a case belongs to, and
 * whether the frozen held-out files are still the ones the figures were first reported on.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export const FIXTURES = new URL('../test/fixtures/eval/', import.meta.url);
export const PARTS = ['tuning', 'held-out'] as const;
export type Part = (typeof PARTS)[number];
export const HELD_OUT_FILES = ['requests-held-out.yaml', 'sessions-held-out.yaml', 'sessions-held-out-2.yaml', 'sessions-held-out-3.yaml', 'sessions-held-out-4.yaml', 'sessions-held-out-5.yaml', 'sessions-held-out-6.yaml', 'sessions-held-out-7.yaml', 'sessions-held-out-8.yaml', 'sessions-held-out-9.yaml', 'sessions-held-out-10.yaml', 'sessions-held-out-11.yaml', 'sessions-held-out-12.yaml', 'sessions-held-out-13.yaml', 'sessions-held-out-14.yaml'] as const;
/** The files of each part, by kind: the second to fourteenth session sets (eval/RUBRIC.md) have held-out files of their own. */
export const PART_FILES = {
  requests: { tuning: ['requests-tuning.yaml'], 'held-out': ['requests-held-out.yaml'] },
  sessions: { tuning: ['sessions-tuning.yaml'], 'held-out': ['sessions-held-out.yaml', 'sessions-held-out-2.yaml', 'sessions-held-out-3.yaml', 'sessions-held-out-4.yaml', 'sessions-held-out-5.yaml', 'sessions-held-out-6.yaml', 'sessions-held-out-7.yaml', 'sessions-held-out-8.yaml', 'sessions-held-out-9.yaml', 'sessions-held-out-10.yaml', 'sessions-held-out-11.yaml', 'sessions-held-out-12.yaml', 'sessions-held-out-13.yaml', 'sessions-held-out-14.yaml'] },
} as const satisfies Record<'requests' | 'sessions', Record<Part, readonly string[]>>;
/**
 * The held-out session file that gives THE held-out session figure: the fourteenth set (2026-12-08), 276
 * sessions (157 ordinary, 119 planted violations) written by a reviewer who read only the rubric's
 * labelling sections and the file format (no session rules, no other session data, no results), frozen
 * before any run and before round thirteen of the rules was merged.
 * The older held-out session files are "seen": the first two had their misses looked at before a rule
 * change, the third's figure was reported while the rules were being tuned again, and the fourth's to
 * thirteenth's misses were published by kind (the fifth's to thirteenth's looked at) before the rules were tuned
 * again; none of them is the generalisation figure any more.
 */
export const FRESH_SESSION_FILE = 'sessions-held-out-14.yaml';
export const SEEN_SESSION_FILES = ['sessions-held-out.yaml', 'sessions-held-out-2.yaml', 'sessions-held-out-3.yaml', 'sessions-held-out-4.yaml', 'sessions-held-out-5.yaml', 'sessions-held-out-6.yaml', 'sessions-held-out-7.yaml', 'sessions-held-out-8.yaml', 'sessions-held-out-9.yaml', 'sessions-held-out-10.yaml', 'sessions-held-out-11.yaml', 'sessions-held-out-12.yaml', 'sessions-held-out-13.yaml'] as const;
/** The fourth to thirteenth files, also written without reading the rules: seen now, but each printed on its own line too. */
export const INDEPENDENT_SEEN_FILES = ['sessions-held-out-4.yaml', 'sessions-held-out-5.yaml', 'sessions-held-out-6.yaml', 'sessions-held-out-7.yaml', 'sessions-held-out-8.yaml', 'sessions-held-out-9.yaml', 'sessions-held-out-10.yaml', 'sessions-held-out-11.yaml', 'sessions-held-out-12.yaml', 'sessions-held-out-13.yaml'] as const;
/** How a case came to be written (its `written` field): decides the rule that places it. */
export type Written = 'before-rubric' | 'after-freeze' | 'second-set' | 'third-set' | 'fourth-set' | 'fifth-set' | 'sixth-set' | 'seventh-set' | 'eighth-set' | 'ninth-set' | 'tenth-set' | 'eleventh-set' | 'twelfth-set' | 'thirteenth-set' | 'fourteenth-set' | undefined;
const CHECKSUMS = new URL('./holdout.sha256', import.meta.url);

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * The part a case belongs to. Cases written before the rubric (which the rules were first tuned on)
 * and cases added after the held-out part was frozen are tuning cases; the third to fourteenth session sets are
 * held out whole; a case of the second session set is held out when the first hex digit of the SHA-256 of its id is 0-b; any other when it is 0-7.
 */
export function partOf(id: string, written: Written): Part {
  if (written === 'before-rubric' || written === 'after-freeze') return 'tuning';
  if (written === 'third-set' || written === 'fourth-set' || written === 'fifth-set' || written === 'sixth-set' || written === 'seventh-set' || written === 'eighth-set' || written === 'ninth-set' || written === 'tenth-set' || written === 'eleventh-set' || written === 'twelfth-set' || written === 'thirteenth-set' || written === 'fourteenth-set') return 'held-out';
  const heldOutDigits = written === 'second-set' ? '0123456789ab' : '01234567';
  return heldOutDigits.includes(sha256(id)[0]!) ? 'held-out' : 'tuning';
}

/** Cases filed in the wrong part, as sentences; empty when the files follow the rule. */
export function misfiled(cases: Array<{ id: string; part: Part; written: Written }>): string[] {
  return cases.filter((c) => partOf(c.id, c.written) !== c.part).map((c) => `${c.id} is in the ${c.part} part, but the split puts it in the other`);
}

/** Whether each held-out file is the one eval/holdout.sha256 froze. */
export function frozenState(): Array<{ file: string; frozen: boolean }> {
  const expected = new Map(
    readFileSync(CHECKSUMS, 'utf8')
      .split('\n')
      .filter((line) => /^[0-9a-f]{64}\s/.test(line))
      .map((line) => {
        const [hash, file] = line.split(/\s+/);
        return [file!, hash!] as const;
      }),
  );
  return HELD_OUT_FILES.map((file) => ({ file, frozen: expected.get(file) === sha256(readFileSync(new URL(file, FIXTURES))) }));
}
