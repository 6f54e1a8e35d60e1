// The local console's page: plain DOM, no build step. One state object; every panel is drawn again
// from it whenever it changes (a server message, a keystroke, an answer), so nothing shown can
// outlive what it describes.

import { $, copyText, count, el, fill, list, rich, title } from './dom.js';
import { fieldProblem } from './form-checks.js';

const ui = {
  people: { requester: '', approver: '' },
  databases: [],
  /** What the server said, by message id: cards, their threads, inboxes, analyses. */
  messages: new Map(),
  connection: 'Connecting…',
  /** The server's word on each field of the last submit, with the value it was about. */
  errors: {},
  /** The line under the form: `{ text }`, `{ invalid: true }`, or `{ submitted: requestId }` (drawn live from its card). */
  formNote: null,
  /** The analysis asked for last: its own id, and the form as it was then. */
  analysis: null,
  /** The answer to the last click, by message id, with the version of the message it answered. */
  answers: new Map(),
  busy: new Set(),
  /** Request ids whose grants are unfolded, so a redraw does not fold them. */
  unfolded: new Set(),
  /** `<message id>:<what>` just copied, to say so on its button. */
  copied: null,
};

async function post(path, body) {
  const response = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', 'x-dbaccess-console': '1' }, body: JSON.stringify(body) });
  const data = await response.json().catch(() => ({}));
  return { status: response.status, data };
}

/** Keeps the newer of two copies of a message: the state read and the event stream may overlap. */
function remember(message) {
  const known = ui.messages.get(message.id);
  if (!known || known.updatedAt <= message.updatedAt) ui.messages.set(message.id, message);
}

const cardOf = (requestId) => ui.messages.get(`card-${requestId}`);
/** A message true only while its request is in one state (e.g. "Access active until …") is hidden once the card says otherwise. */
function current(message) {
  const state = message.requestId && message.data?.onlyWhile ? cardOf(message.requestId)?.data?.view?.state : undefined;
  return !state || state === message.data.onlyWhile;
}

// ---- The request form --------------------------------------------------------------------------

const form = $('#request-form');
const FIELDS = ['databaseId', 'level', 'scope', 'duration', 'reason', 'ticket', 'startsAt'];

/** The databases to choose from; one that cannot be served now is greyed out, with why and what fixes it. */
function fillDatabases() {
  const select = form.elements.databaseId;
  const chosen = select.value;
  select.replaceChildren(...ui.databases.map((db) => el('option', { value: db.id, disabled: Boolean(db.unavailable) },
    db.unavailable ? `${db.id} (unavailable: ${db.unavailable.problem})` : `${db.id} (${db.environment})${db.description ? ` – ${db.description}` : ''}`)));
  if (ui.databases.some((db) => db.id === chosen && !db.unavailable)) select.value = chosen;
  fill($('#unavailable'), ui.databases.filter((db) => db.unavailable).map((db) => el('p', {}, `⚠ ${db.unavailable.message}`)));
  fillLevels();
}

const database = () => ui.databases.find((candidate) => candidate.id === form.elements.databaseId.value);

function fillLevels() {
  const current = form.elements.level.value;
  const levels = database()?.levels ?? ['read'];
  form.elements.level.replaceChildren(...levels.map((level) => el('option', { value: level }, level)));
  if (levels.includes(current)) form.elements.level.value = current;
}

function draft() {
  const f = form.elements;
  return { databaseId: f.databaseId.value, level: f.level.value, scope: f.scope.value, duration: f.duration.value, reason: f.reason.value, ticket: f.ticket.value, breakGlass: f.breakGlass.checked, startsAt: f.startsAt.value };
}

/** The error to show under a field now: the server's while the value is the one it judged, else the page's own check. */
function errorFor(field) {
  const error = ui.errors[field];
  if (!error) return '';
  const value = form.elements[field].value;
  if (value === error.value) return error.message;
  return fieldProblem(field, value, database()) ?? '';
}

