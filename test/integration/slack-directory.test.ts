import { WebClient } from '@slack/web-api';
import { afterEach, describe, expect, it } from 'vitest';
import { createSlackDirectory } from '../../src/chat/slack/slack-directory.js';
import { createLogger } from '../../src/lib/logger.js';
import { waitUntil } from '../support/app-harness.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';

/** The directory against the fake Slack Web API, through the real WebClient. */
describe('Slack directory', () => {
  const fakes: FakeSlack[] = [];
  afterEach(async () => {
    await Promise.all(fakes.splice(0).map((fake) => fake.close()));
  });
  const directoryOn = async (options: Parameters<typeof startFakeSlack>[0], needs = { emails: true, groups: true }, clock = { now: 1_000_000 }) => {
    const fake = await startFakeSlack({ users: { U0ANN: { email: 'Ann@Acme.test' } }, usergroups: { S0DBAS: ['U0ANN'], S0OPS: ['U0ANN', 'U0BEN'] }, ...options });
    fakes.push(fake);
    const client = new WebClient('xoxb-test', { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, timeout: 5000 });
    const directory = createSlackDirectory({ client, needs: async () => needs, logger: createLogger('silent'), ttlMs: 60_000, retryMs: 5_000, now: () => clock.now });
    return { fake, directory, clock };
  };

  it('finds email and groups, asks once for many lookups, and asks again when old or told of a change', async () => {
    const { fake, directory, clock } = await directoryOn({});
    const ann = await directory.person('tenant-a', 'U0ANN');
    expect(ann).toEqual({ slackUserId: 'U0ANN', email: 'ann@acme.test', slackGroups: ['S0DBAS', 'S0OPS'] });
    await Promise.all([directory.person('tenant-a', 'U0ANN'), directory.person('tenant-a', 'U0BEN')]);
    expect(fake.callsTo('usergroups.list')).toHaveLength(1);
    expect(fake.callsTo('users.info').filter((call) => call.args.user === 'U0ANN')).toHaveLength(1);

    // Old: the cached answer now, a fresh one in the background, used from then on.
    fake.setUsergroup('S0DBAS', ['U0BEN']);
    clock.now += 61_000;
    expect((await directory.person('tenant-a', 'U0ANN')).slackGroups).toEqual(['S0DBAS', 'S0OPS']);
    await waitUntil(() => fake.callsTo('usergroups.list').length === 2, 5000, 'a second read of the groups');
    await waitUntil(async () => (await directory.person('tenant-a', 'U0ANN')).slackGroups.join() === 'S0OPS', 5000, 'the fresh groups');

    // Told: the next lookup asks Slack again.
    fake.setUsergroup('S0OPS', []);
    directory.forgetGroups('tenant-a');
    expect((await directory.person('tenant-a', 'U0ANN')).slackGroups).toEqual([]);
  });

  it('asks nothing when the catalog names nobody by email or group', async () => {
    const { fake, directory } = await directoryOn({}, { emails: false, groups: false });
    expect(await directory.person('tenant-a', 'U0ANN')).toEqual({ slackUserId: 'U0ANN', email: undefined, slackGroups: [] });
    expect(fake.calls).toHaveLength(0);
  });

  it('withholds roles, without failing, when Slack refuses (a missing scope), and retries later', async () => {
    const { fake, directory, clock } = await directoryOn({ scopes: ['commands', 'chat:write', 'im:write'] });
    expect(await directory.person('tenant-a', 'U0ANN')).toEqual({ slackUserId: 'U0ANN', email: undefined, slackGroups: [] });
    await directory.person('tenant-a', 'U0ANN');
    expect(fake.callsTo('usergroups.list')).toHaveLength(1);
    clock.now += 6_000;
    await directory.person('tenant-a', 'U0ANN');
    await waitUntil(() => fake.callsTo('usergroups.list').length === 2, 5000, 'a second read of the groups');
  });
});
