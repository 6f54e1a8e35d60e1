import { z } from 'zod';
import { scrubText } from '../../lib/log-scrubber.js';
import type { LinearConfig } from '../../config/integrations/linear.js';
import type { Ticket, TrackerClient } from './ticket-types.js';
import { TrackerUnreachable } from './ticket-types.js';
import { trackerFetch } from './tracker-http.js';

const ISSUE_QUERY = 'query Issue($id: String!) { issue(id: $id) { id identifier title url state { name type } assignee { email } } }';
const COMMENT_MUTATION = 'mutation Comment($input: CommentCreateInput!) { commentCreate(input: $input) { success } }';

const issueSchema = z.object({
  id: z.string().max(100),
  identifier: z.string().max(100),
  title: z.string().max(2000).nullish(),
  url: z.string().max(2000),
  state: z.object({ name: z.string().max(200), type: z.string().max(50) }),
  assignee: z.object({ email: z.string().max(254).nullish() }).nullish(),
});
const answerSchema = z.object({
  data: z.object({ issue: issueSchema.nullish() }).nullish(),
  errors: z.array(z.object({ message: z.string().max(2000), extensions: z.object({ code: z.string().max(100).optional() }).passthrough().optional() }).passthrough()).optional(),
});

/** Linear's GraphQL API with a personal API key. State types `completed` and `canceled` mean closed. */
export function createLinearClient(config: Pick<LinearConfig, 'url'>, apiKey: string): TrackerClient {
  const label = `Linear (${config.url})`;
  const headers = { 'Content-Type': 'application/json', Authorization: apiKey };
  const graphql = (query: string, variables: Record<string, unknown>) => trackerFetch(label, `${config.url}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) }, { missing: [] });
  return {
    tracker: 'linear',
    label,
    async get(key) {
      const answer = await graphql(ISSUE_QUERY, { id: key });
      const parsed = answerSchema.safeParse(answer?.json);
      if (!parsed.success) throw new TrackerUnreachable(label, 'answered in a shape that is not a GraphQL response');
      const issue = parsed.data.data?.issue;
      if (!issue) {
        // Linear answers an unknown id with an error ("Entity not found"), and no issue.
        const notFound = parsed.data.errors?.some((error) => /not found/i.test(error.message) || error.extensions?.code === 'INPUT_ERROR');
        if (notFound || !parsed.data.errors?.length) return undefined;
        // Linear's own words reach the requester: scrubbed of any secret first (an error may quote the key).
        throw new TrackerUnreachable(label, `answered: ${scrubText(parsed.data.errors[0]!.message.slice(0, 200))}`);
      }
      return {
        tracker: 'linear', key: issue.identifier, url: issue.url, title: issue.title ?? '', internalId: issue.id,
        open: issue.state.type !== 'completed' && issue.state.type !== 'canceled', status: issue.state.name,
        assignees: issue.assignee?.email ? [issue.assignee.email.toLowerCase()] : [],
      } satisfies Ticket;
    },
    async comment(ticket, text) {
      const answer = await graphql(COMMENT_MUTATION, { input: { issueId: ticket.internalId ?? ticket.key, body: text } });
      const success = (answer?.json as { data?: { commentCreate?: { success?: boolean } } } | undefined)?.data?.commentCreate?.success;
      if (!success) throw new TrackerUnreachable(label, 'did not take the comment');
    },
  };
}
