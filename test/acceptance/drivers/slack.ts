import { APPROVERS_CHANNEL, PEOPLE, TEAM, shown, startHarness, waitUntil, type Harness } from '../../support/app-harness.js';
import type { SlackMessage } from '../../support/fake-slack.js';
import { blockAction, plainTextInput, staticSelect, viewSubmission, type SourceView, type ViewStateValues } from '../../support/slack-requests.js';
import { DEFAULT_DRAFT, policyFor, toldFrom, type Button, type Draft, type Person, type PlatformDriver, type Shown, type StartDriver, type Where } from './types.js';

/**
 * Slack, driven by signed HTTP requests to the app (slash commands, button clicks, modal
 * submissions) against the fake Slack Web API; what people see is read from the fake as the Slack
 * client would show it (mentions as @names, links as their labels, no mrkdwn markers).
 */
const USER: Record<Person, string> = { requester: PEOPLE.requester, approver: PEOPLE.alice };
const NAMES: Record<string, string> = { [PEOPLE.requester]: 'requester', [PEOPLE.alice]: 'alice', [PEOPLE.bob]: 'bob', [PEOPLE.mallory]: 'mallory' };
const BUTTONS: Record<string, Button> = {
  'dbaccess.approve': 'approve', 'dbaccess.deny': 'deny', 'dbaccess.cancel': 'cancel', 'dbaccess.end': 'end', 'dbaccess.extend': 'extend', 'dbaccess.reveal': 'reveal',
  'dbaccess.analyze': 'analyze', 'dbaccess.use-suggestion': 'useSuggestion', 'dbaccess.mfa-confirm': 'mfaConfirm', 'dbaccess.review': 'review', 'dbaccess.retry': 'retry',
};
const ACTION_ID = Object.fromEntries(Object.entries(BUTTONS).map(([id, button]) => [button, id])) as Record<Button, string>;
const ID = /\bR[0-9A-Z]{9}\b/;

