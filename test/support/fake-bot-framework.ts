/**
 * The tests' handle on a fake Bot Framework that runs as a separate process (fake-bot-framework-process.ts,
 * implemented in fake-bot-framework-server.ts): the product reaches it over HTTPS as it reaches Microsoft, and
 * the tests script it and read what users see over an IPC channel, hence every method is async.
 *
 * Needs the global setup's test CA: NODE_EXTRA_CA_CERTS and DBACCESS_TEST_TLS_DIR are set before any worker starts.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { KeyObject } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Activity, ConversationReference } from 'botbuilder';
import type { Reply, Request } from './fake-bot-framework-process.js';
import type {
  BotFrameworkAuthConfig, ChannelTokenOptions, Fault, FakeBotFrameworkOptions, FakeRoute, PostOptions, RecordedCall, TeamsChannel,
  TeamsDriver, TeamsMessage, TeamsResult, TeamsTeam, TeamsUser, TokenRequest,
} from './fake-bot-framework-server.js';

export { BOT_FRAMEWORK_API, BOT_FRAMEWORK_TENANT_ID, TEAMS_MAX_MESSAGE_BYTES, TEAMS_RATE_LIMITS, derInteger } from './fake-bot-framework-server.js';
export type {
  BotFrameworkAuthConfig, ChannelTokenOptions, Fault, FakeBotFrameworkOptions, FakeRoute, PostOptions, RecordedCall, TeamsChannel,
  TeamsDriver, TeamsMessage, TeamsResult, TeamsTeam, TeamsUser, TokenRequest,
};

export interface FakeBotFramework {
  /** `https://127.0.0.1:<port>`. */
  readonly url: string;
  /** The Bot Connector base Teams puts in activities (`<url>/amer/`). */
  readonly serviceUrl: string;
  readonly openIdMetadataUrl: string;
  readonly emulatorOpenIdMetadataUrl: string;
  readonly appId: string;
  readonly appPassword: string;
  readonly appType: 'SingleTenant' | 'MultiTenant';
  readonly tenantId: string;
  readonly botId: string;
  readonly botName: string;
  readonly channelKeyId: string;
  /** The fake's process id. */
  readonly pid: number;
  /** `ConfigurationBotFrameworkAuthentication` options for this fake (with the login authority on the fake). */
  authConfig(overrides?: Partial<BotFrameworkAuthConfig>): BotFrameworkAuthConfig;
  /** The same as dbaccess environment variables. */
  env(): Record<string, string>;
  /** The login authority on the fake (default: the bot's tenant, or botframework.com for MultiTenant). */
  loginAuthority(tenant?: string): string;
  /** A channel token; `privateKey` signs it with another key (a forgery). */
  signChannelToken(options?: Omit<ChannelTokenOptions, 'privateKey'> & { privateKey?: KeyObject }): Promise<string>;
  addUser(input?: { name?: string; email?: string }): Promise<TeamsUser>;
  addTeam(input?: { name?: string; members?: TeamsUser[]; botInstalled?: boolean }): Promise<TeamsTeam>;
  addChannel(team: TeamsTeam, name: string): Promise<TeamsChannel>;
  personalConversationId(user: TeamsUser): Promise<string>;
  setInstalled(target: TeamsUser | TeamsTeam, installed: boolean): Promise<void>;
  bot(endpoint: string): TeamsDriver;
  calls(): Promise<RecordedCall[]>;
  callsTo(route: FakeRoute): Promise<RecordedCall[]>;
  /** Resolves with the first answered call (past or future) to `route` matching `predicate`. */
  waitFor(route: FakeRoute, predicate?: (call: RecordedCall) => boolean, timeoutMs?: number): Promise<RecordedCall>;
  tokenRequests(): Promise<TokenRequest[]>;
  messagesIn(conversationId: string): Promise<TeamsMessage[]>;
  botMessagesIn(conversationId: string): Promise<TeamsMessage[]>;
  message(activityId: string): Promise<TeamsMessage | undefined>;
  failNext(route: FakeRoute, fault?: Fault): Promise<void>;
  revokeIssuedTokens(): Promise<void>;
  personalReference(user: TeamsUser): Promise<Partial<ConversationReference>>;
  close(): Promise<void>;
}

type Ready = Pick<FakeBotFramework, 'url' | 'serviceUrl' | 'openIdMetadataUrl' | 'emulatorOpenIdMetadataUrl' | 'appId' | 'appPassword' | 'appType' | 'tenantId' | 'botId' | 'botName' | 'channelKeyId'> & {
  authConfig: BotFrameworkAuthConfig;
  env: Record<string, string>;
};

