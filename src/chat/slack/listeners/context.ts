import type { App } from '@slack/bolt';
import type { CatalogOf, CatalogSet } from '../../../config/catalog.js';
import type { Logger } from '../../../lib/logger.js';
import type { DraftField } from '../../../modules/access-requests/access-request-schemas.js';
import type { RequestDraft } from '../../../modules/access-requests/access-request-types.js';
import type { OffboardingService } from '../../../modules/offboarding/offboarding-service.js';
import type { TenantService } from '../../../modules/tenants/tenant-service.js';
import type { Dispatcher, TenantCaller } from '../../core/dispatcher.js';
import type { ChatNotifier } from '../../core/notifications.js';
import { fieldBlockId } from '../slack-blocks.js';
import type { SlackDirectory } from '../slack-directory.js';
import type { createViewSeal } from '../slack-screen.js';

/** What every Slack listener file receives: the Bolt app, the dispatcher, and how to draw and seal. */
export interface SlackListenerContext {
  app: App;
  dispatcher: Dispatcher;
  views: ReturnType<typeof createViewSeal>;
  notifier: ChatNotifier;
  tenants: Pick<TenantService, 'actor' | 'ensureTenant'>;
  catalogOf: CatalogOf;
  /** The whole catalog file: a workspace's section is read from it before its tenant is known. */
  catalogs: () => CatalogSet;
  offboarding: Pick<OffboardingService, 'offboardInTenant'>;
  /** Emails and user groups of Slack people, when the catalog names people so: warmed after acknowledgements. */
  directory?: Pick<SlackDirectory, 'warm' | 'forgetGroups' | 'forgetUser'> | undefined;
  /** Serves a PNG at a short-lived public URL (for the QR code), when a public address is configured. */
  publishQr?: ((png: Buffer) => string | undefined) | undefined;
  /** Marks the inbox intent of a delivery that reduces access done (its work is done or answered); nothing for any other. */
  intentDone: (body: unknown) => Promise<void>;
  log: Logger;
}

export type StateValues = Record<string, Record<string, { value?: string | null; selected_option?: { value: string } | null }>>;

export interface SlackView {
  id: string;
  hash: string;
  private_metadata?: string;
  state: { values: StateValues };
}

export const STALE_BUTTON = 'This button is no longer valid. Nothing changed.';

/** The workspace a Slack payload comes from: commands carry team_id, interactions team or user.team_id. */
export function teamOf(body: unknown): string | undefined {
  const payload = body as Record<string, unknown>;
  const team = payload.team as { id?: string } | string | undefined;
  const user = payload.user as { team_id?: string } | undefined;
  const id = payload.team_id ?? user?.team_id ?? (typeof team === 'object' ? team?.id : team);
  return typeof id === 'string' && /^[A-Z0-9]{2,20}$/.test(id) ? id : undefined;
}

/**
 * The person behind a payload, for the dispatcher: the tenant is cached after the middleware's first
 * sight of the workspace; the full actor is read only when a command needs it (after `ack()`).
 */
export async function callerOf(ctx: Pick<SlackListenerContext, 'tenants'>, teamId: string, userId: string, userName?: string): Promise<TenantCaller> {
  const tenantId = await ctx.tenants.ensureTenant('slack', teamId);
  let actor: ReturnType<TenantCaller['actor']> | undefined;
  return {
    platform: 'slack', tenantId, externalUserId: userId, name: userName,
    actor: () => (actor ??= ctx.tenants.actor('slack', teamId, userId, userName)),
    other: (externalUserId) => ctx.tenants.actor('slack', teamId, externalUserId),
  };
}

/** The caller of an interaction (a button or a form). */
export const interactionCaller = (ctx: Pick<SlackListenerContext, 'tenants'>, body: unknown) => {
  const user = (body as { user: { id: string; name?: string; username?: string } }).user;
  return callerOf(ctx, teamOf(body)!, user.id, user.username ?? user.name);
};

/** Sealed for the person who opened it, in their workspace. */
export const sealFor = <V extends object>(ctx: Pick<SlackListenerContext, 'views'>, body: unknown, view: V): V =>
  ctx.views.seal(view as V & { callback_id?: unknown }, teamOf(body) ?? '', (body as { user: { id: string } }).user.id);

/** Field errors keyed by the block ids of the form's current revision. */
export const onForm = (errors: Partial<Record<DraftField, string>>, revision: number) =>
  Object.fromEntries(Object.entries(errors).map(([field, message]) => [fieldBlockId(field as DraftField, revision), message])) as Record<string, string>;

export function readDraft(values: StateValues, revision: number): RequestDraft {
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
    startsAt: field('startsAt'),
  };
}

/** A direct message to one person (the channel is opened first; Slack returns the existing one). */
export async function directMessage(app: App, userId: string, message: { text: string; blocks?: unknown[] }): Promise<void> {
  const channel = (await app.client.conversations.open({ users: userId })).channel!.id!;
  await app.client.chat.postMessage({ channel, ...message } as never);
}
