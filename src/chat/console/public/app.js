// The local console's page: plain DOM, no build step. Everything shown is inserted as text, never
// as markup, because request reasons and captured statements are untrusted.

const messages = new Map();
const formId = crypto.randomUUID();
let state = { people: { requester: '', approver: '' }, databases: [] };

const $ = (selector) => document.querySelector(selector);
const el = (tag, props = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null) node.setAttribute(key, value);
  }
  for (const child of children.flat()) if (child !== undefined && child !== null && child !== false) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
};
const list = (items) => (items && items.length ? el('ul', {}, items.map((item) => el('li', {}, item))) : null);
/** replaceChildren without the empty parts (null would show as the text "null"). */
const fill = (node, ...children) => node.replaceChildren(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
const title = (text) => text.charAt(0).toUpperCase() + text.slice(1);

async function post(path, body) {
  const response = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', 'x-dbaccess-console': '1' }, body: JSON.stringify(body) });
  const data = await response.json().catch(() => ({}));
  return { status: response.status, data };
}

// ---- The request form --------------------------------------------------------------------------

const form = $('#request-form');

function fillDatabases() {
  const select = form.elements.databaseId;
  select.replaceChildren(...state.databases.map((db) => el('option', { value: db.id }, `${db.id} (${db.environment})${db.description ? ` – ${db.description}` : ''}`)));
  fillLevels();
}

function fillLevels() {
  const db = state.databases.find((candidate) => candidate.id === form.elements.databaseId.value);
  const current = form.elements.level.value;
  form.elements.level.replaceChildren(...(db?.levels ?? ['read']).map((level) => el('option', { value: level }, level)));
  if (db?.levels.includes(current)) form.elements.level.value = current;
}

function draft() {
  const f = form.elements;
  return { databaseId: f.databaseId.value, level: f.level.value, scope: f.scope.value, duration: f.duration.value, reason: f.reason.value, ticket: f.ticket.value, breakGlass: f.breakGlass.checked };
}

function showErrors(errors = {}) {
  for (const span of form.querySelectorAll('.error')) span.textContent = errors[span.dataset.for] ?? '';
}

form.elements.databaseId.addEventListener('change', fillLevels);

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  showErrors();
  $('#form-status').textContent = 'Submitting…';
  const { status, data } = await post('/console/api/requests', draft());
  if (status === 201) {
    $('#form-status').textContent = `Request ${data.id} submitted. It is in the approver's queue.`;
    form.elements.reason.value = '';
    $('#analysis').hidden = true;
  } else {
    showErrors(data.errors);
    $('#form-status').textContent = data.error ?? 'Fix the fields marked in red.';
  }
});

$('#analyze').addEventListener('click', async () => {
  const panel = $('#analysis');
  panel.hidden = false;
  panel.replaceChildren(el('p', { class: 'muted' }, 'Analyzing the request…'));
  await post('/console/api/analyze', { formId, draft: draft() });
});

function renderAnalysis(message) {
  const panel = $('#analysis');
  panel.hidden = false;
  const a = message.data ?? {};
  if (a.problem) {
    fill(panel, el('p', { class: 'error' }, a.problem));
    return;
  }
  const by = a.fallback ? `built-in rules: ${a.fallback}` : a.analyzer === 'heuristic' ? 'built-in rules' : a.analyzer;
  panel.className = `analysis risk-${a.level}`;
  fill(panel,
    el('p', {}, el('strong', {}, `Risk: ${title(a.level)}`), ` (${by})`),
    list(a.reasons),
    a.conflicts?.length ? el('p', {}, el('strong', {}, 'Policy conflicts')) : null, list(a.conflicts),
    a.unusual?.length ? el('p', {}, el('strong', {}, 'Unusual')) : null, list(a.unusual),
    a.suggestion ? el('p', {}, el('strong', {}, 'Narrower option: '), a.suggestion.text) : null,
    ...message.actions.map((action) => el('button', { type: 'button', class: action.style ?? '', onclick: () => useSuggestion(action.value) }, action.label)),
    el('p', { class: 'muted' }, 'You may still submit the request as it is.'),
  );
}

