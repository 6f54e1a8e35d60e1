import { App, HTTPReceiver, LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { CatalogOf, CatalogSet } from '../../config/catalog.js';
import type { SlackDirectory } from './slack-directory.js';
import { publicMessage } from '../../lib/errors.js';
import { withTenant } from '../../modules/tenants/tenant-scope.js';
import type { Logger } from '../../lib/logger.js';
import { validateDraft, type DraftField } from '../../modules/access-requests/access-request-schemas.js';
import type { AccessRequestService } from '../../modules/access-requests/access-request-service.js';
import type { RequestDraft } from '../../modules/access-requests/access-request-types.js';
import type { LeaseService } from '../../modules/credentials/lease-service.js';
import type { RequestExitService } from '../../modules/access-requests/request-exit-service.js';
import type { OffboardingService } from '../../modules/offboarding/offboarding-service.js';
import type { TenantService } from '../../modules/tenants/tenant-service.js';
import { createSlackNotifier } from './slack-notifier.js';
import { createSlackScreen, createViewSeal } from './slack-screen.js';
import { deliveryKey, type createSlackDeliveries } from './slack-deliveries.js';
import type { AuditService } from '../../modules/audit/audit-service.js';
import { REPORT_USAGE, type ReportService } from '../../modules/reports/report-service.js';
import { IDS, fieldBlockId, denyModal, extendModal, helpText, insightsText, listText, mfaEnrollmentBlocks, mfaModal, parseButtonValue, recoveryText, requestModal, statusText, type SystemStatus } from './slack-blocks.js';
import { mrkdwnOf, slackLines } from './slack-rich.js';
import type { MfaService } from '../../modules/mfa/mfa-service.js';
import { formatDuration, parseDuration } from '../../lib/time.js';
import type { AnalysisService } from '../../modules/analysis/analysis-service.js';
import type { InsightsService } from '../../modules/insights/insights-service.js';

export interface SlackOptions {
  signingSecret: string;
  botToken: string;
  apiUrl: string;
  /** Seals the modals dbaccess opens (HMAC of their metadata and whom they are for). */
  viewKey: Buffer;
}

interface Deps {
  mfa: Pick<MfaService, 'verify' | 'startEnrollment' | 'checkEnrollmentCode' | 'confirmEnrollment' | 'reset'>;
  /** Serves a PNG at a short-lived public URL (for the QR code), when a public address is configured. */
  publishQr?: (png: Buffer) => string | undefined;
  /** Health of the system for `/dbaccess status`, scoped to one tenant where it names requests. */
  status: (tenantId: string) => Promise<SystemStatus>;
  tenants: Pick<TenantService, 'actor' | 'ensureTenant'>;
  /** Deliveries already taken in: Slack's retries act once. */
  deliveries: ReturnType<typeof createSlackDeliveries>;
  requests: AccessRequestService;
  analysis: Pick<AnalysisService, 'startDraft' | 'suggestionFor'>;
  /** Anomalies and recommendations for `/dbaccess insights` (admins). */
  insights: Pick<InsightsService, 'overview' | 'lastDays'>;
  leases: Pick<LeaseService, 'extend' | 'credentialsForRequester' | 'markDelivered'>;
  /** Cancel, Revoke and End access. */
  exits: Pick<RequestExitService, 'cancel' | 'revoke'>;
  /** The kill switch when a person's account is deactivated. */
  offboarding: Pick<OffboardingService, 'offboardInTenant'>;
  /** `/dbaccess report` and `/dbaccess audit verify` (auditors and admins). */
  reports?: Pick<ReportService, 'mayAudit' | 'parseRequest' | 'build' | 'summaryText'>;
  audit?: Pick<AuditService, 'verify'>;
  /** The tenant's catalog (its section of the file). */
  catalogOf: CatalogOf;
  /** The whole file (a broken catalog is announced to every tenant's approvers). */
  catalogs: () => CatalogSet;
  /** Emails and user groups of Slack people, when the catalog names people so: warmed after acknowledgements. */
  directory?: Pick<SlackDirectory, 'warm' | 'forgetGroups' | 'forgetUser'> | undefined;
  logger: Logger;
}

const STALE_BUTTON = 'This button is no longer valid. Nothing changed.';
/** `/dbaccess insights` covers this many days. */
const INSIGHTS_DAYS = 30;

type StateValues = Record<string, Record<string, { value?: string | null; selected_option?: { value: string } | null }>>;

/**
 * The Slack adapter: parses Slack payloads, acknowledges at once, calls a service, renders. The
 * request form is validated before the acknowledgement (pure, in memory) so errors show inline.
 */
export function createSlackApp(options: SlackOptions, { mfa, publishQr, status, tenants, deliveries, requests, analysis, insights, leases, exits, offboarding, reports, audit, catalogOf, catalogs, directory, logger }: Deps) {
  const log = logger.child({ platform: 'slack' });
  const receiver = new HTTPReceiver({
    signingSecret: options.signingSecret,
    endpoints: ['/slack/events'],
    logger: boltLogger(log),
    unhandledRequestTimeoutMillis: 2500,
  });
  const app = new App({
    receiver,
    token: options.botToken,
    logger: boltLogger(log),
    clientOptions: { slackApiUrl: options.apiUrl, retryConfig: { retries: 2, maxTimeout: 5000 }, timeout: 10_000 },
    deferInitialization: true,
  });
  const views = createViewSeal(options.viewKey);
  const notifier = createSlackNotifier({ client: app.client, catalogOf, catalogs, seal: views });
  /** Sealed for the person who opened it, in their workspace. */
  const sealFor = <V extends object>(body: unknown, view: V): V => views.seal(view as V & { callback_id?: unknown }, teamOf(body as Record<string, unknown>) ?? '', (body as { user: { id: string } }).user.id);

  // Every listener runs in its workspace's tenant scope: the state database's row-level security
  // then refuses any row of another tenant, whatever a listener or service might ask for.
  // A copy of a delivery already taken in (Slack's retry) is acknowledged and does nothing.
  app.use(async (args) => {
    const body = args.body as Record<string, unknown>;
    const teamId = teamOf(body);
    if (!teamId) return;
    const tenantId = await tenants.ensureTenant('slack', teamId);
    await withTenant(tenantId, async () => {
      const key = deliveryKey(body);
      if (key && !(await deliveries.first(tenantId, key))) {
        await (args as { ack?: () => Promise<void> }).ack?.();
        return;
      }
      await args.next();
    });
  });
  const actorOf = (teamId: string, userId: string, userName?: string) => tenants.actor('slack', teamId, userId, userName);
  /** The workspace's catalog (the tenant is cached after the middleware's first sight of it). */
  const catalogFor = async (teamId: string) => catalogOf(await tenants.ensureTenant('slack', teamId));
  /** The Slack user as the policy sees them: the id, and email and groups from the directory. */
  const asked = async (teamId: string, userId: string) => ({ tenantId: await tenants.ensureTenant('slack', teamId), externalUserId: userId });
  /** Verifies a code; the approvers hear of it at once when wrong codes have just locked someone's MFA. */
  const verifyCode: typeof mfa.verify = async (actor, code, purpose) => {
    const result = await mfa.verify(actor, code, purpose);
    if (!result.ok && result.lockedNow) {
      await notifier.send({ type: 'mfaAlert', tenantId: actor.tenantId, personExternalId: actor.externalUserId, what: 'locked', until: result.lockedUntil }).catch((error: unknown) => log.warn({ err: error }, 'could not tell approvers about a locked MFA'));
    }
    return result;
  };

  // The directory's answers go stale when Slack says a group's members or a profile changed.
  app.event('subteam_members_changed', async ({ body }) => {
    directory?.forgetGroups(await tenants.ensureTenant('slack', teamOf(body as unknown as Record<string, unknown>)!));
  });
  app.event('subteam_updated', async ({ body }) => {
    directory?.forgetGroups(await tenants.ensureTenant('slack', teamOf(body as unknown as Record<string, unknown>)!));
  });
  app.event('user_change', async ({ body, event }) => {
    const tenantId = await tenants.ensureTenant('slack', teamOf(body as unknown as Record<string, unknown>)!);
    directory?.forgetUser(tenantId, event.user.id);
    // Deactivated (Slack marks a deactivated or deleted account `deleted`): the kill switch.
    if (event.user.deleted === true) await offboarding.offboardInTenant(tenantId, event.user.id, 'slack');
  });

  app.command('/dbaccess', async ({ command, ack, client, respond }) => {
    const [sub = '', ...args] = command.text.trim().split(/\s+/).filter(Boolean);
    switch (sub.toLowerCase()) {
      case '':
      case 'request': {
        const catalog = await catalogFor(command.team_id);
        if (catalog.catalog.databases.length === 0) {
          await ack({ response_type: 'ephemeral', text: 'No databases are configured for this workspace yet. An admin adds them to the catalog file (dbaccess.yaml); see the README.' });
          return;
        }
        await ack();
        // The form's check runs before its acknowledgement: look the person up while they fill it in.
        directory?.warm(await tenants.ensureTenant('slack', command.team_id), command.user_id);
        await client.views.open({ trigger_id: command.trigger_id, view: views.seal(requestModal(catalog), command.team_id, command.user_id) as never });
        return;
      }
      case 'help':
        await ack({ response_type: 'ephemeral', text: helpText() });
        return;
      case 'list': {
        await ack();
        const actor = await actorOf(command.team_id, command.user_id, command.user_name);
        const rows = await requests.listMine(actor);
        const views = await Promise.all(rows.filter((row) => row.state === 'active').map((row) => requests.view(row)));
        const active = new Map(views.map((view) => [view.id, view.lease!.expiresAt]));
        await respond({ response_type: 'ephemeral', text: listText(rows, active) });
        return;
      }
      case 'mfa': {
        await ack();
        const actor = await actorOf(command.team_id, command.user_id, command.user_name);
        if (args[0] === 'reset') {
          const target = /^<@([A-Z0-9]+)(\|[^>]*)?>$/.exec(args[1] ?? '')?.[1];
          if (!target) {
            await respond({ response_type: 'ephemeral', text: 'Usage: `/dbaccess mfa reset @person` (admins).' });
            return;
          }
          if (!(await requests.isAdmin(actor))) {
            await respond({ response_type: 'ephemeral', text: 'Only admins can reset MFA. Ask an admin.' });
            return;
          }
          try {
            const subject = await actorOf(command.team_id, target);
            await mfa.reset(actor, subject.userId);
            await notifier.send({ type: 'mfaAlert', tenantId: actor.tenantId, personExternalId: target, what: 'reset', byExternalId: command.user_id });
            await respond({ response_type: 'ephemeral', text: `MFA of <@${target}> is reset; they can enrol again with \`/dbaccess mfa\`.` });
          } catch (error) {
            await respond({ response_type: 'ephemeral', text: publicMessage(error) });
          }
          return;
        }
        try {
          const enrollment = await mfa.startEnrollment(actor, command.user_name || command.user_id);
          const channel = (await client.conversations.open({ users: command.user_id })).channel!.id!;
          const qrUrl = publishQr?.(enrollment.qrPng);
          await client.chat.postMessage({ channel, ...mfaEnrollmentBlocks(enrollment.secret.reveal(), enrollment.otpauthUri.reveal(), qrUrl) } as never);
          await respond({ response_type: 'ephemeral', text: 'I sent you the MFA set-up by direct message.' });
        } catch (error) {
          await respond({ response_type: 'ephemeral', text: publicMessage(error) });
        }
        return;
      }
      case 'policy': {
        await ack();
        const databaseId = (args[0] ?? '').toLowerCase();
        const who = /^<@([A-Z0-9]+)(\|[^>]*)?>$/.exec(args[1] ?? '')?.[1];
        const text = slackLines(await requests.explainPolicyFor(await asked(command.team_id, command.user_id), databaseId, who));
        await respond({ response_type: 'ephemeral', text });
        return;
      }
      case 'report': {
        await ack();
        const actor = await actorOf(command.team_id, command.user_id, command.user_name);
        if (!reports || !(await reports.mayAudit(actor))) {
          await respond({ response_type: 'ephemeral', text: 'Only auditors and admins can make access reports. Ask an admin if you need one.' });
          return;
        }
        try {
          const { period, filters } = await reports.parseRequest(actor.tenantId, args.join(' '));
          const report = await reports.build(actor.tenantId, period, filters);
          await respond({ response_type: 'ephemeral', text: slackLines(reports.summaryText(report)) });
          // The whole chain takes seconds per million events: its verdict follows the summary.
          if (audit) await respond({ response_type: 'ephemeral', text: auditVerdict(await audit.verify(actor.tenantId)) });
        } catch (error) {
          log.warn({ err: error }, 'report not made');
          await respond({ response_type: 'ephemeral', text: `${publicMessage(error)}\n${REPORT_USAGE}` });
        }
        return;
      }
      case 'audit': {
        if ((args[0] ?? '').toLowerCase() !== 'verify') {
          await ack({ response_type: 'ephemeral', text: 'Usage: `/dbaccess audit verify` (auditors and admins): checks that the audit log is complete and unaltered.' });
          return;
        }
        await ack();
        const actor = await actorOf(command.team_id, command.user_id, command.user_name);
        if (!reports || !audit || !(await reports.mayAudit(actor))) {
          await respond({ response_type: 'ephemeral', text: 'Only auditors and admins can verify the audit log. Ask an admin if you need it.' });
          return;
        }
        await respond({ response_type: 'ephemeral', text: auditVerdict(await audit.verify(actor.tenantId)) });
        return;
      }
      case 'status': {
        await ack();
        const actor = await actorOf(command.team_id, command.user_id, command.user_name);
        if (!(await requests.isAdmin(actor))) {
          await respond({ response_type: 'ephemeral', text: 'Only admins can see the system status. Ask an admin if you need it.' });
          return;
        }
        await respond({ response_type: 'ephemeral', text: statusText(await status(actor.tenantId)) });
        return;
      }
      case 'insights': {
        await ack();
        const actor = await actorOf(command.team_id, command.user_id, command.user_name);
        if (!(await requests.isAdmin(actor))) {
          await respond({ response_type: 'ephemeral', text: 'Only admins can see insights (anomalies and policy recommendations). Ask an admin if you need them.' });
          return;
        }
        const overview = await insights.overview(actor.tenantId, insights.lastDays(INSIGHTS_DAYS), (id) => `<@${id}>`);
        await respond({ response_type: 'ephemeral', text: insightsText(overview, INSIGHTS_DAYS) });
        return;
      }
      case 'approve':
      case 'deny': {
        // The text path to a decision: the same checks as the card's buttons (self-approval, approvers,
        // quorum, policy); a decision that needs an MFA code is made on the card, where the code is asked.
        const requestId = (args[0] ?? '').toUpperCase();
        if (!/^R[0-9A-Z]{9}$/.test(requestId)) {
          await ack({ response_type: 'ephemeral', text: `Usage: \`/dbaccess ${sub.toLowerCase()} <request id>${sub.toLowerCase() === 'deny' ? ' [reason]' : ''}\`, e.g. \`/dbaccess ${sub.toLowerCase()} R7F3K2QX9A\`.` });
          return;
        }
        await ack();
        const actor = await actorOf(command.team_id, command.user_id, command.user_name);
        const reason = sub.toLowerCase() === 'deny' ? args.slice(1).join(' ').trim().slice(0, 500) || undefined : undefined;
        const outcome = await requests.decide(actor, requestId, sub.toLowerCase() as 'approve' | 'deny', reason);
        const text = !outcome.ok
          ? outcome.needsMfa ? `${mrkdwnOf(outcome.message)} Approve with the button on the card, which asks for your code.` : mrkdwnOf(outcome.message)
          : outcome.progress ? `Your approval of ${requestId} is recorded: ${mrkdwnOf(outcome.progress)}. More approvers are needed.` : `${sub.toLowerCase() === 'approve' ? 'Approved' : 'Denied'} ${requestId}.`;
        await respond({ response_type: 'ephemeral', text });
        return;
      }
      case 'cancel':
      case 'revoke': {
        const requestId = (args[0] ?? '').toUpperCase();
        if (!/^R[0-9A-Z]{9}$/.test(requestId)) {
          await ack({ response_type: 'ephemeral', text: `Usage: \`/dbaccess ${sub.toLowerCase()} <request id>\`, e.g. \`/dbaccess ${sub.toLowerCase()} R7F3K2QX9A\` (see \`/dbaccess list\`).` });
          return;
        }
        await ack();
        const actor = await actorOf(command.team_id, command.user_id, command.user_name);
        const outcome = sub.toLowerCase() === 'cancel' ? await exits.cancel(actor, requestId) : await exits.revoke(actor, requestId);
        await respond({ response_type: 'ephemeral', text: outcome.message });
        return;
      }
      default:
        await ack({ response_type: 'ephemeral', text: `I do not know \`${sub.slice(0, 30)}\`.\n${helpText()}` });
    }
  });

  app.view(IDS.requestView, async ({ ack, body, view, client }) => {
    const revision = Number(views.data(view.private_metadata)) || 0;
    const draft = readDraft(view.state.values as StateValues, revision);
    const teamId = body.user.team_id ?? body.team!.id;
    const result = validateDraft(draft, await catalogFor(teamId));
    if (!result.ok) {
      await ack({ response_action: 'errors', errors: onForm(result.errors, revision) });
      return;
    }
    // The policy's verdict from the form alone (pure): a refusal shows on the field it concerns.
    const refusal = await requests.precheck(await asked(teamId, body.user.id), result.value);
    if (Object.keys(refusal).length > 0) {
      await ack({ response_action: 'errors', errors: onForm(refusal, revision) });
      return;
    }
    await ack();
    const actor = await actorOf(teamId, body.user.id, body.user.name);
    try {
      await requests.submit(actor, result.value);
    } catch (error) {
      log.error({ err: error }, 'could not store a request');
      const channel = (await client.conversations.open({ users: body.user.id })).channel!.id!;
      await client.chat.postMessage({ channel, text: `Your request could not be stored: ${publicMessage(error)} Nothing was submitted; please try again.` });
    }
  });

  /**
   * "Analyze risk" on the form: progress shows at once, a job runs the analysis (never the model
   * before the acknowledgement) and replaces the form's lower part with the result.
   */
  app.action(IDS.analyze, async ({ ack, body, client }) => {
    await ack();
    const view = (body as { view?: SlackView }).view;
    if (!view) return;
    const revision = Number(views.data(view.private_metadata)) || 0;
    const draft = readDraft(view.state.values, revision);
    const actor = await actorOf(teamOf(body as unknown as Record<string, unknown>)!, body.user.id, body.user.name);
    // Progress first: the job's result must land after it, never under it.
    await client.views.update({ view_id: view.id, hash: view.hash, view: views.seal(requestModal(await catalogOf(actor.tenantId), { draft, revision, analysis: { state: 'running' } })) as never });
    await analysis.startDraft(actor, draft, { platform: 'slack', channel: view.id, ts: String(revision) });
  });

  /** "Use suggestion": the form is filled with the narrower request; the person still submits it. */
  app.action(IDS.useSuggestion, async ({ ack, body, action, client }) => {
    await ack();
    const view = (body as { view?: SlackView }).view;
    const analysisId = (action as { value?: string }).value ?? '';
    if (!view || !/^[0-9a-f-]{36}$/.test(analysisId)) return;
    const revision = Number(views.data(view.private_metadata)) || 0;
    const current = readDraft(view.state.values, revision);
    const actor = await actorOf(teamOf(body as unknown as Record<string, unknown>)!, body.user.id, body.user.name);
    const suggestion = await analysis.suggestionFor(actor, analysisId);
    const draft = suggestion
      ? { ...current, level: suggestion.level, scope: suggestion.scope.length ? suggestion.scope.join(', ') : current.scope, duration: formatDuration(suggestion.durationSeconds) }
      : current;
    const text = suggestion ? suggestion.text : 'That suggestion is no longer available; analyze again.';
    // A new revision: Slack shows new initial values only in blocks it has not seen.
    await client.views.update({ view_id: view.id, hash: view.hash, view: views.seal(requestModal(await catalogOf(actor.tenantId), { draft, revision: revision + 1, analysis: { state: 'applied', text } })) as never });
  });

  app.action(IDS.approve, async ({ ack, body, action, respond, client }) => {
    await ack();
    const value = parseButtonValue((action as { value?: string }).value ?? '');
    if (!value) {
      await respond({ response_type: 'ephemeral', replace_original: false, text: STALE_BUTTON });
      return;
    }
    if (value.mfa) {
      // Step-up: refuse at once who may not decide, or open the code form while the trigger is fresh.
      const refusal = await requests.quickRefusal(await asked(body.user.team_id ?? body.team!.id, body.user.id), value);
      if (refusal) {
        await respond({ response_type: 'ephemeral', replace_original: false, text: mrkdwnOf(refusal) });
        return;
      }
      const channel = (body as { channel?: { id: string } }).channel?.id ?? '';
      await client.views.open({ trigger_id: (body as { trigger_id: string }).trigger_id, view: sealFor(body, mfaModal(value.requestId, JSON.stringify({ requestId: value.requestId, channel }))) as never });
      return;
    }
    const actor = await actorOf(body.user.team_id ?? body.team!.id, body.user.id, (body.user as { username?: string }).username);
    const outcome = await requests.decide(actor, value.requestId, 'approve');
    if (!outcome.ok) await respond({ response_type: 'ephemeral', replace_original: false, text: mrkdwnOf(outcome.message) });
    else if (outcome.progress) await respond({ response_type: 'ephemeral', replace_original: false, text: `Your approval is recorded: ${mrkdwnOf(outcome.progress)}. More approvers are needed.` });
  });

  app.view(IDS.mfaApproveView, async ({ ack, body, view, client }) => {
    const { requestId, channel } = JSON.parse(views.data(view.private_metadata)) as { requestId: string; channel: string };
    const code = ((view.state.values as StateValues).code?.value?.value ?? '').trim();
    const actor = await actorOf(body.user.team_id ?? body.team!.id, body.user.id, body.user.name);
    // The code is checked before the acknowledgement so that a wrong one shows on the form.
    const verified = await verifyCode(actor, code, 'approve');
    if (!verified.ok) {
      const text = verified.reason === 'not-enrolled' ? 'You have no MFA yet: set it up with `/dbaccess mfa`, then approve again.' : verified.message;
      await ack({ response_action: 'errors', errors: { code: text } });
      return;
    }
    await ack();
    const outcome = await requests.decide(actor, requestId, 'approve', undefined, true);
    const text = !outcome.ok ? mrkdwnOf(outcome.message) : outcome.progress ? `Your approval is recorded: ${mrkdwnOf(outcome.progress)}. More approvers are needed.` : undefined;
    if (text && channel) await client.chat.postEphemeral({ channel, user: body.user.id, text });
  });

  app.action(IDS.deny, async ({ ack, body, action, client, respond }) => {
    await ack();
    const value = parseButtonValue((action as { value?: string }).value ?? '');
    if (!value) {
      await respond({ response_type: 'ephemeral', replace_original: false, text: STALE_BUTTON });
      return;
    }
    // Who may deny is known from the button and the catalog: answer without a database read, so the
    // form opens while the trigger is fresh. The decision itself re-checks everything.
    const refusal = await requests.quickRefusal(await asked(body.user.team_id ?? body.team!.id, body.user.id), value);
    if (refusal) {
      await respond({ response_type: 'ephemeral', replace_original: false, text: mrkdwnOf(refusal) });
      return;
    }
    const channel = (body as { channel?: { id: string } }).channel?.id ?? '';
    await client.views.open({
      trigger_id: (body as { trigger_id: string }).trigger_id,
      view: sealFor(body, denyModal(value.requestId, JSON.stringify({ requestId: value.requestId, channel }))) as never,
    });
  });

  app.view(IDS.denyView, async ({ ack, body, view, client }) => {
    await ack();
    const { requestId, channel } = JSON.parse(views.data(view.private_metadata)) as { requestId: string; channel: string };
    const reason = ((view.state.values as StateValues).reason?.value?.value ?? '').trim().slice(0, 500) || undefined;
    const actor = await actorOf(body.user.team_id ?? body.team!.id, body.user.id, body.user.name);
    const outcome = await requests.decide(actor, requestId, 'deny', reason);
    if (!outcome.ok && channel) await client.chat.postEphemeral({ channel, user: body.user.id, text: mrkdwnOf(outcome.message) });
  });

  app.action(IDS.extend, async ({ ack, body, action, client }) => {
    await ack();
    const requestId = (action as { value?: string }).value ?? '';
    // The form opens while the trigger is fresh; the extension itself checks everything.
    const maxDuration = Math.max(0, ...(await catalogFor(teamOf(body as unknown as Record<string, unknown>)!)).catalog.databases.map((db) => db.maxDuration));
    await client.views.open({ trigger_id: (body as { trigger_id: string }).trigger_id, view: sealFor(body, extendModal(requestId, maxDuration)) as never });
  });

  app.view(IDS.extendView, async ({ ack, body, view, client }) => {
    const values = view.state.values as StateValues;
    const seconds = parseDuration(values.duration?.value?.value ?? '');
    if (!seconds || seconds > 7 * 86400) {
      await ack({ response_action: 'errors', errors: { duration: 'Write a duration such as 30m or 2h (at most 7d).' } });
      return;
    }
    await ack();
    const requestId = views.data(view.private_metadata);
    const reason = (values.reason?.value?.value ?? '').trim() || 'More time for the same task.';
    const actor = await actorOf(body.user.team_id ?? body.team!.id, body.user.id, body.user.name);
    const channel = (await client.conversations.open({ users: body.user.id })).channel!.id!;
    try {
      const outcome = await requests.requestExtension(actor, requestId, seconds, reason, (lease, until) => leases.extend(lease, until, `user:${actor.userId}`));
      if (outcome.kind === 'pending') {
        await client.chat.postMessage({ channel, text: `That goes beyond the maximum for this database, so approvers decide: extension request *${outcome.request.id}* is waiting. Your access continues until then.` });
      }
    } catch (error) {
      await client.chat.postMessage({ channel, text: `Could not extend ${requestId}: ${publicMessage(error)}` });
    }
  });

  app.action(IDS.reveal, async ({ ack, body, action, client }) => {
    await ack();
    const requestId = (action as { value?: string }).value ?? '';
    await client.views.open({ trigger_id: (body as { trigger_id: string }).trigger_id, view: sealFor(body, mfaModal(requestId, requestId, 'reveal')) as never });
  });

  app.view(IDS.revealView, async ({ ack, body, view }) => {
    const requestId = views.data(view.private_metadata);
    const code = ((view.state.values as StateValues).code?.value?.value ?? '').trim();
    const actor = await actorOf(body.user.team_id ?? body.team!.id, body.user.id, body.user.name);
    const verified = await verifyCode(actor, code, 'reveal');
    if (!verified.ok) {
      const text = verified.reason === 'not-enrolled' ? 'You have no MFA yet: set it up with `/dbaccess mfa`, then press Reveal again.' : verified.message;
      await ack({ response_action: 'errors', errors: { code: text } });
      return;
    }
    try {
      const ready = await leases.credentialsForRequester(actor, requestId);
      await ack();
      const shown = await requests.view(ready.request);
      const dmRef = await notifier.send({ type: 'credentialsReady', request: shown, credentials: ready.credentials });
      await leases.markDelivered(ready.lease, dmRef ?? null);
    } catch (error) {
      await ack({ response_action: 'errors', errors: { code: publicMessage(error) } });
    }
  });

  app.action(IDS.mfaConfirm, async ({ ack, body, client }) => {
    await ack();
    await client.views.open({ trigger_id: (body as { trigger_id: string }).trigger_id, view: sealFor(body, mfaModal('', '', 'confirm')) as never });
  });

  app.view(IDS.mfaConfirmView, async ({ ack, body, view, client }) => {
    const code = ((view.state.values as StateValues).code?.value?.value ?? '').trim();
    const actor = await actorOf(body.user.team_id ?? body.team!.id, body.user.id, body.user.name);
    // A wrong code is shown in the form; hashing the recovery codes is slow, so it runs after the ack.
    try {
      await mfa.checkEnrollmentCode(actor, code);
    } catch (error) {
      await ack({ response_action: 'errors', errors: { code: publicMessage(error) } });
      return;
    }
    await ack();
    const channel = (await client.conversations.open({ users: body.user.id })).channel!.id!;
    try {
      const { recoveryCodes } = await mfa.confirmEnrollment(actor, code);
      await client.chat.postMessage({ channel, text: recoveryText(recoveryCodes.map((code) => code.reveal())) });
    } catch (error) {
      await client.chat.postMessage({ channel, text: `Two-factor set-up was not confirmed: ${publicMessage(error)}` });
    }
  });

  app.action(IDS.review, async ({ ack, body, action, respond }) => {
    await ack();
    const actor = await actorOf(body.user.team_id ?? body.team!.id, body.user.id, (body.user as { username?: string }).username);
    const text = await requests.reviewBreakGlass(actor, (action as { value?: string }).value ?? '');
    await respond({ response_type: 'ephemeral', replace_original: false, text });
  });

  app.action(IDS.end, async ({ ack, body, action, respond }) => {
    await ack();
    const requestId = (action as { value?: string }).value ?? '';
    const actor = await actorOf(body.user.team_id ?? body.team!.id, body.user.id, (body.user as { username?: string }).username);
    const outcome = await exits.revoke(actor, requestId);
    await respond({ response_type: 'ephemeral', replace_original: false, text: outcome.ok ? `${outcome.message} The card and the credentials message will update.` : outcome.message });
  });

  app.action(IDS.retry, async ({ ack, body, action, respond }) => {
    await ack();
    const actor = await actorOf(body.user.team_id ?? body.team!.id, body.user.id, (body.user as { username?: string }).username);
    const outcome = await requests.retryFailed(actor, (action as { value?: string }).value ?? '');
    await respond({ response_type: 'ephemeral', replace_original: false, text: outcome.message });
  });

  app.action(IDS.cancel, async ({ ack, body, action, respond }) => {
    await ack();
    const { value: requestId = '', block_id: blockId = '' } = action as { value?: string; block_id?: string };
    const actor = await actorOf(body.user.team_id ?? body.team!.id, body.user.id, (body.user as { username?: string }).username);
    const outcome = await exits.cancel(actor, requestId);
    // The requester's receipt loses its button at once; the approvers' card is redrawn by its job.
    if (outcome.ok && blockId.startsWith('received-')) await respond({ replace_original: true, text: outcome.message, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: outcome.message } }] });
    else await respond({ response_type: 'ephemeral', replace_original: false, text: outcome.message });
  });

  app.error(async (error) => {
    log.error({ err: error }, 'slack listener failed');
  });

  return { app, receiver, notifier, screen: createSlackScreen(options.signingSecret, views), async init() { await app.init(); } };
}

