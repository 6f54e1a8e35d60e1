import type { WebClient } from '@slack/web-api';
import type { CatalogOf, CatalogSet, CatalogView } from '../../config/catalog.js';
import { configError } from '../../lib/errors.js';
import type { MessageRef } from '../../db/schema/access-requests.js';
import type { RequestView } from '../../modules/access-requests/access-request-types.js';
import type { ChatNotifier, Notification, NotificationType } from '../core/notifications.js';
import { summaryPreview } from '../core/request-presenter.js';
import { approvedWithChangesRich } from '../core/changes-presenter.js';
import { mrkdwnOf } from './slack-rich.js';
import { unavailableIn } from '../core/request-form.js';
import type { AdminAvailability } from '../../modules/credentials/admin-availability.js';
import type { ViewSeal } from './slack-screen.js';
import {
  activeText, approvalCard, receivedBlocks, breakGlassText, configProblemText, databaseAvailableText, databaseUnavailableText, mfaAlertText, offboardedText, waitingBlocks, extendedText, approvalCardText, closedText, credentialsBlocks, failingText, flaggedText, requestModal, revokedBlocks, summaryBlocks,
} from './slack-blocks.js';

type Of<T extends NotificationType> = Extract<Notification, { type: T }>;

/** The metadata event type of approval cards: how a card is found again in the channel's history. */
const CARD_EVENT = 'dbaccess_approval_card';

/** Less time than this left in a claim: no post (it would most likely be given up unanswered). */
const MIN_POST_MS = 1000;