async function useSuggestion(analysisId) {
  const { status, data } = await post('/console/api/suggestion', { analysisId });
  if (status !== 200) {
    $('#form-status').textContent = data.error;
    return;
  }
  form.elements.level.value = data.level;
  if (data.scope) form.elements.scope.value = data.scope;
  form.elements.duration.value = data.duration;
  $('#form-status').textContent = `Suggestion applied: ${data.text}`;
}

// ---- Actions -----------------------------------------------------------------------------------

async function act(action, as, button) {
  const body = { action: action.action, requestId: action.requestId, as };
  if (action.confirm && !window.confirm(action.confirm)) return;
  if (action.action === 'deny') body.reason = window.prompt('Reason for the denial (sent to the requester):', '') ?? '';
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
  if (button) button.disabled = true;
  const { data } = await post('/console/api/actions', body);
  const note = button?.closest('.card, .message')?.querySelector('.result');
  if (note) note.textContent = data.message ?? '';
  if (button) button.disabled = false;
}

const buttons = (message, as) => message.actions.map((action) => el('button', { type: 'button', class: action.style ?? '', 'data-action': action.action, onclick: (event) => act(action, as, event.currentTarget) }, action.label));

// ---- Rendering ---------------------------------------------------------------------------------

function card(message) {
  const { view, status } = message.data;
  const a = view.analysis;
  const risk = a?.level ?? view.risk.level;
  const by = a ? (a.fallback ? `built-in rules: ${a.fallback}` : a.analyzer === 'heuristic' ? 'built-in rules' : a.modelLevel ? `${a.analyzer} rated it ${title(a.modelLevel)}; built-in rules hold it at ${title(risk)}` : a.analyzer) : 'built-in rules';
  const replies = [...messages.values()].filter((m) => m.thread === message.id).sort((x, y) => x.at.localeCompare(y.at));
  return el('article', { class: `card risk-${risk}`, 'data-request': view.id },
    el('h4', {}, `${view.kind === 'extension' ? `Extension of ${view.extendsRequestId}` : `${title(view.level)} access to ${view.databaseId}`} · ${view.id}`),
    el('p', { class: 'status' }, status),
    el('dl', {},
      el('dt', {}, 'Requester'), el('dd', {}, view.requester.externalId),
      el('dt', {}, 'Database'), el('dd', {}, `${view.databaseId} (${view.environment}${view.tags.length ? `, ${view.tags.join(', ')}` : ''})`),
      el('dt', {}, 'Level'), el('dd', {}, view.level),
      el('dt', {}, 'Scope'), el('dd', {}, view.scope.length ? view.scope.join(', ') : 'whole database'),
      el('dt', {}, 'Duration'), el('dd', {}, message.data.duration ?? `${Math.round(view.durationSeconds / 60)} min`),
      el('dt', {}, 'Ticket'), el('dd', {}, view.ticket ?? 'none'),
      el('dt', {}, 'Reason'), el('dd', {}, view.reason),
    ),
    el('p', {}, el('strong', {}, `Risk: ${title(risk)}`), ` (${by})`),
    list(a ? a.reasons : view.risk.reasons),
    !a && view.state === 'pending' && view.kind === 'access' ? el('p', { class: 'muted' }, 'Analysis in progress…') : null,
    a?.conflicts?.length ? el('div', {}, el('strong', {}, 'Policy conflicts'), list(a.conflicts)) : null,
    a?.unusual?.length ? el('div', {}, el('strong', {}, 'Unusual'), list(a.unusual)) : null,
    a?.comparison ? el('p', { class: 'muted' }, `History: ${a.comparison}`) : null,
    a?.suggestion ? el('p', { class: 'muted' }, `Narrower option: ${a.suggestion.text}`) : null,
    a?.alternatives?.length ? el('p', { class: 'muted' }, `Instead: ${a.alternatives.join(' ')}`) : null,
    el('p', { class: 'muted' }, `Recording: ${view.recording}`),
    el('details', {}, el('summary', {}, `Grants: ${view.grantsInWords}`), el('pre', {}, `${view.grantStatements.join(';\n')};`)),
    el('div', {}, buttons(message, 'approver')),
    el('p', { class: 'result', role: 'status' }),
    replies.length ? el('div', { class: 'thread' }, replies.map(reply)) : null,
  );
}

