import type { CatalogOf } from '../../config/catalog.js';
import type { Logger } from '../../lib/logger.js';
import type { AccessRequestService } from '../../modules/access-requests/access-request-service.js';
import type { RequestExitService } from '../../modules/access-requests/request-exit-service.js';
import type { AnalysisService } from '../../modules/analysis/analysis-service.js';
import type { AuditService } from '../../modules/audit/audit-service.js';
import type { CliSessionService } from '../../modules/cli-sessions/cli-session-service.js';
import type { AdminAvailability } from '../../modules/credentials/admin-availability.js';
import type { LeaseService } from '../../modules/credentials/lease-service.js';
import type { InsightsService } from '../../modules/insights/insights-service.js';
import type { MfaPurpose, MfaService } from '../../modules/mfa/mfa-service.js';
import type { ReportService } from '../../modules/reports/report-service.js';
import type { Actor } from '../../modules/tenants/tenant-service.js';
import type { Command, CommandKind } from './commands.js';
import type { ChatNotifier } from './notifications.js';
import type { Caller, Reply } from './replies.js';
import type { SystemStatus } from './system-status.js';

/** The dispatcher's collaborators and handler types (apart, so its handler files import no cycle). */

export interface DispatcherDeps {
  requests: Pick<AccessRequestService, 'listMine' | 'view' | 'viewById' | 'decide' | 'quickRefusal' | 'isAdmin' | 'explainPolicyFor' | 'precheck' | 'submit' | 'requestExtension' | 'retryFailed' | 'reviewBreakGlass' | 'now'>;
  /** Cancel, Revoke and End access. */
  exits: Pick<RequestExitService, 'cancel' | 'revoke'>;
  leases: Pick<LeaseService, 'extend' | 'credentialsForRequester' | 'markDelivered'>;
  analysis: Pick<AnalysisService, 'startDraft' | 'suggestionFor'>;
  mfa: Pick<MfaService, 'verify' | 'startEnrollment' | 'checkEnrollmentCode' | 'confirmEnrollment' | 'reset'>;
  /** Health for `status` (admins), scoped to one tenant where it names requests. */
  status?: ((tenantId: string) => Promise<SystemStatus>) | undefined;
  /** Anomalies and recommendations for `insights` (admins). */
  insights?: Pick<InsightsService, 'overview' | 'lastDays'> | undefined;
  /** `report` and `audit verify` (auditors and admins). */
  reports?: Pick<ReportService, 'mayAudit' | 'parseRequest' | 'build' | 'summaryText'> | undefined;
  audit?: Pick<AuditService, 'verifyRecent'> | undefined;
  /** Terminal sign-ins (`login <code>`), when the CLI API is on. */
  cliSessions?: Pick<CliSessionService, 'confirm'> | undefined;
  catalogOf: CatalogOf;
  /** Which databases cannot be served now (their admin reference does not resolve): the form marks them. */
  availability?: Pick<AdminAvailability, 'in'> | undefined;
  /** Where the credentials and the approvers' MFA alerts go. */
  notifier: ChatNotifier;
  logger: Logger;
}

/** A Caller that also names other people of its tenant (`mfa reset @person`). */
export interface TenantCaller extends Caller {
  /** Another person of the same workspace or organisation, by their platform id. */
  other(externalUserId: string): Promise<Actor>;
}

export type Handler<K extends CommandKind> = (caller: TenantCaller, command: Extract<Command, { kind: K }>) => Promise<Reply>;
export type Handlers = { [K in CommandKind]: Handler<K> };

export type VerifyCode = (caller: TenantCaller, actor: Actor, code: string, purpose: MfaPurpose) => Promise<Reply | undefined>;
