/** Slack's adapter and SDKs (Bolt, the Web API client): loaded only when Slack is configured. */
export async function loadSlackModules() {
  const [{ WebClient }, { boltLogger, createSlackApp }, { createSlackDeliveries }, { createSlackDirectory }] = await Promise.all([
    import('@slack/web-api'), import('../chat/slack/slack-app.js'), import('../chat/slack/slack-deliveries.js'), import('../chat/slack/slack-directory.js'),
  ]);
  return { WebClient, boltLogger, createSlackApp, createSlackDeliveries, createSlackDirectory };
}

/** Teams' adapter (botbuilder, MSAL): loaded only when Teams is configured. */
export async function loadTeamsModules() {
  const [{ createTeamsApp }, { teamsCloudFromEnv }, { createTeamsConversations }] = await Promise.all([
    import('../chat/teams/teams-app.js'), import('../chat/teams/teams-authentication.js'), import('../chat/teams/teams-conversations.js'),
  ]);
  return { createTeamsApp, teamsCloudFromEnv, createTeamsConversations };
}
