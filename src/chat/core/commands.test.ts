import { describe, expect, it } from 'vitest';
import { plainText } from '../../lib/rich-text.js';
import { helpText, parseCommand, usageText, type Surface } from './commands.js';
import { fromLegacyMarkup } from './legacy-markup.js';

const slack: Surface = { prefix: '/dbaccess', personHint: '@person', person: (word) => /^<@([A-Z0-9]+)(\|[^>]*)?>$/.exec(word)?.[1] };
const teams: Surface = { prefix: 'dbaccess', personHint: '<email>', person: (word) => (word.includes('@') ? word.toLowerCase() : undefined) };

describe('parseCommand: the same words on every platform', () => {
  it.each([
    ['', { kind: 'requestForm' }],
    ['request', { kind: 'requestForm' }],
    ['HELP', { kind: 'help' }],
    ['list', { kind: 'list' }],
    ['status', { kind: 'status' }],
    ['insights', { kind: 'insights' }],
    ['mfa', { kind: 'mfaEnrol' }],
    ['audit verify', { kind: 'auditVerify' }],
    ['audit', { kind: 'usage', of: 'auditVerify' }],
    ['report 2026-11 db:orders', { kind: 'report', query: '2026-11 db:orders' }],
    ['approve r7f3k2qx9a', { kind: 'decide', decision: 'approve', requestId: 'R7F3K2QX9A', reason: undefined, via: 'text' }],
    ['deny R7F3K2QX9A  not during   the freeze', { kind: 'decide', decision: 'deny', requestId: 'R7F3K2QX9A', reason: 'not during the freeze', via: 'text' }],
    ['approve nothing', { kind: 'usage', of: 'approve' }],
    ['deny', { kind: 'usage', of: 'deny' }],
    ['cancel R7F3K2QX9A', { kind: 'cancel', requestId: 'R7F3K2QX9A' }],
    ['revoke R7F3K2QX9A', { kind: 'revoke', requestId: 'R7F3K2QX9A', via: 'text' }],
    ['revoke', { kind: 'usage', of: 'revoke' }],
    ['policy Orders', { kind: 'policy', databaseId: 'orders', about: undefined }],
    ['login abcd-efgh', { kind: 'cliLogin', code: 'abcd-efgh' }],
    ['login ABCD EFGH', { kind: 'cliLogin', code: 'ABCD EFGH' }],
    ['login', { kind: 'usage', of: 'login' }],
    ['frobnicate now', { kind: 'unknown', word: 'frobnicate' }],
  ])('reads %j', (input, expected) => {
    expect(parseCommand(input, slack)).toEqual(expected);
    expect(parseCommand(input, teams)).toEqual(expected);
  });

  it('reads people the way each platform writes them', () => {
    expect(parseCommand('mfa reset <@U0BOB|bob>', slack)).toEqual({ kind: 'mfaReset', target: 'U0BOB' });
    expect(parseCommand('mfa reset Bob@Acme.example', teams)).toEqual({ kind: 'mfaReset', target: 'bob@acme.example' });
    expect(parseCommand('mfa reset bob', slack)).toEqual({ kind: 'usage', of: 'mfaReset' });
    expect(parseCommand('mfa reset', teams)).toEqual({ kind: 'usage', of: 'mfaReset' });
    expect(parseCommand('policy orders <@U0BOB>', slack)).toEqual({ kind: 'policy', databaseId: 'orders', about: 'U0BOB' });
  });

  it('bounds what it keeps from a long text', () => {
    const parsed = parseCommand(`deny R7F3K2QX9A ${'x'.repeat(2000)}`, slack);
    expect(parsed.kind === 'decide' && parsed.reason?.length).toBe(500);
    expect(parseCommand('y'.repeat(200), slack)).toEqual({ kind: 'unknown', word: 'y'.repeat(30) });
  });
});

describe('usage and help: written once, with the platform\'s prefix', () => {
  it('names the command as the person types it', () => {
    expect(plainText(usageText('approve', slack))).toBe('Usage: /dbaccess approve <request id>, e.g. /dbaccess approve R7F3K2QX9A.');
    expect(plainText(usageText('deny', teams))).toMatch(/^Usage: dbaccess deny <request id> \[reason\]/);
    expect(plainText(usageText('mfaReset', teams))).toBe('Usage: dbaccess mfa reset <email> (admins).');
  });

  it('lists every command on every platform, commands as code', () => {
    for (const surface of [slack, teams]) {
      const help = helpText(surface, 'Chat');
      const commands = help.parts.filter((part) => part.kind === 'code').map((part) => part.kind === 'code' && part.text);
      for (const word of ['list', 'revoke', 'cancel', 'approve', 'deny', 'mfa', 'mfa reset', 'status', 'policy', 'insights', 'report', 'audit verify', 'login <code>', 'help']) {
        expect(commands.some((command) => typeof command === 'string' && command.startsWith(`${surface.prefix} ${word}`))).toBe(true);
      }
    }
  });
});

describe('fromLegacyMarkup: module texts that still carry Slack markup', () => {
  it('reads mentions, links, code and emphasis into parts, and leaves the rest as text', () => {
    expect(fromLegacyMarkup('*Access report 2026-11* (<@U0BOB|bob>) see <https://x.example/r|HTML> or `dba_1`; 2 * 3').parts).toEqual([
      { kind: 'strong', text: 'Access report 2026-11' },
      { kind: 'text', text: ' (' },
      { kind: 'person', id: 'U0BOB' },
      { kind: 'text', text: ') see ' },
      { kind: 'link', url: 'https://x.example/r', text: 'HTML' },
      { kind: 'text', text: ' or ' },
      { kind: 'code', text: 'dba_1' },
      { kind: 'text', text: '; 2 * 3' },
    ]);
  });
});
