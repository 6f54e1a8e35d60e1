import { formatName, formatScopeItem, type ScopeItem } from './scope.js';

/** What exists on a target, as far as a scope can name it. */
export interface TargetObjects {
  /** Schemas (databases on MySQL). */
  schemas: string[];
  tables: Array<{ schema: string; table: string }>;
  /** Columns of the tables the scope names with a column list, keyed `schema.table`. */
  columns: Record<string, string[]>;
}

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/** Up to three names close to `wanted`: same letters in another case, small typos, or a shared prefix. */
export function nearMatches(wanted: string, candidates: string[]): string[] {
  const lower = wanted.toLowerCase();
  return candidates
    .map((candidate) => {
      const c = candidate.toLowerCase();
      const score = c === lower ? 0 : distance(lower, c) <= Math.max(1, Math.floor(wanted.length / 4)) ? 1 : c.startsWith(lower) || lower.startsWith(c) ? 2 : undefined;
      return { candidate, score };
    })
    .filter((entry): entry is { candidate: string; score: number } => entry.score !== undefined)
    .sort((a, b) => a.score - b.score || a.candidate.localeCompare(b.candidate))
    .slice(0, 3)
    .map((entry) => entry.candidate);
}

const suggest = (options: string[]) => (options.length ? ` Did you mean ${options.map((o) => `\`${o}\``).join(', ')}?` : '');

/** Why a scope cannot be granted on this target (names that do not exist), with near matches. */
export function scopeProblems(scope: ScopeItem[], objects: TargetObjects, databaseId: string): string[] {
  const problems: string[] = [];
  const schemas = new Set(objects.schemas);
  const tables = new Set(objects.tables.map((t) => `${t.schema}\u0000${t.table}`));
  for (const item of scope) {
    if (!schemas.has(item.schema)) {
      problems.push(`\`${formatName(item.schema)}\` does not exist on ${databaseId}.${suggest(nearMatches(item.schema, objects.schemas).map(formatName))}`);
      continue;
    }
    if (item.table === undefined) continue;
    if (!tables.has(`${item.schema}\u0000${item.table}`)) {
      const inSchema = objects.tables.filter((t) => t.schema === item.schema).map((t) => t.table);
      const elsewhere = objects.tables.filter((t) => t.table === item.table).map((t) => formatScopeItem(t));
      const options = [...nearMatches(item.table, inSchema).map((table) => formatScopeItem({ schema: item.schema, table })), ...elsewhere].slice(0, 3);
      problems.push(`\`${formatScopeItem({ schema: item.schema, table: item.table })}\` does not exist on ${databaseId}.${suggest(options)}`);
      continue;
    }
    const known = objects.columns[`${item.schema}.${item.table}`] ?? [];
    for (const column of item.columns ?? []) {
      if (!known.includes(column)) {
        problems.push(`Column \`${formatName(column)}\` does not exist in \`${formatScopeItem({ schema: item.schema, table: item.table })}\`.${suggest(nearMatches(column, known).map(formatName))}`);
      }
    }
  }
  return problems;
}
