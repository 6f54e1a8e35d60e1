import { publicMessage } from '../../lib/errors.js';
import { code, person, rich, text } from '../../lib/rich-text.js';
import type { MfaPurpose } from '../../modules/mfa/mfa-service.js';
import { formatTime } from '../../lib/time.js';
import { REPORT_USAGE } from '../../modules/reports/report-service.js';
import type { Actor, Platform } from '../../modules/tenants/tenant-service.js';
import type { CatalogView } from '../../config/catalog.js';
import { auditVerdict, insightsNaming, insightsText, listText, statusText } from './command-texts.js';
import { helpText, usageText, type Command, type CommandKind, type Surface, type UsageOf } from './commands.js';
import { actionHandlers } from './dispatcher-actions.js';
import { changesHandlers } from './dispatcher-changes.js';
import type { DispatcherDeps, Handler, Handlers, TenantCaller, VerifyCode } from './dispatch-types.js';
import { fromModule } from './legacy-markup.js';
import { done, failed, refused, type Caller, type Reply } from './replies.js';
import { unavailableIn } from './request-form.js';

/** `insights` covers this many days. */
export const INSIGHTS_DAYS = 30;

/**
 * The inbound half of the chat port: one dispatcher for text commands, buttons and forms on every
 * platform. It makes the admin, approver and auditor checks, calls the services and answers with
 * neutral replies; adapters only parse their payloads into commands and render the replies.
 */
