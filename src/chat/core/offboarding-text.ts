import { person, rich, type RichText } from '../../lib/rich-text.js';
import type { Notification } from './notifications.js';

type Offboarded = Extract<Notification, { type: 'personOffboarded' }>;

const SOURCES: Record<Offboarded['source'], string> = {
  slack: 'their Slack account was deactivated',
  teams: 'they were removed from the organisation\'s team',
  cli: 'an operator ran dbaccess offboard',
};

/** The approvers' notice: who left (a person, shown the adapter's way), what was ended and cancelled. */
export function offboardingLine(left: Offboarded): RichText {
  const parts = [left.ended.length ? `Access revoked, sessions killed: ${left.ended.join(', ')}.` : 'No active access to revoke.'];
  if (left.cancelled.length) parts.push(`Requests cancelled: ${left.cancelled.join(', ')}.`);
  if (left.failed.length) parts.push(`Revocation still being retried: ${left.failed.join(', ')}.`);
  return rich`${person(left.personExternalId)} left (${SOURCES[left.source]}). ${parts.join(' ')}`;
}
