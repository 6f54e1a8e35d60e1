import { randomBytes } from 'node:crypto';
import { CONSOLE_PEOPLE } from '../../../src/app/sandbox.js';
import { PEOPLE, startHarness, waitUntil, type Harness } from '../../support/app-harness.js';
import { DEFAULT_DRAFT, policyFor, toldFrom, type Button, type Draft, type Person, type PlatformDriver, type Shown, type StartDriver, type Where } from './types.js';

/**
 * The local console, driven through its HTTP API as its page does (see test/integration/console.test.ts):
 * `/console/api/state` holds every message the page lays out, `/console/api/requests`, `analyze`,
 * `suggestion` and `actions` are what its form and buttons post. What a person sees is the
 * message's text and the fields of its data, which the page shows as they are.
 *
 * Text commands (list, status, insights, report, audit verify, mfa, mfa reset <person id>) go to
 * the console's command box: `POST /console/api/commands { as, text }`, answered
 * `{ ok, message, mfaSetup?: { secret, otpauthUri } }`; the MFA set-up is confirmed with
 * `POST /console/api/commands { as, code }` (the contract of the console's command API on the
 * `inbound` branch). Until the console has that API, the cases that need it fail on the console.
 */
interface Message { id: string; kind: string; channel: string; thread?: string; requestId?: string; text: string; data?: unknown; actions: Array<{ action: string; value?: string }> }

const INBOX: Record<Person, string> = { requester: `dm:${CONSOLE_PEOPLE.requester}`, approver: `dm:${CONSOLE_PEOPLE.approver}` };
const ACTIONS: Record<string, Button> = {
  approve: 'approve', deny: 'deny', cancel: 'cancel', end: 'end', extend: 'extend', reveal: 'reveal', 'use-suggestion': 'useSuggestion', review: 'review', retry: 'retry',
};
const ACTION_OF = Object.fromEntries(Object.entries(ACTIONS).map(([action, button]) => [button, action])) as Record<Button, string>;

/** Every string a message's data holds (what the page lays out beside its text). */
function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (typeof value === 'number') out.push(String(value));
  else if (Array.isArray(value)) value.forEach((inner) => strings(inner, out));
  else if (value && typeof value === 'object') Object.values(value).forEach((inner) => strings(inner, out));
  return out;
}
const seen = (message: Message | undefined): Shown => ({
  text: message ? [message.text, ...strings(message.data)].join('\n') : '',
  buttons: (message?.actions ?? []).map((a) => ACTIONS[a.action]).filter((b): b is Button => b !== undefined),
});

