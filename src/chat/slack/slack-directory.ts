import type { WebClient } from '@slack/web-api';
import type { Logger } from '../../lib/logger.js';
import type { Person } from '../../modules/policy/policy-evaluator.js';

/** What a tenant's catalog names people by, beyond Slack user ids: emails, Slack user groups. */
export interface DirectoryNeeds {
  emails: boolean;
  groups: boolean;
}

interface Deps {
  client: Pick<WebClient, 'users' | 'usergroups'>;
  /** Whether the tenant's catalog names anyone by email or by Slack user group (nothing is asked otherwise). */
  needs: (tenantId: string) => Promise<DirectoryNeeds>;
  logger: Logger;
  /** How long an answer is used before it is asked again (in the background, the old one meanwhile). */
  ttlMs?: number;
  /** How long a failed lookup waits before it is tried again. */
  retryMs?: number;
  now?: () => number;
}

interface Entry<T> {
  value: T;
  at: number;
  refreshing?: Promise<T> | undefined;
}

/**
 * Who a Slack user is as the policy sees them: their email (users.info, scope users:read.email) and
 * the user groups they belong to (usergroups.list, scope usergroups:read). Asked only when the
 * tenant's catalog names people that way, cached, refreshed in the background when old, and dropped
 * when Slack says a group or a profile changed. A lookup that fails counts as "no email, no groups":
 * roles granted that way are withheld, never assumed, and the log says which scope is missing.
 */
export function createSlackDirectory({ client, needs, logger, ttlMs = 5 * 60_000, retryMs = 30_000, now = Date.now }: Deps) {
  const emails = new Map<string, Entry<string | undefined>>();
  const groups = new Map<string, Entry<Map<string, string[]>>>();
  const log = logger.child({ component: 'slack-directory' });

  /** The cached value while fresh; a stale one while a refresh runs; the lookup itself when there is none. */
  async function cached<T>(cache: Map<string, Entry<T>>, key: string, lookup: () => Promise<{ value: T; ok: boolean }>): Promise<T> {
    const entry = cache.get(key);
    const refresh = () => {
      const placeholder: Entry<T> = { ...(entry ?? { value: undefined as T, at: 0 }) };
      placeholder.refreshing = lookup().then(({ value, ok }) => {
        // Forgotten meanwhile (Slack said it changed): this answer may predate the change; keep it out.
        // A failed lookup is kept briefly, so a missing scope does not cost a round trip per click.
        if (cache.get(key) === placeholder) cache.set(key, { value, at: ok ? now() : now() - ttlMs + retryMs });
        return value;
      });
      cache.set(key, placeholder);
      return placeholder.refreshing;
    };
    if (!entry) return refresh();
    if (entry.refreshing) return entry.at > 0 ? entry.value : entry.refreshing;
    if (now() - entry.at > ttlMs) void refresh();
    return entry.value;
  }

  const emailOf = (tenantId: string, userId: string) =>
    cached(emails, `${tenantId}/${userId}`, async () => {
      try {
        const answer = await client.users.info({ user: userId });
        const email = answer.user?.profile?.email;
        if (!email) log.warn({ userId }, 'Slack gave no email for this user: grant the app users:read.email, or name them by user id in the catalog');
        return { value: email?.toLowerCase(), ok: true };
      } catch (error) {
        log.warn({ err: error, userId }, 'could not read a Slack user (users.info needs users:read and users:read.email); roles given by email are withheld');
        return { value: undefined, ok: false };
      }
    });

  const membership = (tenantId: string) =>
    cached(groups, tenantId, async () => {
      try {
        const answer = await client.usergroups.list({ include_users: true, include_disabled: false });
        const byUser = new Map<string, string[]>();
        for (const group of answer.usergroups ?? []) {
          for (const user of group.users ?? []) byUser.set(user, [...(byUser.get(user) ?? []), group.id!]);
        }
        return { value: byUser, ok: true };
      } catch (error) {
        log.warn({ err: error }, 'could not read the Slack user groups (usergroups.list needs usergroups:read); roles given by user group are withheld');
        return { value: new Map<string, string[]>(), ok: false };
      }
    });

  return {
    async person(tenantId: string, userId: string): Promise<Person> {
      const wanted = await needs(tenantId);
      const [email, byUser] = await Promise.all([
        wanted.emails ? emailOf(tenantId, userId) : undefined,
        wanted.groups ? membership(tenantId) : undefined,
      ]);
      return { slackUserId: userId, email, slackGroups: byUser?.get(userId) ?? [] };
    },
    /** Looks a person up ahead of need (after an acknowledgement), so the form's check finds them cached. */
    warm(tenantId: string, userId: string): void {
      this.person(tenantId, userId).catch((error: unknown) => log.warn({ err: error }, 'could not look a Slack user up ahead'));
    },
    /** Slack said a user group changed (subteam_members_changed, subteam_updated). */
    forgetGroups(tenantId: string): void {
      groups.delete(tenantId);
    },
    /** Slack said a profile changed (user_change). */
    forgetUser(tenantId: string, userId: string): void {
      emails.delete(`${tenantId}/${userId}`);
    },
  };
}

export type SlackDirectory = ReturnType<typeof createSlackDirectory>;