/** What `/dbaccess audit verify` (and a report) says about the chain. */
function auditVerdict(result: Awaited<ReturnType<AuditService['verify']>>): string {
  return result.ok
    ? `The audit log is intact: ${result.events.toLocaleString('en-US')} events, each linked to the one before, none missing, none changed.`
    : `:rotating_light: The audit log is broken at event ${result.seq}: ${result.problem}. Everything before event ${result.seq} checks out. Tell your security team.`;
}

/** The workspace a Slack payload comes from: commands carry team_id, interactions team or user.team_id. */
function teamOf(body: Record<string, unknown>): string | undefined {
  const team = body.team as { id?: string } | string | undefined;
  const user = body.user as { team_id?: string } | undefined;
  const id = body.team_id ?? user?.team_id ?? (typeof team === 'object' ? team?.id : team);
  return typeof id === 'string' && /^[A-Z0-9]{2,20}$/.test(id) ? id : undefined;
}

interface SlackView {
  id: string;
  hash: string;
  private_metadata?: string;
  state: { values: StateValues };
}

/** Field errors keyed by the block ids of the form's current revision. */
const onForm = (errors: Partial<Record<DraftField, string>>, revision: number) =>
  Object.fromEntries(Object.entries(errors).map(([field, message]) => [fieldBlockId(field as DraftField, revision), message])) as Record<string, string>;

