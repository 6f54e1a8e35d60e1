import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LevelDefinition } from '../../config/catalog-schema.js';
import { formatScopeItem, parseStoredScope, type ScopeItem } from '../credentials/scope.js';
import { checkChanges, describeChanges, levelWithin, lowerLevels, scopeWithin, type ChangeRules } from './request-changes.js';

const LEVELS: Record<string, LevelDefinition> = {
  read: { name: 'read', builtIn: true, privileges: [], riskAs: 'read' },
  write: { name: 'write', builtIn: true, privileges: [], riskAs: 'write' },
  admin: { name: 'admin', builtIn: true, privileges: [], riskAs: 'admin' },
  append: { name: 'append', builtIn: false, privileges: ['SELECT', 'INSERT'], riskAs: 'write' },
  wipe: { name: 'wipe', builtIn: false, privileges: ['SELECT', 'TRUNCATE'], riskAs: 'write' },
};
const rules = (over: Partial<ChangeRules> = {}): ChangeRules => ({
  levelOf: (name) => LEVELS[name], levels: Object.keys(LEVELS), minDuration: 300, noteRequired: false, policy: 'p', ...over,
});
const terms = (level: string, scope: string[], durationSeconds: number) => ({ level, scope, durationSeconds });

describe('levels', () => {
  it('orders by table privileges: admin holds all, write holds append, nothing holds wipe but admin', () => {
    expect(lowerLevels('write', rules())).toEqual(['write', 'read', 'append']);
    expect(lowerLevels('admin', rules())).toEqual(['admin', 'read', 'write', 'append', 'wipe']);
    expect(lowerLevels('read', rules())).toEqual(['read']);
    expect(levelWithin(LEVELS.wipe!, LEVELS.write!)).toBe(false);
    expect(levelWithin(LEVELS.admin!, LEVELS.write!)).toBe(false);
  });
});

describe('checkChanges', () => {
  const asked = terms('write', ['sales', 'public.notes'], 7200);

  it('narrows each term and says what changed', () => {
    const check = checkChanges(asked, { level: 'read', scope: ['sales.orders(id, total)'], durationSeconds: 1800 }, rules());
    expect(check).toEqual({ ok: true, terms: terms('read', ['sales.orders(id, total)'], 1800), changed: ['level', 'scope', 'duration'] });
    expect(describeChanges(asked, check.ok ? check.terms : asked).parts.map((p) => ('text' in p ? p.text : '')).join('')).toBe('level write → read; scope sales, public.notes → sales.orders(id, total); duration 2h → 30m');
  });

  it('refuses wider, longer, the whole database, columns beyond read, nothing changed and a missing note', () => {
    expect(checkChanges(asked, { level: 'admin' }, rules())).toMatchObject({ ok: false, field: 'level' });
    expect(checkChanges(asked, { durationSeconds: 7201 }, rules())).toMatchObject({ ok: false, field: 'duration' });
    expect(checkChanges(asked, { durationSeconds: 60 }, rules())).toMatchObject({ ok: false, field: 'duration', message: expect.stringMatching(/At least 5m/) });
    expect(checkChanges(asked, { scope: [] }, rules())).toMatchObject({ ok: false, field: 'scope', message: expect.stringMatching(/the whole database is outside/) });
    expect(checkChanges(asked, { scope: ['hr'] }, rules())).toMatchObject({ ok: false, field: 'scope' });
    expect(checkChanges(asked, { scope: ['sales.orders(id)'] }, rules())).toMatchObject({ ok: false, field: 'scope', message: expect.stringMatching(/Columns/) });
    expect(checkChanges(asked, {}, rules())).toMatchObject({ ok: false, message: expect.stringMatching(/Nothing is narrowed/) });
    expect(checkChanges(asked, { level: 'read' }, rules({ noteRequired: true }))).toMatchObject({ ok: false, field: 'note' });
    expect(checkChanges(asked, { level: 'read', note: 'why' }, rules({ noteRequired: true }))).toMatchObject({ ok: true });
  });
});

// ---- the invariant, over generated requests and changes ---------------------------------------

const NAMES = ['sales', 'hr', 'public', 'Odd Name', 'a,b'];
const TABLES = ['orders', 'customers', 'notes'];
const COLUMNS = ['id', 'total', 'email'];
const item: fc.Arbitrary<ScopeItem> = fc.oneof(
  fc.record({ schema: fc.constantFrom(...NAMES) }),
  fc.record({ schema: fc.constantFrom(...NAMES), table: fc.constantFrom(...TABLES) }),
  fc.record({ schema: fc.constantFrom(...NAMES), table: fc.constantFrom(...TABLES), columns: fc.uniqueArray(fc.constantFrom(...COLUMNS), { minLength: 1 }) }),
);
const scope = fc.uniqueArray(item, { maxLength: 4, selector: formatScopeItem }).map((items) => items.map(formatScopeItem));
const level = fc.constantFrom(...Object.keys(LEVELS));
const request = fc.record({ level, scope, durationSeconds: fc.integer({ min: 300, max: 86_400 }) });
const proposal = fc.record({ level: fc.option(level, { nil: undefined }), scope: fc.option(scope, { nil: undefined }), durationSeconds: fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: undefined }), note: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }) });

/** Whether every table privilege on every object of `approved` is also granted by `asked`, checked object by object. */
function grants(terms: { level: string; scope: string[] }, object: { schema: string; table: string; column: string }): Set<string> {
  const items = parseStoredScope(terms.scope);
  const covered = items.length === 0 || items.some((i) => i.schema === object.schema && (i.table === undefined || (i.table === object.table && (!i.columns || i.columns.includes(object.column)))));
  if (!covered) return new Set();
  const def = LEVELS[terms.level]!;
  if (def.name === 'admin') return new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']);
  return new Set(def.builtIn ? (def.name === 'read' ? ['SELECT'] : ['SELECT', 'INSERT', 'UPDATE', 'DELETE']) : def.privileges);
}

describe('approve with changes never grants more than asked', () => {
  it('any accepted change is within the request: per object and privilege, and in time', () => {
    fc.assert(
      fc.property(request, proposal, (asked, proposed) => {
        const check = checkChanges(asked, proposed, rules());
        if (!check.ok) return;
        const approved = check.terms;
        expect(approved.durationSeconds).toBeLessThanOrEqual(asked.durationSeconds);
        expect(scopeWithin(parseStoredScope(approved.scope), parseStoredScope(asked.scope))).toBe(true);
        for (const schema of NAMES) for (const table of TABLES) for (const column of COLUMNS) {
          const wide = grants(asked, { schema, table, column });
          for (const privilege of grants(approved, { schema, table, column })) expect(wide.has(privilege)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('narrowing twice (two approvers) stays within the first ask', () => {
    fc.assert(
      fc.property(request, proposal, proposal, (asked, first, second) => {
        const one = checkChanges(asked, first, rules());
        if (!one.ok) return;
        const two = checkChanges(one.terms, second, rules());
        if (!two.ok) return;
        expect(two.terms.durationSeconds).toBeLessThanOrEqual(asked.durationSeconds);
        expect(scopeWithin(parseStoredScope(two.terms.scope), parseStoredScope(asked.scope))).toBe(true);
        expect(levelWithin(LEVELS[two.terms.level]!, LEVELS[asked.level]!)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
