import { startHarness, waitUntil, type Harness } from '../../support/app-harness.js';
import { startFakeBotFramework, type FakeBotFramework, type TeamsDriver, type TeamsMessage, type TeamsResult, type TeamsTeam, type TeamsUser } from '../../support/fake-bot-framework.js';
import { shownIn } from '../../support/teams-text.js';
import { DEFAULT_DRAFT, policyFor, toldFrom, type Button, type Draft, type Person, type PlatformDriver, type Shown, type StartDriver, type Where } from './types.js';

/**
 * Microsoft Teams, driven through the fake Bot Framework in its own process: messages in the
 * personal chat, Universal Actions on cards; what people see is read from the fake's conversations
 * (and from the invoke's answer, which Teams shows in place of the card or as a message).
 */
const VERBS: Record<string, Button> = {
  approve: 'approve', deny: 'deny', cancel: 'cancel', end: 'end', extend: 'extend', reveal: 'reveal', analyze: 'analyze', useSuggestion: 'useSuggestion',
  mfaConfirm: 'mfaConfirm', review: 'review', retry: 'retry',
};
const ID = /\bR[0-9A-Z]{9}\b/;
const FIELDS = ['databaseId', 'level', 'scope', 'duration', 'reason', 'ticket'] as const;

/**
 * What Teams shows, without the markdown markers its client renders as formatting: bold in cards and
 * messages, inline code in messages only (an Adaptive Card's TextBlock shows a backtick as it is).
 */
