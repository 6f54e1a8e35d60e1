/**
 * One request as people make it, through the round-robin proxy: /dbaccess, the form submitted, the
 * card, several approvers clicking Approve at once (some twice), and sometimes the
 * requester ending the access early with `/dbaccess revoke`.
 */
import { shown } from '../test/support/app-harness.js';
import { blockAction, newTriggerId, plainTextInput, postSigned, slashCommand, staticSelect, viewSubmission, type SignedResponse } from '../test/support/slack-requests.js';
import { APPROVERS, DATABASES, SIGNING_SECRET, channelOf, databaseOf, teamOf, type Topology } from './topology.js';

export interface RequestRecord {
  tag: string;
  team: string;
  requester: string;
  databaseId: string;
  requestId?: string;
  /** Where the flow stopped, when it did not get to the clicks (a kill, a timeout): the request may still exist. */
  problem?: string;
  clicks: number[];
  endedEarly: boolean;
}

async function post(t: Topology, body: string): Promise<SignedResponse> {
  try {
    return await postSigned(t.proxy.url, '/slack/events', body, { secret: SIGNING_SECRET });
  } catch (error) {
    return { status: 0, body: (error as Error).message, json: undefined };
  }
}

export async function makeRequest(t: Topology, n: number, workspaces: number, leaseSeconds: () => number): Promise<RequestRecord> {
  const team = teamOf(n % workspaces);
  const requester = `U0${team.slice(2)}R${n % 7}`;
  // Spread evenly over the databases, and so over their approvers' channels (Slack's rates are per
  // channel), turning by one every round so that the early ends (n % 4 === 1) fall on each in turn.
  const base = DATABASES[(n + Math.floor(n / DATABASES.length)) % DATABASES.length]!;
  const databaseId = databaseOf(base, t.tenants ? n % workspaces : undefined);
  const record: RequestRecord = { tag: `chaos-${n}-${Date.now()}`, team, requester, databaseId, clicks: [], endedEarly: false };
  const command = (user: string, text: string, triggerId = newTriggerId()) =>
    post(t, slashCommand({ teamId: team, userId: user, text, triggerId, responseUrl: t.slack.responseUrl(`${record.tag}-${user}-${text}`, { user }) }));
  try {
    const triggerId = newTriggerId();
    const opened = await command(requester, '', triggerId);
    if (opened.status !== 200) throw new Error(`/dbaccess answered ${opened.status}`);
    const call = await t.slack.waitFor('views.open', (c) => c.args.trigger_id === triggerId && c.status === 200, 20_000);
    const view = (call.response as { view: { id: string; callback_id: string; blocks: unknown[] } }).view;
    const submitted = await post(t, viewSubmission({
      teamId: team, userId: requester, view,
      values: {
        databaseId: { value: staticSelect(databaseId) },
        level: { value: staticSelect('read') },
        scope: { value: plainTextInput(null) },
        duration: { value: plainTextInput(`${leaseSeconds()}s`) },
        reason: { value: plainTextInput(`Chaos load ${record.tag}: check the payouts`) },
        ticket: { value: plainTextInput(null) },
      },
    }));
    if (submitted.status !== 200) throw new Error(`the form submission answered ${submitted.status}`);
    // The card, told by the fake as it is posted (no polling: at the rate a poll per flow every
    // 50 ms of the state database and of every message held the suite's own process and the database).
    const posted = await t.slack.waitFor('chat.postMessage', (c) => c.status === 200 && c.args.channel === channelOf(databaseId)
      && (c.args.metadata as { event_type?: string } | undefined)?.event_type === 'dbaccess_approval_card' && JSON.stringify(c.args.blocks).includes(record.tag), 90_000)
      .catch(() => { throw new Error('Timed out after 90000 ms waiting for the approval card'); });
    record.requestId = String((posted.args.metadata as { event_payload: { request_id: string } }).event_payload.request_id);
    const ref = posted.response as { channel: string; ts: string };
    const card = t.slack.message(ref.channel, ref.ts)!;
    // Several approvers at once, some twice, each click through whichever web process the proxy picks.
    const clicks = [...APPROVERS, ...APPROVERS.slice(0, 2)].map((approver, i) =>
      post(t, blockAction({
        teamId: team, userId: approver, actionId: 'dbaccess.approve', message: card, channelId: card.channel,
        responseUrl: t.slack.responseUrl(`${record.tag}-click-${i}`, { user: approver, channel: card.channel, messageTs: card.ts }),
      })));
    record.clicks = (await Promise.all(clicks)).map((answer) => answer.status);
    if (n % 4 === 1) {
      // Ends it early once the credentials are out.
      await t.slack.waitFor('chat.postMessage', (c) => c.status === 200 && /is ready until/.test(String(c.args.text ?? '')) && shown(c.args).includes(record.requestId!), 60_000)
        .catch(() => { throw new Error('Timed out after 60000 ms waiting for the credentials'); });
      record.endedEarly = (await command(requester, `revoke ${record.requestId}`)).status === 200;
    }
  } catch (error) {
    record.problem = (error as Error).message.slice(0, 200);
  }
  return record;
}