/** Slack's own errors that answer a call but say nothing of the install's rights: try again later. */
const PASSING_ERRORS = new Set(['ratelimited', 'rate_limited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

/** Slack answered that this install cannot read the channel's history (a lasting error of the platform), as opposed to no answer at all. */
function historyUnreadable(error: unknown): boolean {
  const { code, data } = (error ?? {}) as { code?: unknown; data?: { error?: unknown } };
  return code === 'slack_webapi_platform_error' && !PASSING_ERRORS.has(String(data?.error));
}

/** Renders every core notification as Slack messages through the Web API. */
export function createSlackNotifier({ client, postOnce, catalogOf, catalogs, seal, availability }: {
  client: WebClient;
  /**
   * Posts an approval card: a client that never retries by itself (a retried post whose first answer was
   * lost would post the card twice; the card job retries instead, looking for the card first) and gives
   * up after `timeoutMs`, whatever other calls wait for.
   */
  postOnce: (timeoutMs: number) => WebClient;
  catalogOf: CatalogOf;
  catalogs: () => CatalogSet;
  seal: Pick<ViewSeal, 'seal'>;
  /** Which databases the request form marks unavailable. */
  availability?: Pick<AdminAvailability, 'in'> | undefined;
}): ChatNotifier {
  const dmChannels = new Map<string, string>();

  async function dm(userExternalId: string): Promise<string> {
    const cached = dmChannels.get(userExternalId);
    if (cached) return cached;
    const opened = await client.conversations.open({ users: userExternalId });
    const channel = opened.channel!.id!;
    dmChannels.set(userExternalId, channel);
    return channel;
  }

  /** The Slack approvers of a request's database (its own, else its tenant's catalog's). */
  const approvers = async (view: RequestView) => {
    const catalog = await catalogOf(view.tenantId);
    const database = catalog.database(view.databaseId);
    return (database && catalog.approversFor(database).slack) ?? defaultApprovers(catalog);
  };
  const defaultApprovers = (catalog: CatalogView) => {
    const slack = catalog.catalog.approvers.slack;
    if (!slack) throw configError('The catalog names no Slack approvers (approvers.slack): Slack has no channel to post to.');
    return slack;
  };

  /** The Slack approvers' channel of a database, wherever it is in the file; undefined when it has no Slack approvers. */
  const channelOfDatabase = (databaseId: string) => {
    const catalog = catalogs().ofDatabase(databaseId);
    const database = catalog?.database(databaseId);
    return catalog && database ? catalog.approversFor(database).slack?.channel : undefined;
  };

  async function post(channel: string, message: { text: string; blocks?: unknown[]; thread_ts?: string }): Promise<MessageRef> {
    const result = await client.chat.postMessage({ channel, ...message } as Parameters<WebClient['chat']['postMessage']>[0]);
    return { platform: 'slack', channel: result.channel!, ts: result.ts! };
  }

  /** A reply in the approval card's thread, or in the approver channel if the card never posted. */
  const thread = async (view: RequestView, text: string, blocks?: unknown[]) =>
    post(view.cardRef?.channel ?? (await approvers(view)).channel, { text, blocks, thread_ts: view.cardRef?.ts });

  /**
   * The card an earlier attempt posted for this request since `since`, found by its metadata in the
   * channel's history (channels:history / groups:history). Undefined when the history, read to its end,
   * has none, or when Slack says the install cannot read it (no such scope, not in the channel: a second
   * card is then possible). A lookup that did not get Slack's answer (rate limited past the client's
   * retries, cut off, timed out, a server error) throws: an unread history is not an empty one, and the
   * card job tries again after its backoff (under a long 429 backlog that was 6 duplicate cards in 30 minutes).
   */
  async function postedCard(channel: string, requestId: string, since: Date): Promise<MessageRef | undefined> {
    let cursor: string | undefined;
    try {
      for (let page = 0; page < 5; page++) {
        const history = await client.conversations.history({ channel, oldest: String(Math.floor(since.getTime() / 1000) - 60), include_all_metadata: true, limit: 200, ...(cursor ? { cursor } : {}) });
        const found = history.messages?.find((message) => message.metadata?.event_type === CARD_EVENT && (message.metadata.event_payload as Record<string, unknown> | undefined)?.request_id === requestId);
        if (found?.ts) return { platform: 'slack', channel, ts: found.ts };
        cursor = history.response_metadata?.next_cursor;
        if (!history.has_more || !cursor) return undefined;
      }
    } catch (error) {
      if (historyUnreadable(error)) return undefined;
      throw error;
    }
    return undefined;
  }

  const renderers = {
    async approvalCard({ request, posting }: Of<'approvalCard'>) {
      const message = { text: approvalCardText(request), blocks: approvalCard(request) };
      const channel = request.cardRef?.channel ?? (await approvers(request)).channel;
      const ref = request.cardRef ?? (posting?.since ? await postedCard(channel, request.id, posting.since) : undefined);
      if (!ref) {
        // Only within a claim: not once the card lock is lost, and over (answered or given up) by its deadline.
        if (!posting) throw new Error(`the approval card of ${request.id} is posted only under its claim`);
        posting.lockLost.throwIfAborted();
        const timeoutMs = Math.floor(posting.deadline - performance.now());
        if (timeoutMs < MIN_POST_MS) throw new Error(`no time left to post the approval card of ${request.id} within its claim`);
        const posted = await postOnce(timeoutMs).chat.postMessage({ channel, ...message, metadata: { event_type: CARD_EVENT, event_payload: { request_id: request.id } } } as Parameters<WebClient['chat']['postMessage']>[0]);
        return { platform: 'slack', channel: posted.channel!, ts: posted.ts! };
      }
      await client.chat.update({ channel: ref.channel, ts: ref.ts, ...message } as Parameters<WebClient['chat']['update']>[0]);
      return ref;
    },
    async requestReceived({ request }: Of<'requestReceived'>) {
      const message = receivedBlocks(request, (await approvers(request)).users);
      if (!request.receiptRef) return post(await dm(request.requester.externalId), message);
      await client.chat.update({ channel: request.receiptRef.channel, ts: request.receiptRef.ts, ...message } as Parameters<WebClient['chat']['update']>[0]);
      return request.receiptRef;
    },
    async approvedWithChanges({ request }: Of<'approvedWithChanges'>) {
      return post(await dm(request.requester.externalId), { text: mrkdwnOf(approvedWithChangesRich(request)) });
    },
    async requestClosed({ request }: Of<'requestClosed'>) {
      return post(await dm(request.requester.externalId), { text: closedText(request) });
    },
    async credentialsReady({ request, credentials }: Of<'credentialsReady'>) {
      const ref = request.lease?.dmRef;
      // After Reveal, the waiting message itself shows the credentials.
      if (ref) {
        await client.chat.update({ channel: ref.channel, ts: ref.ts, ...credentialsBlocks(request, credentials) } as Parameters<WebClient['chat']['update']>[0]);
        return ref;
      }
      return post(await dm(request.requester.externalId), credentialsBlocks(request, credentials));
    },
    async credentialsWaiting({ request }: Of<'credentialsWaiting'>) {
      return post(await dm(request.requester.externalId), waitingBlocks(request));
    },
    async credentialsRevoked({ request }: Of<'credentialsRevoked'>) {
      const ref = request.lease?.dmRef;
      if (!ref) return undefined;
      await client.chat.update({ channel: ref.channel, ts: ref.ts, ...revokedBlocks(request) } as Parameters<WebClient['chat']['update']>[0]);
      return ref;
    },
    async accessExtended({ request }: Of<'accessExtended'>) {
      const text = extendedText(request);
      await post(await dm(request.requester.externalId), { text });
      return thread(request, text);
    },
    async accessActive({ request }: Of<'accessActive'>) {
      return thread(request, activeText(request));
    },
    async operationFailing({ request, operation, attempts, error }: Of<'operationFailing'>) {
      const text = failingText(request, operation, attempts, error);
      const ref = await thread(request, text);
      if (operation === 'revoke' && request.cardRef) await post(request.cardRef.channel, { text });
      if (operation === 'provision') await post(await dm(request.requester.externalId), { text });
      return ref;
    },
    async breakGlassAlert({ request }: Of<'breakGlassAlert'>) {
      return post((await approvers(request)).channel, { text: breakGlassText(request) });
    },
    async mfaAlert(alert: Of<'mfaAlert'>) {
      return post(defaultApprovers(await catalogOf(alert.tenantId)).channel, { text: mfaAlertText(alert) });
    },
    async personOffboarded(left: Of<'personOffboarded'>) {
      return post(defaultApprovers(await catalogOf(left.tenantId)).channel, { text: offboardedText(left) });
    },
    async configProblem({ message }: Of<'configProblem'>) {
      // Every tenant's approvers hear of it; the details only where the file is one tenant's (they
      // could name another tenant's part of the file).
      const { sections } = catalogs();
      const text = configProblemText(sections.length === 1 ? message : undefined);
      const channels = [...new Set(sections.flatMap((section) => section.view.catalog.approvers.slack?.channel ?? []))];
      const refs = await Promise.all(channels.map((channel) => post(channel, { text })));
      return refs[0];
    },
    async databaseUnavailable({ databaseId, message }: Of<'databaseUnavailable'>) {
      const channel = channelOfDatabase(databaseId);
      return channel ? post(channel, { text: databaseUnavailableText(message) }) : undefined;
    },
    async databaseAvailable({ databaseId }: Of<'databaseAvailable'>) {
      const channel = channelOfDatabase(databaseId);
      return channel ? post(channel, { text: databaseAvailableText(databaseId) }) : undefined;
    },
    async sessionSummary({ request, summary }: Of<'sessionSummary'>) {
      return thread(request, summaryPreview(request, summary), summaryBlocks(request, summary));
    },
    async sessionFlagged({ request }: Of<'sessionFlagged'>) {
      return post((await approvers(request)).channel, { text: flaggedText(request) });
    },
    async draftAnalysis(outcome: Of<'draftAnalysis'>) {
      // A modal's ref: `channel` is the view id, `ts` the form's revision.
      // The request form is sealed for anyone: no team or person to name here.
      const catalog = await catalogOf(outcome.tenantId);
      const view = seal.seal(requestModal(catalog, { draft: outcome.draft, revision: Number(outcome.viewRef.ts) || 0, analysis: { state: 'done', outcome }, unavailable: unavailableIn(catalog, availability) }));
      await client.views.update({ view_id: outcome.viewRef.channel, view: view as never });
      return outcome.viewRef;
    },
  } satisfies { [T in NotificationType]: (notification: Of<T>) => Promise<MessageRef | undefined> };

  return {
    send: (notification) => (renderers[notification.type] as (n: Notification) => Promise<MessageRef | undefined>)(notification),
  };
}
