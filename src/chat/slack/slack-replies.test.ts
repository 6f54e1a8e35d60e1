import { describe, expect, it } from 'vitest';
import { code, person, rich, strong } from '../../lib/rich-text.js';
import { SLACK_SURFACE, renderReply, slackText } from './slack-replies.js';

describe('Slack rendering of replies', () => {
  it('escapes text so a value cannot ping, link or format; people are mentions', () => {
    const reason = '<!channel> <https://evil.example|click> & more';
    expect(slackText(rich`${person('U0BOB')} asked: ${reason}`)).toBe('<@U0BOB> asked: &lt;!channel&gt; &lt;https://evil.example|click&gt; &amp; more');
    expect(slackText(rich`${strong('<@U1>')}`)).toBe('*&lt;@U1&gt;*');
  });

  it('keeps a usage text readable in code (as entities Slack shows as characters), and neutralises what would start a mention or a link there', () => {
    // Slack shows `&lt;` as `<`, in code too.
    expect(slackText(rich`Usage: ${code('/dbaccess approve <request id>')}`)).toBe('Usage: `/dbaccess approve &lt;request id&gt;`');
    expect(slackText(rich`${code('<!here> <@U1> <https://x|y> `tick`')}`)).toBe('`&lt;!here&gt; &lt;@U1&gt; &lt;https://x|y&gt; ˋtickˋ`');
  });

  it('joins what a reply says, one part a line, and says nothing for an empty reply', () => {
    expect(renderReply({ say: [rich`one`, rich`two`] })).toBe('one\ntwo');
    expect(renderReply({ say: [] })).toBeUndefined();
  });

  it('reads a person from a mention as Slack sends it', () => {
    expect(SLACK_SURFACE.person('<@U0BOB|bob>')).toBe('U0BOB');
    expect(SLACK_SURFACE.person('@bob')).toBeUndefined();
  });
});