/** Slack mrkdwn as the client renders it. */
export function rendered(text: string): string {
  return text
    .replace(/<@([A-Z0-9]+)(\|[^>]*)?>/g, (_, id: string) => `@${NAMES[id] ?? id}`)
    .replace(/<!(here|channel|everyone)>/g, '@$1')
    .replace(/<((?:https?|mailto):[^|>]+)\|([^>]+)>/g, '$2')
    .replace(/<((?:https?|mailto):[^>]+)>/g, '$1')
    .replace(/(^|[\s(])\*([^*\n]+)\*/g, '$1$2')
    .replace(/`/g, '')
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** A modal as the client shows it: its title, labels, hints, options and the values it starts with. */
function modalText(view: unknown): string {
  const parts: string[] = [];
  const keys = new Set(['title', 'blocks', 'text', 'label', 'hint', 'element', 'elements', 'options', 'initial_option', 'initial_value', 'placeholder', 'fields', 'accessory']);
  const walk = (value: unknown): void => {
    if (typeof value === 'string') parts.push(value);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') for (const [key, inner] of Object.entries(value)) if (keys.has(key)) walk(inner);
  };
  walk(view);
  return rendered(parts.join('\n'));
}
const buttonsOf = (blocks: unknown): Button[] => [...JSON.stringify(blocks ?? []).matchAll(/"action_id":"([^"]+)"/g)].map((m) => BUTTONS[m[1]!]).filter((b): b is Button => b !== undefined);
const seen = (message: Pick<SlackMessage, 'text' | 'blocks'>): Shown => ({ text: rendered(shown(message)), buttons: buttonsOf(message.blocks) });

type View = SourceView & { id: string; callback_id: string; blocks: unknown[] };

const formValues = (draft: Draft, revision: number, breakGlass = false): ViewStateValues => {
  const id = (field: string) => (revision === 0 ? field : `${field}.${revision}`);
  return {
    ...(breakGlass ? { [id('breakGlass')]: { value: { type: 'checkboxes', selected_options: [{ text: { type: 'plain_text', text: 'Break-glass: I need it now', emoji: true }, value: 'yes' }] } as never } } : {}),
    [id('databaseId')]: { value: staticSelect(draft.databaseId) },
    [id('level')]: { value: staticSelect(draft.level) },
    [id('scope')]: { value: plainTextInput(draft.scope || null) },
    [id('duration')]: { value: plainTextInput(draft.duration) },
    [id('reason')]: { value: plainTextInput(draft.reason) },
    [id('ticket')]: { value: plainTextInput(draft.ticket || null) },
  };
};

/** The value a form field of this block id starts with. */
function initialOf(blocks: unknown[], blockId: string): string | undefined {
  const block = blocks.find((b) => (b as { block_id?: string }).block_id === blockId) as { element?: { initial_value?: string; initial_option?: { value: string } } } | undefined;
  return block?.element?.initial_option?.value ?? block?.element?.initial_value;
}

export const startSlack: StartDriver = async ({ mfa }) => {
  const h: Harness = await startHarness({ queue: 'redis', policy: policyFor([PEOPLE.alice, PEOPLE.bob], PEOPLE.requester, mfa) });
  let form: { viewId: string; revision: number; draft: Draft } | undefined;

  const view = (id: string) => h.slack.view(id) as unknown as View;
  const dm = (person: Person) => h.slack.dmChannelFor(USER[person]);
  /** A request's card: the top-level message naming it that came with buttons (an alert naming it has none). */
  const cards = new Map<string, string>();
  const cardMessage = async (id: string) => {
    const ts = cards.get(id) ?? (await waitUntil(() => h.slack.messagesIn(APPROVERS_CHANNEL).find((m) => !m.threadTs && shown(m).includes(id) && buttonsOf(m.blocks).length > 0), 30_000, `the card of ${id}`)).ts;
    cards.set(id, ts);
    return h.slack.message(APPROVERS_CHANNEL, ts)!;
  };
  /** The requester's receipt: the first message of the request in their DM. */
  const receipts = new Map<string, string>();
  const receiptMessage = async (id: string) => {
    const ts = receipts.get(id) ?? (await waitUntil(() => h.slack.messagesIn(dm('requester')).find((m) => shown(m).includes(id)), 30_000, `the receipt of ${id}`)).ts;
    receipts.set(id, ts);
    return h.slack.message(dm('requester'), ts)!;
  };
  const credentialsMessage = (id: string) => waitUntil(() => [...h.slack.messagesIn(dm('requester'))].reverse().find((m) => shown(m).includes(id) && (buttonsOf(m.blocks).includes('reveal') || /postgresql:\/\//.test(shown(m)) || /no longer exists/.test(shown(m)))), 30_000, `the credentials of ${id}`);
  const messageAt = (id: string, where: Where) => (where === 'card' ? cardMessage(id) : where === 'receipt' ? receiptMessage(id) : credentialsMessage(id));

  /** New ephemerals (and DMs) for the person after `from`, and the answers given so far. */
  const answersSince = (person: Person, pressed?: SlackMessage) => {
    const ephemerals = h.slack.ephemeralsFor(USER[person]).length;
    const dms = h.slack.messagesIn(dm(person)).length;
    const responses = h.slack.callsTo('response_url').length;
    const was = pressed && shown(h.slack.message(pressed.channel, pressed.ts) ?? pressed);
    return () => {
      const now = pressed && h.slack.message(pressed.channel, pressed.ts);
      return [
        ...h.slack.ephemeralsFor(USER[person]).slice(ephemerals).map((e) => rendered(shown(e))),
        // Answers to a command's response URL (bound to the person, not to a channel).
        ...h.slack.callsTo('response_url').slice(responses).filter((c) => c.responseUrlId?.startsWith('cmd-')).map((c) => rendered(shown(c.args))),
        ...h.slack.messagesIn(dm(person)).slice(dms).map((m) => rendered(shown(m))),
        // The pressed message itself, when the answer replaced it.
        ...(now && shown(now) !== was ? [rendered(shown(now))] : []),
      ];
    };
  };
  const answersFor = (person: Person, given: string[], pressed?: SlackMessage) => {
    const since = answersSince(person, pressed);
    return toldFrom(() => [...given, ...since()]);
  };

  async function openModal(person: Person, act: () => Promise<unknown>): Promise<View> {
    const opened = h.slack.callsTo('views.open').length;
    await act();
    const call = await waitUntil(() => h.slack.callsTo('views.open')[opened], 5000, 'a form to open');
    return (call.response as { view: View }).view;
  }
  const submitModal = async (person: Person, modal: View, values: ViewStateValues): Promise<string[]> => {
    const answer = await h.post(viewSubmission({ teamId: TEAM, userId: USER[person], view: modal, values }));
    const errors = (answer.json as { errors?: Record<string, string> } | undefined)?.errors;
    return errors ? Object.values(errors).map(rendered) : [];
  };

  const driver: PlatformDriver = {
    platform: 'slack',
    app: h.app,
    prefix: h.prefix,
    mention: (person) => `<@${USER[person]}>`,

    async openForm() {
      const modal = await openModal('requester', () => h.command(USER.requester, ''));
      form = { viewId: modal.id, revision: 0, draft: { ...DEFAULT_DRAFT } };
      return { text: modalText(modal), buttons: buttonsOf(modal.blocks) };
    },
    async analyze(values) {
      if (!form) await driver.openForm();
      const open = form!;
      open.draft = { ...open.draft, ...values };
      const before = h.slack.callsTo('views.update').length;
      const answer = await h.post(blockAction({ teamId: TEAM, userId: USER.requester, actionId: ACTION_ID.analyze, view: view(open.viewId), viewValues: formValues(open.draft, open.revision) }));
      if (answer.status !== 200) throw new Error(`Analyze answered ${answer.status}`);
      const done = await waitUntil(() => h.slack.callsTo('views.update').slice(before).find((c) => c.args.view_id === open.viewId && /Risk:|fix/.test(shown(c.args.view as never))), 30_000, 'the analysis on the form');
      const updated = done.args.view as { blocks: unknown[] };
      return { text: modalText(updated), buttons: buttonsOf(updated.blocks) };
    },
    async useSuggestion() {
      const open = form!;
      const before = h.slack.callsTo('views.update').length;
      await h.post(blockAction({ teamId: TEAM, userId: USER.requester, actionId: ACTION_ID.useSuggestion, view: view(open.viewId), viewValues: formValues(open.draft, open.revision) }));
      const applied = await waitUntil(() => h.slack.callsTo('views.update').slice(before).find((c) => c.args.view_id === open.viewId), 30_000, 'the suggestion applied');
      const blocks = (applied.args.view as { blocks: unknown[] }).blocks;
      open.revision += 1;
      const field = (name: keyof Draft) => initialOf(blocks, `${name}.${open.revision}`) ?? '';
      open.draft = { ...open.draft, level: field('level'), scope: field('scope'), duration: field('duration'), reason: field('reason') || open.draft.reason };
      return { ...open.draft };
    },
    async submit(values) {
      if (!form) await driver.openForm();
      const open = form!;
      form = undefined;
      const { breakGlass, ...fields } = values;
      const draft = { ...open.draft, ...fields };
      const before = h.slack.messagesIn(dm('requester')).length;
      const errors = await submitModal('requester', view(open.viewId), formValues(draft, open.revision, breakGlass));
      if (errors.length) throw new Error(`The form refused: ${errors.join('; ')}`);
      const receipt = await waitUntil(() => h.slack.messagesIn(dm('requester')).slice(before).find((m) => ID.test(shown(m))), 30_000, 'the receipt');
      const id = ID.exec(shown(receipt))![0];
      receipts.set(id, receipt.ts);
      return { id, receipt: seen(receipt) };
    },

    card: async (id) => seen(await cardMessage(id)),
    async waitCard(id, predicate, what) {
      const card = await cardMessage(id);
      return waitUntil(() => { const now = seen(h.slack.message(card.channel, card.ts)!); return predicate(now) && now; }, 30_000, what);
    },
    receipt: async (id) => seen(await receiptMessage(id)),
    async credentials(id) {
      const message = seen(await credentialsMessage(id));
      return { ...message, uri: /postgresql:\/\/[^\s"<>]+/.exec(message.text)?.[0] };
    },
    inbox: async (person) => h.slack.messagesIn(dm(person)).map(seen),
    channel: async () => h.slack.messagesIn(APPROVERS_CHANNEL).filter((m) => !m.threadTs).map(seen),
    async thread(id) {
      const card = await cardMessage(id);
      return h.slack.messagesIn(APPROVERS_CHANNEL).filter((m) => m.threadTs === card.ts).map(seen);
    },

    async press(person, button, id, where, inputs = {}) {
      const message = await messageAt(id, where);
      const told = (given: string[]) => answersFor(person, given, message);
      const modalButtons: Button[] = ['deny', 'extend', 'reveal'];
      if (modalButtons.includes(button) || (button === 'approve' && inputs.code !== undefined)) {
        const before = h.slack.ephemeralsFor(USER[person]).length;
        const opened = h.slack.callsTo('views.open').length;
        await h.click(USER[person], ACTION_ID[button], message);
        // A refusal comes as a message instead of the form.
        const modal = await waitUntil(() => h.slack.callsTo('views.open')[opened] ?? (h.slack.ephemeralsFor(USER[person]).length > before ? 'refused' : undefined), 5000, 'a form to open');
        if (modal === 'refused') return answersFor(person, h.slack.ephemeralsFor(USER[person]).slice(before).map((e) => rendered(shown(e))));
        const values: ViewStateValues = button === 'deny' ? { reason: { value: plainTextInput(inputs.reason ?? null) } }
          : button === 'extend' ? { duration: { value: plainTextInput(inputs.duration ?? '30m') }, reason: { value: plainTextInput(inputs.reason ?? null) } }
            : { code: { value: plainTextInput(inputs.code ?? '') } };
        const view = (modal as { response: { view: View } }).response.view;
        const watch = answersFor(person, [], message);
        const errors = await submitModal(person, view, values);
        return errors.length ? toldFrom(() => errors) : watch;
      }
      const watch = told([]);
      await h.click(USER[person], ACTION_ID[button], message);
      return watch;
    },
    async command(person, text) {
      const since = answersSince(person);
      const answer = await h.command(USER[person], text);
      const immediate = (answer.json as { text?: string } | undefined)?.text;
      return toldFrom(() => [...(immediate ? [rendered(immediate)] : []), ...since()]);
    },
    async enrolMfa(person) {
      const before = h.slack.messagesIn(dm(person)).length;
      await h.command(USER[person], 'mfa');
      const setup = await waitUntil(() => h.slack.messagesIn(dm(person)).slice(before).find((m) => /Set up MFA/.test(shown(m))), 10_000, 'the MFA set-up');
      const secret = /\*Key\*\n`([A-Z2-7]+)`/.exec(shown(setup))?.[1];
      if (!secret) throw new Error(`No key in the MFA set-up: ${shown(setup)}`);
      return {
        secret,
        async confirm(code) {
          const modal = await openModal(person, () => h.click(USER[person], ACTION_ID.mfaConfirm, setup));
          const watch = answersFor(person, []);
          const errors = await submitModal(person, modal, { code: { value: plainTextInput(code) } });
          return errors.length ? toldFrom(() => errors) : watch;
        },
      };
    },
    close: () => h.close(),
  };
  return driver;
};
