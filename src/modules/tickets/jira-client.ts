import { z } from 'zod';
import type { JiraConfig } from '../../config/integrations/jira.js';
import type { Ticket, TrackerClient } from './ticket-types.js';
import { TrackerUnreachable } from './ticket-types.js';
import { trackerFetch } from './tracker-http.js';

/** GET /rest/api/3/issue/{key}: the fields dbaccess reads. Status category `done` means closed. */
const issueSchema = z.object({
  key: z.string().max(100),
  fields: z.object({
    summary: z.string().max(2000).nullish(),
    status: z.object({ name: z.string().max(200), statusCategory: z.object({ key: z.string().max(50) }) }),
    assignee: z.object({ accountId: z.string().max(200).nullish(), emailAddress: z.string().max(254).nullish() }).nullish(),
  }),
});

/** Jira Cloud REST v3: Basic email:token, or Bearer when no email is configured. */
export function createJiraClient(config: Pick<JiraConfig, 'url' | 'email'>, token: string): TrackerClient {
  const label = `Jira (${config.url})`;
  const headers = {
    Accept: 'application/json',
    'Content-Type': 'application/json',
    Authorization: config.email ? `Basic ${Buffer.from(`${config.email}:${token}`).toString('base64')}` : `Bearer ${token}`,
  };
  return {
    tracker: 'jira',
    label,
    async get(key) {
      const answer = await trackerFetch(label, `${config.url}/rest/api/3/issue/${encodeURIComponent(key)}?fields=summary,status,assignee`, { headers });
      if (!answer) return undefined;
      const parsed = issueSchema.safeParse(answer.json);
      if (!parsed.success) throw new TrackerUnreachable(label, 'answered in a shape that is not a Jira issue');
      const { fields } = parsed.data;
      const assignee = fields.assignee;
      return {
        tracker: 'jira', key: parsed.data.key, url: `${config.url}/browse/${parsed.data.key}`, title: fields.summary ?? '',
        open: fields.status.statusCategory.key !== 'done', status: fields.status.name,
        assignees: [assignee?.accountId, assignee?.emailAddress].filter((value): value is string => Boolean(value)).map((value) => value.toLowerCase()),
      } satisfies Ticket;
    },
    async comment(ticket, text) {
      // Atlassian Document Format: one paragraph per line.
      const content = text.split('\n').map((line) => (line ? { type: 'paragraph', content: [{ type: 'text', text: line }] } : { type: 'paragraph', content: [] }));
      await trackerFetch(label, `${config.url}/rest/api/3/issue/${encodeURIComponent(ticket.key)}/comment`, {
        method: 'POST', headers, body: JSON.stringify({ body: { type: 'doc', version: 1, content } }),
      }, { missing: [] });
    },
  };
}
