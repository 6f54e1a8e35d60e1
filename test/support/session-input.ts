import type { SessionRuleInput } from '../../src/modules/analysis/session-types.js';
import { postgresDialect } from '../../src/modules/credentials/engines/postgres/dialect.js';

/** A captured statement: its text, or its text with the server's error and when it ran. */
export type Line = string | { sql: string; error?: string | undefined; at?: Date | undefined };
type Defaults = Partial<Omit<SessionRuleInput, 'statements' | 'activeFrom'>> & { activeFrom: Date };

/**
 * A session builder for the session-rule tests: PostgreSQL, a read grant, an hour's window from
 * `activeFrom`, the statements a minute apart unless a line says when; each test file gives its own
 * defaults (scope, reason, tags) and each case overrides what it is about.
 */
export function sessionBuilder(defaults: Defaults) {
  return (lines: Line[], overrides: Partial<Omit<SessionRuleInput, 'statements'>> = {}): SessionRuleInput => {
    const from = defaults.activeFrom;
    return {
      dialect: postgresDialect,
      level: 'read',
      levelName: 'read',
      scope: [],
      reason: '',
      tags: [],
      tableTags: {},
      truncated: false,
      activeUntil: new Date(from.getTime() + 3_600_000),
      ...defaults,
      ...overrides,
      statements: lines.map((line, index) => {
        const { sql, error, at } = typeof line === 'string' ? { sql: line, error: undefined, at: undefined } : line;
        return { statement: sql, error, at: at ?? new Date(from.getTime() + (index + 1) * 60_000) };
      }),
    };
  };
}
