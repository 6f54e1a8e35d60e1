import type { Notification } from './notifications.js';

type Offboarded = Extract<Notification, { type: 'personOffboarded' }>;

const SOURCES: Record<Offboarded['source'], string> = {
  slack: 'their Slack account was deactivated',
  teams: 'they were removed from the organisation\'s team',
  cli: 'an operator ran dbaccess offboard',
};

/** The approvers' notice, in plain words; `person` is how the adapter shows who (a mention, an email). */
export function offboardingLine(left: Offboarded, person: string = left.personExternalId): string {
  const parts = [`${person} left (${SOURCES[left.source]}).`];
  parts.push(left.ended.length ? `Access revoked, sessions killed: ${left.ended.join(', ')}.` : 'No active access to revoke.');
  if (left.cancelled.length) parts.push(`Requests cancelled: ${left.cancelled.join(', ')}.`);
  if (left.failed.length) parts.push(`Revocation still being retried: ${left.failed.join(', ')}.`);
  return parts.join(' ');
}
