/**
 * Names an attacker (or an unlucky schema) could put in a scope: quotes of every kind, statement
 * separators, comment markers, escapes, dollar quoting, LIKE wildcards, control and invisible
 * characters, Unicode look-alikes of quotes and separators, and names that are too long.
 */
const BASES = [
  `'`, `"`, '`', `''`, `""`, '``', `\\`, `\\'`, `\\"`, `;`, `--`, `#`, `/*`, `*/`, `/* x */`, `$$`, `$tag$`, `%`, `_`, `*`,
  `'; DROP TABLE victims; --`, `"; DROP TABLE victims; --`, '`; DROP TABLE victims; --', `x" OR "1"="1`, `x' OR '1'='1`,
  `a"."b`, `a.b`, `a b`, `a\tb`, `a\nb`, `\r`, `)`, `(`, `,`, `TO PUBLIC`, `public`, `pg_catalog`, `ALL`, `GRANT`, `SELECT`,
  `ʺ`, `＂`, `＇`, `；`, `ˋ`, `‘’`, `“”`, `‐‐`, `\u200b`, `\u202e`, `e\u0301`, `ǅ`, `İ`, `ß`, `😀`, `𝓍`, `Ω`, `Å`, `\u00a0`, `\ufeff`,
  `%s%n`, `{{name}}`, `\${x}`, `\\x27`, `&#39;`, `%27`, `\\u0027`, `NULL`, `true`, `0x27`,
];

export function hostileNames(): { accepted: string[]; tooLong: string[] } {
  const names = new Set<string>();
  for (const base of BASES) {
    names.add(base);
    names.add(`t${base}`);
    names.add(`${base}t`);
    names.add(`T ${base} x`);
  }
  const accepted = [...names].filter((name) => Buffer.byteLength(name, 'utf8') <= 63);
  const tooLong = ['a'.repeat(64), `${'é'.repeat(32)}`, `"${'x'.repeat(70)}"`, `${'😀'.repeat(16)}`, `${"'".repeat(64)}`];
  return { accepted, tooLong };
}