const ENTRY = fileURLToPath(new URL('./fake-bot-framework-process.ts', import.meta.url));

export async function startFakeBotFramework(options: FakeBotFrameworkOptions = {}): Promise<FakeBotFramework> {
  const child: ChildProcess = fork(ENTRY, [], {
    execArgv: ['--import', 'tsx'],
    serialization: 'advanced',
    env: { ...process.env, FAKE_BOT_FRAMEWORK_OPTIONS: JSON.stringify(options) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  let exited: Error | undefined;
  const ready = await new Promise<Ready>((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`fake Bot Framework process exited (${code}) before it was ready`));
    child.once('exit', onExit);
    child.on('message', (message: Reply | { ready: Ready } | { failed: string }) => {
      if ('ready' in message) {
        child.off('exit', onExit);
        resolve(message.ready);
      } else if ('failed' in message) reject(new Error(`fake Bot Framework failed to start: ${message.failed}`));
      else {
        const waiter = pending.get(message.id);
        pending.delete(message.id);
        if ('error' in message) waiter?.reject(new Error(message.error));
        else waiter?.resolve(message.result);
      }
    });
  });
  child.once('exit', (code) => {
    exited = new Error(`fake Bot Framework process exited (${code})`);
    for (const waiter of pending.values()) waiter.reject(exited);
    pending.clear();
  });

  const call = <T>(method: string, ...args: unknown[]): Promise<T> => {
    if (exited) return Promise.reject(exited);
    const id = (nextId += 1);
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      child.send({ id, method, args } satisfies Request);
    });
  };
  const defaultTenant = ready.appType === 'SingleTenant' ? ready.tenantId : 'botframework.com';

  const fake: FakeBotFramework = {
    ...ready,
    pid: child.pid ?? 0,
    authConfig: (overrides = {}) => ({ ...ready.authConfig, ...overrides }),
    env: () => ({ ...ready.env }),
    loginAuthority: (tenant = defaultTenant) => `${ready.url}/${tenant}`,
    signChannelToken: ({ privateKey, ...rest } = {}) => call('signChannelToken', { ...rest, ...(privateKey ? { privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) } : {}) }),
    addUser: (input) => call('addUser', input),
    addTeam: (input) => call('addTeam', input),
    addChannel: (team, name) => call('addChannel', team, name),
    personalConversationId: (user) => call('personalConversationId', user),
    setInstalled: (target, installed) => call('setInstalled', target, installed),
    bot: (endpoint) => {
      const drive = <T>(action: keyof TeamsDriver) => (input: unknown, postOptions?: PostOptions): Promise<T> => call('drive', endpoint, action, input, postOptions);
      return {
        post: (activity: Partial<Activity>, postOptions?: PostOptions) => drive<TeamsResult>('post')(activity, postOptions),
        personalMessage: drive<TeamsResult>('personalMessage'),
        channelMessage: drive<TeamsResult>('channelMessage'),
        cardAction: drive<TeamsResult>('cardAction'),
        installationUpdate: drive<TeamsResult>('installationUpdate'),
        conversationUpdate: drive<TeamsResult>('conversationUpdate'),
      } as TeamsDriver;
    },
    calls: () => call('calls'),
    callsTo: (route) => call('callsTo', route),
    waitFor: async (route, predicate = () => true, timeoutMs = 5000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const calls = await fake.callsTo(route);
        const found = calls.find((recorded) => recorded.status !== 0 && predicate(recorded));
        if (found) return found;
        if (Date.now() > deadline) {
          const seen = calls.map((recorded) => `${recorded.method} ${recorded.path} -> ${recorded.status}`);
          throw new Error(`fake Bot Framework: no matching ${route} within ${timeoutMs} ms (saw: ${seen.join('; ') || 'none'})`);
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    tokenRequests: () => call('tokenRequests'),
    messagesIn: (conversationId) => call('messagesIn', conversationId),
    botMessagesIn: (conversationId) => call('botMessagesIn', conversationId),
    message: (activityId) => call('message', activityId),
    failNext: (route, fault) => call('failNext', route, fault),
    revokeIssuedTokens: () => call('revokeIssuedTokens'),
    personalReference: (user) => call('personalReference', user),
    close: async () => {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      await call('close').catch(() => undefined);
      await gone;
    },
  };
  return fake;
}
