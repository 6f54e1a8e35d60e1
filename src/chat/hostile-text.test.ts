import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { code, codeSpans, person, rich, strong, visible } from '../lib/rich-text.js';
import type { LeaseView, RequestView } from '../modules/access-requests/access-request-types.js';
import { summarizeSession } from '../modules/access-requests/session-summary.js';
import { createConsoleNotifier } from './console/console-notifier.js';
import { createConsoleStore } from './console/console-store.js';
import { consoleText } from './console/console-text.js';
import { approvalCard as slackApprovalCard } from './slack/slack-approval-card.js';
import { escapeMrkdwn, mrkdwnOf } from './slack/slack-rich.js';
import { breakGlassText, summaryBlocks } from './slack/slack-thread.js';
import { approvalCard as teamsApprovalCard } from './teams/teams-approval-card.js';
import { richMarkdown } from './teams/teams-markdown.js';
import { sessionSummaryCard } from './teams/teams-thread.js';

/**
 * Whatever a requester writes (and a model echoes) is shown as the words it is, on every platform:
 * never a mention, a channel ping, a link, formatting, a fake line or reordered text.
 */

const BIDI = '\u202e\u2066';
const HOSTILE = `<@U123> <!channel> <https://evil.example|click> \`code\` *bold* _it_ ~strike~ <at>Boss</at> [x](https://evil.example) # Approved ${BIDI}gnp.exe &amp; done\n• Approved by: <@U0BOSS>`;

const NOW = Date.parse('2026-12-07T09:00:00Z');
const at = (minutes: number) => new Date(NOW + minutes * 60_000);
const lease = (overrides: Partial<LeaseView> = {}): LeaseView => ({
  id: 'L1', username: 'dba_req_r1', expiresAt: at(30), provisionedAt: at(-30), revokedAt: at(-1), endReason: 'revoked', endedByExternalId: 'U0BOB',
  revokeAttempts: 0, dmRef: null, ...overrides,
});
const view = (overrides: Partial<RequestView> = {}): RequestView => ({
  id: 'R0000000001', tenantId: 't1', kind: 'access', extendsRequestId: null, state: 'revoked', version: 1,
  requester: { id: 'u1', externalId: 'U0REQUESTER' }, databaseId: 'orders', databaseName: 'orders', environment: 'production', tags: [],
  level: 'read', scope: ['sales.orders'], durationSeconds: 3600, reason: HOSTILE, ticket: HOSTILE,
  risk: { level: 'low', reasons: [HOSTILE], analyzer: 'heuristic' },
  policy: { name: 'tests', quorum: 1, mfaRequired: false, breakGlass: true, rules: [] },
  grantsInWords: 'Read (SELECT) on sales.orders', grantStatements: [`GRANT SELECT ON "sales"."${HOSTILE}" TO "dba_req_r1"`], cardRef: null,
  createdAt: at(-40), pendingUntil: at(20), decidedAt: at(-35),
  decisions: [{ decision: 'approve', approverExternalId: 'U0ALICE', reason: null, at: at(-35) }],
  failure: null, reviewedByExternalId: null, lease: lease(), analysis: null, session: null, recording: 'Every statement is recorded (pgaudit).',
  ...overrides,
});
const withSession = (v: RequestView): RequestView => ({
  ...v,
  session: {
    analyzer: 'heuristic', technical: HOSTILE, plain: HOSTILE, flags: [{ severity: 'critical', message: HOSTILE }], review: true,
    unusual: [HOSTILE], baseline: [HOSTILE],
  } as unknown as NonNullable<RequestView['session']>,
});

