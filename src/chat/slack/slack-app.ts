import { App, HTTPReceiver, LogLevel, SocketModeReceiver, type Logger as BoltLogger } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import type { CatalogOf, CatalogSet } from '../../config/catalog.js';
import { urgentFirst } from '../../lib/async.js';
import { withTenant } from '../../modules/tenants/tenant-scope.js';
import type { Logger } from '../../lib/logger.js';
import type { OffboardingService } from '../../modules/offboarding/offboarding-service.js';
import type { TenantService } from '../../modules/tenants/tenant-service.js';
import { createDispatcher, type DispatcherDeps } from '../core/dispatcher.js';
import { registerActions } from './listeners/actions.js';
import { registerCommands } from './listeners/commands.js';
import { teamOf, type SlackListenerContext } from './listeners/context.js';
import { registerEvents } from './listeners/events.js';
import { registerViews } from './listeners/views.js';
import { registerChanges } from './listeners/changes.js';
import { randomUUID } from 'node:crypto';
import type { Inbox } from '../../modules/inbox/inbox-service.js';
import { deliveryKey, type createSlackDeliveries } from './slack-deliveries.js';
import { intentOf } from './slack-intents.js';
import type { SlackDirectory } from './slack-directory.js';
import { createSlackNotifier } from './slack-notifier.js';
import { SLACK_SURFACE } from './slack-replies.js';
import { createSlackScreen, createViewSeal, screenPayload } from './slack-screen.js';
import { createSocketConnection, socketLogger } from './slack-socket.js';

/** A copy of a delivery already taken in: thrown by ack() once the copy is acknowledged, it ends its listener quietly. */
class DuplicateDelivery extends Error {
  readonly code = 'dbaccess_duplicate_delivery';
  constructor() {
    super('a copy of a Slack delivery already taken in');
  }
}

/** The longest that work following an acknowledgement waits for the others: a trigger id lives 3 s from Slack's side, and under load the acknowledgement itself comes late. */
const ACK_FIRST_MAX_WAIT_MS = 500;
/**
 * The longest for follow-up work with no trigger to honour (a form submitted: its claim, the request
 * stored, the receipt): held until the burst has its answers, however long it lasts, up to Bolt's own
 * limit for an acknowledgement (2.5 s), since beyond it nothing arriving can be answered in time anyway.
 * Released at 0.5 s, the work of a burst's first submissions took the time of its last ones.
 */
const NO_TRIGGER_MAX_WAIT_MS = 2500;

/** Slack's deliveries whose work after the acknowledgement opens nothing with their trigger id. */
const waitsLonger = (body: Record<string, unknown>) => body.type === 'view_submission' || body.type === 'view_closed';

export interface SlackOptions {
  /**
   * How Slack's commands, clicks and events reach dbaccess: signed HTTP posts to /slack/events, or
   * Socket Mode, a WebSocket dbaccess opens to Slack with the app-level token (no public URL).
   */
  inbound: { signingSecret: string } | { appToken: string };
  botToken: string;
  apiUrl: string;
  /** Seals the modals dbaccess opens (HMAC of their metadata and whom they are for). */
  viewKey: Buffer;
}

/** The services the dispatcher calls, and what the Slack transport itself needs. */
interface Deps extends Omit<DispatcherDeps, 'notifier' | 'logger' | 'catalogOf'> {
  /** Serves a PNG at a short-lived public URL (for the QR code), when a public address is configured. */
  publishQr?: ((png: Buffer) => string | undefined) | undefined;
  tenants: Pick<TenantService, 'actor' | 'ensureTenant'>;
  /** Deliveries already taken in: Slack's retries act once. */
  deliveries: ReturnType<typeof createSlackDeliveries>;
  /** Deliveries that reduce access, written before their acknowledgement (the sweep replays what is not done). */
  inbox: Pick<Inbox, 'record' | 'done'>;
  /** The kill switch when a person's account is deactivated. */
  offboarding: Pick<OffboardingService, 'offboardInTenant'>;
  /** The tenant's catalog (its section of the file). */
  catalogOf: CatalogOf;
  /** The whole file (a broken catalog is announced to every tenant's approvers). */
  catalogs: () => CatalogSet;
  /** Emails and user groups of Slack people, when the catalog names people so: warmed after acknowledgements. */
  directory?: Pick<SlackDirectory, 'warm' | 'forgetGroups' | 'forgetUser'> | undefined;
  logger: Logger;
}

