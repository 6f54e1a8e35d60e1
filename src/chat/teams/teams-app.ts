import {
  ActivityHandler, CloudAdapter, TeamsInfo, TurnContext, type AdaptiveCardInvokeResponse, type AdaptiveCardInvokeValue,
} from 'botbuilder';
import type { CatalogOf, CatalogSet } from '../../config/catalog.js';
import { withTenant } from '../../modules/tenants/tenant-scope.js';
import { notFound, publicMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { formatDuration, parseDuration } from '../../lib/time.js';
import { validateDraft, type DraftField } from '../../modules/access-requests/access-request-schemas.js';
import type { AccessRequestService } from '../../modules/access-requests/access-request-service.js';
import type { RequestDraft } from '../../modules/access-requests/access-request-types.js';
import type { AnalysisService } from '../../modules/analysis/analysis-service.js';
import type { LeaseService } from '../../modules/credentials/lease-service.js';
import type { RequestExitService } from '../../modules/access-requests/request-exit-service.js';
import type { OffboardingService } from '../../modules/offboarding/offboarding-service.js';
import type { MfaService } from '../../modules/mfa/mfa-service.js';
import type { AuditService } from '../../modules/audit/audit-service.js';
import type { ReportService } from '../../modules/reports/report-service.js';
import type { InsightsOverview } from '../../modules/insights/insights-types.js';
import type { InsightsService } from '../../modules/insights/insights-service.js';
import type { SystemStatus } from '../core/system-status.js';
import type { Actor, TenantService } from '../../modules/tenants/tenant-service.js';
import type { ChatNotifier } from '../core/notifications.js';
import { ADAPTIVE_CARD_CONTENT_TYPE, FORM_INPUTS, escapeMarkdown, approvalCard, attachment, credentialsWaitingCard, requestFormCard, requestReceivedCard, richMarkdown, richParagraphs, type AdaptiveCard } from './teams-cards.js';
import { plainText } from '../../lib/rich-text.js';
import type { TeamsConversations } from './teams-conversations.js';
import { createTeamsNotifier } from './teams-notifier.js';
import { createTeamsAuthentication, type TeamsCloud } from './teams-authentication.js';
import { teamsEndpoint } from './teams-endpoint.js';
import { createInboundAuth } from './teams-inbound-auth.js';

/**
 * The Teams adapter: Bot Framework's CloudAdapter on POST /api/messages inside our Fastify server,
 * authenticated both ways. `dbaccess` in a personal chat (or an @mention in a channel) answers with the
 * request form; Universal Actions (Action.Execute) arrive as invokes and are answered with the card
 * that replaces the clicked one. Transport only: parse, call a service, answer with a card.
 *
 * People are known to policies by email (their Teams sign-in); a Teams tenant is a dbaccess tenant.
 */
export interface TeamsOptions {
  appId: string;
  appPassword: string;
  appTenantId?: string | undefined;
  appType: 'MultiTenant' | 'SingleTenant' | 'UserAssignedMSI';
  /** The Bot Framework's endpoints (the public cloud, a sovereign cloud, one reached elsewhere). */
  cloud: TeamsCloud;
}

interface Deps {
  tenants: Pick<TenantService, 'actor' | 'ensureTenant'>;
  requests: AccessRequestService;
  analysis: Pick<AnalysisService, 'startDraft' | 'suggestionFor'>;
  leases: Pick<LeaseService, 'extend' | 'credentialsForRequester' | 'markDelivered'>;
  /** Cancel, Revoke and End access. */
  exits: Pick<RequestExitService, 'cancel' | 'revoke'>;
  /** The kill switch when a member is removed from the organisation's team. */
  offboarding: Pick<OffboardingService, 'offboardInTenant'>;
  mfa: Pick<MfaService, 'verify' | 'startEnrollment' | 'confirmEnrollment' | 'reset'>;
  conversations: TeamsConversations;
  /** Access reports and the audit chain's check, for auditors and admins. */
  reports?: Pick<ReportService, 'mayAudit' | 'parseRequest' | 'build' | 'summaryText'> | undefined;
  /** Health for `dbaccess status`, and anomalies and recommendations for `dbaccess insights` (admins). */
  status?: ((tenantId: string) => Promise<SystemStatus>) | undefined;
  insights?: Pick<InsightsService, 'overview' | 'lastDays'> | undefined;
  audit?: Pick<AuditService, 'verify'> | undefined;
  /** The tenant's catalog (its section of the file). */
  catalogOf: CatalogOf;
  /** The whole file (a broken catalog is announced to every tenant's approvers). */
  catalogs: () => CatalogSet;
  logger: Logger;
}

type Data = Record<string, unknown>;
const cardResponse = (card: AdaptiveCard): AdaptiveCardInvokeResponse => ({ statusCode: 200, type: ADAPTIVE_CARD_CONTENT_TYPE, value: attachment(card).content as unknown as Record<string, unknown> });
/**
 * A short message instead of a new card: for clicks whose result a job draws on the same message a
 * moment later (End, Extend, Reveal). A replacement card could arrive after the job's and hide it.
 */
const messageResponse = (text: string): AdaptiveCardInvokeResponse => ({ statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: text as unknown as Record<string, unknown> });
/** Universal Actions' error answer: Teams shows it to the person and leaves the card as it was. */
const errorResponse = (message: string): AdaptiveCardInvokeResponse => ({ statusCode: 400, type: 'application/vnd.microsoft.error', value: { code: 'BadRequest', message } });
/** What act answers for a verb no button of dbaccess carries: refused, the card left as it was. */
const UNKNOWN_VERB = Symbol('unknown verb');
const str = (value: unknown, max = 2000) => (typeof value === 'string' ? value.slice(0, max) : '');

export function createTeamsApp(options: TeamsOptions, deps: Deps) {
  const { tenants, requests, analysis, leases, exits, offboarding, mfa, conversations, reports, audit, status, insights, catalogOf, catalogs, logger } = deps;
  const log = logger.child({ platform: 'teams' });
  const adapter = new CloudAdapter(createTeamsAuthentication(options, options.cloud));
  adapter.onTurnError = async (context, error) => {
    log.error({ err: error }, 'teams turn failed');
    if (context.activity.type === 'message') await context.sendActivity('Something went wrong on our side; nothing was changed. Please try again.').catch(() => {});
  };
  const notifier: ChatNotifier = createTeamsNotifier({ adapter, appId: options.appId, conversations, catalogOf, catalogs, logger: log });
  const emails = new Map<string, string>();

  /** The sender's tenant and sign-in (email), remembered with where to reach them. */
  async function actorOf(context: TurnContext): Promise<Actor> {
    const activity = context.activity;
    const teamsTenant = activity.conversation?.tenantId ?? (activity.channelData as { tenant?: { id?: string } } | undefined)?.tenant?.id;
    if (!teamsTenant) throw new Error('activity without a tenant');
    let email = emails.get(activity.from.id);
    if (!email) {
      const member = await TeamsInfo.getMember(context, activity.from.id);
      email = (member.email ?? member.userPrincipalName ?? '').toLowerCase();
      if (!email.includes('@')) throw new Error('the sender has no email address in Teams');
      emails.set(activity.from.id, email);
    }
    return tenants.actor('teams', teamsTenant, email, activity.from.name);
  }

  async function remember(context: TurnContext, actor: Actor): Promise<void> {
    const activity = context.activity;
    const kind = activity.conversation?.conversationType;
    const channelId = (activity.channelData as { channel?: { id?: string } } | undefined)?.channel?.id;
    await conversations.remember(actor.tenantId, TurnContext.getConversationReference(activity), { email: actor.externalUserId, userId: activity.from.id }, kind, channelId);
  }

  const bot = new (class extends ActivityHandler {
    protected override async onAdaptiveCardInvoke(context: TurnContext, value: AdaptiveCardInvokeValue): Promise<AdaptiveCardInvokeResponse> {
      const actor = await actorOf(context);
      return withTenant(actor.tenantId, async () => {
        await remember(context, actor);
        const verb = (value.action as { verb?: string }).verb ?? '';
        const data = (value.action.data ?? {}) as Data;
        try {
          const answer = await act(context, actor, verb, data);
          if (answer === UNKNOWN_VERB) return errorResponse('This button is no longer valid. Nothing changed.');
          return typeof answer === 'string' ? messageResponse(answer) : cardResponse(answer);
        } catch (error) {
          log.warn({ err: error, verb }, 'teams action failed');
          // Say what went wrong without replacing the card: its buttons stay usable (e.g. a wrong code).
          return messageResponse(publicMessage(error));
        }
      });
    }
  })();

  bot.onMessage(async (context, next) => {
    const actor = await actorOf(context);
    await withTenant(actor.tenantId, async () => {
      await remember(context, actor);
      const said = (TurnContext.removeRecipientMention(context.activity) ?? context.activity.text ?? '').replace(/<[^>]*>/g, ' ').trim();
      const [command = '', ...args] = said.replace(/^dbaccess\b\s*/i, '').split(/\s+/).filter(Boolean);
      const teamsTenant = context.activity.conversation?.tenantId ?? (context.activity.channelData as { tenant?: { id?: string } } | undefined)?.tenant?.id ?? '';
      const answer = await runCommand(actor, teamsTenant, command.toLowerCase(), args);
      await context.sendActivity(typeof answer === 'string' ? { text: answer } : { attachments: [attachment(answer)], summary: 'dbaccess' });
    });
    await next();
  });

  // Installed in a team or a personal scope: learn where to write, before anyone asks.
  const learn = async (context: TurnContext, next: () => Promise<void>) => {
    const activity = context.activity;
    const teamsTenant = activity.conversation?.tenantId ?? (activity.channelData as { tenant?: { id?: string } } | undefined)?.tenant?.id;
    if (teamsTenant) {
      const tenantId = await tenants.ensureTenant('teams', teamsTenant);
      const channelId = (activity.channelData as { channel?: { id?: string }; team?: { id?: string } } | undefined)?.channel?.id
        ?? (activity.channelData as { team?: { id?: string } } | undefined)?.team?.id;
      await withTenant(tenantId, () => conversations.remember(tenantId, TurnContext.getConversationReference(activity), undefined, activity.conversation?.conversationType, channelId));
    }
    await next();
  };
  bot.onInstallationUpdate(learn);
  bot.onConversationUpdate(learn);
  // A member removed from a team of the organisation (Entra membership gone): the kill switch.
  bot.onMembersRemoved(async (context, next) => {
    const activity = context.activity;
    const teamsTenant = activity.conversation?.tenantId ?? (activity.channelData as { tenant?: { id?: string } } | undefined)?.tenant?.id;
    const eventType = (activity.channelData as { eventType?: string } | undefined)?.eventType;
    if (teamsTenant && eventType === 'teamMemberRemoved') {
      const tenantId = await tenants.ensureTenant('teams', teamsTenant);
      await withTenant(tenantId, async () => {
        for (const member of activity.membersRemoved ?? []) {
          if (member.id === activity.recipient?.id) continue;
          const email = await conversations.emailOfMember(tenantId, member.id);
          if (email) await offboarding.offboardInTenant(tenantId, email, 'teams');
          else log.warn({ member: member.id }, 'a removed team member was never seen by dbaccess: nothing to offboard');
        }
      });
    }
    await next();
  });

  /** What a text message asks for: the same commands as Slack's `/dbaccess …`. */
  async function runCommand(actor: Actor, teamsTenant: string, command: string, args: string[]): Promise<AdaptiveCard | string> {
    const requestId = (args[0] ?? '').toUpperCase();
    const validId = /^R[0-9A-Z]{9}$/.test(requestId);
    switch (command) {
      case '':
      case 'request': {
        const catalog = await catalogOf(actor.tenantId);
        return catalog.catalog.databases.length === 0 ? 'No databases are configured for this organisation yet. An admin adds them to the catalog file (dbaccess.yaml).' : requestFormCard(catalog);
      }
      case 'list': {
        const rows = await requests.listMine(actor);
        if (rows.length === 0) return 'You have no requests yet. Write dbaccess to ask for access.';
        return ['Your recent requests:', ...rows.slice(0, 15).map((row) => `- ${row.id}: ${row.level} on ${row.databaseId}, ${row.state.replace('_', ' ')}`)].join('\n\n');
      }
      case 'approve':
      case 'deny': {
        if (!validId) return `Usage: dbaccess ${command} <request id>${command === 'deny' ? ' [reason]' : ''}`;
        const outcome = await requests.decide(actor, requestId, command, command === 'deny' ? args.slice(1).join(' ').slice(0, 500) || undefined : undefined);
        if (!outcome.ok) return outcome.needsMfa ? `${richMarkdown(outcome.message).text} Approve with the button on the card, which asks for your code.` : richMarkdown(outcome.message).text;
        return outcome.progress ? `Your approval is recorded: ${richMarkdown(outcome.progress).text}. More approvers are needed.` : `${command === 'approve' ? 'Approved' : 'Denied'} ${requestId}.`;
      }
      case 'cancel':
      case 'revoke': {
        if (!validId) return `Usage: dbaccess ${command} <request id> (see dbaccess list)`;
        return (command === 'cancel' ? await exits.cancel(actor, requestId) : await exits.revoke(actor, requestId)).message;
      }
      case 'mfa': {
        if ((args[0] ?? '').toLowerCase() === 'reset') {
          const email = (args[1] ?? '').toLowerCase();
          if (!email.includes('@')) return 'Usage: dbaccess mfa reset <email> (admins)';
          if (!(await requests.isAdmin(actor))) return 'Only admins can reset MFA. Ask an admin.';
          const subject = await tenants.actor('teams', teamsTenant, email);
          await mfa.reset(actor, subject.userId);
          return `MFA of ${email} is reset; they can set it up again with dbaccess mfa.`;
        }
        const enrollment = await mfa.startEnrollment(actor, actor.externalUserId);
        return mfaEnrollmentCard(enrollment.secret.reveal(), enrollment.otpauthUri.reveal());
      }
      case 'status': {
        if (!status || !(await requests.isAdmin(actor))) return 'Only admins can see the system status. Ask an admin if you need it.';
        return statusMarkdown(await status(actor.tenantId));
      }
      case 'insights': {
        if (!insights || !(await requests.isAdmin(actor))) return 'Only admins can see insights (anomalies and policy recommendations). Ask an admin if you need them.';
        return insightsMarkdown(await insights.overview(actor.tenantId, insights.lastDays(30), (id) => id), 30);
      }
      case 'report': {
        if (!reports || !(await reports.mayAudit(actor))) return 'Only auditors and admins can make access reports. Ask an admin if you need one.';
        try {
          const { period, filters } = await reports.parseRequest(actor.tenantId, args.join(' '));
          return richParagraphs(reports.summaryText(await reports.build(actor.tenantId, period, filters))).text;
        } catch (error) {
          return `${publicMessage(error)} Usage: dbaccess report <period> [db:<database>] [env:<environment>], e.g. dbaccess report 2026-11`;
        }
      }
      case 'audit': {
        if ((args[0] ?? '').toLowerCase() !== 'verify') return 'Usage: dbaccess audit verify (auditors and admins)';
        if (!reports || !audit || !(await reports.mayAudit(actor))) return 'Only auditors and admins can verify the audit log. Ask an admin if you need it.';
        const result = await audit.verify(actor.tenantId);
        return result.ok
          ? `The audit log is intact: ${result.events.toLocaleString('en-US')} events, each linked to the one before, none missing, none changed.`
          : `The audit log is broken at event ${result.seq}: ${result.problem}. Everything before event ${result.seq} checks out. Tell your security team.`;
      }
      case 'policy': {
        return richParagraphs(await requests.explainPolicyFor(actor, (args[0] ?? '').toLowerCase())).text;
      }
      default:
        return [
          'dbaccess: temporary database access, approved in Teams.',
          '- dbaccess: request access (a form)',
          '- dbaccess list: your recent requests',
          '- dbaccess revoke <request id>: end access now (yours, or any as an approver)',
          '- dbaccess cancel <request id>: cancel a request that waits (yours, or any as an approver)',
          '- dbaccess approve <request id> / dbaccess deny <request id> [reason]: decide without the card (approvers)',
          '- dbaccess mfa: set up the second factor some approvals and reveals need',
          '- dbaccess policy <database>: who approves what (admins)',
          '- dbaccess report <period> [db:<database>] [env:<environment>]: the access report with download links (auditors, admins)',
          '- dbaccess audit verify: check that the audit log is complete and unaltered (auditors, admins)',
          '- dbaccess status: system health and failing revocations (admins)',
          '- dbaccess insights: anomalies of the last 30 days and policy recommendations (admins)',
          '- dbaccess mfa reset <email>: reset someone\'s MFA (admins)',
        ].join('\n\n');
    }
  }

  async function act(context: TurnContext, actor: Actor, verb: string, data: Data): Promise<AdaptiveCard | string | typeof UNKNOWN_VERB> {
    const requestId = str(data.requestId, 20);
    const catalog = await catalogOf(actor.tenantId);
    switch (verb) {
      case 'submit': {
        const draft = draftOf(data);
        const result = validateDraft(draft, catalog);
        if (!result.ok) return requestFormCard(catalog, { draft, errors: result.errors });
        const refusal = await requests.precheck(actor, result.value);
        if (Object.keys(refusal).length > 0) return requestFormCard(catalog, { draft, errors: refusal as Partial<Record<DraftField, string>> });
        const row = await requests.submit(actor, result.value);
        return requestReceivedCard(await requests.view(row));
      }
      case 'analyze': {
        const draft = draftOf(data);
        const formRef = { platform: 'teams', channel: context.activity.conversation.id, ts: context.activity.replyToId ?? '' };
        await analysis.startDraft(actor, draft, formRef);
        return requestFormCard(catalog, { draft, analysis: { state: 'running' } });
      }
      case 'useSuggestion': {
        const draft = draftOf(data);
        const suggestion = await analysis.suggestionFor(actor, str(data.analysisId, 40));
        if (!suggestion) return requestFormCard(catalog, { draft, analysis: { state: 'applied', text: 'That suggestion is no longer available; analyze again.' } });
        const applied = { ...draft, level: suggestion.level, scope: suggestion.scope.length ? suggestion.scope.join(', ') : draft.scope, duration: formatDuration(suggestion.durationSeconds) };
        return requestFormCard(catalog, { draft: applied, analysis: { state: 'applied', text: suggestion.text } });
      }
      case 'approve':
      case 'deny': {
        let mfaVerified = false;
        const code = str(data.code, 20).trim();
        if (verb === 'approve' && code) {
          const verified = await mfa.verify(actor, code, 'approve');
          if (!verified.ok) return withNotice(await cardOf(requestId), verified.reason === 'not-enrolled' ? 'You have no MFA yet: set it up first, then approve again.' : verified.message);
          mfaVerified = true;
        }
        const outcome = await requests.decide(actor, requestId, verb, str(data.reason, 500).trim() || undefined, mfaVerified);
        // Said in a message: the card clicked (whatever it is) stays as it was.
        if (!outcome.ok && outcome.notFound) throw notFound(`Request ${requestId}`);
        const card = await cardOf(requestId);
        if (!outcome.ok) return withNotice(card, plainText(outcome.message, (id) => id));
        return outcome.progress ? withNotice(card, `Your approval is recorded: ${plainText(outcome.progress, (id) => id)}. More approvers are needed.`) : card;
      }
      case 'end':
        return (await exits.revoke(actor, requestId)).message;
      case 'cancel': {
        const outcome = await exits.cancel(actor, requestId);
        // The card answers with its new state (no Cancel any more); the receipt with the outcome.
        if (data.from === 'approval-card') return withNotice(await cardOf(requestId), outcome.message);
        return outcome.ok ? notice(outcome.message) : outcome.message;
      }
      case 'review':
        return withNotice(await cardOf(requestId), await requests.reviewBreakGlass(actor, requestId));
      case 'retry':
        return withNotice(await cardOf(requestId), (await requests.retryFailed(actor, requestId)).message);
      case 'extend': {
        const seconds = parseDuration(str(data.duration, 20));
        if (!seconds || seconds > 7 * 86400) return 'Write a duration such as 30m or 2h (at most 7d), then Extend again.';
        const outcome = await requests.requestExtension(actor, requestId, seconds, str(data.reason, 500).trim() || 'More time for the same task.', (lease, until) => leases.extend(lease, until, `user:${actor.userId}`));
        return outcome.kind === 'pending' ? `That goes beyond the maximum, so approvers decide: extension request ${outcome.request.id} is waiting.` : `Extended until ${outcome.until.toISOString().slice(11, 16)} UTC.`;
      }
      case 'reveal': {
        const verified = await mfa.verify(actor, str(data.code, 20).trim(), 'reveal');
        if (!verified.ok) {
          const view = await requests.viewById(requestId);
          const message = verified.reason === 'not-enrolled' ? 'You have no MFA yet: set it up first, then Reveal again.' : verified.message;
          return view ? withNotice(credentialsWaitingCard(view), message) : notice(message);
        }
        const ready = await leases.credentialsForRequester(actor, requestId);
        const ref = await notifier.send({ type: 'credentialsReady', request: await requests.view(ready.request), credentials: ready.credentials });
        await leases.markDelivered(ready.lease, ref ?? null);
        return 'Your credentials are shown in the message.';
      }
      case 'mfaConfirm': {
        const { recoveryCodes } = await mfa.confirmEnrollment(actor, str(data.code, 20).trim());
        return notice(`MFA is set up. Keep these one-time recovery codes somewhere safe; each works once if you lose your authenticator: ${recoveryCodes.map((code) => code.reveal()).join('  ')}`);
      }
      default:
        return UNKNOWN_VERB;
    }
  }

  async function cardOf(requestId: string): Promise<AdaptiveCard> {
    const view = await requests.viewById(requestId);
    return view ? approvalCard(view) : notice(`Request ${requestId} was not found.`);
  }

  /** POST /api/messages: our inbound check, then Bot Framework's own authentication, then the bot. */
  const inbound = createInboundAuth({ appId: options.appId, issuer: options.cloud.channelIssuer, openIdMetadataUrl: options.cloud.openIdMetadataUrl });
  const route = teamsEndpoint({ adapter, inbound, logic: (context) => bot.run(context), log });

  return { adapter, notifier, route };
}

function statusMarkdown(status: SystemStatus): string {
  const lines = [
    '**dbaccess status**',
    `- Active temporary users: ${status.activeLeases}`,
    `- Jobs: ${Object.entries(status.queue).map(([state, count]) => `${count} ${state}`).join(', ')}`,
    status.unreviewedBreakGlass.length
      ? `- Break-glass access not yet reviewed: ${status.unreviewedBreakGlass.map((b) => `${b.id} (${b.level} on ${b.databaseId})`).join(', ')}`
      : '- Break-glass: all reviewed',
    status.failingRevocations.length
      ? `- Revocations failing and retrying: ${status.failingRevocations.map((r) => `${r.username} on ${r.databaseId} (request ${r.requestId}, ${r.attempts} attempts)`).join('; ')}`
      : '- Revocations: none failing',
  ];
  return lines.join('\n\n');
}

function insightsMarkdown(overview: InsightsOverview, days: number): string {
  const lines = [`**Insights: the last ${days} days** (${overview.requestsScored} requests and ${overview.sessionsScored} recorded sessions scored)`, '**Anomalies** (score 3.5 or more)'];
  if (overview.anomalies.length === 0) lines.push('- Nothing stood out.');
  for (const anomaly of overview.anomalies.slice(0, 15)) lines.push(`- ${anomaly.score.toFixed(1)} ${anomaly.requestId} by ${anomaly.personExternalId} on ${anomaly.databaseId}: ${escapeMarkdown(anomaly.text)}`);
  lines.push('**Recommendations**');
  if (overview.recommendations.length === 0) lines.push('- None yet.');
  for (const recommendation of overview.recommendations) lines.push(`- ${recommendation.text} (${recommendation.evidence})`);
  if (overview.notes.length) lines.push('**Not scored yet**', ...overview.notes.map((note) => `- ${note}`));
  return lines.join('\n\n');
}

function draftOf(data: Data): RequestDraft {
  const field = (name: (typeof FORM_INPUTS)[number]) => str(data[name]);
  return {
    databaseId: field('databaseId'), level: field('level'), scope: field('scope'), duration: field('duration'),
    reason: field('reason'), ticket: field('ticket'), breakGlass: data.breakGlass === true || data.breakGlass === 'true',
  };
}

function notice(text: string): AdaptiveCard {
  return { type: 'AdaptiveCard', $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', version: '1.5', body: [{ type: 'TextBlock', text: escapeMarkdown(text, { multiline: true }), wrap: true }] } as AdaptiveCard;
}

/** The authenticator set-up: the secret and its otpauth URI (in this 1:1 chat only), then a first code. */
function mfaEnrollmentCard(secret: string, otpauthUri: string): AdaptiveCard {
  return {
    type: 'AdaptiveCard', $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', version: '1.5',
    body: [
      { type: 'TextBlock', text: 'Set up your second factor', weight: 'Bolder', size: 'Medium', wrap: true },
      { type: 'TextBlock', text: 'Add this key to an authenticator app (or open the otpauth link on your phone), then enter the 6-digit code it shows.', wrap: true },
      { type: 'RichTextBlock', inlines: [{ type: 'TextRun', text: secret, fontType: 'Monospace' }] },
      { type: 'RichTextBlock', inlines: [{ type: 'TextRun', text: otpauthUri, fontType: 'Monospace' }] },
      { type: 'Input.Text', id: 'code', label: 'Code from your authenticator', maxLength: 10 },
    ],
    actions: [{ type: 'Action.Execute', title: 'Confirm', verb: 'mfaConfirm', data: {} }],
  } as unknown as AdaptiveCard;
}

function withNotice(card: AdaptiveCard, text: string): AdaptiveCard {
  return { ...card, body: [{ type: 'TextBlock', text: escapeMarkdown(text, { multiline: true }), wrap: true, color: 'Attention', weight: 'Bolder' } as AdaptiveCard['body'][number], ...card.body] };
}
