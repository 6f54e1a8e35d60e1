import type { CatalogOf, CatalogSet, CatalogView } from '../../config/catalog.js';
import type { StoredPolicy } from '../../db/schema/access-requests.js';
import type { Logger } from '../../lib/logger.js';
import { plainText, type RichText } from '../../lib/rich-text.js';
import type { AccessRequestRepo, RequestRow } from '../access-requests/access-request-repo.js';
import type { RequestView } from '../access-requests/access-request-types.js';
import type { RequestExitService } from '../access-requests/request-exit-service.js';
import type { SessionSummary } from '../access-requests/session-summary.js';
import type { AuditService } from '../audit/audit-service.js';
import type { ReferenceResolver } from '../credentials/targets.js';
import type { Person } from '../policy/policy-types.js';
import { matchesRequest } from '../policy/policy-words.js';
import { createGithubClient } from './github-client.js';
import { createJiraClient } from './jira-client.js';
import { createLinearClient } from './linear-client.js';
import { keyExample, ticketKey, trackerTitle } from './ticket-keys.js';
import type { TicketRepo } from './ticket-repo.js';
import { signatureValid, webhookTicket } from './ticket-signatures.js';
import { TrackerUnreachable, type Ticket, type TrackerClient, type TrackerName, type VerifiedTicket } from './ticket-types.js';

interface Deps {
  catalogOf: CatalogOf;
  catalogs: () => CatalogSet;
  /** The same resolver as the admin URLs: `env:` from the environment, `vault:` from Vault. */
  resolveReference: ReferenceResolver;
  repo: TicketRepo;
  requests: Pick<AccessRequestRepo, 'getById'>;
  exits: Pick<RequestExitService, 'endLease'>;
  audit: Pick<AuditService, 'record'>;
  logger: Logger;
  now?: () => Date;
}

/** What the live check says of a request's ticket. */
export type TicketVerdict =
  | { kind: 'none' }
  | { kind: 'verified'; ticket: VerifiedTicket }
  | { kind: 'refused'; message: string; details: Record<string, unknown> };

type StoredTicket = NonNullable<StoredPolicy['ticket']>;

/**
 * Tickets that bind (issue 19, item 4): a rule of rules.ticket with `verify:` has the ticket read live
 * from Jira, Linear or GitHub after submission and before approvers see the request; it must exist,
 * be open and (with `assigned: true`) be assigned to the requester. While the access runs, the ticket
 * is watched (signed webhooks, and a poll by the sweep): once it is closed, the access ends. The
 * session summary goes back to the ticket as a comment.
 *
 * A tracker that cannot be reached fails closed: a rule that asks for a verified ticket is a control,
 * and an unverified ticket is not one. A lease whose ticket cannot be read is left running (its end
 * is still its expiry); the next poll reads it again.
 */
