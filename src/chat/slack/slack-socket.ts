import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger as BoltLogger, SocketModeReceiver } from '@slack/bolt';
import { configError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { withTimeout } from '../../lib/async.js';

type SocketModeClient = SocketModeReceiver['client'];

/** How long the first connection may take before start-up fails (Slack answers in about a second). */
const FIRST_CONNECTION_MS = 30_000;
/** Waits between failed attempts: 1 s, doubling, at most 30 s. */
const backoffMs = (failures: number) => Math.min(30_000, 1000 * 2 ** Math.max(0, failures - 1));
/** A connection that ended sooner than this after Slack's hello counts as a failure (e.g. `too_many_websockets`). */
const BRIEF_CONNECTION_MS = 10_000;
/** Slack's answers to apps.connections.open that another attempt may cure. */
const TRANSIENT = new Set(['ratelimited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);
/** Slack's answers that mean the token itself is wrong (doctor reads them too). */
export const REFUSED_TOKEN: ReadonlySet<string> = new Set(['invalid_auth', 'not_authed', 'token_revoked', 'token_expired', 'account_inactive', 'not_allowed_token_type']);

interface Problem {
  text: string;
  /** Trying again will not help until someone changes the configuration. */
  permanent: boolean;
}

/**
 * Slack's Socket Mode connection, kept open: connected once the server is ready, opened again after
 * Slack asks (`disconnect` messages, every few hours) or the connection drops, closed on shutdown.
 *
 * The SDK's own reconnection is off (the receiver is built with `autoReconnectEnabled: false`): it
 * leaves rejected promises nobody handles when an attempt fails, which end a Node process, and it
 * waits five seconds before every new connection. Here each attempt is awaited and a failure is a
 * log line, then another attempt after a growing wait.
 */
export function createSocketConnection(client: SocketModeClient, log: Logger) {
  const stopped = new AbortController();
  let connecting = false;
  let connectedAt = 0;
  let briefConnections = 0;
  let lastProblem: string | undefined;

  /** Attempt after attempt until Slack says hello; a failure `fatal` picks ends them with its message. */
  async function connect(fatal: (problem: Problem) => boolean, failures = 0): Promise<void> {
    connecting = true;
    try {
      for (; !stopped.signal.aborted; failures += 1) {
        if (failures > 0) await sleep(backoffMs(failures), undefined, { signal: stopped.signal }).catch(() => undefined);
        if (stopped.signal.aborted) return;
        try {
          await client.start();
          connectedAt = Date.now();
          // A stop that came while Slack was answering: close what just opened.
          if (stopped.signal.aborted) await client.disconnect();
          return;
        } catch (error) {
          if (stopped.signal.aborted) return;
          const problem = problemOf(error);
          lastProblem = problem.text;
          if (fatal(problem)) throw configError(problem.text);
          log[problem.permanent ? 'error' : 'warn']({ problem: problem.text }, 'Slack: no Socket Mode connection; trying again');
        }
      }
    } finally {
      connecting = false;
    }
  }

  // Every end of a connection (Slack's `disconnect`, a drop, a missed pong) lands here, except ours.
  client.on('disconnected', () => {
    if (connecting || stopped.signal.aborted) return;
    briefConnections = Date.now() - connectedAt < BRIEF_CONNECTION_MS ? briefConnections + 1 : 0;
    log.info('Slack: the Socket Mode connection closed; opening another');
    connect(() => false, briefConnections).then(
      () => {
        if (!stopped.signal.aborted) log.info('Slack: connected again over Socket Mode');
      },
      (error: unknown) => log.error({ err: error }, 'Slack: Socket Mode reconnection failed'),
    );
  });

  return {
    /**
     * The first connection, once the server is ready: a token Slack refuses fails at once, anything
     * else (Slack or the network not answering) after FIRST_CONNECTION_MS, with one line saying why.
     */
    async start(): Promise<void> {
      await withTimeout(connect((problem) => problem.permanent), FIRST_CONNECTION_MS, () =>
        configError(`Slack did not accept a Socket Mode connection within ${FIRST_CONNECTION_MS / 1000} s${lastProblem ? ` (last: ${lastProblem})` : ''}.`),
      );
      log.info('Slack: connected over Socket Mode (no public URL needed)');
    },

    /** Closes the connection; waits at most a second for Slack to answer the close. */
    async stop(): Promise<void> {
      stopped.abort();
      await withTimeout(client.disconnect(), 1000, () => new Error('Slack did not answer the close in 1 s')).catch((error: unknown) =>
        log.debug({ err: error }, 'Slack: Socket Mode connection left without a closing handshake'),
      );
    },
  };
}

/** The SDK's own error lines about the connection, which createSocketConnection reports in its words. */
const REPORTED_HERE = /^(Failed to retrieve a new WSS URL|WebSocket error)/;

/** The receiver's logger: the SDK's connection errors go to debug (said once, above, as one line), the rest as they are. */
export function socketLogger(logger: BoltLogger): BoltLogger {
  return { ...logger, error: (...msg) => (REPORTED_HERE.test(String(msg[0])) ? logger.debug(...msg) : logger.error(...msg)) };
}

/** What went wrong with an attempt, in a line for the operator. */
function problemOf(error: unknown): Problem {
  const { code, data, original, statusCode } = (error ?? {}) as { code?: string; data?: { error?: string }; original?: Error; statusCode?: number };
  const slackError = data?.error;
  if (code === 'slack_webapi_platform_error' && slackError) {
    if (slackError === 'missing_scope') {
      return { permanent: true, text: 'SLACK_APP_TOKEN lacks the connections:write scope (missing_scope): generate an app-level token with it under App-Level Tokens in the Slack app settings.' };
    }
    if (REFUSED_TOKEN.has(slackError)) {
      return { permanent: true, text: `Slack refused SLACK_APP_TOKEN (${slackError}): copy an app-level token with connections:write from App-Level Tokens in the Slack app settings.` };
    }
    return { permanent: !TRANSIENT.has(slackError), text: `Slack refused the Socket Mode connection (${slackError}).` };
  }
  if (code === 'slack_webapi_request_error') return { permanent: false, text: `could not reach Slack (SLACK_API_URL): ${original?.message ?? 'no answer'}` };
  if (code === 'slack_webapi_http_error') return { permanent: false, text: `Slack answered HTTP ${statusCode ?? '?'} to apps.connections.open` };
  if (code === 'slack_webapi_rate_limited_error') return { permanent: false, text: 'Slack is rate limiting apps.connections.open' };
  // The SDK rejects with nothing when the socket closed before Slack's hello.
  return { permanent: false, text: error instanceof Error ? `the Socket Mode connection failed: ${error.message}` : 'the Socket Mode connection closed before Slack said hello' };
}
