import type { FakeSlack, RecordedCall } from '../../test/support/fake-slack.js';

/**
 * Indexes what the app sends to the fake Slack, by request id and by person, so a bench with hundreds
 * of requests in flight can wait for "the card of R…" or "the credentials DM of R…" in O(1).
 *
 * It reads `slack.calls` (the fake's live array) from a cursor every couple of milliseconds, instead of
 * registering hundreds of `waitFor` predicates that each call would run through. Latencies are taken from
 * `RecordedCall.at` (when the fake received the call), so the polling period does not bias them.
 */
export interface IndexedCall {
  call: RecordedCall;
  /** Arrival time at the fake Slack (Date.now()). */
  at: number;
  channel: string;
  ts: string;
}

const RECEIPT = /^(?::[a-z_]+: )?Your request \*(R[0-9A-Z]{9})\*/;

type Kind = 'card' | 'receipt' | 'credentials' | 'viewsOpen';

export class SlackIndex {
  private cursor = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly found = new Map<string, IndexedCall>();
  private readonly waiters = new Map<string, Array<(call: IndexedCall) => void>>();
  /** postMessage calls that failed or were rejected by the fake (should stay 0). */
  failedCalls = 0;

  private readonly approverChannels: ReadonlySet<string>;

  /** `approversChannels`: where cards are posted (one per tenant when the catalog has several). */
  constructor(private readonly slack: FakeSlack, approversChannels: string | readonly string[]) {
    this.approverChannels = new Set(typeof approversChannels === 'string' ? [approversChannels] : approversChannels);
    this.timer = setInterval(() => this.scan(), 2);
  }

  private key(kind: Kind, id: string): string {
    return `${kind}:${id}`;
  }

  private put(kind: Kind, id: string, entry: IndexedCall): void {
    const key = this.key(kind, id);
    if (this.found.has(key)) return; // the first one counts
    this.found.set(key, entry);
    const waiting = this.waiters.get(key);
    if (waiting) {
      this.waiters.delete(key);
      for (const resolve of waiting) resolve(entry);
    }
  }

  scan(): void {
    const calls = this.slack.calls;
    for (; this.cursor < calls.length; this.cursor += 1) {
      const call = calls[this.cursor]!;
      if (call.status !== 200 || (call.response as { ok?: boolean } | undefined)?.ok === false) {
        if (call.method !== 'response_url') this.failedCalls += 1;
        continue;
      }
      if (call.method === 'views.open') {
        const trigger = call.args.trigger_id;
        if (typeof trigger === 'string') this.put('viewsOpen', trigger, { call, at: call.at, channel: '', ts: '' });
        continue;
      }
      if (call.method !== 'chat.postMessage') continue;
      const response = call.response as { channel?: string; ts?: string };
      const entry: IndexedCall = { call, at: call.at, channel: response.channel ?? '', ts: response.ts ?? '' };
      const text = typeof call.args.text === 'string' ? call.args.text : '';
      if (this.approverChannels.has(String(call.args.channel)) && call.args.thread_ts === undefined) {
        const id = /^Access request (R[0-9A-Z]{9}):/.exec(text)?.[1];
        if (id) this.put('card', id, entry);
      } else if (RECEIPT.test(text)) {
        // The requester's receipt: "[:incoming_envelope: ]Your request *R…* (…) is waiting for …"; keyed by the requester's user id.
        const id = RECEIPT.exec(text)?.[1];
        const user = typeof call.args.channel === 'string' ? call.args.channel.replace(/^D/, '') : '';
        if (id && / is waiting for /.test(text)) this.put('receipt', user, { ...entry, ts: id });
      } else if (/is ready until/.test(text)) {
        const id = /Request (R[0-9A-Z]{9})\./.exec(JSON.stringify(call.args.blocks ?? ''))?.[1];
        if (id) this.put('credentials', id, entry);
      }
    }
  }

  get(kind: Kind, id: string): IndexedCall | undefined {
    this.scan();
    return this.found.get(this.key(kind, id));
  }

  wait(kind: Kind, id: string, timeoutMs = 60_000): Promise<IndexedCall> {
    const existing = this.get(kind, id);
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve, reject) => {
      const key = this.key(kind, id);
      const timer = setTimeout(() => {
        const list = this.waiters.get(key) ?? [];
        this.waiters.set(key, list.filter((fn) => fn !== done));
        reject(new Error(`bench: no ${kind} for ${id} within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (call: IndexedCall) => {
        clearTimeout(timer);
        resolve(call);
      };
      const list = this.waiters.get(key) ?? [];
      list.push(done);
      this.waiters.set(key, list);
    });
  }

  /** The card's receipt gives the request id of a requester's (only) request. */
  async requestIdOf(requester: string, timeoutMs?: number): Promise<string> {
    return (await this.wait('receipt', requester, timeoutMs)).ts;
  }

  close(): void {
    clearInterval(this.timer);
  }
}
