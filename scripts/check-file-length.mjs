#!/usr/bin/env node
/**
 * No source file in src/ is over 400 lines (tests excluded): a file that long mixes concerns a
 * newcomer would look for separately. Run by `npm run lint` (and so by CI); names every file over.
 * Usage: node scripts/check-file-length.mjs [root=src]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const MAX_LINES = 400;
const SOURCE = /\.(ts|tsx|js|mjs|cjs)$/;
const TEST = /\.test\.(ts|tsx|js|mjs)$/;

const root = process.argv[2] ?? 'src';

function* sourceFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (SOURCE.test(entry.name) && !TEST.test(entry.name)) yield path;
  }
}

/** Lines as `wc -l` counts them, plus a last line without its newline. */
function lineCount(text) {
  if (text.length === 0) return 0;
  const newlines = text.split('\n').length - 1;
  return text.endsWith('\n') ? newlines : newlines + 1;
}

const over = [];
for (const file of sourceFiles(root)) {
  const lines = lineCount(readFileSync(file, 'utf8'));
  if (lines > MAX_LINES) over.push({ file: relative(process.cwd(), file), lines });
}

if (over.length > 0) {
  over.sort((a, b) => b.lines - a.lines);
  console.error(`Source files over ${MAX_LINES} lines (split them by concern; tests are exempt):`);
  for (const { file, lines } of over) console.error(`  ${file}: ${lines} lines`);
  process.exit(1);
}
