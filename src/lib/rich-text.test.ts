import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { andList, code, group, orList, person, plainText, renderRich, rich, strong } from './rich-text.js';

describe('rich text', () => {
  it('keeps people and code as parts, never as markup', () => {
    const value = rich`${person('U1')} may read ${code('sales.orders')} for ${2} h`;
    expect(value.parts).toEqual([
      { kind: 'person', id: 'U1' },
      { kind: 'text', text: ' may read ' },
      { kind: 'code', text: 'sales.orders' },
      { kind: 'text', text: ' for 2 h' },
    ]);
    expect(plainText(value, (id) => (id === 'U1' ? 'Ann' : undefined))).toBe('Ann may read sales.orders for 2 h');
  });

  it('lists with "and" and round-trips through JSON', () => {
    const list = andList([person('U1'), person('U2'), strong('ops')]);
    expect(plainText(list)).toBe('@U1, @U2 and ops');
    expect(JSON.parse(JSON.stringify(list))).toEqual(list);
  });

  it('lists with "or"; a group of people is a part of its own, plain as its id', () => {
    const list = orList(['ops', person('U1'), group('S0DBAS')]);
    expect(list.parts).toEqual([
      { kind: 'text', text: 'ops, ' },
      { kind: 'person', id: 'U1' },
      { kind: 'text', text: ' or ' },
      { kind: 'group', id: 'S0DBAS' },
    ]);
    expect(plainText(list)).toBe('ops, @U1 or @S0DBAS');
    expect(plainText(orList(['one']))).toBe('one');
  });

  it('an interpolated string is text, whatever it contains', () => {
    fc.assert(
      fc.property(fc.string(), (reason) => {
        const value = rich`Reason: ${reason}`;
        expect(value.parts.every((part) => part.kind === 'text')).toBe(true);
        const rendered = renderRich(value, {
          text: (p) => p.text.replace(/[<>&]/g, '_'),
          strong: (p) => `*${p.text}*`,
          code: (p) => `\`${p.text}\``,
          person: (p) => `<@${p.id}>`,
          group: (p) => `<!subteam^${p.id}>`,
          link: (p) => `<${p.url}|${p.text}>`,
        });
        expect(rendered).not.toMatch(/<@/);
      }),
    );
  });
});
