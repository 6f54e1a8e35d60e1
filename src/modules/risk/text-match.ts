/**
 * Reading what people write: a reason folded to lower-case words without accents ("Löschen" is
 * `loschen`, "données" is `donnees`), one space between words, punctuation gone, and common typos of
 * the words the rules look for mended ("exprot" is read as `export`, "pasword" as `password`). Patterns
 * run on that folded text; what they match is quoted back from the text as it was written, so the
 * approver sees the requester's own words.
 */

interface Word {
  /** Folded (and perhaps mended) form. */
  text: string;
  /** Span in the original text. */
  start: number;
  end: number;
}

export interface Folded {
  original: string;
  words: Word[];
  /** The folded words joined by single spaces: what patterns are written against. */
  flat: string;
  /** Where each word starts in `flat`. */
  offsets: number[];
}

const fold = (text: string) => text.replace(/ß/g, 'ss').normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();

/**
 * Folds `text` into words; a word that is one slip (a letter left out, one too many, two swapped)
 * from the start of one of `stems` is mended to it. Stems shorter than five letters are never
 * guessed at: too many real words are one slip from them.
 */
export function foldText(text: string, stems: readonly string[] = []): Folded {
  const words: Word[] = [];
  for (const match of text.matchAll(/[\p{L}\p{N}]+/gu)) {
    words.push({ text: mend(fold(match[0]), stems), start: match.index, end: match.index + match[0].length });
  }
  const offsets: number[] = [];
  let at = 0;
  for (const word of words) {
    offsets.push(at);
    at += word.text.length + 1;
  }
  return { original: text, words, flat: words.map((word) => word.text).join(' '), offsets };
}

/** The first match of `pattern` (written against folded words), quoted from the original text. */
export function quote(folded: Folded, pattern: RegExp): string | undefined {
  const match = new RegExp(pattern.source, pattern.flags.replace('g', '')).exec(folded.flat);
  if (!match) return undefined;
  const from = match.index;
  const to = from + match[0].trimEnd().length;
  const first = folded.offsets.findIndex((offset, i) => offset + folded.words[i]!.text.length > from);
  let last = first;
  while (last + 1 < folded.words.length && folded.offsets[last + 1]! < to) last += 1;
  if (first < 0) return undefined;
  const text = folded.original.slice(folded.words[first]!.start, folded.words[last]!.end).replace(/\s+/g, ' ');
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function mend(word: string, stems: readonly string[]): string {
  if (word.length < 4 || stems.some((stem) => word.startsWith(stem))) return word;
  for (const stem of stems) {
    if (stem.length < 5) continue;
    for (const length of [stem.length - 1, stem.length, stem.length + 1]) {
      if (length > word.length) continue;
      const start = word.slice(0, length);
      // Within a longer word, a stem cut short is a different word ("passwort-er" is not "password"):
      // only a slip inside the stem is mended.
      if (length < word.length && start === stem.slice(0, -1)) continue;
      if (oneSlip(start, stem)) return stem + word.slice(length);
    }
  }
  return word;
}

/** One letter left out, one too many, or two neighbours swapped (not a different letter: "expert" is not "export"). */
function oneSlip(a: string, b: string): boolean {
  if (a === b) return false;
  if (a.length === b.length) {
    const i = [...a].findIndex((char, index) => char !== b[index]);
    return i >= 0 && i + 1 < a.length && a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
  }
  const [short, long] = a.length < b.length ? [a, b] : [b, a];
  if (long.length - short.length !== 1) return false;
  for (let i = 0; i < long.length; i++) if (long.slice(0, i) + long.slice(i + 1) === short) return true;
  return false;
}