export function createTicketService({ catalogOf, catalogs, resolveReference, repo, requests, exits, audit, logger, now = () => new Date() }: Deps) {
  const log = logger.child({ component: 'tickets' });

  /** The tracker client of a catalog's integration, with its token resolved now (env or Vault). */
  async function clientFor(catalog: CatalogView, tracker: TrackerName): Promise<TrackerClient> {
    const integrations = catalog.catalog.integrations;
    const read = async (reference: string) => {
      try {
        return await resolveReference(reference, `integrations.${tracker}`);
      } catch {
        throw new TrackerUnreachable(trackerTitle[tracker], `cannot be asked: its token (${reference}) could not be read; an admin must set it`);
      }
    };
    switch (tracker) {
      case 'jira': {
        const config = integrations.jira!;
        return createJiraClient(config, await read(config.token));
      }
      case 'linear': {
        const config = integrations.linear!;
        return createLinearClient(config, await read(config.apiKey));
      }
      case 'github': {
        const config = integrations.github!;
        return createGithubClient(config, await read(config.token));
      }
    }
  }

  /** The first rule of rules.ticket that verifies tickets of this request's database and level. */
  function bindingRule(catalog: CatalogView, databaseId: string, level: string) {
    const database = catalog.database(databaseId);
    if (!database) return undefined;
    return catalog.policy.rules.ticket.find((entry) => entry.verify && catalog.catalog.integrations[entry.verify] && matchesRequest(entry, database, level));
  }

  /** Who the requester is in the tracker: the catalog's map first (chat id, then email), then their email. */
  function identities(catalog: CatalogView, tracker: TrackerName, externalId: string, person: Person): string[] {
    const people = catalog.catalog.integrations[tracker]?.people ?? {};
    const email = person.email ?? (externalId.includes('@') ? externalId : undefined);
    const mapped = [people[externalId], email ? people[email] ?? people[email.toLowerCase()] : undefined];
    return [...mapped, email].filter((value): value is string => Boolean(value)).map((value) => value.toLowerCase());
  }

  /**
   * The live check of a submitted request's ticket, after the acknowledgement and before the card:
   * none when no rule asks for it, verified, or refused with what the requester reads and can do.
   */
  async function verify(request: Pick<RequestRow, 'id' | 'tenantId' | 'databaseId' | 'level' | 'ticket'>, requester: { externalId: string; person: Person }): Promise<TicketVerdict> {
    const catalog = await catalogOf(request.tenantId);
    const rule = bindingRule(catalog, request.databaseId, request.level);
    const written = request.ticket?.trim();
    if (!rule?.verify || (!written && !rule.required)) return { kind: 'none' };
    const tracker = rule.verify;
    const title = trackerTitle[tracker];
    const refuse = async (message: string, why: string, extra: Record<string, unknown> = {}): Promise<TicketVerdict> => {
      const details = { rule: 'ticket', tracker, ticket: written ?? null, why, ...extra };
      return { kind: 'refused', message, details };
    };
    if (!written) return refuse(`${request.databaseId} needs a ticket verified in ${title}, and none was given. Ask again with ${keyExample[tracker]}.`, 'missing');
    const key = ticketKey(tracker, written, { repository: catalog.catalog.integrations.github?.repository });
    if (!key) return refuse(`"${written}" is not ${keyExample[tracker]}. Ask again with the ticket written that way.`, 'not-a-key');
    let ticket: Ticket | undefined;
    try {
      ticket = await (await clientFor(catalog, tracker)).get(key);
    } catch (error) {
      if (!(error instanceof TrackerUnreachable)) throw error;
      log.warn({ requestId: request.id, tracker, why: error.why }, 'ticket tracker unreachable: request refused (fail-closed)');
      return refuse(
        `Ticket ${key} could not be verified: ${error.message}. ${request.databaseId} needs a ticket verified live, so nothing was sent to approvers. Ask again in a few minutes; if it lasts, tell an admin.`,
        'tracker-unreachable', { key },
      );
    }
    if (!ticket) return refuse(`Ticket ${key} was not found in ${title} (or dbaccess's account cannot see it). Check the key and ask again with the ticket of this work.`, 'not-found', { key });
    if (!ticket.open) return refuse(`Ticket ${key} is ${ticket.status} in ${title}: access needs an open ticket. Reopen it, or ask again with the open ticket of this work.`, 'closed', { key, status: ticket.status });
    if (rule.assigned) {
      const mine = identities(catalog, tracker, requester.externalId, requester.person);
      if (!ticket.assignees.some((assignee) => mine.includes(assignee))) {
        return refuse(
          `Ticket ${key} is ${ticket.assignees.length ? 'assigned to someone else' : 'assigned to nobody'} in ${title}; ${request.databaseId} needs a ticket assigned to the requester. Assign it to yourself and ask again.`,
          'not-assigned', { key },
        );
      }
    }
    const verified: VerifiedTicket = { tracker, key: ticket.key, url: ticket.url, title: ticket.title.slice(0, 200), status: ticket.status, verifiedAt: now().toISOString() };
    await audit.record({ tenantId: request.tenantId, actor: 'system', action: 'ticket.verified', subject: `request:${request.id}`, outcome: 'success', details: { tracker, key: verified.key, status: verified.status } });
    return { kind: 'verified', ticket: verified };
  }

  /**
   * Reads an active request's ticket again and ends the access when it is closed (or gone). Returns
   * what it found; `unknown` when the tracker could not be reached (the lease keeps running).
   */
  async function recheck(request: RequestRow, via: 'webhook' | 'poll'): Promise<'open' | 'ended' | 'unknown' | 'skipped'> {
    const stored = request.policy?.ticket;
    if (!stored || request.state !== 'active') return 'skipped';
    const catalog = await catalogOf(request.tenantId);
    if (!catalog.catalog.integrations[stored.tracker]) return 'skipped';
    let ticket: Ticket | undefined;
    try {
      ticket = await (await clientFor(catalog, stored.tracker)).get(stored.key);
    } catch (error) {
      if (!(error instanceof TrackerUnreachable)) throw error;
      log.warn({ requestId: request.id, tracker: stored.tracker, why: error.why, via }, 'could not read a bound ticket; the access keeps running until it is read or expires');
      return 'unknown';
    }
    if (ticket?.open) return 'open';
    const status = ticket?.status ?? 'gone';
    const ended = await exits.endLease(request, { actor: `system:${stored.tracker}`, by: null, reason: 'ticket-closed' });
    if (ended) {
      await audit.record({
        tenantId: request.tenantId, actor: `system:${stored.tracker}`, action: 'ticket.closed', subject: `request:${request.id}`, outcome: 'success',
        details: { tracker: stored.tracker, key: stored.key, status, via, lease: ended.leaseId },
      });
      log.info({ requestId: request.id, tracker: stored.tracker, via }, 'bound ticket closed: access ended');
    }
    return 'ended';
  }

  /**
   * A tracker's webhook delivery. Its signature is checked against the webhook secret of every tenant
   * that configures this tracker: 401 when none matches (nothing is read or changed). A verified
   * delivery only says which ticket changed: the ticket is read again with the tenant's own token
   * before anything ends, so a replayed or reordered delivery cannot end access on its own.
   */
  async function webhook(tracker: TrackerName, headers: Record<string, string | string[] | undefined>, rawBody: Buffer): Promise<{ status: 202 | 401; ended: number }> {
    const sections = catalogs().sections.filter((section) => section.view.catalog.integrations[tracker]?.webhookSecret);
    const signers = new Set<string>();
    for (const section of sections) {
      const config = section.view.catalog.integrations[tracker]!;
      const secret = await resolveReference(config.webhookSecret!, `integrations.${tracker}`).catch(() => undefined);
      if (secret && signatureValid(tracker, secret, headers, rawBody, now().getTime())) signers.add(signerOf(section.view, tracker));
    }
    if (signers.size === 0) {
      log.warn({ tracker }, 'webhook refused: no configured secret verifies its signature');
      return { status: 401, ended: 0 };
    }
    let body: unknown;
    try {
      body = JSON.parse(rawBody.toString('utf8'));
    } catch {
      return { status: 202, ended: 0 };
    }
    const mentioned = webhookTicket(tracker, body);
    if (!mentioned) return { status: 202, ended: 0 };
    let ended = 0;
    for (const request of await repo.activeBound(tracker)) {
      const catalog = await catalogOf(request.tenantId);
      if (!signers.has(signerOf(catalog, tracker))) continue;
      if (!sameTicket(tracker, request.policy!.ticket!, mentioned, catalog)) continue;
      if ((await recheck(request, 'webhook')) === 'ended') ended++;
    }
    return { status: 202, ended };
  }

  /** Every active bound lease whose tracker's poll interval has passed is read again (the sweep calls it). */
  const lastPolled = new Map<string, number>();
  async function poll(): Promise<{ checked: number; ended: number }> {
    const at = now().getTime();
    const rows = await repo.activeBound();
    const live = new Set(rows.map((row) => row.id));
    for (const id of lastPolled.keys()) if (!live.has(id)) lastPolled.delete(id);
    let checked = 0;
    let ended = 0;
    const due: RequestRow[] = [];
    for (const row of rows) {
      const config = (await catalogOf(row.tenantId)).catalog.integrations[row.policy!.ticket!.tracker];
      if (!config) continue;
      const last = lastPolled.get(row.id);
      if (last !== undefined && at - last < config.pollEvery * 1000) continue;
      lastPolled.set(row.id, at);
      due.push(row);
    }
    // A few at a time: one slow tracker must not hold the sweep for long.
    for (let index = 0; index < due.length; index += 5) {
      const results = await Promise.all(due.slice(index, index + 5).map((row) => recheck(row, 'poll').catch((error: unknown) => {
        log.warn({ err: error, requestId: row.id }, 'ticket poll failed');
        return 'unknown' as const;
      })));
      checked += results.length;
      ended += results.filter((result) => result === 'ended').length;
    }
    return { checked, ended };
  }

  /** The session summary as a comment on the request's verified ticket (the `ticketComment` job). */
  async function commentSummary(view: RequestView, summary: SessionSummary): Promise<boolean> {
    const stored = view.policy?.ticket;
    if (!stored) return false;
    const catalog = await catalogOf(view.tenantId);
    if (!catalog.catalog.integrations[stored.tracker]) return false;
    const client = await clientFor(catalog, stored.tracker);
    const ticket = stored.tracker === 'linear' ? await client.get(stored.key) : undefined;
    await client.comment(ticket ?? { tracker: stored.tracker, key: stored.key, url: stored.url, title: stored.title, open: false, status: stored.status, assignees: [] }, summaryText(view, summary));
    await audit.record({ tenantId: view.tenantId, actor: 'system', action: 'ticket.commented', subject: `request:${view.id}`, outcome: 'success', details: { tracker: stored.tracker, key: stored.key } });
    return true;
  }

  return { verify, recheck, webhook, poll, commentSummary };
}

