import { badInput } from '../../lib/errors.js';

/**
 * What a request covers: a schema (`sales`; a database on MySQL), a table (`sales.orders`), or for
 * read access some columns of a table (`sales.orders(id, total)`). An empty scope is the whole database.
 *
 * Names are written bare (`sales`) or quoted (`"Order Items"`, `` `weird``name` ``; a quote inside is
 * doubled), so any real object name can be asked for. They reach SQL only through the driver's quoting.
 */
export interface ScopeItem {
  schema: string;
  table?: string;
  columns?: string[];
}

export const MAX_SCOPE_ITEMS = 50;
const MAX_COLUMNS = 100;
/** PostgreSQL truncates longer names silently (MySQL allows 64 characters): refuse rather than guess. */
const MAX_NAME_BYTES = 63;
const BARE = /^[A-Za-z_][A-Za-z0-9_$]*$/;

class Reader {
  position = 0;
  constructor(readonly text: string) {}
  peek = () => this.text[this.position];
  skipSpaces() {
    while (this.position < this.text.length && /\s/.test(this.text[this.position]!)) this.position++;
  }
  fail(message: string): never {
    throw badInput(`Scope: ${message} (at character ${this.position + 1}).`);
  }
}

function readName(reader: Reader): string {
  reader.skipSpaces();
  const quote = reader.peek();
  let name = '';
  if (quote === '"' || quote === '`') {
    reader.position++;
    for (;;) {
      const char = reader.peek();
      if (char === undefined) reader.fail(`a name opened with ${quote} is not closed`);
      reader.position++;
      if (char === quote) {
        if (reader.peek() !== quote) break;
        reader.position++;
      }
      name += char;
    }
    if (name.length === 0) reader.fail('a quoted name is empty');
  } else {
    const match = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(reader.text.slice(reader.position));
    if (!match) reader.fail('expected a name: letters, digits, _ and $ starting with a letter, or a "quoted name"');
    name = match[0];
    reader.position += name.length;
  }
  if (name.includes('\0')) reader.fail('a name cannot contain a NUL character');
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) reader.fail(`"${name.slice(0, 40)}…" is longer than ${MAX_NAME_BYTES} bytes`);
  return name;
}

/** `sales, public.orders, "Odd Name".t(id, total)` -> scope items, duplicates removed. */
export function parseScope(text: string): ScopeItem[] {
  const reader = new Reader(text);
  const items: ScopeItem[] = [];
  for (;;) {
    reader.skipSpaces();
    while (reader.peek() === ',') {
      reader.position++;
      reader.skipSpaces();
    }
    if (reader.peek() === undefined) break;
    const item: ScopeItem = { schema: readName(reader) };
    if (reader.peek() === '.') {
      reader.position++;
      item.table = readName(reader);
    }
    reader.skipSpaces();
    if (reader.peek() === '(') {
      if (!item.table) reader.fail('columns belong to a table: write schema.table(column, ...)');
      reader.position++;
      item.columns = [];
      for (;;) {
        item.columns.push(readName(reader));
        reader.skipSpaces();
        const next = reader.peek();
        reader.position++;
        if (next === ')') break;
        if (next !== ',') reader.fail('expected , or ) in the column list');
      }
      if (item.columns.length > MAX_COLUMNS) reader.fail(`at most ${MAX_COLUMNS} columns per table`);
      item.columns = [...new Set(item.columns)];
    }
    reader.skipSpaces();
    const next = reader.peek();
    if (next !== undefined && next !== ',' && !/\s/.test(text[reader.position - 1] ?? '')) reader.fail('expected , between items');
    items.push(item);
    if (items.length > MAX_SCOPE_ITEMS) throw badInput(`A scope lists at most ${MAX_SCOPE_ITEMS} schemas or tables.`);
  }
  const seen = new Set<string>();
  return items.filter((item) => {
    const key = formatScopeItem(item);
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

/** A name as it is written back in a scope: bare when that reads the same, quoted otherwise. */
export const formatName = (name: string) => (BARE.test(name) ? name : `"${name.replace(/"/g, '""')}"`);

/** The canonical text of an item; `parseScope(formatScopeItem(item))` gives the item back. */
export function formatScopeItem(item: ScopeItem): string {
  const table = item.table === undefined ? '' : `.${formatName(item.table)}`;
  const columns = item.columns ? `(${item.columns.map(formatName).join(', ')})` : '';
  return `${formatName(item.schema)}${table}${columns}`;
}

export const formatScope = (scope: ScopeItem[]) => scope.map(formatScopeItem);
export const parseStoredScope = (stored: string[]) => parseScope(stored.join(', '));
