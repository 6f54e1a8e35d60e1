import { z } from 'zod';
import type { GithubConfig } from '../../config/integrations/github.js';
import type { Ticket, TrackerClient } from './ticket-types.js';
import { TrackerUnreachable } from './ticket-types.js';
import { trackerFetch } from './tracker-http.js';

const issueSchema = z.object({
  number: z.number().int(),
  html_url: z.string().max(2000),
  title: z.string().max(2000).nullish(),
  state: z.string().max(20),
  state_reason: z.string().max(50).nullish(),
  assignees: z.array(z.object({ login: z.string().max(100) })).max(100).nullish(),
});

/** `owner/repo#12` as its parts. */
export function githubParts(key: string): { repository: string; number: number } {
  const match = /^([^#\s]+\/[^#\s]+)#(\d+)$/.exec(key)!;
  return { repository: match[1]!, number: Number(match[2]) };
}

/** GitHub REST (Issues) with a token. */
export function createGithubClient(config: Pick<GithubConfig, 'url'>, token: string): TrackerClient {
  const label = `GitHub (${config.url})`;
  const headers = { Accept: 'application/vnd.github+json', 'X-GitHub-Api-Version': '2022-11-28', 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, 'User-Agent': 'dbaccess' };
  const issueUrl = (key: string) => {
    const { repository, number } = githubParts(key);
    return `${config.url}/repos/${repository.split('/').map(encodeURIComponent).join('/')}/issues/${number}`;
  };
  return {
    tracker: 'github',
    label,
    async get(key) {
      // 410: the issue was deleted; 404: it does not exist or the token cannot see the repository.
      const answer = await trackerFetch(label, issueUrl(key), { headers }, { missing: [404, 410] });
      if (!answer) return undefined;
      const parsed = issueSchema.safeParse(answer.json);
      if (!parsed.success) throw new TrackerUnreachable(label, 'answered in a shape that is not a GitHub issue');
      const issue = parsed.data;
      return {
        tracker: 'github', key, url: issue.html_url, title: issue.title ?? '', open: issue.state === 'open',
        status: issue.state === 'open' ? 'open' : `closed${issue.state_reason ? ` (${issue.state_reason.replace(/_/g, ' ')})` : ''}`,
        assignees: (issue.assignees ?? []).map((assignee) => assignee.login.toLowerCase()),
      } satisfies Ticket;
    },
    async comment(ticket, text) {
      await trackerFetch(label, `${issueUrl(ticket.key)}/comments`, { method: 'POST', headers, body: JSON.stringify({ body: text }) }, { missing: [] });
    },
  };
}