function renderForm() {
  let shown = 0;
  for (const field of FIELDS) {
    const message = errorFor(field);
    if (message) shown += 1;
    form.querySelector(`.error[data-for="${field}"]`).textContent = message;
    if (message) form.elements[field].setAttribute('aria-invalid', 'true');
    else form.elements[field].removeAttribute('aria-invalid');
  }
  fill($('#form-status'), formNote(shown));
  renderAnalysis();
}

function formNote(errorsShown) {
  const note = ui.formNote;
  if (!note) return null;
  if (note.invalid) return errorsShown ? 'Fix the fields marked in red.' : null;
  if (note.submitted) {
    const card = cardOf(note.submitted);
    return `Request ${note.submitted} submitted: ${card ? card.data.status : 'on its way to the approvers'}.`;
  }
  return note.text;
}

form.elements.databaseId.addEventListener('change', fillLevels);
form.addEventListener('input', renderForm);
form.addEventListener('change', renderForm);

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const submit = $('#submit');
  if (submit.disabled) return;
  submit.disabled = true;
  const sent = draft();
  ui.formNote = { text: 'Submitting…' };
  renderForm();
  const { status, data } = await post('/console/api/requests', sent).finally(() => { submit.disabled = false; });
  if (status === 201) {
    ui.errors = {};
    ui.analysis = null;
    ui.formNote = { submitted: data.id };
    form.elements.reason.value = '';
  } else if (data.errors) {
    ui.errors = Object.fromEntries(Object.entries(data.errors).map(([field, message]) => [field, { message, value: sent[field] }]));
    ui.formNote = { invalid: true };
  } else {
    ui.formNote = { text: data.error ?? 'The request could not be sent; try again.' };
  }
  renderForm();
});

// ---- The analysis before submitting ------------------------------------------------------------

const draftKey = () => JSON.stringify(draft());

async function analyze() {
  // A new id for each analysis: its answer can never be taken for another's.
  ui.analysis = { id: crypto.randomUUID(), draft: draftKey() };
  renderForm();
  const { status, data } = await post('/console/api/analyze', { formId: ui.analysis.id, draft: draft() });
  if (status !== 202) ui.formNote = { text: data.error ?? 'The analysis could not start; try again.' };
  renderForm();
}

$('#analyze').addEventListener('click', analyze);

function renderAnalysis() {
  const panel = $('#analysis');
  panel.className = 'analysis';
  panel.hidden = !ui.analysis;
  if (!ui.analysis) return fill(panel);
  const message = ui.messages.get(`analysis-${ui.analysis.id}`);
  if (!message) return fill(panel, el('p', { class: 'muted' }, 'Analyzing the request…'));
  if (draftKey() !== ui.analysis.draft) {
    return fill(panel, el('p', { class: 'muted' }, 'The form has changed since this analysis. ', el('button', { type: 'button', onclick: analyze }, 'Analyze again')));
  }
  const a = message.data ?? {};
  if (a.problem) return fill(panel, el('p', { class: 'error' }, rich(a.problem)));
  panel.className = `analysis risk-${a.level}`;
  return fill(panel,
    el('p', {}, el('strong', {}, `Risk: ${title(a.level)}`), ` (${a.words?.source ?? analyzedBy(a)})`),
    list(a.reasons),
    ...riskWords(a.words),
    a.conflicts?.length ? el('p', {}, el('strong', {}, 'Policy conflicts')) : null, list(a.conflicts),
    a.unusual?.length ? el('p', {}, el('strong', {}, 'Unusual')) : null, list(a.unusual),
    a.suggestion ? el('p', {}, el('strong', {}, 'Narrower option: '), rich(a.suggestion.text)) : null,
    message.actions.map((action) => el('button', { type: 'button', class: action.style ?? '', onclick: () => useSuggestion(action.value) }, action.label)),
    el('p', { class: 'muted' }, 'You may still submit the request as it is.'),
  );
}

/** Beside the rating: a notice when the model and the rules are two bands apart, the model's reading, the time. */
const riskWords = (words) => (words ? [
  words.notice ? el('p', { class: 'notice' }, words.notice) : null,
  words.model ? el('div', {}, el('strong', {}, words.model.heading), list(words.model.reasons)) : null,
  words.time ? el('p', { class: 'muted' }, words.time) : null,
] : []);