const rendered = (text: string) => text.replace(/\*\*/g, '');
const renderedMessage = (text: string) => rendered(text).replace(/`/g, '');
const verbsOf = (content: unknown): Button[] => [...JSON.stringify(content ?? []).matchAll(/"verb":"(\w+)"/g)].map((m) => VERBS[m[1]!]).filter((b): b is Button => b !== undefined);
const seen = (message: TeamsMessage | undefined): Shown => ({
  text: [renderedMessage(shownIn({ text: message?.text })), rendered(shownIn({ attachments: message?.attachments }))].filter(Boolean).join('\n'),
  buttons: verbsOf(message?.attachments),
});
/** The invoke's answer as the person sees it: a card in place of the clicked one, or a message. */
const answerOf = (result: TeamsResult): string => {
  const body = result.body as { value?: unknown; type?: string } | undefined;
  if (result.status !== 200) return `HTTP ${result.status}`;
  if (body?.type === 'application/vnd.microsoft.error') return String((body.value as { message?: string } | undefined)?.message ?? '');
  return typeof body?.value === 'string' ? renderedMessage(body.value) : rendered(shownIn({ attachments: [{ content: body?.value }] }));
};

/** The values of a form card's inputs. */
function inputsOf(content: unknown): Partial<Draft> {
  const found: Partial<Record<string, string>> = {};
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      const { id, value: inner, type } = value as { id?: unknown; value?: unknown; type?: unknown };
      if (typeof id === 'string' && typeof type === 'string' && type.startsWith('Input.') && typeof inner === 'string') found[id] = inner;
      Object.values(value).forEach(walk);
    }
  };
  walk(content);
  return Object.fromEntries(FIELDS.filter((f) => found[f] !== undefined).map((f) => [f, found[f]]));
}

export const startTeams: StartDriver = async ({ mfa }) => {
  const fake: FakeBotFramework = await startFakeBotFramework();
  const people: Record<Person, TeamsUser> = {
    requester: await fake.addUser({ name: 'Rita Requester', email: 'rita@acme.example' }),
    approver: await fake.addUser({ name: 'Alice Approver', email: 'alice@acme.example' }),
  };
  const team: TeamsTeam = await fake.addTeam({ name: 'DBAs', members: [people.requester, people.approver] });
  let h: Harness;
  try {
    h = await startHarness({
      queue: 'redis',
      env: { ...fake.env(), CONSOLE: 'off' },
      teamsApprovers: { channel: team.general.id, users: [people.approver.email] },
      policy: policyFor([people.approver.email], people.requester.email, mfa),
    });
  } catch (error) {
    await fake.close();
    throw error;
  }
  const teams: TeamsDriver = fake.bot(`${h.url}/api/messages`);
  const installed = await teams.installationUpdate({ from: people.approver, action: 'add', team });
  if (installed.status !== 200) throw new Error(`installationUpdate answered ${installed.status}`);

  const personal = (person: Person) => fake.personalConversationId(people[person]);
  let form: { messageId: string; draft: Draft } | undefined;
  /** Receipts by request: the form message the receipt replaced. */
  const receipts = new Map<string, string>();

  /** A request's card: the channel message naming it that came with buttons (an alert naming it has none). */
  const cards = new Map<string, string>();
  const cardMessage = async (id: string) => {
    const known = cards.get(id) ?? (await waitUntil(async () => (await fake.botMessagesIn(team.general.id)).find((m) => shownIn(m).includes(id) && verbsOf(m.attachments).length > 0), 30_000, `the card of ${id}`)).id;
    cards.set(id, known);
    return (await fake.message(known))!;
  };
  const credentialsMessage = async (id: string) => {
    const conversation = await personal('requester');
    return waitUntil(async () => [...(await fake.botMessagesIn(conversation))].reverse().find((m) => m.id !== receipts.get(id) && shownIn(m).includes(id) && (verbsOf(m.attachments).includes('reveal') || /postgresql:\/\//.test(shownIn(m)) || /no longer exists/.test(shownIn(m)))), 30_000, `the credentials of ${id}`);
  };
  const receiptMessage = async (id: string) => {
    const known = receipts.get(id);
    if (known) return (await fake.message(known))!;
    const conversation = await personal('requester');
    return waitUntil(async () => (await fake.botMessagesIn(conversation)).find((m) => shownIn(m).includes(id) && verbsOf(m.attachments).includes('cancel')), 30_000, `the receipt of ${id}`);
  };
  const messageAt = async (id: string, where: Where) => (where === 'card' ? cardMessage(id) : where === 'receipt' ? receiptMessage(id) : credentialsMessage(id));

  /** Bot messages in the person's chat after now, and the answers given. */
  const answersSince = async (person: Person) => {
    const conversation = await personal(person);
    const before = (await fake.botMessagesIn(conversation)).length;
    return async () => (await fake.botMessagesIn(conversation)).slice(before).map((m) => seen(m).text);
  };

  async function openFormMessage(): Promise<TeamsMessage> {
    const conversation = await personal('requester');
    const before = (await fake.botMessagesIn(conversation)).length;
    const sent = await teams.personalMessage({ from: people.requester, text: 'dbaccess' });
    if (sent.status !== 200) throw new Error(`dbaccess answered ${sent.status}`);
    return waitUntil(async () => (await fake.botMessagesIn(conversation)).slice(before).find((m) => verbsOf(m.attachments).includes('analyze')), 10_000, 'the form');
  }

  const driver: PlatformDriver = {
    platform: 'teams',
    app: h.app,
    prefix: h.prefix,
    mention: (person) => people[person].email,

    async openForm() {
      const message = await openFormMessage();
      form = { messageId: message.id, draft: { ...DEFAULT_DRAFT } };
      return seen(message);
    },
    async analyze(values) {
      if (!form) await driver.openForm();
      const open = form!;
      open.draft = { ...open.draft, ...values };
      const result = await teams.cardAction({ from: people.requester, message: (await fake.message(open.messageId))!, verb: 'analyze', inputs: { ...open.draft, breakGlass: 'false' } });
      if (result.status !== 200) throw new Error(`Analyze answered ${result.status}`);
      return seen(await waitUntil(async () => { const m = await fake.message(open.messageId); return m && /Risk:|fix/.test(shownIn(m)) && m; }, 30_000, 'the analysis on the form'));
    },
    async useSuggestion() {
      const open = form!;
      const result = await teams.cardAction({ from: people.requester, message: (await fake.message(open.messageId))!, verb: 'useSuggestion', inputs: { ...open.draft, breakGlass: 'false' } });
      const card = (result.body as { value?: unknown } | undefined)?.value;
      open.draft = { ...open.draft, ...inputsOf(card) };
      return { ...open.draft };
    },
    async submit(values) {
      if (!form) await driver.openForm();
      const open = form!;
      form = undefined;
      const { breakGlass, ...fields } = values;
      const result = await teams.cardAction({ from: people.requester, message: (await fake.message(open.messageId))!, verb: 'submit', inputs: { ...open.draft, ...fields, breakGlass: breakGlass ? 'true' : 'false' } });
      const answer = answerOf(result);
      const id = ID.exec(answer)?.[0];
      if (!id) throw new Error(`The form refused: ${answer}`);
      receipts.set(id, open.messageId);
      return { id, receipt: seen(await fake.message(open.messageId)) };
    },

    card: async (id) => seen(await cardMessage(id)),
    async waitCard(id, predicate, what) {
      const card = await cardMessage(id);
      return waitUntil(async () => { const now = seen(await fake.message(card.id)); return predicate(now) && now; }, 30_000, what);
    },
    receipt: async (id) => seen(await receiptMessage(id)),
    async credentials(id) {
      const message = seen(await credentialsMessage(id));
      return { ...message, uri: /postgresql:\/\/[^\s`"<>]+/.exec(message.text)?.[0] };
    },
    inbox: async (person) => (await fake.botMessagesIn(await personal(person))).map(seen),
    channel: async () => (await fake.botMessagesIn(team.general.id)).map(seen),
    async thread(id) {
      const card = await cardMessage(id);
      return (await fake.botMessagesIn(`${team.general.id};messageid=${card.id}`)).map(seen);
    },

    async press(person, button, id, where, inputs = {}) {
      const message = await messageAt(id, where);
      const since = await answersSince(person);
      const data: Record<string, unknown> = {};
      if (inputs.reason !== undefined) data.reason = inputs.reason;
      if (inputs.code !== undefined) data.code = inputs.code;
      if (button === 'extend') data.duration = inputs.duration ?? '30m';
      let result: TeamsResult;
      try {
        result = await teams.cardAction({ from: people[person], message, verb: button, inputs: data });
      } catch (error) {
        // The button is not on the message: nobody could press it.
        return toldFrom(() => [`(no ${button} button: ${(error as Error).message})`]);
      }
      const answer = answerOf(result);
      return toldFrom(async () => [answer, ...(await since())]);
    },
    async command(person, text) {
      const since = await answersSince(person);
      const sent = await teams.personalMessage({ from: people[person], text: `dbaccess ${text}` });
      if (sent.status !== 200) return toldFrom(() => [`HTTP ${sent.status}`]);
      return toldFrom(since);
    },
    async enrolMfa(person) {
      const conversation = await personal(person);
      const before = (await fake.botMessagesIn(conversation)).length;
      await teams.personalMessage({ from: people[person], text: 'dbaccess mfa' });
      const setup = await waitUntil(async () => (await fake.botMessagesIn(conversation)).slice(before).find((m) => verbsOf(m.attachments).includes('mfaConfirm')), 10_000, 'the MFA set-up');
      const secret = /^[A-Z2-7]{16,}$/m.exec(shownIn(setup))?.[0];
      if (!secret) throw new Error(`No key in the MFA set-up: ${shownIn(setup)}`);
      return {
        secret,
        async confirm(code) {
          const result = await teams.cardAction({ from: people[person], message: (await fake.message(setup.id))!, verb: 'mfaConfirm', inputs: { code } });
          const answer = answerOf(result);
          return toldFrom(() => [answer]);
        },
      };
    },
    async close() {
      await h.close();
      await fake.close();
    },
  };
  return driver;
};