export function createDispatcher(deps: DispatcherDeps, surface: Surface, platformName: string) {
  const { requests, exits, mfa, status, insights, reports, audit, cliSessions, catalogOf, availability, notifier, logger } = deps;

  /**
   * Checks a code. A wrong one is the reply; when it has just locked the person's MFA, the approvers
   * are told (after the acknowledgement), on every platform.
   */
  async function verifyCode(caller: TenantCaller, actor: Actor, proof: string, purpose: MfaPurpose): Promise<Reply | undefined> {
    const verified = await mfa.verify(actor, proof, purpose);
    if (verified.ok) return undefined;
    const message = verified.reason === 'not-enrolled'
      ? rich`You have no MFA yet: set it up with ${code(`${surface.prefix} mfa`)}, then ${purpose === 'reveal' ? 'press Reveal' : 'approve'} again.`
      : text(verified.message);
    const alert = verified.lockedNow
      ? async (): Promise<Reply> => {
        await notifier.send({ type: 'mfaAlert', tenantId: caller.tenantId, personExternalId: caller.externalUserId, what: 'locked', until: verified.lockedUntil })
          .catch((error: unknown) => logger.warn({ err: error }, 'could not tell approvers about a locked MFA'));
        return refused();
      }
      : undefined;
    return { ok: false, say: [message], field: 'code', after: alert };
  }

  const admins = async (caller: Caller, refusal: string, allowed = true): Promise<Reply | undefined> =>
    allowed && (await requests.isAdmin(caller)) ? undefined : refused(text(refusal));

  const auditors = async (caller: Caller, refusal: string, allowed: boolean): Promise<Reply | undefined> =>
    allowed && reports && (await reports.mayAudit(caller)) ? undefined : refused(text(refusal));

  /** The empty request form of a catalog, or why there is none. In memory: no round trip. */
  const requestForm = (platform: Platform, catalog: CatalogView): Reply =>
    catalog.catalog.databases.length === 0
      ? refused(text(`No databases are configured for this ${platform === 'teams' ? 'organisation' : 'workspace'} yet. An admin adds them to the catalog file (dbaccess.yaml); see the README.`))
      : { ok: true, say: [], show: { kind: 'requestForm', catalog, state: { unavailable: unavailableIn(catalog, availability) } } };

  /** Answers made of words alone. */
  const words = {
    help: () => done(helpText(surface, platformName)),
    unknown: (word: string) => refused(rich`I do not know ${code(word)}.\n${helpText(surface, platformName)}`),
    usage: (of: UsageOf) => refused(usageText(of, surface)),
  };

  const commandHandlers = {
    requestForm: async (caller) => requestForm(caller.platform, await catalogOf(caller.tenantId)),
    help: async () => words.help(),
    unknown: async (_caller, { word }) => words.unknown(word),
    usage: async (_caller, { of }) => words.usage(of),

    async list(caller) {
      const actor = await caller.actor();
      const rows = await requests.listMine(actor);
      const shown = await Promise.all(rows.filter((row) => row.state === 'active').slice(0, 15).map((row) => requests.view(row)));
      const active = new Map(shown.flatMap((view) => (view.lease ? [[view.id, view.lease.expiresAt] as const] : [])));
      return done(listText(rows, active, surface.prefix));
    },

    async decide(caller, command) {
      const { decision, requestId, reason, mfa: proof, via } = command;
      const actor = await caller.actor();
      const redraw = async (reply: Reply): Promise<Reply> =>
        command.redraw ? { ...reply, show: { kind: 'requestCard', requestId, request: await requests.viewById(requestId) } } : reply;
      if (proof) {
        const wrong = await verifyCode(caller, actor, proof.code, 'approve');
        if (wrong) return redraw(wrong);
      }
      // The code (when there is one) is checked before the acknowledgement; the decision after it.
      const decide = async (): Promise<Reply> => {
        const outcome = await requests.decide(actor, requestId, decision, reason, proof !== undefined);
        if (!outcome.ok) {
          const message = fromModule(outcome.message);
          const said = outcome.needsMfa && via === 'text' ? rich`${message} Approve with the button on the card, which asks for your code.` : message;
          return outcome.notFound ? { ok: false, notFound: true, say: [said] } : redraw(refused(said));
        }
        if (outcome.progress) return redraw(done(rich`Your approval of ${requestId} is recorded: ${outcome.progress}. More approvers are needed.`));
        return redraw({ ok: true, quiet: via === 'button', say: [text(`${decision === 'approve' ? 'Approved' : 'Denied'} ${requestId}.`)] });
      };
      return proof ? { ok: true, say: [], after: decide } : decide();
    },

    async cancel(caller, { requestId }) {
      const outcome = await exits.cancel(await caller.actor(), requestId);
      return { ok: outcome.ok, notFound: outcome.notFound, say: [fromModule(outcome.message)] };
    },

    async revoke(caller, { requestId, via }) {
      const outcome = await exits.revoke(await caller.actor(), requestId);
      const message = fromModule(outcome.message);
      return { ok: outcome.ok, notFound: outcome.notFound, say: [outcome.ok && via === 'button' ? rich`${message} The card and the credentials message will update.` : message] };
    },

    async mfaEnrol(caller) {
      const actor = await caller.actor();
      const enrollment = await mfa.startEnrollment(actor, caller.name || caller.externalUserId);
      return { ok: true, say: [], show: { kind: 'mfaSetup', secret: enrollment.secret.reveal(), otpauthUri: enrollment.otpauthUri.reveal(), qrPng: enrollment.qrPng } };
    },

    async mfaReset(caller, { target }) {
      const refusal = await admins(caller, 'Only admins can reset MFA. Ask an admin.');
      if (refusal) return refusal;
      const [actor, subject] = await Promise.all([caller.actor(), caller.other(target)]);
      await mfa.reset(actor, subject.userId);
      // The approvers hear of every reset, on every platform: a reset is how a stolen account gets a new factor.
      await notifier.send({ type: 'mfaAlert', tenantId: caller.tenantId, personExternalId: target, what: 'reset', byExternalId: caller.externalUserId })
        .catch((error: unknown) => logger.warn({ err: error }, 'could not tell approvers about an MFA reset'));
      return done(rich`MFA of ${person(target)} is reset; they can set it up again with ${surface.prefix} mfa.`);
    },

    async status(caller) {
      const refusal = await admins(caller, 'Only admins can see the system status. Ask an admin if you need it.', Boolean(status));
      return refusal ?? done(statusText(await status!(caller.tenantId)));
    },

    async insights(caller) {
      const refusal = await admins(caller, 'Only admins can see insights (anomalies and policy recommendations). Ask an admin if you need them.', Boolean(insights));
      if (refusal) return refusal;
      return done(insightsText(await insights!.overview(caller.tenantId, insights!.lastDays(INSIGHTS_DAYS), insightsNaming), INSIGHTS_DAYS));
    },

    async report(caller, { query }) {
      const refusal = await auditors(caller, 'Only auditors and admins can make access reports. Ask an admin if you need one.', true);
      if (refusal) return refusal;
      try {
        const { period, filters } = await reports!.parseRequest(caller.tenantId, query);
        const summary = fromModule(reports!.summaryText(await reports!.build(caller.tenantId, period, filters)));
        // Checked from the last verified checkpoint (the whole chain is the CLI's): its verdict follows the summary.
        const verdict = audit ? [auditVerdict(await audit.verifyRecent(caller.tenantId))] : [];
        return done(summary, ...verdict);
      } catch (error) {
        logger.warn({ err: error }, 'report not made');
        return refused(rich`${publicMessage(error)}\n${fromModule(REPORT_USAGE)}`);
      }
    },

    async auditVerify(caller) {
      const refusal = await auditors(caller, 'Only auditors and admins can verify the audit log. Ask an admin if you need it.', Boolean(audit));
      return refusal ?? done(auditVerdict(await audit!.verifyRecent(caller.tenantId)));
    },

    /** Typing the code is the confirmation: only the person who started the sign-in sees it. */
    async cliLogin(caller, { code: typed }) {
      if (!cliSessions) return refused(text('Signing in from a terminal is not enabled on this dbaccess.'));
      const confirmed = await cliSessions.confirm(await caller.actor(), typed);
      if (!confirmed) return refused(rich`No terminal sign-in waits with the code ${code(typed)}: codes last 10 minutes and work once. Run ${code('dbaccess connect')} again for a new one.`);
      return done(rich`Your terminal (${confirmed.client}) is signed in as you until ${formatTime(confirmed.tokenExpiresAt)}: it can request access and connect in your name. If you did not start this sign-in, tell an admin now.`);
    },

    async policy(caller, { databaseId, about }) {
      return done(fromModule(await requests.explainPolicyFor(caller, databaseId, about)));
    },
  } satisfies Partial<Handlers>;

  const handlers: Handlers = { ...commandHandlers, ...actionHandlers(deps, surface, verifyCode), ...changesHandlers(deps, verifyCode) };

  /** Carries out one command; a service's refusal or error becomes the reply, never an exception. */
  async function dispatch(caller: TenantCaller, command: Command): Promise<Reply> {
    try {
      return await (handlers[command.kind] as Handler<CommandKind>)(caller, command as never);
    } catch (error) {
      logger.warn({ err: error, command: command.kind }, 'chat command failed');
      return failed(error);
    }
  }

  /**
   * The answer to a command that needs nothing but its words and the workspace's catalog (both in
   * memory), for a platform's acknowledgement before the workspace's tenant is known: a workspace's
   * first commands must not wait for its tenant's look-up (Slack allows 3 s, and a burst of them
   * would queue behind it). The request form, help, usage, an unknown word; undefined for every other
   * command, which is carried out by `dispatch` after the acknowledgement.
   */
  function answerBeforeTenant(command: Command, workspace: { platform: Platform; catalog: CatalogView }): Reply | undefined {
    switch (command.kind) {
      case 'requestForm':
        return requestForm(workspace.platform, workspace.catalog);
      case 'help':
        return words.help();
      case 'unknown':
        return words.unknown(command.word);
      case 'usage':
        return words.usage(command.of);
      default:
        return undefined;
    }
  }

  return { dispatch, answerBeforeTenant, surface };
}

export type Dispatcher = ReturnType<typeof createDispatcher>;
export type { DispatcherDeps, Handler, Handlers, TenantCaller, VerifyCode };