export type TicketService = ReturnType<typeof createTicketService>;

/** Which tenant's tracker a verified signature belongs to: its site and secret reference. */
const signerOf = (catalog: CatalogView, tracker: TrackerName) => {
  const config = catalog.catalog.integrations[tracker];
  return config ? `${config.url}|${config.webhookSecret ?? ''}` : '';
};

function sameTicket(tracker: TrackerName, stored: StoredTicket, mentioned: string, catalog: CatalogView): boolean {
  if (stored.key === mentioned) return true;
  if (tracker === 'github') return stored.key.toLowerCase() === mentioned.toLowerCase();
  // Linear may name the issue by its internal id: the stored link ends with the identifier, not the id;
  // read it again in that case (recheck reads the stored key, so any mismatch only costs a read).
  if (tracker === 'linear') return !/^[A-Za-z][A-Za-z0-9]{0,9}-\d+$/.test(mentioned);
  return ticketKey(tracker, mentioned, { repository: catalog.catalog.integrations.github?.repository }) === stored.key;
}

/** The summary as plain text for a ticket comment (people as their chat ids). */
export function summaryText(view: RequestView, summary: SessionSummary): string {
  const line = (value: RichText) => plainText(value, (id) => `@${id}`);
  return [
    `dbaccess: ${view.level} access to ${view.databaseId} (request ${view.id}) under this ticket has ended.`,
    ...summary.lines.map(line),
    ...(summary.plain ? [`In plain words: ${summary.plain}`] : []),
    ...(summary.technical ? [`Technical: ${summary.technical}`] : []),
    ...summary.flags.map((flag) => `${flag.severity === 'info' ? 'Note' : 'Flag'}: ${flag.message}`),
    ...(summary.review ? ['An approver should review this session.'] : []),
  ].join('\n').slice(0, 30_000);
}