function readDraft(values: StateValues, revision: number): RequestDraft {
  const field = (id: DraftField) => {
    const state = values[fieldBlockId(id, revision)]?.value;
    return (state?.selected_option?.value ?? state?.value ?? '').toString();
  };
  const breakGlass = (values[fieldBlockId('breakGlass', revision)]?.value as { selected_options?: Array<{ value: string }> | null } | undefined)?.selected_options ?? [];
  return {
    breakGlass: breakGlass.some((option) => option.value === 'yes'),
    databaseId: field('databaseId'),
    level: field('level') as RequestDraft['level'],
    scope: field('scope'),
    duration: field('duration'),
    reason: field('reason'),
    ticket: field('ticket'),
  };
}

/**
 * Bolt's logger interface over pino, so Slack's own messages land in the same structured log. Its
 * debug output carries raw bodies (DMs with passwords): the logger scrubs every line (src/lib/log-scrubber.ts).
 */
export function boltLogger(logger: Logger): BoltLogger {
  let level = LogLevel.INFO;
  return {
    debug: (...msg) => logger.debug(msg.map(String).join(' ')),
    info: (...msg) => logger.info(msg.map(String).join(' ')),
    warn: (...msg) => logger.warn(msg.map(String).join(' ')),
    error: (...msg) => logger.error(msg.map(String).join(' ')),
    setLevel: (next) => { level = next; },
    getLevel: () => level,
    setName: () => {},
  };
}
