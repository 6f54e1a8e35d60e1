import type { LevelDefinition } from '../../config/catalog.js';
import type { Target } from './credential-types.js';

/**
 * What the admin account of a target may do, against what the provider will ask of it (`dbaccess
 * doctor`). Read-only: the checks query the server's privilege functions and views and change nothing.
 */
export interface AdminFinding {
  severity: 'ok' | 'warning' | 'problem';
  message: string;
  /** What to run or change, for warnings and problems. Never a secret. */
  fix?: string;
}

export interface AdminCheckOptions {
  /** The admin only ends sessions (Vault creates and drops the users). */
  sessionsOnly: boolean;
  /** The levels the database offers, resolved against the catalog's custom levels. */
  levels: LevelDefinition[];
}

export type AdminCheck = (target: Target, options: AdminCheckOptions) => Promise<AdminFinding[]>;

/** Names of table privileges a set of levels hands out, as the grant mapping writes them. */
export function levelTablePrivileges(levels: LevelDefinition[], all: readonly string[]): string[] {
  const wanted = new Set<string>();
  for (const level of levels) {
    if (level.name === 'read') wanted.add('SELECT');
    else if (level.name === 'write') ['SELECT', 'INSERT', 'UPDATE', 'DELETE'].forEach((p) => wanted.add(p));
    else if (level.name === 'admin') all.forEach((p) => wanted.add(p));
    else level.privileges.forEach((p) => wanted.add(p));
  }
  return all.filter((privilege) => wanted.has(privilege));
}

/** "a, b, c (+4 more)" */
export function someOf(names: string[], shown = 5): string {
  return names.length <= shown ? names.join(', ') : `${names.slice(0, shown).join(', ')} (+${names.length - shown} more)`;
}