function reply(message) {
  if (message.kind !== 'summary') return el('p', { class: `reply ${message.kind === 'alert' ? 'alert' : ''}` }, message.text);
  const s = message.data;
  return el('div', { class: 'reply summary' },
    el('strong', {}, message.text),
    list(s.lines),
    s.technical ? el('p', {}, el('strong', {}, 'What was run: '), s.technical) : null,
    s.plain ? el('p', {}, el('strong', {}, 'In plain words: '), s.plain) : null,
    s.flags?.length ? el('div', {}, el('strong', {}, 'Flagged for review'), list(s.flags.map((flag) => `${flag.severity}: ${flag.message}`))) : null,
    s.by ? el('p', { class: 'muted' }, `Summary by ${s.by}.`) : null,
  );
}

function inboxMessage(message) {
  if (message.kind !== 'credentials') {
    return el('div', { class: 'message' }, el('p', {}, message.text), el('div', {}, buttons(message, 'requester')), el('p', { class: 'result', role: 'status' }));
  }
  const c = message.data;
  return el('div', { class: 'message credentials', 'data-request': message.requestId },
    el('p', {}, message.text),
    el('dl', {},
      el('dt', {}, 'Host'), el('dd', {}, el('code', {}, c.host)), el('dt', {}, 'Port'), el('dd', {}, el('code', {}, String(c.port))),
      el('dt', {}, 'Database'), el('dd', {}, el('code', {}, c.database)), el('dt', {}, 'User'), el('dd', {}, el('code', {}, c.username)),
      el('dt', {}, 'Password'), el('dd', {}, el('code', {}, c.password)),
    ),
    el('p', {}, 'URI'), el('pre', { class: 'uri' }, c.uri),
    el('p', {}, 'Command'), el('pre', {}, c.command),
    el('div', {}, buttons(message, 'requester')),
    el('p', { class: 'result', role: 'status' }),
  );
}

const newestFirst = (x, y) => y.at.localeCompare(x.at);

function render() {
  const all = [...messages.values()];
  const inbox = all.filter((m) => m.channel === `dm:${state.people.requester}`).sort(newestFirst);
  $('#inbox').replaceChildren(...(inbox.length ? inbox.map(inboxMessage) : [el('p', { class: 'muted' }, 'Credentials and news about your requests arrive here.')]));
  const cards = all.filter((m) => m.channel === 'approvals' && m.kind === 'card').sort(newestFirst);
  $('#approvals').replaceChildren(...(cards.length ? cards.map(card) : [el('p', { class: 'muted' }, 'Requests to decide appear here.')]));
  const alerts = all.filter((m) => m.channel === 'approvals' && !m.thread && m.kind === 'alert').sort(newestFirst).slice(0, 5);
  $('#alerts').replaceChildren(...alerts.map((m) => el('p', { class: 'message alert' }, m.text)));
  const analysis = messages.get(`analysis-${formId}`);
  if (analysis) renderAnalysis(analysis);
}

async function start() {
  const response = await fetch('/console/api/state');
  state = await response.json();
  for (const message of state.messages) messages.set(message.id, message);
  $('#requester-id').textContent = `(${state.people.requester})`;
  $('#approver-id').textContent = `(${state.people.approver})`;
  fillDatabases();
  render();
  const events = new EventSource('/console/events');
  events.addEventListener('open', () => { $('#connection').textContent = 'Live: updates appear as they happen.'; });
  events.addEventListener('error', () => { $('#connection').textContent = 'Reconnecting…'; });
  events.addEventListener('message', (event) => {
    const message = JSON.parse(event.data);
    messages.set(message.id, message);
    render();
  });
}

start();