/** Every `<…>` token of a Slack text: what Slack turns into mentions, pings and links. */
const slackTokens = (text: string) => [...text.matchAll(/<[^>]*>/g)].map((m) => m[0]);
const slackText = (blocks: unknown) => JSON.stringify(blocks);
/** Formatting Slack would apply: a delimiter right before a word (or code span) start. */
const slackFormatting = /(^|[\s(])[*_~`](?=\S)/;

describe('Slack renders hostile text inert', () => {
  it('the session summary: only our own mentions, no ping, no link, no formatting, no bidi', () => {
    const v = withSession(view());
    const json = slackText(summaryBlocks(v, summarizeSession(v)));
    const texts = (JSON.parse(json) as Array<{ text?: { text: string }; elements?: Array<{ text: string }> }>)
      .flatMap((block) => [block.text?.text ?? '', ...(block.elements ?? []).map((e) => e.text)]);
    const all = texts.join('\n');
    expect(new Set(slackTokens(all))).toEqual(new Set(['<@U0REQUESTER>', '<@U0ALICE>', '<@U0BOB>']));
    expect(all).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
    expect(all).toContain('&lt;@U123&gt; &lt;!channel&gt; &lt;https://evil.example|click&gt;');
    // The reason's words are there, none of its delimiters can format: each line has only our own `*Heading*` and code spans.
    for (const line of all.split('\n')) {
      const ours = line.replace(/^\*[A-Z][a-z ]+\*$/, '').replace(/`dba_req_r1`/g, '');
      expect(ours).not.toMatch(slackFormatting);
    }
    // A newline in the reason cannot fake a summary line: one bullet per line of the summary.
    expect(texts[0]!.split('\n')).toHaveLength(1 + summarizeSession(v).lines.length);
  });

  it('the approval card and the break-glass alert', () => {
    const v = view({ state: 'pending', lease: null, decisions: [] });
    const card = slackApprovalCard(v);
    const strings: string[] = [];
    JSON.stringify(card, (key, value: unknown) => {
      if (key === 'text' && typeof value === 'string') strings.push(value);
      return value;
    });
    const all = strings.join('\n');
    expect(slackTokens(all)).toEqual(['<@U0REQUESTER>']);
    expect(all).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
    // The grant preview shows the hostile table name in its block, unable to close it.
    expect(all.match(/```/g)).toHaveLength(2);
    const alert = breakGlassText(v);
    expect(slackTokens(alert)).toEqual(['<@U0REQUESTER>']);
    expect(alert.split('\n')).toHaveLength(1);
  });

  it('any string, as text, as strong or as code, never forms a token, a delimiter or an entity of its own', () => {
    const lookalikes = (text: string) => text.replace(/ˋ/g, '`').replace(/∗/g, '*').replace(/∼/g, '~').replace(/＿/g, '_');
    const decode = (text: string) => lookalikes(text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'));
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (value) => {
        const text = mrkdwnOf(rich`${value}`);
        expect(text).not.toMatch(/[<>`*~]/);
        expect(text.replace(/&(amp|lt|gt);/g, '')).not.toContain('&');
        expect(text).not.toMatch(/(?<![\p{L}\p{N}])_/u);
        expect(text).toBe(text.replace(/[\u202a-\u202e\u2066-\u2069\u200b-\u200f]/g, ''));
        // The words are kept: only the look-alikes and entities differ.
        expect(decode(text)).toBe(lookalikes(visible(value)));

        const span = mrkdwnOf(rich`${code(value)}`);
        expect(span).not.toMatch(/[<>]/);
        if (span.startsWith('`')) expect(span.match(/`/g)).toHaveLength(2);
        const bold = mrkdwnOf(rich`${strong(value)}`);
        expect(bold.replace(/^\*|\*$/g, '')).not.toMatch(/[<>*`]/);
      }),
      { numRuns: 500 },
    );
  });

  it('a stored failure keeps its backtick names as code, and nothing else', () => {
    const failure = '`a<@U1>` does not exist on orders. <@U123> *x* Did you mean `sales.orders`?';
    const shown = mrkdwnOf(rich`Cancelled: ${codeSpans(failure)}`);
    expect(shown).toBe('Cancelled: `a&lt;@U1&gt;` does not exist on orders. &lt;@U123&gt; ∗x∗ Did you mean `sales.orders`?');
    fc.assert(fc.property(fc.string(), (value) => {
      expect(codeSpans(value).parts.every((part) => part.kind === 'text' || part.kind === 'code')).toBe(true);
    }));
  });

  it('a person is a mention only for a Slack user id', () => {
    expect(mrkdwnOf(rich`${person('U0ALICE')}`)).toBe('<@U0ALICE>');
    expect(mrkdwnOf(rich`${person('<!channel>')}`)).toBe('&lt;!channel&gt;');
    expect(mrkdwnOf(rich`${person('alice@example.com')}`)).toBe('alice@example.com');
    expect(escapeMrkdwn('snake_case and _italic_')).toBe('snake_case and ＿italic_');
  });
});

describe('Teams renders hostile text inert', () => {
  const unescaped = (markdown: string) => markdown.replace(/\\./g, '').match(/[<>`*_[\]~]|^\s*[#+=|-]/gm) ?? [];

  it('the session summary and the approval card: no mention, no link, no markup of the reason', () => {
    const v = withSession(view());
    for (const card of [sessionSummaryCard(v, summarizeSession(v)), teamsApprovalCard(view({ state: 'pending', lease: null, decisions: [] }))]) {
      // Monospace runs are shown verbatim (SQL must stay exact) and read as no markup; everything else is checked.
      const json = JSON.stringify(card, (key, value: unknown) => (key === 'inlines' ? undefined : value));
      expect(json).not.toContain('<at>');
      expect(json).not.toContain('<@');
      expect(json).not.toMatch(/(?<!\\\\)\]\(/);
      expect(json).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
      expect(json).not.toContain('Action.OpenUrl');
    }
    expect(JSON.stringify(teamsApprovalCard(view({ state: 'pending', lease: null, decisions: [] })))).toContain('GRANT SELECT ON \\"sales\\".\\"<@U123>');
    const summary = sessionSummaryCard(v, summarizeSession(v));
    const lines = (summary.body[1] as { text: string }).text.split('\n');
    // One list item per summary line: the reason's newline did not add one.
    expect(lines).toHaveLength(summarizeSession(v).lines.length);
    const what = lines.find((line) => line.startsWith('- What:'))!;
    expect(unescaped(what.slice(2))).toEqual([]);
  });

  it('any string, as text, strong or code, comes out escaped on one line', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (value) => {
        for (const shown of [richMarkdown(rich`${value}`).text, richMarkdown(rich`${code(value)}`).text]) {
          expect(shown).not.toMatch(/[<>\n\r]/);
          expect(unescaped(shown)).toEqual([]);
          expect(shown).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
        }
        const bold = richMarkdown(rich`${strong(value)}`).text;
        expect(unescaped(bold.replace(/^\*\*|\*\*$/g, ''))).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });
});

describe('the console shows plain words', () => {
  it('the session summary has no <@…>, no bidi control, and keeps a text the page shows', async () => {
    const store = createConsoleStore();
    const notifier = createConsoleNotifier({ store });
    const v = withSession(view());
    await notifier.send({ type: 'sessionSummary', request: v, summary: summarizeSession(v) });
    await notifier.send({ type: 'approvalCard', request: v });
    await notifier.send({ type: 'breakGlassAlert', request: v });
    const messages = store.list();
    expect(messages).toHaveLength(3);
    for (const message of messages) expect(message.text.length).toBeGreaterThan(0);
    const summary = messages.find((message) => message.kind === 'summary')!;
    const lines = (summary.data as { lines: string[] }).lines;
    expect(lines[0]).toBe('Who: @U0REQUESTER as dba_req_r1');
    expect(lines.join('\n')).toContain('Ended: revoked by @U0BOB');
    expect(lines.every((line) => typeof line === 'string')).toBe(true);
    const card = messages.find((message) => message.kind === 'card')!;
    expect(card.text).toContain('Approved by @U0ALICE');
    // Our own people never appear as Slack markup; the requester's words are kept as they are, minus invisible controls.
    const ours = JSON.stringify(messages.map((message) => [message.text, (message.data as { lines?: string[] } | undefined)?.lines ?? []]));
    expect(ours.replaceAll(JSON.stringify(visible(HOSTILE)).slice(1, -1), '')).not.toContain('<@');
    expect(ours).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
  });

  it('any rich text comes out as its plain words', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.stringMatching(/^U[A-Z0-9]{1,10}$/), (value, id) => {
        expect(consoleText(rich`${person(id)}: ${value} ${code(value)}`)).toBe(`@${id}: ${visible(value)} ${visible(value)}`);
      }),
      { numRuns: 300 },
    );
  });
});
