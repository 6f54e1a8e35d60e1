/** The ticket trackers a rule may verify a ticket with (rules.ticket[].verify); each is configured under integrations. */
export const TRACKERS = ['jira', 'linear', 'github'] as const;
export type TrackerName = (typeof TRACKERS)[number];
