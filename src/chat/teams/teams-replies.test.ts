import { describe, expect, it } from 'vitest';
import { code, person, rich, strong } from '../../lib/rich-text.js';
import { TEAMS_SURFACE, replyCard, replyPlain, teamsMarkdown } from './teams-replies.js';

describe('Teams rendering of replies', () => {
  it('escapes text by teams-cards\' rules, keeps the spaces around people, and breaks lines as paragraphs', () => {
    expect(teamsMarkdown(rich`MFA of ${person('bob@acme.example')} is reset.`)).toBe('MFA of bob@acme.example is reset.');
    expect(teamsMarkdown(rich`${strong('dbaccess status')}\n• **not bold** <at>x</at>`)).toBe('**dbaccess status**\n\n- \\*\\*not bold\\*\\* ＜at＞x＜/at＞');
    expect(teamsMarkdown(rich`${code('dbaccess deny <request id>')}`)).toBe('dbaccess deny ＜request id＞'); // a TextBlock has no inline code: the words, escaped
  });

  it('answers a click in plain words when the reply shows no card', () => {
    const reply = { ok: false, say: [rich`Only ${person('alice@acme.example')} can approve.`] };
    expect(replyCard(reply)).toBeUndefined();
    expect(replyPlain(reply)).toBe('Only alice@acme.example can approve.');
  });

  it('reads a person from an email', () => {
    expect(TEAMS_SURFACE.person('Bob@Acme.example')).toBe('bob@acme.example');
    expect(TEAMS_SURFACE.person('bob')).toBeUndefined();
  });
});
