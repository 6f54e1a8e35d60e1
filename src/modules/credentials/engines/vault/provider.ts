import { badInput, configError } from '../../../../lib/errors.js';
import { formatDuration } from '../../../../lib/time.js';
import type { CredentialProvider, Target } from '../../credential-types.js';
import type { VaultClient } from '../../vault-client.js';

interface Deps {
  vault: Pick<VaultClient, 'issue' | 'renew' | 'revoke' | 'health'>;
  /** The session killer of the engine Vault manages (that engine's provider, over the admin connection), by engine name. */
  sessions: (engine: string) => Pick<CredentialProvider, 'killSessions'>;
  now?: () => Date;
}

/**
 * Vault issues and renews its clocks in whole seconds and measures from its own clock; a lease that
 * ends this close before the approved expiry still counts as reaching it.
 */
export const EXPIRY_SLACK_SECONDS = 5;

/**
 * Leases are asked to outlast the approved expiry by this much, so that dbaccess's revocation (which
 * ends sessions) runs before Vault's own expiry (which does not, and after which the sessions of the
 * dropped PostgreSQL role no longer show its name). Within the role's max TTL only; not required.
 */
export const REVOCATION_HEAD_START_SECONDS = 60;

/** Whole seconds from now until the expiry, rounded up so a lease never ends before it. */
export function secondsUntil(expiresAt: Date, now: Date): number {
  return Math.ceil((expiresAt.getTime() - now.getTime()) / 1000);
}

/** Whether a lease of `leaseSeconds` from now lasts until `neededSeconds` from now. */
export function leaseCovers(leaseSeconds: number, neededSeconds: number): boolean {
  return leaseSeconds + EXPIRY_SLACK_SECONDS >= neededSeconds;
}

/**
 * `engine: vault` databases: Vault's database secrets engine creates the user (its role's creation
 * statements decide the grants), renews and revokes it. dbaccess keeps the lease id, asks Vault to
 * revoke at the expiry, and ends the sessions that are still open, which Vault does not do.
 *
 * provision is not idempotent the way the other providers are: every call issues a new user, so the
 * caller must keep `issued.externalLeaseId` from the first success.
 */
export function createVaultProvider({ vault, sessions, now = () => new Date() }: Deps): CredentialProvider {
  function settings(target: Target) {
    const { vault: section, id } = target.entry;
    if (!section) throw configError(`${id} is served by Vault but its catalog entry has no vault section (role, engine).`);
    return section;
  }

  function leaseIdFor(target: Target, username: string, externalLeaseId: string | undefined): string {
    if (!externalLeaseId) {
      throw configError(
        `No Vault lease id is recorded for ${username} on ${target.entry.id}, so it cannot be renewed or revoked through Vault. Revoke it in Vault (vault lease revoke -prefix ${settings(target).mount}/creds/${settings(target).role}) and check how leases are stored.`,
      );
    }
    return externalLeaseId;
  }

  function checkExpiry(expiresAt: Date, at: Date): number {
    if (!(expiresAt instanceof Date) || Number.isNaN(expiresAt.getTime())) throw badInput('The expiry time is not a valid date.');
    const needed = secondsUntil(expiresAt, at);
    if (needed < 1) throw badInput('The expiry time has already passed.');
    return needed;
  }

  return {
    async provision(target, spec) {
      // Vault chooses the user name and password: spec.username and spec.password are not used.
      const { mount, role } = settings(target);
      checkExpiry(spec.expiresAt, now());
      const issued = await vault.issue(mount, role);
      try {
        // Measured after issuing: the lease Vault granted runs from its answer.
        const needed = checkExpiry(spec.expiresAt, now());
        let leaseSeconds = issued.leaseSeconds;
        if (leaseSeconds < needed + REVOCATION_HEAD_START_SECONDS) {
          // The role's TTL is shorter than the approved access (plus the head start); renewals may go up to its max TTL.
          leaseSeconds = await vault.renew(issued.leaseId, needed + REVOCATION_HEAD_START_SECONDS);
          if (!leaseCovers(leaseSeconds, needed)) {
            throw configError(
              `The Vault role ${mount}/roles/${role} cannot keep a user for the approved ${formatDuration(needed)} on ${target.entry.id}: its max TTL allows ${formatDuration(leaseSeconds)}. Raise the role's max_ttl or lower maxDuration of ${target.entry.id}. No credentials were handed out.`,
            );
          }
        }
        return {
          statements: [`<issued by Vault role ${role}>`],
          issued: { username: issued.username, password: issued.password, externalLeaseId: issued.leaseId, leaseSeconds },
        };
      } catch (error) {
        // Nobody else knows this lease id: end it now rather than leave a live user until its TTL runs out.
        await vault.revoke(issued.leaseId).catch(() => {});
        throw error;
      }
    },

    async extend(target, username, expiresAt, externalLeaseId) {
      const leaseId = leaseIdFor(target, username, externalLeaseId);
      const needed = checkExpiry(expiresAt, now());
      // Vault renews from now: same user, same password, open sessions untouched.
      const granted = await vault.renew(leaseId, needed + REVOCATION_HEAD_START_SECONDS);
      if (!leaseCovers(granted, needed)) {
        const until = new Date(now().getTime() + granted * 1000);
        throw configError(
          `The Vault role ${settings(target).mount}/roles/${settings(target).role} does not allow ${username} on ${target.entry.id} to last until ${expiresAt.toISOString()}: its max TTL ends the lease at ${until.toISOString()}.`,
        );
      }
    },

    async killSessions(target, username) {
      return sessions(settings(target).engine).killSessions(target, username);
    },

    async revoke(target, username, externalLeaseId) {
      const leaseId = leaseIdFor(target, username, externalLeaseId);
      const killer = sessions(settings(target).engine);
      // Vault runs the role's revocation statements (they drop the user, so no new logins), but never
      // ends a session. Then every session still open is ended, in one look-up: the session killers
      // find them after the drop as well (PostgreSQL: as sessions left without a role; MySQL: by name),
      // which also covers a session that logged in while Vault was revoking. The access is over
      // whatever Vault answers: its failure does not keep the sessions alive, and is thrown after.
      let vaultFailure: unknown;
      await vault.revoke(leaseId).catch((error: unknown) => {
        vaultFailure = error;
      });
      const killed = await killer.killSessions(target, username).catch((error: unknown) => {
        throw vaultFailure ?? error;
      });
      // A failure throws before anything claims success; the caller retries the whole revocation.
      if (vaultFailure) throw vaultFailure;
      // Vault answers 204 for a lease it no longer knows as well, so an earlier attempt cannot be told apart.
      return { existed: true, sessionsKilled: killed };
    },

    async listUsers() {
      // Vault owns these users: it names them (v-<display>-<role>-...), not our prefix, and revokes
      // them itself when their lease ends. Dropping "orphans" behind Vault's back would leave it
      // holding leases for users that are gone, so the reconciler has nothing to do here.
      return { ours: [], legacy: [] };
    },

    async listObjects(target, scope) {
      // The grants are whatever the Vault role's creation statements say; a table scope cannot narrow them.
      if (scope.length > 0) {
        throw badInput(`Access to ${target.entry.id} is granted by the Vault role ${settings(target).role} as a whole; it cannot be limited to tables or schemas. Ask without a scope.`);
      }
      return { schemas: [], tables: [], columns: {} };
    },

    async listSchemas() {
      // The Vault role's creation statements decide the grants; schema-level scope does not apply.
      return [];
    },

    async ping() {
      await vault.health();
    },

    async close() {
      // The Vault client holds no connections of its own; the session providers are closed by their owner.
    },
  };
}