/** Who rated it, for analyses stored before the server said so itself. */
const analyzedBy = (a, risk = a.level) => (a.fallback ? `built-in rules: ${a.fallback}` : a.analyzer === 'heuristic' ? 'built-in rules'
  : a.modelLevel ? `${a.analyzer} rated it ${title(a.modelLevel)}; built-in rules hold it at ${title(risk)}` : a.analyzer);

async function useSuggestion(analysisId) {
  const { status, data } = await post('/console/api/suggestion', { analysisId });
  if (status !== 200) {
    ui.formNote = { text: data.error ?? 'That suggestion is no longer available; analyze again.' };
    return renderForm();
  }
  form.elements.level.value = data.level;
  form.elements.scope.value = data.scope ?? '';
  form.elements.duration.value = data.duration;
  ui.formNote = { text: `Suggestion applied: ${data.text}` };
  return renderForm();
}

// ---- Buttons on cards and inbox messages ---------------------------------------------------------

async function act(message, action, as) {
  const body = { action: action.action, requestId: action.requestId, as };
  if (action.confirm && !window.confirm(action.confirm)) return;
  if (action.action === 'deny') body.reason = window.prompt('Reason for the denial (sent to the requester):', '') ?? '';
  if (action.action === 'approveWithChanges') {
    // The form of approve with changes: only narrower than the card's terms; the server checks again.
    const view = message.data?.view;
    const levels = view?.narrowing?.levels ?? [];
    const level = window.prompt(`Level (one of ${levels.join(', ')}):`, view?.level ?? '');
    if (level === null) return;
    body.level = level;
    if ((view?.scope ?? []).length > 1) {
      const listed = view.scope.map((item, index) => `${index + 1}. ${item}`).join('\n');
      const keep = window.prompt(`Scope to keep (numbers, e.g. 1 3):\n${listed}`, view.scope.map((_item, index) => index + 1).join(' '));
      if (keep === null) return;
      body.scope = keep.split(/[\s,]+/).filter(Boolean).map((n) => view.scope[Number(n) - 1]).filter((item) => item !== undefined);
    }
    const duration = window.prompt('Duration (at most as asked):', message.data?.duration ?? '');
    if (duration === null) return;
    body.duration = duration;
    body.note = window.prompt(view?.narrowing?.noteRequired ? 'Note to the requester (required):' : 'Note to the requester (optional):', '') ?? '';
  }
  if (action.action === 'extend') {
    const duration = window.prompt('More time (e.g. 30m, 1h):', '30m');
    if (!duration) return;
    body.duration = duration;
  }
  if (action.action === 'reveal') {
    const code = window.prompt('Your 6-digit MFA code:', '');
    if (!code) return;
    body.code = code;
  }
  ui.busy.add(message.id);
  renderLists();
  const { data } = await post('/console/api/actions', body).finally(() => ui.busy.delete(message.id));
  ui.answers.set(message.id, { text: data.message ?? '', version: ui.messages.get(message.id)?.updatedAt });
  renderLists();
}

const buttons = (message, as) => el('div', {}, message.actions.map((action) => el('button', {
  type: 'button', class: action.style ?? '', 'data-action': action.action, disabled: ui.busy.has(message.id), onclick: () => act(message, action, as),
}, action.label)));

/** The answer to a click, until the message changes: then the message itself says where things stand. */
function answer(message) {
  const given = ui.answers.get(message.id);
  return el('p', { class: 'result', role: 'status' }, given?.version === message.updatedAt ? given.text : '');
}

async function copy(key, text) {
  try {
    await copyText(text);
    ui.copied = key;
  } catch {
    ui.copied = `${key}:failed`;
  }
  renderLists();
  setTimeout(() => {
    if (ui.copied?.startsWith(key)) ui.copied = null;
    renderLists();
  }, 2500);
}

/** A value to copy exactly: one line in a scrolling box, never broken mid-token, and its Copy button. */
const copyable = (message, what, label, text) => el('div', { class: 'copyable' },
  el('pre', { class: what }, text),
  el('button', { type: 'button', class: 'copy', 'data-copy': what, onclick: () => copy(`${message.id}:${what}`, text) },
    ui.copied === `${message.id}:${what}` ? 'Copied' : ui.copied === `${message.id}:${what}:failed` ? 'Select and copy by hand' : label));