/**
 * The Slack adapter: Bolt listeners, one file per kind (listeners/{events,commands,actions,views}),
 * that parse Slack payloads into commands, acknowledge at once and render the dispatcher's replies.
 * The request form is checked before the acknowledgement (pure, in memory) so errors show inline.
 */
export function createSlackApp(options: SlackOptions, { publishQr, tenants, deliveries, inbox, offboarding, catalogOf, catalogs, directory, logger, ...services }: Deps) {
  const log = logger.child({ platform: 'slack' });
  // The same App and listeners serve either receiver: only the way in differs.
  // Socket Mode reconnects through createSocketConnection, not the SDK (see there); apps.connections.open
  // goes to SLACK_API_URL like every other call.
  const receiver = 'appToken' in options.inbound
    ? new SocketModeReceiver({
        appToken: options.inbound.appToken,
        logger: socketLogger(boltLogger(log)),
        autoReconnectEnabled: false,
        installerOptions: { clientOptions: { slackApiUrl: options.apiUrl, retryConfig: { retries: 2, maxTimeout: 5000 }, timeout: 10_000 } },
      })
    : new HTTPReceiver({ signingSecret: options.inbound.signingSecret, endpoints: ['/slack/events'], logger: boltLogger(log), unhandledRequestTimeoutMillis: 2500 });
  const app = new App({
    receiver,
    token: options.botToken,
    logger: boltLogger(log),
    clientOptions: { slackApiUrl: options.apiUrl, retryConfig: { retries: 2, maxTimeout: 5000 }, timeout: 10_000 },
    deferInitialization: true,
  });
  const views = createViewSeal(options.viewKey);
  // A client per card post: its timeout is what is left of the post's claim, and no other call's wait
  // (a 429's Retry-After pauses a client's whole queue) can hold the post back past it.
  const postLogger = boltLogger(log);
  const postOnce = (timeoutMs: number) => new WebClient(options.botToken, { slackApiUrl: options.apiUrl, retryConfig: { retries: 0 }, timeout: timeoutMs, logger: postLogger });
  const notifier = createSlackNotifier({ client: app.client, postOnce, catalogOf, catalogs, seal: views, availability: services.availability });
  const dispatcher = createDispatcher({ ...services, catalogOf, notifier, logger: log }, SLACK_SURFACE, 'Slack');

  // Over HTTP the route screens each request before Bolt (src/http/slack-route.ts); over the socket,
  // the same payload rules apply here. A refused envelope is not acknowledged, as HTTP answers 4xx.
  if (receiver instanceof SocketModeReceiver) {
    app.use(async ({ body, next }) => {
      const refusal = screenPayload(body as Record<string, unknown>, views);
      if (refusal) log.warn({ reason: refusal.error }, 'slack: envelope refused');
      else await next();
    });
  }

  // Acknowledgements first. Before ack() a request costs its validation and nothing else, no round
  // trip: a slash command is answered from its words and its workspace's catalog (in memory) before
  // its tenant is known (listeners/commands.ts); a click or a form finds its tenant cached (looked up
  // once per workspace, single flight, then kept). Two things come right after the acknowledgement:
  // - the delivery is claimed (one insert, batched per tenant on connections of its own): a copy of a
  //   delivery already taken in (Slack's retry, or the same payload twice) is acknowledged like the
  //   first and stops there (DuplicateDelivery);
  // - what follows an acknowledgement waits until the requests arriving have theirs (none under way
  //   and none new for a moment; the HTTP server marks each connection from its accept, and the route
  //   each request), so the work behind the first answers of a burst never takes the time of the last
  //   ones: at most 0.5 s where a trigger id is waiting to open a form, 2.5 s after a form is submitted.
  // Every receiver hands its requests to processEvent, with the ack function listeners call.
  //
  // A delivery that reduces access (End access, `/dbaccess revoke`, an account deactivated) is the one
  // exception: its intent is written to the inbox (one insert; the tenant is cached after its first
  // look-up) before anything acknowledges it, and marked done once its work is (`intentDone`). Slack
  // does not send an acknowledged delivery again: if this process dies in between, the sweep replays
  // the intent (src/modules/inbox). If the insert fails, nothing is acknowledged and Slack retries.
  const acks = urgentFirst(ACK_FIRST_MAX_WAIT_MS);
  const intents = new WeakMap<object, () => Promise<void>>();
  const intentDone = async (body: unknown): Promise<void> => {
    const done = typeof body === 'object' && body ? intents.get(body) : undefined;
    if (done) await done().catch((error: unknown) => log.warn({ err: error }, 'slack: could not mark an inbox intent done; the sweep will replay it (idempotent)'));
  };
  const processEvent = app.processEvent.bind(app);
  app.processEvent = async (event) => {
    const acknowledged = acks.begin();
    const body = event.body as Record<string, unknown>;
    const teamId = teamOf(body);
    const key = deliveryKey(body);
    const intent = teamId ? intentOf(body, teamId) : undefined;
    if (teamId && intent) {
      try {
        const tenantId = await tenants.ensureTenant('slack', teamId);
        const intentKey = key ?? `unkeyed:${randomUUID()}`;
        await inbox.record(tenantId, intentKey, intent);
        intents.set(body, () => inbox.done(tenantId, intentKey));
      } catch (error) {
        acknowledged();
        log.error({ err: error, kind: intent.kind }, 'slack: could not write a delivery that reduces access to the inbox; not acknowledged, Slack retries');
        throw error;
      }
    }
    let claimed: Promise<boolean> | undefined;
    // A claim that cannot be stored (the state database restarting) lets the delivery through: its work
    // then answers the person (done, or what went wrong), where stopping would leave a click acknowledged
    // and nothing else. At worst a copy of it is handled twice, which every command survives (one
    // decision per approver, one state change per transition).
    const claim = () =>
      (claimed ??= teamId && key
        ? tenants.ensureTenant('slack', teamId).then((tenantId) => deliveries.first(tenantId, key)).catch((error: unknown) => {
          log.warn({ err: error }, 'could not record a Slack delivery; handling it anyway');
          return true;
        })
        : Promise.resolve(true));
    const ack: typeof event.ack = async (response) => {
      try {
        await event.ack(response);
      } finally {
        acknowledged();
      }
      await acks.idle(waitsLonger(body) ? NO_TRIGGER_MAX_WAIT_MS : ACK_FIRST_MAX_WAIT_MS);
      if (!(await claim())) throw new DuplicateDelivery();
    };
    try {
      await processEvent({ ...event, ack });
    } catch (error) {
      // An event (acknowledged by Bolt before any middleware) that was a copy: nothing more to do.
      if (!(error instanceof DuplicateDelivery)) throw error;
    } finally {
      acknowledged();
    }
  };

  // Every listener runs in its workspace's tenant scope: the state database's row-level security
  // then refuses any row of another tenant, whatever a listener or service might ask for.
  // A slash command enters it itself, after its acknowledgement (listeners/commands.ts): a workspace's
  // first commands are answered before its tenant is known.
  app.use(async (args) => {
    const teamId = teamOf(args.body);
    if (!teamId) return;
    if (typeof (args.body as { command?: unknown }).command === 'string') return args.next();
    const tenantId = await tenants.ensureTenant('slack', teamId);
    await withTenant(tenantId, () => args.next());
  });

  const context: SlackListenerContext = { app, dispatcher, views, notifier, tenants, catalogOf, catalogs, offboarding, directory, publishQr, intentDone, log };
  registerEvents(context);
  registerCommands(context);
  registerActions(context);
  registerViews(context);
  registerChanges(context);

  app.error(async (error) => {
    if (error instanceof DuplicateDelivery) return;
    log.error({ err: error }, 'slack listener failed');
  });

  return {
    app,
    notifier,
    /** Work that can wait (what follows an acknowledgement, a job in the same process) waits on `urgent.idle()`. */
    urgent: { idle: () => acks.idle() },
    /** Over HTTP: what Fastify's /slack/events route needs. In Socket Mode there is no such route. */
    http: receiver instanceof HTTPReceiver && 'signingSecret' in options.inbound ? { receiver, screen: createSlackScreen(options.inbound.signingSecret, views), arrived: acks.begin } : undefined,
    /** In Socket Mode: the connection to Slack, started once the server is ready. */
    socket: receiver instanceof SocketModeReceiver ? createSocketConnection(receiver.client, log) : undefined,
    async init() {
      await app.init();
    },
  };
}

/**
 * Bolt's logger interface over pino, so Slack's own messages land in the same structured log. Its
 * debug output carries raw bodies (DMs with passwords): the logger scrubs every line (src/lib/log-scrubber.ts).
 */
export function boltLogger(logger: Logger): BoltLogger {
  let level = LogLevel.INFO;
  return {
    debug: (...msg) => logger.debug(msg.map(String).join(' ')),
    info: (...msg) => logger.info(msg.map(String).join(' ')),
    warn: (...msg) => logger.warn(msg.map(String).join(' ')),
    error: (...msg) => logger.error(msg.map(String).join(' ')),
    setLevel: (next) => { level = next; },
    getLevel: () => level,
    setName: () => {},
  };
}
