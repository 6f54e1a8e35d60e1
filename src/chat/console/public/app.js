// The local console's page: plain DOM, no build step. One state object; every panel is drawn again
// from it whenever it changes (a server message, a keystroke, an answer), so nothing shown can
// outlive what it describes. Here: the request form, the analysis before submitting, and the start;
// the cards, inbox and alerts are drawn by messages.js, from the state in state.js.

import { $, el, fill, list, rich, title } from './dom.js';
import { fieldProblem } from './form-checks.js';
import { analyzedBy, renderLists, riskWords } from './messages.js';
import { cardOf, post, remember, ui } from './state.js';

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