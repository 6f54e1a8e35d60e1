/**
 * The fake Bot Framework as a process of its own: started by fake-bot-framework.ts (`startFakeBotFramework`),
 * it serves HTTPS on loopback and answers the tests' process over the IPC channel. It exits when that process
 * goes away.
 */
import { createPrivateKey } from 'node:crypto';
import { startFakeBotFrameworkServer, type FakeBotFrameworkOptions, type FakeBotFrameworkServer, type TeamsDriver } from './fake-bot-framework-server.js';

export interface Request {
  id: number;
  method: string;
  args: unknown[];
}
export type Reply = { id: number; result: unknown } | { id: number; error: string };

const send = (message: unknown): void => {
  process.send?.(message);
};

async function main(): Promise<void> {
  const options = JSON.parse(process.env.FAKE_BOT_FRAMEWORK_OPTIONS ?? '{}') as FakeBotFrameworkOptions;
  const fake = await startFakeBotFrameworkServer(options);
  process.on('disconnect', () => {
    void fake.close().finally(() => process.exit(0));
  });
  process.on('message', (message: Request) => {
    void answer(fake, message).then(
      (result) => send({ id: message.id, result } satisfies Reply),
      (error: unknown) => send({ id: message.id, error: error instanceof Error ? error.message : String(error) } satisfies Reply),
    );
  });
  send({
    ready: {
      url: fake.url, serviceUrl: fake.serviceUrl, openIdMetadataUrl: fake.openIdMetadataUrl, emulatorOpenIdMetadataUrl: fake.emulatorOpenIdMetadataUrl,
      appId: fake.appId, appPassword: fake.appPassword, appType: fake.appType, tenantId: fake.tenantId, botId: fake.botId, botName: fake.botName,
      channelKeyId: fake.channelKeyId, authConfig: fake.authConfig(), env: fake.env(),
    },
  });
}

async function answer(fake: FakeBotFrameworkServer, { method, args }: Request): Promise<unknown> {
  const resolved = args.map((arg) => fake.resolve(arg));
  switch (method) {
    case 'drive': {
      const [endpoint, action, ...rest] = resolved as [string, keyof TeamsDriver, ...unknown[]];
      const driver = fake.bot(endpoint) as unknown as Record<string, (...input: unknown[]) => Promise<unknown>>;
      const run = driver[action];
      if (typeof run !== 'function') throw new Error(`the fake's driver has no ${String(action)}`);
      return run(...rest);
    }
    case 'signChannelToken': {
      const [tokenOptions = {}] = resolved as [Record<string, unknown> | undefined];
      const { privateKeyPem, ...rest } = tokenOptions;
      return fake.signChannelToken({ ...rest, ...(typeof privateKeyPem === 'string' ? { privateKey: createPrivateKey(privateKeyPem) } : {}) });
    }
    case 'calls':
      return fake.calls;
    case 'tokenRequests':
      return fake.tokenRequests;
    case 'close':
      await fake.close();
      setImmediate(() => process.exit(0));
      return undefined;
    default: {
      const fn = (fake as unknown as Record<string, unknown>)[method];
      if (typeof fn !== 'function' || method === 'resolve' || method === 'bot' || method === 'waitFor') throw new Error(`the fake has no remote method ${method}`);
      return (fn as (...input: unknown[]) => unknown).apply(fake, resolved);
    }
  }
}

main().catch((error: unknown) => {
  send({ failed: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
