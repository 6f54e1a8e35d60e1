// The console's messages: the approvers' cards with their threads, the requester's inbox, alerts,
// and the buttons on them. Drawn again from the state (state.js) whenever it changes.

import { $, copyText, count, el, fill, list, rich, title } from './dom.js';
import { current, post, ui } from './state.js';

/** Beside the rating: a notice when the model and the rules are two bands apart, the model's reading, the time. */
export const riskWords = (words) => (words ? [
  words.notice ? el('p', { class: 'notice' }, words.notice) : null,
  words.model ? el('div', {}, el('strong', {}, words.model.heading), list(words.model.reasons)) : null,
  words.time ? el('p', { class: 'muted' }, words.time) : null,
] : []);

/** Who rated it, for analyses stored before the server said so itself. */
export const analyzedBy = (a, risk = a.level) => (a.fallback ? `built-in rules: ${a.fallback}` : a.analyzer === 'heuristic' ? 'built-in rules'
  : a.modelLevel ? `${a.analyzer} rated it ${title(a.modelLevel)}; built-in rules hold it at ${title(risk)}` : a.analyzer);

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

export function renderLists() {
  const all = [...ui.messages.values()].filter(current);
  const inbox = all.filter((m) => m.channel === `dm:${ui.people.requester}`).sort(newestFirst);
  fill($('#inbox'), inbox.length ? inbox.map(inboxMessage) : el('p', { class: 'muted' }, 'Credentials and news about your requests arrive here.'));
  const cards = all.filter((m) => m.channel === 'approvals' && m.kind === 'card').sort(newestFirst);
  fill($('#approvals'), cards.length ? cards.map(card) : el('p', { class: 'muted' }, 'Requests to decide appear here.'));
  const alerts = all.filter((m) => m.channel === 'approvals' && !m.thread && m.kind === 'alert').sort(newestFirst);
  fill($('#alerts'), alerts.slice(0, 5).map((m) => el('p', { class: 'message alert' }, rich(m.text))),
    alerts.length > 5 ? el('p', { class: 'muted' }, `and ${count(alerts.length - 5, 'older alert')}`) : null);
}