export const startConsole: StartDriver = async ({ mfa }) => {
  const h: Harness = await startHarness({ queue: 'redis', env: { CONSOLE: 'on' }, policy: policyFor([PEOPLE.alice, CONSOLE_PEOPLE.approver], CONSOLE_PEOPLE.requester, mfa) });
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${h.url}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', 'x-dbaccess-console': '1' } });
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, json: json as Record<string, unknown> | undefined, text };
  };
  const messages = async () => ((await (await fetch(`${h.url}/console/api/state`)).json()) as { messages: Message[] }).messages;
  const byId = async (id: string) => (await messages()).find((m) => m.id === id);
  const answerOf = (answer: { status: number; json: Record<string, unknown> | undefined; text: string }) => {
    const setup = answer.json?.mfaSetup as { secret?: string; otpauthUri?: string } | undefined;
    const said = typeof answer.json?.message === 'string' ? answer.json.message : typeof answer.json?.error === 'string' ? answer.json.error : `HTTP ${answer.status}: ${answer.text.slice(0, 200)}`;
    // The page shows the key and its otpauth link beside the answer.
    return setup ? [said, setup.secret, setup.otpauthUri].filter(Boolean).join('\n') : said;
  };
  const inboxSince = async (person: Person) => {
    const before = new Set((await messages()).filter((m) => m.channel === INBOX[person]).map((m) => `${m.id}@${(m as { updatedAt?: string }).updatedAt}`));
    return async () => (await messages()).filter((m) => m.channel === INBOX[person] && !before.has(`${m.id}@${(m as { updatedAt?: string }).updatedAt}`)).map((m) => seen(m).text);
  };
  let form: { formId: string; draft: Draft } | undefined;
  const openForm = () => {
    form = { formId: `form-${randomBytes(6).toString('hex')}`, draft: { ...DEFAULT_DRAFT } };
    return form;
  };
  const messageIdAt = (id: string, where: Where) => (where === 'card' ? `card-${id}` : where === 'receipt' ? `received-${id}` : `dm-${id}`);

  const driver: PlatformDriver = {
    platform: 'console',
    app: h.app,
    prefix: h.prefix,
    mention: (person) => (person === 'requester' ? CONSOLE_PEOPLE.requester : CONSOLE_PEOPLE.approver),

    async openForm() {
      openForm();
      // The page draws the form from the catalog the state holds.
      const state = (await (await fetch(`${h.url}/console/api/state`)).json()) as { databases: Array<{ id: string; levels: string[]; environment: string; maxDuration: string }> };
      return { text: ['Request database access', ...state.databases.map((db) => `${db.id} (${db.environment}): ${db.levels.join(', ')}, at most ${db.maxDuration}`)].join('\n'), buttons: ['analyze'] };
    },
    async analyze(values) {
      const open = form ?? openForm();
      open.draft = { ...open.draft, ...values };
      const answer = await post('/console/api/analyze', { formId: open.formId, draft: { ...open.draft, breakGlass: false } });
      if (answer.status !== 202) throw new Error(`Analyze answered ${answer.status}: ${answer.text}`);
      return seen(await waitUntil(() => byId(`analysis-${open.formId}`), 30_000, 'the analysis on the form'));
    },
    async useSuggestion() {
      const open = form!;
      const analysis = await byId(`analysis-${open.formId}`);
      const analysisId = analysis?.actions.find((a) => a.action === 'use-suggestion')?.value;
      if (!analysisId) throw new Error('No Use suggestion on the analysis');
      const answer = await post('/console/api/suggestion', { analysisId });
      if (answer.status !== 200) throw new Error(`Use suggestion answered ${answer.status}: ${answer.text}`);
      const applied = answer.json as { level: string; scope: string; duration: string };
      open.draft = { ...open.draft, level: applied.level, scope: applied.scope || open.draft.scope, duration: applied.duration };
      return { ...open.draft };
    },
    async submit(values) {
      const open = form ?? openForm();
      form = undefined;
      const answer = await post('/console/api/requests', { breakGlass: false, ...open.draft, ...values });
      if (answer.status !== 201) throw new Error(`The form refused (${answer.status}): ${answer.text}`);
      const id = (answer.json as { id: string }).id;
      // The receipt, or for access given at once, the first message about it in the inbox.
      const receipt = await waitUntil(async () => (await byId(`received-${id}`)) ?? (await messages()).find((m) => m.channel === INBOX.requester && m.requestId === id), 30_000, 'the receipt');
      return { id, receipt: seen(receipt) };
    },

    card: async (id) => seen(await waitUntil(() => byId(`card-${id}`), 30_000, `the card of ${id}`)),
    waitCard: (id, predicate, what) => waitUntil(async () => { const now = seen(await byId(`card-${id}`)); return predicate(now) && now; }, 30_000, what),
    receipt: async (id) => seen(await waitUntil(() => byId(`received-${id}`), 30_000, `the receipt of ${id}`)),
    async credentials(id) {
      const message = await waitUntil(() => byId(`dm-${id}`), 30_000, `the credentials of ${id}`);
      return { ...seen(message), uri: (message.data as { uri?: string } | undefined)?.uri };
    },
    inbox: async (person) => (await messages()).filter((m) => m.channel === INBOX[person]).map(seen),
    channel: async () => (await messages()).filter((m) => m.channel === 'approvals' && !m.thread).map(seen),
    thread: async (id) => (await messages()).filter((m) => m.thread === `card-${id}`).map(seen),

    async press(person, button, id, where, inputs = {}) {
      const message = await waitUntil(() => byId(messageIdAt(id, where)), 30_000, `the ${where} of ${id}`);
      if (!message.actions.some((a) => a.action === ACTION_OF[button])) return toldFrom(() => [`(no ${button} button on the ${where})`]);
      const since = await inboxSince(person);
      const answer = answerOf(await post('/console/api/actions', { action: ACTION_OF[button], requestId: id, as: person, ...inputs, ...(button === 'extend' && !inputs.duration ? { duration: '30m' } : {}) }));
      // The answer is at once; what follows in the inbox comes within a few seconds.
      return toldFrom(async () => [answer, ...(await since())], 3000);
    },
    async command(person, text) {
      const since = await inboxSince(person);
      const response = await post('/console/api/commands', { as: person, text });
      // No such route: nothing more will come; say so at once.
      return toldFrom(async () => [answerOf(response), ...(await since())], response.status === 404 ? 0 : undefined);
    },
    async enrolMfa(person) {
      const answer = await post('/console/api/commands', { as: person, text: 'mfa' });
      const secret = (answer.json?.mfaSetup as { secret?: string } | undefined)?.secret;
      if (!secret) throw new Error(`No MFA set-up in the console: ${answerOf(answer)}`);
      return {
        secret,
        async confirm(code) {
          const confirmed = answerOf(await post('/console/api/commands', { as: person, code }));
          return toldFrom(() => [confirmed], 0);
        },
      };
    },
    close: () => h.close(),
  };
  return driver;
};
