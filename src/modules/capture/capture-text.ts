/** Text handling shared by the capture readers: bounded statements and complete log lines. */

/**
 * The statement, or its beginning with a marker saying how long it was, in at most `max` characters.
 * The marker is SQL comment syntax so that the kept part still reads (and parses) as SQL.
 */
export function clipStatement(text: string, max: number): string {
  if (text.length <= max) return text;
  const marker = `\n/* dbaccess: statement cut here, ${text.length} characters in all */`;
  if (max <= marker.length) return text.slice(0, max);
  let keep = max - marker.length;
  // Never split a surrogate pair: the cut text must stay valid UTF-16.
  const last = text.charCodeAt(keep - 1);
  if (last >= 0xd800 && last <= 0xdbff) keep -= 1;
  return `${text.slice(0, keep)}${marker}`;
}

/**
 * The complete lines at the start of `chunk` (each without its newline), and how many bytes they
 * take with their newlines: a reader advances its offset by exactly that, so a line the server is
 * still writing is read again, whole, next time.
 */
export function completeLines(chunk: Buffer): { lines: string[]; bytes: number } {
  const end = chunk.lastIndexOf(0x0a);
  if (end < 0) return { lines: [], bytes: 0 };
  const text = chunk.subarray(0, end).toString('utf8');
  return { lines: text.length === 0 ? [''] : text.split('\n'), bytes: end + 1 };
}

/** How much a reader takes at once from a log file. */
export interface LineLimits {
  /** Bytes of log per read. */
  chunkBytes: number;
  /** A line longer than this is skipped (it cannot be a sane log line). */
  maxLineBytes: number;
}

/**
 * Reads the complete lines from `position`: a chunk, grown while one line does not fit (up to
 * maxLineBytes), or, past that, the bytes up to the end of the over-long line, skipped.
 */
export async function readLines(
  readAt: (position: number, length: number) => Promise<Buffer | null>,
  position: number,
  limits: LineLimits,
): Promise<{ lines: string[]; bytes: number; atEnd: boolean } | null> {
  let length = limits.chunkBytes;
  for (;;) {
    const data = await readAt(position, length);
    if (data === null) return null;
    // A short read reached the end of the file (for now, if the server still writes it).
    const atEnd = data.length < length;
    const { lines, bytes } = completeLines(data);
    if (bytes > 0 || atEnd) return { lines, bytes, atEnd };
    if (length < limits.maxLineBytes) {
      length = Math.min(limits.maxLineBytes, length * 4);
      continue;
    }
    // One line longer than anything sane: skip to its end.
    let skipped = data.length;
    for (;;) {
      const more = await readAt(position + skipped, limits.chunkBytes);
      if (more === null || more.length === 0) return { lines: [], bytes: 0, atEnd: true };
      const newline = more.indexOf(0x0a);
      if (newline >= 0) return { lines: [], bytes: skipped + newline + 1, atEnd: false };
      skipped += more.length;
    }
  }
}

/** A position plus what was already taken at exactly that position (ties of one timestamp). */
export interface TiePosition {
  position: number;
  taken: string[];
}

/** `<kind>` or `<kind>|a,b,c`: the source column of a cursor that reads by timestamp. */
export function encodeTies(kind: string, taken: string[]): string {
  return taken.length === 0 ? kind : `${kind}|${taken.join(',')}`;
}

export function decodeTies(source: string | undefined, kind: string): string[] | undefined {
  if (source === undefined) return undefined;
  if (source === kind) return [];
  if (!source.startsWith(`${kind}|`)) return undefined;
  return source.slice(kind.length + 1).split(',').filter(Boolean);
}
