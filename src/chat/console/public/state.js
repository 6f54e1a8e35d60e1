// The console page's one state object, and what reads and writes it without drawing anything.

export const ui = {
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

export async function post(path, body) {
  const response = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', 'x-dbaccess-console': '1' }, body: JSON.stringify(body) });
  const data = await response.json().catch(() => ({}));
  return { status: response.status, data };
}

/** Keeps the newer of two copies of a message: the state read and the event stream may overlap. */
export function remember(message) {
  const known = ui.messages.get(message.id);
  if (!known || known.updatedAt <= message.updatedAt) ui.messages.set(message.id, message);
}

export const cardOf = (requestId) => ui.messages.get(`card-${requestId}`);
/** A message true only while its request is in one state (e.g. "Access active until …") is hidden once the card says otherwise. */
export function current(message) {
  const state = message.requestId && message.data?.onlyWhile ? cardOf(message.requestId)?.data?.view?.state : undefined;
  return !state || state === message.data.onlyWhile;
}