// ---- Rendering the lists -----------------------------------------------------------------------

/** A ticket a rule verified links to its tracker (http(s) links only); any other is the requester's text. */
function ticketCell(view) {
  const t = view.policy?.ticket;
  if (!t || !/^https?:\/\//.test(t.url)) return view.ticket ?? 'none';
  return el('span', {}, el('a', { href: t.url, target: '_blank', rel: 'noopener noreferrer' }, t.key), ` (${t.status} in ${({ jira: 'Jira', linear: 'Linear', github: 'GitHub' })[t.tracker] ?? t.tracker}, verified)`);
}

function card(message) {
  const { view, status } = message.data;
  const a = view.analysis;
  const risk = a?.level ?? view.risk.level;
  const replies = [...ui.messages.values()].filter((m) => m.thread === message.id && current(m)).sort((x, y) => x.at.localeCompare(y.at));
  return el('article', { class: `card risk-${risk}`, 'data-request': view.id },
    el('h4', {}, `${view.kind === 'extension' ? `Extension of ${view.extendsRequestId}` : `${title(view.level)} access to ${view.databaseId}`} · ${view.id}`),
    el('p', { class: 'status', role: 'status' }, rich(status)),
    el('dl', {},
      el('dt', {}, 'Requester'), el('dd', {}, view.requester.externalId),
      el('dt', {}, 'Database'), el('dd', {}, `${view.databaseId} (${view.environment}${view.tags.length ? `, ${view.tags.join(', ')}` : ''})`),
      el('dt', {}, 'Level'), el('dd', {}, view.level),
      el('dt', {}, 'Scope'), el('dd', {}, view.scope.length ? view.scope.join(', ') : 'whole database'),
      el('dt', {}, 'Duration'), el('dd', {}, message.data.duration ?? `${Math.round(view.durationSeconds / 60)} min`),
      el('dt', {}, 'Ticket'), el('dd', {}, ticketCell(view)),
      el('dt', {}, 'Reason'), el('dd', {}, view.reason),
    ),
    el('p', {}, el('strong', {}, `Risk: ${title(risk)}`), ` (${message.data.risk?.source ?? (a ? analyzedBy(a, risk) : 'built-in rules')})`),
    list((a ? a.reasons : view.risk.reasons).slice(0, 5)),
    ...riskWords(message.data.risk),
    !a && view.state === 'pending' && view.kind === 'access' ? el('p', { class: 'muted' }, 'Analysis in progress…') : null,
    a?.conflicts?.length ? el('div', {}, el('strong', {}, 'Policy conflicts'), list(a.conflicts)) : null,
    a?.unusual?.length ? el('div', {}, el('strong', {}, 'Unusual'), list(a.unusual)) : null,
    a?.comparison ? el('p', { class: 'muted' }, 'History: ', rich(a.comparison)) : null,
    a?.suggestion ? el('p', { class: 'muted' }, 'Narrower option: ', rich(a.suggestion.text)) : null,
    a?.alternatives?.length ? el('p', { class: 'muted' }, `Instead: ${a.alternatives.join(' ')}`) : null,
    el('p', { class: 'muted' }, 'Recording: ', rich(view.recording)),
    el('details', { open: ui.unfolded.has(view.id), ontoggle: (event) => (event.currentTarget.open ? ui.unfolded.add(view.id) : ui.unfolded.delete(view.id)) },
      el('summary', {}, 'Grants: ', rich(view.grantsInWords)), el('pre', {}, `${view.grantStatements.join(';\n')};`)),
    buttons(message, 'approver'),
    answer(message),
    replies.length ? el('div', { class: 'thread' }, replies.map(reply)) : null,
  );
}

function reply(message) {
  if (message.kind !== 'summary') return el('p', { class: `reply ${message.kind === 'alert' ? 'alert' : ''}` }, rich(message.text));
  const s = message.data ?? {};
  return el('div', { class: 'reply summary' },
    el('strong', {}, rich(message.text)),
    list(s.lines),
    s.technical ? el('p', {}, el('strong', {}, 'What was run: '), rich(s.technical)) : null,
    s.plain ? el('p', {}, el('strong', {}, 'In plain words: '), rich(s.plain)) : null,
    s.flags?.length ? el('div', {}, el('strong', {}, 'Flagged for review'), list(s.flags.map((flag) => `${flag.severity}: ${flag.message}`))) : null,
    s.by ? el('p', { class: 'muted' }, `Summary by ${s.by}.`) : null,
  );
}

function inboxMessage(message) {
  if (message.kind !== 'credentials') {
    return el('div', { class: `message ${message.kind}`, 'data-request': message.requestId }, el('p', {}, rich(message.text)), buttons(message, 'requester'), answer(message));
  }
  const c = message.data;
  return el('div', { class: 'message credentials', 'data-request': message.requestId },
    el('p', {}, rich(message.text)),
    el('dl', {},
      el('dt', {}, 'Host'), el('dd', {}, el('code', {}, c.host)), el('dt', {}, 'Port'), el('dd', {}, el('code', {}, String(c.port))),
      el('dt', {}, 'Database'), el('dd', {}, el('code', {}, c.database)), el('dt', {}, 'User'), el('dd', {}, el('code', {}, c.username)),
      el('dt', {}, 'Password'), el('dd', {}, el('code', {}, c.password)),
    ),
    el('p', { class: 'label' }, 'Connection URI'), copyable(message, 'uri', 'Copy URI', c.uri),
    el('p', { class: 'label' }, 'Command'), copyable(message, 'command', `Copy ${c.command.split(' ')[0]} command`, c.command),
    buttons(message, 'requester'),
    answer(message),
  );
}

const newestFirst = (x, y) => y.at.localeCompare(x.at);

function renderLists() {
  const all = [...ui.messages.values()].filter(current);
  const inbox = all.filter((m) => m.channel === `dm:${ui.people.requester}`).sort(newestFirst);
  fill($('#inbox'), inbox.length ? inbox.map(inboxMessage) : el('p', { class: 'muted' }, 'Credentials and news about your requests arrive here.'));
  const cards = all.filter((m) => m.channel === 'approvals' && m.kind === 'card').sort(newestFirst);
  fill($('#approvals'), cards.length ? cards.map(card) : el('p', { class: 'muted' }, 'Requests to decide appear here.'));
  const alerts = all.filter((m) => m.channel === 'approvals' && !m.thread && m.kind === 'alert').sort(newestFirst);
  fill($('#alerts'), alerts.slice(0, 5).map((m) => el('p', { class: 'message alert' }, rich(m.text))),
    alerts.length > 5 ? el('p', { class: 'muted' }, `and ${count(alerts.length - 5, 'older alert')}`) : null);
}

function renderAll() {
  $('#connection').textContent = ui.connection;
  renderForm();
  renderLists();
}

// ---- Start: the state, then every change as it happens -----------------------------------------

async function loadState() {
  const response = await fetch('/console/api/state');
  const state = await response.json();
  ui.people = state.people;
  ui.databases = state.databases;
  for (const message of state.messages) remember(message);
}

async function start() {
  await loadState();
  $('#requester-id').textContent = `(${ui.people.requester})`;
  $('#approver-id').textContent = `(${ui.people.approver})`;
  fillDatabases();
  renderAll();
  const events = new EventSource('/console/events');
  events.addEventListener('open', async () => {
    // Read the state again on every (re)connection: what changed while no stream was open is in it.
    await loadState().catch(() => undefined);
    // A database may have become available (or not) meanwhile.
    fillDatabases();
    ui.connection = 'Live: updates appear as they happen.';
    renderAll();
  });
  events.addEventListener('error', () => {
    ui.connection = 'Reconnecting…';
    renderAll();
  });
  events.addEventListener('message', (event) => {
    const message = JSON.parse(event.data);
    remember(message);
    renderForm();
    renderLists();
    // An alert may say a database became unavailable, or available again: the form's list follows.
    if (message.kind === 'alert') loadState().then(fillDatabases).catch(() => undefined);
  });
}

start();
