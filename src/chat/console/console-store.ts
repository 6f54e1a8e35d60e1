import { randomUUID } from 'node:crypto';

/**
 * What the local console shows, kept in this process's memory: the approvers' channel (cards and
 * their threads), each person's inbox (the DM), and the analyses of open forms. The console is the
 * single-process local mode, so memory is its message store; at start the console draws again, from
 * the state database, the card and the inbox message of each recent request (threads are not kept).
 */

export type ConsoleChannel = 'approvals' | `dm:${string}` | `form:${string}`;

export interface ConsoleAction {
  action: 'approve' | 'approveWithChanges' | 'deny' | 'end' | 'cancel' | 'extend' | 'reveal' | 'review' | 'retry' | 'use-suggestion';
  label: string;
  requestId?: string;
  value?: string;
  style?: 'primary' | 'danger';
  /** A question to confirm before the action runs. */
  confirm?: string;
}

export interface ConsoleMessage {
  id: string;
  channel: ConsoleChannel;
  /** The card a reply belongs to. */
  thread?: string | undefined;
  kind: 'card' | 'reply' | 'credentials' | 'waiting' | 'summary' | 'alert' | 'analysis' | 'notice';
  requestId?: string | undefined;
  /** Plain text, never markup: the page inserts it as text. */
  text: string;
  /** Structured content the page lays out by kind (a request view, credentials, a summary). */
  data?: unknown;
  actions: ConsoleAction[];
  at: string;
  updatedAt: string;
}

export type ConsoleEvent = { type: 'message'; message: ConsoleMessage };

const MAX_MESSAGES = 1000;

export function createConsoleStore() {
  const messages = new Map<string, ConsoleMessage>();
  const listeners = new Set<(event: ConsoleEvent) => void>();

  function put(message: Omit<ConsoleMessage, 'id' | 'at' | 'updatedAt'> & { id?: string }): ConsoleMessage {
    const now = new Date().toISOString();
    const id = message.id ?? randomUUID();
    const previous = messages.get(id);
    const stored: ConsoleMessage = { ...message, id, at: previous?.at ?? now, updatedAt: now };
    messages.delete(id);
    messages.set(id, stored);
    while (messages.size > MAX_MESSAGES) messages.delete(messages.keys().next().value!);
    for (const listener of listeners) listener({ type: 'message', message: stored });
    return stored;
  }

  return {
    put,
    get: (id: string) => messages.get(id),
    list: () => [...messages.values()],
    subscribe(listener: (event: ConsoleEvent) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export type ConsoleStore = ReturnType<typeof createConsoleStore>;
