/**
 * The Microsoft services a Teams bot talks to, on loopback, for tests that drive the real botbuilder 4.23
 * (`CloudAdapter` + `ConfigurationBotFrameworkAuthentication`) with authentication on.
 *
 * The fake runs in its own process (fake-bot-framework-process.ts; tests use the client in fake-bot-framework.ts)
 * and serves everything on one HTTPS origin, `https://127.0.0.1:<port>`, with the test CA's certificate that the
 * global setup makes and every process trusts through NODE_EXTRA_CA_CERTS. The product reaches it over the
 * network as it reaches Microsoft, configured only through its environment (`env()`): nothing is patched.
 *
 * 1. Channel -> bot: an OpenID metadata document and a JWKS (RSA key made at start, with `endorsements`), and
 *    tokens signed as the Bot Framework channel signs them (`iss` https://api.botframework.com, `aud` the bot's
 *    app id, `serviceurl`, `nbf`, `exp`). botbuilder fetches the metadata from `ToBotFromChannelOpenIdMetadataUrl`.
 * 2. Bot -> channel: Microsoft Entra ID for the client credentials grant, as MSAL Node 2.16 calls it for
 *    `MicrosoftAppType` SingleTenant and MultiTenant: the tenant's `/v2.0/.well-known/openid-configuration`, its
 *    keys, the token endpoint with Entra's error bodies (AADSTS7000215 for a wrong secret, AADSTS700016 for an
 *    app unknown in the tenant, AADSTS90002 for an unknown tenant), and instance discovery for this host.
 *    MSAL refuses `http:` authorities, and asks https://login.microsoftonline.com about any authority host it
 *    does not know unless the host is one of its `knownAuthorities` (which dbaccess sets from its environment).
 * 3. Bot Connector REST at `serviceUrl` as Teams answers it: create conversation (1:1, channel thread), send,
 *    reply, update, delete, members (all, one, paged), team details and channels. Every call needs a bearer token
 *    from (2) for this bot (401 `Authorization has been denied for this request.` otherwise). Errors use Teams'
 *    codes (`ConversationNotFound`, `ActivityNotFoundInConversation`, `BotNotInConversationRoster`,
 *    `MessageSizeTooBig` over 28 KB, `Throttled` with `Retry-After`); scripted faults (429, 5xx, slow answers)
 *    and an optional per-conversation rate limit with Teams' windows (7 ops/1 s, 8/2 s, 60/30 s, 1800/1 h).
 * 4. Driving the bot as Teams does (`bot(endpoint)`): signed personal and channel messages, `adaptiveCard/action`
 *    invokes from a card the bot sent, `installationUpdate` and `conversationUpdate`. The fake keeps what users
 *    see: every message (theirs and the bot's) with its versions, the card an invoke response replaced in place.
 *
 * botbuilder caches bot tokens process-wide by app id and scope (`AppCredentials.cache`): each fake gets a fresh
 * app id by default so that instances never share tokens.
 */
import {
  createHash,
  generateKeyPair,
  randomBytes,
  randomInt,
  randomUUID,
  sign as signBytes,
  verify as verifyBytes,
  type KeyObject,
} from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Activity, ConversationReference } from 'botbuilder';

/** Issuer of channel tokens, and the scope/audience of tokens the bot gets for the channel. */
export const BOT_FRAMEWORK_API = 'https://api.botframework.com';
/** The botframework.com tenant, where MultiTenant bots get their tokens. */
export const BOT_FRAMEWORK_TENANT_ID = 'd6d49420-f39b-4df7-a1dc-d59a935871db';
/** Teams' per-bot, per-conversation limits (rate-limit page of the Teams platform docs). */
export const TEAMS_RATE_LIMITS: readonly RateWindow[] = [
  { windowMs: 1_000, max: 7 },
  { windowMs: 2_000, max: 8 },
  { windowMs: 30_000, max: 60 },
  { windowMs: 3_600_000, max: 1_800 },
];
/** Teams refuses bot messages over about 28 KB with 413 `MessageSizeTooBig`. */
export const TEAMS_MAX_MESSAGE_BYTES = 28 * 1024;

export interface RateWindow {
  windowMs: number;
  max: number;
}

export interface FakeBotFrameworkOptions {
  /** The bot's Entra app id. Default: a fresh GUID (botbuilder caches tokens per app id, process-wide). */
  appId?: string;
  appPassword?: string;
  /** Which tenant the token endpoint accepts: SingleTenant only `tenantId`, MultiTenant botframework.com too. */
  appType?: 'SingleTenant' | 'MultiTenant';
  /** The customer's tenant: users, teams, and the bot's home tenant. Default: a fresh GUID. */
  tenantId?: string;
  botName?: string;
  /** Channel ids the channel signing key endorses. Default `['msteams']`. */
  endorsements?: readonly string[];
  /** Path of the serviceUrl on the fake, with slashes. Default `/amer/` (Teams: https://smba.trafficmanager.net/amer/). */
  serviceUrlPath?: string;
  /** Default {@link TEAMS_MAX_MESSAGE_BYTES}. */
  maxMessageBytes?: number;
  /** Per-conversation rate limit: `true` for {@link TEAMS_RATE_LIMITS}. Off by default. */
  conversationRateLimit?: boolean | readonly RateWindow[];
  /** Lifetime of tokens from the token endpoint. Entra's is 3599 s (botbuilder renews 5 min before expiry). */
  accessTokenLifetimeSeconds?: number;
}

/**
 * What `new ConfigurationBotFrameworkAuthentication(config)` needs against the fake. Setting any endpoint puts
 * botbuilder in its "parameterized" mode, where an endpoint left out is undefined rather than the public cloud's
 * (an undefined ToBotFromChannelTokenIssuer rejects every channel token), so all of them are given.
 */
// A type alias, not an interface: botbuilder's options type has a string index signature.
export type BotFrameworkAuthConfig = {
  MicrosoftAppId: string;
  MicrosoftAppPassword: string;
  MicrosoftAppType: string;
  MicrosoftAppTenantId: string;
  ToBotFromChannelOpenIdMetadataUrl: string;
  ToBotFromChannelTokenIssuer: string;
  ToBotFromEmulatorOpenIdMetadataUrl: string;
  ToChannelFromBotLoginUrl: string;
  ToChannelFromBotOAuthScope: string;
  OAuthUrl: string;
  CallerId: string;
  ValidateAuthority: boolean;
};

export interface TeamsUser {
  /** `29:1…`, the Bot Framework user id. */
  id: string;
  name: string;
  aadObjectId: string;
  givenName: string;
  surname: string;
  email: string;
  userPrincipalName: string;
  tenantId: string;
}

export interface TeamsChannel {
  /** `19:…@thread.tacv2`; the General channel's id is the team's id. */
  id: string;
  /** Teams sends no name for General. */
  name: string | undefined;
  teamId: string;
}

export interface TeamsTeam {
  id: string;
  name: string;
  aadGroupId: string;
  members: TeamsUser[];
  channels: TeamsChannel[];
  readonly general: TeamsChannel;
}

/** Connector operations, named as ConnectorClient/TeamsConnectorClient name them, plus the fake's other endpoints. */
export type FakeRoute =
  | 'createConversation'
  | 'sendToConversation'
  | 'replyToActivity'
  | 'updateActivity'
  | 'deleteActivity'
  | 'getConversationMembers'
  | 'getConversationMember'
  | 'getConversationPagedMembers'
  | 'fetchTeamDetails'
  | 'fetchChannelList'
  | 'token'
  | 'openIdMetadata'
  | 'keys'
  /** The login authority's `/<tenant>/v2.0/.well-known/openid-configuration` (MSAL reads its token endpoint there). */
  | 'loginMetadata';

/** One request to the Bot Connector, the token endpoint or the metadata endpoints. */
export interface RecordedCall {
  route: FakeRoute | 'unknown';
  method: string;
  path: string;
  /** Decoded from the path. */
  conversationId?: string;
  activityId?: string;
  memberId?: string;
  body: unknown;
  bytes: number;
  /** The app id of a valid bearer token; undefined when the call was not authenticated. */
  appId?: string;
  at: number;
  /** 0 while unanswered, and when the caller went away during a slow answer. */
  status: number;
  response: unknown;
  retryAfter?: number;
}

export interface TokenRequest {
  at: number;
  /** Tenant segment of the path: a GUID or `botframework.com`. */
  tenant: string;
  host: string;
  clientId: string | undefined;
  scope: string | undefined;
  grantType: string | undefined;
  /** Whether the client secret matched (the secret itself is not kept). */
  secretValid: boolean;
  status: number;
  /** Entra error code (`invalid_client`, …) when refused. */
  error?: string;
}

export interface Fault {
  /** 429 answers `Throttled` with `Retry-After`; 5xx `ServiceError`; other 4xx use `code`. Without a status, only `delayMs` applies. */
  status?: number;
  /** Seconds in `Retry-After` (429 default 1; 503 only when given). */
  retryAfter?: number;
  code?: string;
  message?: string;
  /** Holds the answer this long first (then the fault's status, or the normal answer). */
  delayMs?: number;
  /** How many consecutive calls to the route it hits (default 1). */
  count?: number;
}

export interface MessageVersion {
  activity: Partial<Activity>;
  at: number;
  via: 'user' | 'createConversation' | 'sendToConversation' | 'replyToActivity' | 'updateActivity' | 'invokeResponse';
}

/** A message as people in the conversation see it now, with every earlier version. */
export interface TeamsMessage {
  id: string;
  /** The conversation the message lives in: the personal chat, or the channel thread (`19:…;messageid=<root>`). */
  conversationId: string;
  /** For channel messages: the channel id and the thread's root message id. */
  channelId?: string;
  threadRootId?: string;
  /** What the bot sent as `replyToId` (the path's activity id for replyToActivity). */
  replyToId?: string;
  fromBot: boolean;
  from: { id: string; name?: string; aadObjectId?: string };
  text: string | undefined;
  attachments: Array<{ contentType: string; content?: unknown }> | undefined;
  /** The latest full activity. */
  activity: Partial<Activity>;
  deleted: boolean;
  history: MessageVersion[];
}

export interface ChannelTokenOptions {
  /** Default: the bot's app id. */
  audience?: string;
  /** Default: the fake's serviceUrl. */
  serviceUrl?: string;
  /** Default https://api.botframework.com. */
  issuer?: string;
  /** `nbf` in epoch seconds. Default now. */
  notBefore?: number;
  /** Default 3600 (exp = nbf + lifetime). */
  lifetimeSeconds?: number;
  /** Default the channel key's kid. */
  kid?: string;
  /** Sign with another key (a forgery); default the channel's key. */
  privateKey?: KeyObject;
  extraClaims?: Record<string, unknown>;
}

export interface PostOptions {
  /** A token, `null` for no Authorization header, default a fresh channel token for the activity's serviceUrl. */
  token?: string | null;
  /** Teams gives a bot about 15 s (invokes less); default 15000. */
  timeoutMs?: number;
}

export interface TeamsResult {
  status: number;
  /** Parsed JSON when the bot answered JSON, else the text ('' when empty). */
  body: unknown;
  /** The activity posted. */
  activity: Partial<Activity>;
  /** The bot did not answer within `timeoutMs`; Teams shows an error then. */
  timedOut: boolean;
}

/** Drives one bot endpoint as Microsoft Teams does. */
export interface TeamsDriver {
  /** A 1:1 message from `from` (marks the app as installed for them: only then can they write to it). */
  personalMessage(input: { from: TeamsUser; text?: string; attachments?: Activity['attachments'] }, options?: PostOptions): Promise<TeamsResult>;
  /** A channel message @mentioning the bot, as a new thread or (with `threadRootId`) a reply in one. */
  channelMessage(
    input: { from: TeamsUser; channel: TeamsChannel; text: string; threadRootId?: string; mention?: boolean },
    options?: PostOptions,
  ): Promise<TeamsResult>;
  /**
   * A click on an `Action.Execute` button of a card the bot sent: `adaptiveCard/action` invoke with the action's
   * verb and data (merged with `inputs`), `replyToId` = the card's message. A 200 adaptive-card answer replaces the
   * card in the fake, as Teams does.
   */
  cardAction(
    input: { from: TeamsUser; message: TeamsMessage; verb: string; inputs?: Record<string, unknown>; trigger?: 'manual' | 'automatic' },
    options?: PostOptions,
  ): Promise<TeamsResult>;
  /** The app installed in (or removed from) the user's personal scope, or a team (`team`). */
  installationUpdate(input: { from: TeamsUser; action: 'add' | 'remove'; team?: TeamsTeam }, options?: PostOptions): Promise<TeamsResult>;
  /** Members added/removed: the bot (`botAdded`) or users, in a team or the personal chat. */
  conversationUpdate(
    input: { from: TeamsUser; team?: TeamsTeam; botAdded?: boolean; botRemoved?: boolean; membersAdded?: TeamsUser[]; membersRemoved?: TeamsUser[] },
    options?: PostOptions,
  ): Promise<TeamsResult>;
  /** Any activity, signed for its serviceUrl unless told otherwise. */
  post(activity: Partial<Activity>, options?: PostOptions): Promise<TeamsResult>;
}

export interface FakeBotFrameworkServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The Bot Connector base Teams puts in activities (`<url>/amer/`). */
  readonly serviceUrl: string;
  /** `ToBotFromChannelOpenIdMetadataUrl`. */
  readonly openIdMetadataUrl: string;
  /** `ToBotFromEmulatorOpenIdMetadataUrl` (the fake Entra keys: no test ever reaches the real one). */
  readonly emulatorOpenIdMetadataUrl: string;
  readonly appId: string;
  readonly appPassword: string;
  readonly appType: 'SingleTenant' | 'MultiTenant';
  readonly tenantId: string;
  /** `28:<appId>`. */
  readonly botId: string;
  readonly botName: string;
  /** The channel signing key's id in the JWKS. */
  readonly channelKeyId: string;
  /** `ConfigurationBotFrameworkAuthentication` options (and credential-factory ones) that make botbuilder use this fake. */
  authConfig(overrides?: Partial<BotFrameworkAuthConfig>): BotFrameworkAuthConfig;
  /** The same as dbaccess environment variables. */
  env(): Record<string, string>;
  /** An HTTPS authority on the fake itself (for `ToChannelFromBotLoginUrl`), found through instance discovery. */
  loginAuthority(tenant?: string): string;
  signChannelToken(options?: ChannelTokenOptions): string;
  addUser(input?: { name?: string; email?: string }): TeamsUser;
  addTeam(input?: { name?: string; members?: TeamsUser[]; botInstalled?: boolean }): TeamsTeam;
  addChannel(team: TeamsTeam, name: string): TeamsChannel;
  /** The 1:1 chat between the bot and the user (`a:1…`), stable like Teams'. */
  personalConversationId(user: TeamsUser): string;
  /** Installs or removes the app without telling the bot (as after an admin's policy install with the bot down). */
  setInstalled(target: TeamsUser | TeamsTeam, installed: boolean): void;
  bot(endpoint: string): TeamsDriver;
  readonly calls: readonly RecordedCall[];
  callsTo(route: FakeRoute): RecordedCall[];
  /** Resolves with the first call (past or future) to `route` matching `predicate`. */
  waitFor(route: FakeRoute, predicate?: (call: RecordedCall) => boolean, timeoutMs?: number): Promise<RecordedCall>;
  readonly tokenRequests: readonly TokenRequest[];
  /** Messages not deleted, oldest first: of the personal chat, the channel thread, or (a channel id) the channel's thread roots. */
  messagesIn(conversationId: string): TeamsMessage[];
  /** Only the bot's. */
  botMessagesIn(conversationId: string): TeamsMessage[];
  message(activityId: string): TeamsMessage | undefined;
  /** Makes the next call(s) to `route` fail or stall. */
  failNext(route: FakeRoute, fault?: Fault): void;
  /** Tokens issued so far stop working at the connector (a rotated secret, a revoked app). */
  revokeIssuedTokens(): void;
  /** A conversation reference for proactive messages to a user's personal chat. */
  personalReference(user: TeamsUser): Partial<ConversationReference>;
  /** The fake's own user, team, channel or message for a copy of one (arguments arrive as copies from the tests' process). */
  resolve(value: unknown): unknown;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// Keys, certificates and JWTs with node:crypto only.

interface RsaKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  certificateDer: Buffer;
  certificatePem: string;
  kid: string;
}

function rsaKeyPair(): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  return new Promise((resolve, reject) => {
    generateKeyPair('rsa', { modulusLength: 2048 }, (error, publicKey, privateKey) => (error ? reject(error) : resolve({ publicKey, privateKey })));
  });
}

/** An RSA key with a self-signed X.509 v3 certificate (DER written by hand: node:crypto cannot issue certificates). */
async function rsaKey(commonName: string, dnsNames: readonly string[] = [], ipAddresses: readonly string[] = []): Promise<RsaKey> {
  const { publicKey, privateKey } = await rsaKeyPair();
  const certificateDer = selfSignedCertificate({ commonName, publicKey, privateKey, dnsNames, ipAddresses });
  const base64 = certificateDer.toString('base64');
  const certificatePem = `-----BEGIN CERTIFICATE-----\n${base64.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END CERTIFICATE-----\n`;
  // Entra and the Bot Framework use the certificate's SHA-1 thumbprint (x5t) as the kid.
  const kid = base64url(createHash('sha1').update(certificateDer).digest());
  return { privateKey, publicKey, certificateDer, certificatePem, kid };
}

const derLength = (length: number): Buffer => {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest >>= 8) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
};
const der = (tag: number, ...parts: Buffer[]): Buffer => {
  const content = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
};
const derSequence = (...parts: Buffer[]): Buffer => der(0x30, ...parts);
/** A non-negative INTEGER in its one DER form: no redundant leading zero (OpenSSL refuses it: "illegal padding"), one 0x00 before a high bit. */
export const derInteger = (value: Buffer): Buffer => {
  let start = 0;
  while (start < value.length - 1 && value[start] === 0 && ((value[start + 1] ?? 0) & 0x80) === 0) start += 1;
  const minimal = value.subarray(start);
  return der(0x02, (minimal[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), minimal]) : minimal);
};
const derOid = (dotted: string): Buffer => {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [40 * first + second];
  for (const value of rest) {
    const encoded = [value & 0x7f];
    for (let high = value >> 7; high > 0; high >>= 7) encoded.unshift(0x80 | (high & 0x7f));
    bytes.push(...encoded);
  }
  return der(0x06, Buffer.from(bytes));
};
const derTime = (date: Date): Buffer => der(0x17, Buffer.from(`${date.toISOString().replace(/[-:T]/g, '').slice(2, 14)}Z`));
const derBitString = (bytes: Buffer, unusedBits = 0): Buffer => der(0x03, Buffer.from([unusedBits]), bytes);
const derBoolean = (value: boolean): Buffer => der(0x01, Buffer.from([value ? 0xff : 0]));
const derName = (commonName: string): Buffer => derSequence(der(0x31, derSequence(derOid('2.5.4.3'), der(0x0c, Buffer.from(commonName)))));
const derExtension = (oid: string, critical: boolean, value: Buffer): Buffer =>
  derSequence(derOid(oid), ...(critical ? [derBoolean(true)] : []), der(0x04, value));

function selfSignedCertificate(input: {
  commonName: string;
  publicKey: KeyObject;
  privateKey: KeyObject;
  dnsNames: readonly string[];
  ipAddresses: readonly string[];
}): Buffer {
  const sha256WithRsa = derSequence(derOid('1.2.840.113549.1.1.11'), Buffer.from([0x05, 0x00]));
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  const now = Date.now();
  const alternativeNames = [
    ...input.dnsNames.map((name) => der(0x82, Buffer.from(name))),
    ...input.ipAddresses.map((ip) => der(0x87, Buffer.from(ip.split('.').map(Number)))),
  ];
  const extensions = [
    derExtension('2.5.29.19', true, derSequence(derBoolean(true))), // basicConstraints CA: it is its own trust anchor
    derExtension('2.5.29.15', true, derBitString(Buffer.from([0xa4]), 2)), // digitalSignature, keyEncipherment, keyCertSign
    derExtension('2.5.29.37', false, derSequence(derOid('1.3.6.1.5.5.7.3.1'))), // serverAuth
    ...(alternativeNames.length > 0 ? [derExtension('2.5.29.17', false, derSequence(...alternativeNames))] : []),
  ];
  const toBeSigned = derSequence(
    der(0xa0, derInteger(Buffer.from([2]))),
    derInteger(serial),
    sha256WithRsa,
    derName(input.commonName),
    derSequence(derTime(new Date(now - 3_600_000)), derTime(new Date(now + 7 * 86_400_000))),
    derName(input.commonName),
    input.publicKey.export({ type: 'spki', format: 'der' }),
    der(0xa3, derSequence(...extensions)),
  );
  return derSequence(toBeSigned, sha256WithRsa, derBitString(signBytes('sha256', toBeSigned, input.privateKey)));
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

function signJwt(payload: Record<string, unknown>, key: { privateKey: KeyObject; kid: string; x5t?: string }): string {
  const header = { typ: 'JWT', alg: 'RS256', ...(key.x5t ? { x5t: key.x5t } : {}), kid: key.kid };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  return `${signingInput}.${base64url(signBytes('sha256', Buffer.from(signingInput), key.privateKey))}`;
}

interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

function decodeJwt(token: string): DecodedJwt | undefined {
  const [header, payload, signature, ...rest] = token.split('.');
  if (!header || !payload || signature === undefined || rest.length > 0) return undefined;
  try {
    return {
      header: JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Record<string, unknown>,
      payload: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>,
      signingInput: `${header}.${payload}`,
      signature: Buffer.from(signature, 'base64url'),
    };
  } catch {
    return undefined;
  }
}

function jwk(key: RsaKey, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { n, e } = key.publicKey.export({ format: 'jwk' });
  return { kty: 'RSA', use: 'sig', kid: key.kid, x5t: key.kid, n, e, x5c: [key.certificateDer.toString('base64')], ...extra };
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------------------------------------------------------
// Microsoft Entra ID as MSAL Node 2.16 calls it, on the fake's own HTTPS origin: instance discovery, the tenant's
// OpenID configuration and keys, the client credentials grant. The product reaches it over the network with
// MICROSOFT_LOGIN_URL (https://127.0.0.1:<port>/<tenant>) and the host as a known authority.

interface TokenAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  delayMs?: number;
}

interface LoginContext {
  /** `https://127.0.0.1:<port>`. */
  origin: string;
  /** The customer's tenant (the bot's home tenant). */
  tenantId: string;
  /** Signs the access tokens the token endpoint issues (Entra's key). */
  key: RsaKey;
  token(input: { tenant: string; host: string; form: URLSearchParams }): Promise<TokenAnswer>;
  /** Records a request to the authority's metadata. */
  note(route: 'loginMetadata', path: string, status: number): void;
}

/** The TLS key and certificate of every fake, made by the tests' global setup; the certificate is trusted through NODE_EXTRA_CA_CERTS. */
export const TEST_TLS_DIR_ENV = 'DBACCESS_TEST_TLS_DIR';

/** Writes the test CA: a self-signed certificate for 127.0.0.1 and localhost (its own trust anchor) and its key. */
export async function writeTestTls(dir: string): Promise<{ certPath: string; keyPath: string }> {
  const key = await rsaKey('dbaccess test CA', ['localhost'], ['127.0.0.1']);
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  writeFileSync(certPath, key.certificatePem);
  writeFileSync(keyPath, key.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  return { certPath, keyPath };
}

function readTestTls(): { key: string; cert: string } {
  const dir = process.env[TEST_TLS_DIR_ENV];
  if (!dir) throw new Error(`fake Bot Framework: ${TEST_TLS_DIR_ENV} is not set (the global setup makes the test CA and sets it with NODE_EXTRA_CA_CERTS)`);
  return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
}

function entraError(status: number, error: string, code: number, message: string): TokenAnswer {
  const timestamp = new Date().toISOString().replace('T', ' ').slice(0, 19) + 'Z';
  const traceId = randomUUID();
  const correlationId = randomUUID();
  return {
    status,
    body: {
      error,
      error_description: `AADSTS${code}: ${message} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
      error_codes: [code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${code}`,
    },
  };
}

const tenantNotFound = (tenant: string): TokenAnswer =>
  entraError(400, 'invalid_request', 90002, `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`);

function knownTenant(tenant: string, ownTenant: string): string | undefined {
  const lower = tenant.toLowerCase();
  if (lower === 'botframework.com' || lower === BOT_FRAMEWORK_TENANT_ID) return BOT_FRAMEWORK_TENANT_ID;
  if (ownTenant.toLowerCase() === lower) return ownTenant;
  return undefined;
}

/** Answers a login request; false when the path is none of Entra's. */
async function handleLogin(req: IncomingMessage, res: ServerResponse, url: URL, raw: string, login: LoginContext): Promise<boolean> {
  const host = new URL(login.origin).host;
  const segments = url.pathname.split('/').filter(Boolean).map((segment) => decodeURIComponent(segment));

  // Instance discovery (only when the product does not list this host as a known authority).
  if (req.method === 'GET' && url.pathname === '/common/discovery/instance') {
    const authorization = url.searchParams.get('authorization_endpoint') ?? '';
    const asked = (() => {
      try {
        return new URL(authorization).host;
      } catch {
        return '';
      }
    })();
    if (asked !== host) {
      const answer = entraError(400, 'invalid_instance', 50049, 'Unknown or invalid instance.');
      sendJson(res, answer.status, answer.body);
      return true;
    }
    const tenant = new URL(authorization).pathname.split('/').filter(Boolean)[0] ?? 'common';
    sendJson(res, 200, {
      tenant_discovery_endpoint: `${login.origin}/${tenant}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    });
    return true;
  }

  const [tenant, ...rest] = segments;
  const path = rest.join('/');
  if (!tenant || !['v2.0/.well-known/openid-configuration', 'discovery/v2.0/keys', 'oauth2/v2.0/token'].includes(path)) return false;
  const tenantId = ['common', 'organizations'].includes(tenant.toLowerCase()) ? '{tenantid}' : knownTenant(tenant, login.tenantId);

  if (req.method === 'GET' && path === 'v2.0/.well-known/openid-configuration') {
    if (!tenantId) {
      const answer = tenantNotFound(tenant);
      login.note('loginMetadata', url.pathname, answer.status);
      sendJson(res, answer.status, answer.body);
      return true;
    }
    login.note('loginMetadata', url.pathname, 200);
    sendJson(res, 200, entraOpenIdConfiguration(login.origin, tenantId));
    return true;
  }
  if (req.method === 'GET' && path === 'discovery/v2.0/keys') {
    sendJson(res, 200, { keys: [jwk(login.key)] });
    return true;
  }
  if (req.method === 'POST' && path === 'oauth2/v2.0/token') {
    const form = new URLSearchParams(raw);
    for (const [name, value] of url.searchParams) if (!form.has(name)) form.set(name, value);
    let answer: TokenAnswer;
    if (tenantId === '{tenantid}') answer = { status: 400, body: { error: 'invalid_request', error_description: `fake login: the client credentials grant needs a tenant, not '${tenant}'` } };
    else if (!tenantId) answer = tenantNotFound(tenant);
    else answer = await login.token({ tenant, host, form });
    if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
    sendJson(res, answer.status, answer.body, answer.headers);
    return true;
  }
  return false;
}

const appNotFound = (appId: string, tenantId: string): TokenAnswer =>
  entraError(
    400,
    'unauthorized_client',
    700016,
    `Application with identifier '${appId}' was not found in the directory '${tenantId === BOT_FRAMEWORK_TENANT_ID ? 'Bot Framework' : tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
  );

function entraOpenIdConfiguration(origin: string, tenantId: string): Record<string, unknown> {
  return {
    token_endpoint: `${origin}/${tenantId}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${origin}/${tenantId}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${origin}/${tenantId}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
    authorization_endpoint: `${origin}/${tenantId}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${origin}/${tenantId}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${origin}/${tenantId}/oauth2/v2.0/logout`,
    claims_supported: ['sub', 'iss', 'cloud_instance_name', 'cloud_instance_host_name', 'cloud_graph_host_name', 'msgraph_host', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'preferred_username', 'name', 'tid', 'ver', 'at_hash', 'c_hash', 'email'],
    tenant_region_scope: 'EU',
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
    rbac_url: 'https://pas.windows.net',
  };
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP helpers

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { ...(text ? { 'Content-Type': 'application/json; charset=utf-8' } : {}), 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Waits `ms` unless the client goes away first; false when it did. */
function holdOpen(res: ServerResponse, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      res.off('close', onClose);
      resolve(!res.destroyed);
    }, ms);
    const onClose = (): void => {
      if (res.writableFinished) return;
      clearTimeout(timer);
      resolve(false);
    };
    res.on('close', onClose);
  });
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const stringOr = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

class ConnectorError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const DENIED = { message: 'Authorization has been denied for this request.' };

// ---------------------------------------------------------------------------------------------------------------
// The fake

export async function startFakeBotFrameworkServer(options: FakeBotFrameworkOptions = {}): Promise<FakeBotFrameworkServer> {
  const appId = options.appId ?? randomUUID();
  const appPassword = options.appPassword ?? `fake~${randomBytes(24).toString('base64url')}`;
  const appType = options.appType ?? 'SingleTenant';
  const tenantId = options.tenantId ?? randomUUID();
  const botName = options.botName ?? 'dbaccess';
  const botId = `28:${appId}`;
  const endorsements = [...(options.endorsements ?? ['msteams'])];
  const serviceUrlPath = options.serviceUrlPath ?? '/amer/';
  if (!serviceUrlPath.startsWith('/') || !serviceUrlPath.endsWith('/')) throw new Error('serviceUrlPath must start and end with /');
  const maxMessageBytes = options.maxMessageBytes ?? TEAMS_MAX_MESSAGE_BYTES;
  const rateWindows = options.conversationRateLimit === true ? TEAMS_RATE_LIMITS : options.conversationRateLimit || [];
  const tokenLifetime = options.accessTokenLifetimeSeconds ?? 3599;
  const servicePrincipalId = randomUUID();

  const [channelKey, loginKey] = await Promise.all([rsaKey('login.botframework.com'), rsaKey('fake-entra-token-signing')]);

  const calls: RecordedCall[] = [];
  const tokenRequests: TokenRequest[] = [];
  const waiters = new Set<{ route: FakeRoute; predicate: (call: RecordedCall) => boolean; resolve: (call: RecordedCall) => void }>();
  const faults = new Map<FakeRoute, Array<Fault & { count: number }>>();
  const rateLog = new Map<string, number[]>();
  const issuedTokenIds: string[] = [];
  const revokedTokenIds = new Set<string>();

  const users = new Map<string, TeamsUser>();
  const teams = new Map<string, TeamsTeam>();
  const channels = new Map<string, TeamsChannel>();
  const personalByUser = new Map<string, string>();
  const userByPersonal = new Map<string, string>();
  const installedForUsers = new Set<string>();
  const installedInTeams = new Set<string>();
  const messages = new Map<string, TeamsMessage>();
  let lastMessageId = Date.now();
  const nextMessageId = (): string => {
    lastMessageId = Math.max(lastMessageId + 1, Date.now());
    return String(lastMessageId);
  };

  // --- roster -------------------------------------------------------------------------------------------------
  const addUser = (input: { name?: string; email?: string } = {}): TeamsUser => {
    const name = input.name ?? `User ${users.size + 1}`;
    const [givenName = name, ...others] = name.split(' ');
    const email = input.email ?? `${name.toLowerCase().replace(/[^a-z0-9]+/g, '.')}@contoso.example`;
    const user: TeamsUser = {
      id: `29:1${randomBytes(60).toString('base64url')}`,
      name,
      aadObjectId: randomUUID(),
      givenName,
      surname: others.join(' '),
      email,
      userPrincipalName: email,
      tenantId,
    };
    users.set(user.id, user);
    return user;
  };
  const findUser = (id: string): TeamsUser | undefined => {
    const direct = users.get(id);
    if (direct) return direct;
    const aad = id.replace(/^8:orgid:/, '').toLowerCase();
    return [...users.values()].find((user) => user.aadObjectId === aad);
  };
  const threadId = (): string => `19:${randomBytes(16).toString('hex')}@thread.tacv2`;
  const addChannel = (team: TeamsTeam, name: string): TeamsChannel => {
    const channel: TeamsChannel = { id: threadId(), name, teamId: team.id };
    team.channels.push(channel);
    channels.set(channel.id, channel);
    return channel;
  };
  const addTeam = (input: { name?: string; members?: TeamsUser[]; botInstalled?: boolean } = {}): TeamsTeam => {
    const id = threadId();
    const general: TeamsChannel = { id, name: undefined, teamId: id };
    const team: TeamsTeam = { id, name: input.name ?? `Team ${teams.size + 1}`, aadGroupId: randomUUID(), members: [...(input.members ?? [])], channels: [general], general };
    teams.set(id, team);
    channels.set(id, general);
    if (input.botInstalled ?? true) installedInTeams.add(id);
    return team;
  };
  const personalConversationId = (user: TeamsUser): string => {
    let id = personalByUser.get(user.id);
    if (!id) {
      id = `a:1${randomBytes(48).toString('base64url')}`;
      personalByUser.set(user.id, id);
      userByPersonal.set(id, user.id);
    }
    return id;
  };
  const setInstalled = (target: TeamsUser | TeamsTeam, installed: boolean): void => {
    const set = 'channels' in target ? installedInTeams : installedForUsers;
    if (installed) set.add(target.id);
    else set.delete(target.id);
  };

  /** Which chat a conversation id names; the thread root for `19:…;messageid=N`. */
  type Place =
    | { kind: 'personal'; id: string; user: TeamsUser }
    | { kind: 'channel'; id: string; channel: TeamsChannel; team: TeamsTeam; rootId: string | undefined };
  const resolvePlace = (conversationId: string): Place | undefined => {
    const personalUser = userByPersonal.get(conversationId);
    if (personalUser) {
      const user = users.get(personalUser);
      return user ? { kind: 'personal', id: conversationId, user } : undefined;
    }
    const [base = '', ...suffix] = conversationId.split(';');
    const channel = channels.get(base);
    const team = channel ? teams.get(channel.teamId) : undefined;
    if (!channel || !team) return undefined;
    const root = suffix.map((part) => /^messageid=(\d+)$/.exec(part)?.[1]).find(Boolean);
    return { kind: 'channel', id: conversationId, channel, team, rootId: root };
  };
  const botInPlace = (place: Place): boolean => (place.kind === 'personal' ? installedForUsers.has(place.user.id) : installedInTeams.has(place.team.id));
  const requirePlace = (conversationId: string): Place => {
    const place = resolvePlace(conversationId);
    if (!place) throw new ConnectorError(404, 'ConversationNotFound', 'Conversation not found.');
    if (!botInPlace(place)) throw new ConnectorError(403, 'BotNotInConversationRoster', 'The bot is not part of the conversation roster.');
    return place;
  };
  const rosterOf = (place: Place): TeamsUser[] => (place.kind === 'personal' ? [place.user] : place.team.members);
  const member = (user: TeamsUser): Record<string, unknown> => ({
    id: user.id,
    name: user.name,
    aadObjectId: user.aadObjectId,
    objectId: user.aadObjectId,
    givenName: user.givenName,
    surname: user.surname,
    email: user.email,
    userPrincipalName: user.userPrincipalName,
    tenantId: user.tenantId,
    userRole: 'user',
  });

  // --- messages -----------------------------------------------------------------------------------------------
  const storeMessage = (input: {
    id: string;
    conversationId: string;
    channelId?: string;
    threadRootId?: string;
    replyToId?: string;
    fromBot: boolean;
    activity: Partial<Activity>;
    via: MessageVersion['via'];
  }): TeamsMessage => {
    const activity = { ...input.activity, id: input.id };
    const stored: TeamsMessage = {
      id: input.id,
      conversationId: input.conversationId,
      ...(input.channelId ? { channelId: input.channelId } : {}),
      ...(input.threadRootId ? { threadRootId: input.threadRootId } : {}),
      ...(input.replyToId ? { replyToId: input.replyToId } : {}),
      fromBot: input.fromBot,
      from: isObject(activity.from) ? (activity.from as TeamsMessage['from']) : { id: input.fromBot ? botId : 'unknown' },
      text: activity.text,
      attachments: activity.attachments as TeamsMessage['attachments'],
      activity,
      deleted: false,
      history: [{ activity, at: Date.now(), via: input.via }],
    };
    messages.set(stored.id, stored);
    return stored;
  };
  const reviseMessage = (stored: TeamsMessage, activity: Partial<Activity>, via: MessageVersion['via']): void => {
    const next = { ...activity, id: stored.id };
    stored.activity = next;
    stored.text = next.text;
    stored.attachments = next.attachments as TeamsMessage['attachments'];
    stored.history.push({ activity: next, at: Date.now(), via });
  };
  /** Posts a bot message where Teams would put it: a new thread for a bare channel id, the thread otherwise. */
  const postBotMessage = (place: Place, activity: Partial<Activity>, via: MessageVersion['via'], replyToId?: string): TeamsMessage | undefined => {
    if (activity.type !== 'message') return undefined; // typing and the like are shown, not kept
    const id = nextMessageId();
    const from = { id: botId, name: botName };
    if (place.kind === 'personal') return storeMessage({ id, conversationId: place.id, ...(replyToId ? { replyToId } : {}), fromBot: true, activity: { ...activity, from }, via });
    const rootId = place.rootId ?? id;
    return storeMessage({
      id,
      conversationId: `${place.channel.id};messageid=${rootId}`,
      channelId: place.channel.id,
      threadRootId: rootId,
      ...(replyToId ? { replyToId } : {}),
      fromBot: true,
      activity: { ...activity, from },
      via,
    });
  };
  const messagesIn = (conversationId: string): TeamsMessage[] => {
    const all = [...messages.values()].filter((message) => !message.deleted);
    if (channels.has(conversationId)) return all.filter((message) => message.channelId === conversationId && message.threadRootId === message.id);
    const place = resolvePlace(conversationId);
    if (place?.kind === 'channel' && place.rootId) return all.filter((message) => message.channelId === place.channel.id && message.threadRootId === place.rootId);
    return all.filter((message) => message.conversationId === conversationId);
  };

  // --- recording and faults -----------------------------------------------------------------------------------
  const record = (call: RecordedCall): void => {
    for (const waiter of [...waiters]) {
      if (waiter.route === call.route && waiter.predicate(call)) {
        waiters.delete(waiter);
        waiter.resolve(call);
      }
    }
  };
  const takeFault = (route: FakeRoute): Fault | undefined => {
    const queue = faults.get(route);
    const fault = queue?.[0];
    if (!queue || !fault) return undefined;
    fault.count -= 1;
    if (fault.count <= 0) queue.shift();
    if (queue.length === 0) faults.delete(route);
    return fault;
  };
  const faultError = (fault: Fault): ConnectorError | undefined => {
    if (fault.status === undefined) return undefined;
    const headers: Record<string, string> = {};
    if (fault.status === 429 || fault.retryAfter !== undefined) headers['Retry-After'] = String(fault.retryAfter ?? 1);
    const code = fault.code ?? (fault.status === 429 ? 'Throttled' : fault.status >= 500 ? 'ServiceError' : 'BadArgument');
    const message = fault.message ?? (fault.status === 429 ? 'Too many requests.' : fault.status >= 500 ? 'Internal server error.' : 'Bad argument.');
    return new ConnectorError(fault.status, code, message, headers);
  };

  // --- Entra token endpoint (called by the shared login server) -----------------------------------------------
  const issueAccessToken = (tid: string): string => {
    const now = nowSeconds();
    const uti = randomBytes(16).toString('base64url');
    issuedTokenIds.push(uti);
    return signJwt(
      {
        aud: BOT_FRAMEWORK_API,
        iss: `https://sts.windows.net/${tid}/`,
        iat: now,
        nbf: now,
        exp: now + tokenLifetime,
        aio: randomBytes(40).toString('base64'),
        appid: appId,
        appidacr: '1',
        idp: `https://sts.windows.net/${tid}/`,
        idtyp: 'app',
        oid: servicePrincipalId,
        rh: `0.${randomBytes(30).toString('base64url')}.`,
        sub: servicePrincipalId,
        tid,
        uti,
        ver: '1.0',
      },
      { privateKey: loginKey.privateKey, kid: loginKey.kid, x5t: loginKey.kid },
    );
  };
  const tokenEndpoint = async (input: { tenant: string; host: string; form: URLSearchParams }): Promise<TokenAnswer> => {
    const { form } = input;
    const entry: TokenRequest = {
      at: Date.now(),
      tenant: input.tenant,
      host: input.host,
      clientId: form.get('client_id') ?? undefined,
      scope: form.get('scope') ?? undefined,
      grantType: form.get('grant_type') ?? undefined,
      secretValid: form.get('client_secret') === appPassword,
      status: 0,
    };
    tokenRequests.push(entry);
    const call: RecordedCall = { route: 'token', method: 'POST', path: `/${input.tenant}/oauth2/v2.0/token`, body: { ...Object.fromEntries(form), client_secret: '<redacted>' }, bytes: 0, at: entry.at, status: 0, response: undefined };
    calls.push(call);
    const answer = await (async (): Promise<TokenAnswer> => {
      const fault = takeFault('token');
      if (fault?.status !== undefined) {
        const status = fault.status;
        return {
          ...entraError(status, status === 429 ? 'temporarily_unavailable' : 'server_error', status === 429 ? 50196 : 50000, fault.message ?? 'There was an error issuing a token or an authorization code.'),
          ...(status === 429 || fault.retryAfter !== undefined ? { headers: { 'Retry-After': String(fault.retryAfter ?? 1) } } : {}),
          ...(fault.delayMs ? { delayMs: fault.delayMs } : {}),
        };
      }
      const delay = fault?.delayMs ? { delayMs: fault.delayMs } : {};
      const tid = knownTenant(input.tenant, tenantId);
      if (!tid) return { ...tenantNotFound(input.tenant), ...delay };
      if (entry.clientId !== appId) return { ...appNotFound(entry.clientId ?? '', tid), ...delay };
      // A SingleTenant app exists only in its home tenant; a MultiTenant one gets tokens from botframework.com too.
      if (tid !== tenantId && !(appType === 'MultiTenant' && tid === BOT_FRAMEWORK_TENANT_ID)) return { ...appNotFound(appId, tid), ...delay };
      if (form.get('grant_type') !== 'client_credentials') {
        return { ...entraError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.'), ...delay };
      }
      if (!entry.secretValid) {
        return {
          ...entraError(401, 'invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${appId}'.`),
          ...delay,
        };
      }
      const scope = form.get('scope') ?? '';
      if (scope !== `${BOT_FRAMEWORK_API}/.default`) {
        if (scope.replace(/\/\.default$/, '') === BOT_FRAMEWORK_API) {
          return { ...entraError(400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`), ...delay };
        }
        return { ...entraError(400, 'invalid_resource', 500011, `The resource principal named ${scope.replace(/\/\.default$/, '')} was not found in the tenant named ${tid}.`), ...delay };
      }
      return { status: 200, body: { token_type: 'Bearer', expires_in: tokenLifetime, ext_expires_in: tokenLifetime, access_token: issueAccessToken(tid) }, ...delay };
    })();
    entry.status = answer.status;
    call.status = answer.status;
    call.response = answer.body;
    if (answer.status !== 200 && isObject(answer.body)) entry.error = stringOr(answer.body.error);
    record(call);
    return answer;
  };

  /** The app id of a bearer token the fake's Entra issued to this bot and that is still good, else undefined. */
  const authenticateConnectorCall = (authorization: string | undefined): string | undefined => {
    const token = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1];
    const decoded = token ? decodeJwt(token) : undefined;
    if (!decoded || decoded.header.alg !== 'RS256' || decoded.header.kid !== loginKey.kid) return undefined;
    if (!verifyBytes('sha256', Buffer.from(decoded.signingInput), loginKey.publicKey, decoded.signature)) return undefined;
    const { aud, exp, nbf, appid, tid, iss, uti } = decoded.payload;
    const now = nowSeconds();
    if (aud !== BOT_FRAMEWORK_API || typeof exp !== 'number' || exp <= now || (typeof nbf === 'number' && nbf > now + 300)) return undefined;
    if (typeof uti !== 'string' || revokedTokenIds.has(uti)) return undefined;
    if (appid !== appId || (tid !== tenantId && tid !== BOT_FRAMEWORK_TENANT_ID) || iss !== `https://sts.windows.net/${String(tid)}/`) return undefined;
    return appId;
  };

  // --- Bot Connector ------------------------------------------------------------------------------------------
  const checkRate = (conversationId: string): void => {
    if (rateWindows.length === 0) return;
    const now = Date.now();
    const longest = Math.max(...rateWindows.map((window) => window.windowMs));
    const log = (rateLog.get(conversationId) ?? []).filter((at) => at > now - longest);
    rateLog.set(conversationId, log);
    for (const window of rateWindows) {
      const inWindow = log.filter((at) => at > now - window.windowMs);
      if (inWindow.length >= window.max) {
        const oldest = inWindow[0] ?? now;
        const retryAfter = Math.max(1, Math.ceil((oldest + window.windowMs - now) / 1000));
        throw new ConnectorError(429, 'Throttled', 'Too many requests.', { 'Retry-After': String(retryAfter) });
      }
    }
    log.push(now);
  };
  const checkSize = (bytes: number): void => {
    if (bytes > maxMessageBytes) throw new ConnectorError(413, 'MessageSizeTooBig', 'Message size too large.');
  };
  const requireActivity = (body: unknown): Partial<Activity> => {
    if (!isObject(body) || typeof body.type !== 'string') throw new ConnectorError(400, 'BadArgument', 'Activity type is required.');
    return body as Partial<Activity>;
  };

  interface Matched {
    route: FakeRoute | 'unknown';
    conversationId?: string;
    activityId?: string;
    memberId?: string;
    teamId?: string;
  }
  const matchConnector = (method: string, segments: string[]): Matched => {
    const [version, collection, id, sub, subId, ...rest] = segments;
    if (version !== 'v3' || rest.length > 0) return { route: 'unknown' };
    if (collection === 'teams' && id) {
      if (method === 'GET' && sub === undefined) return { route: 'fetchTeamDetails', teamId: id };
      if (method === 'GET' && sub === 'conversations' && subId === undefined) return { route: 'fetchChannelList', teamId: id };
      return { route: 'unknown' };
    }
    if (collection !== 'conversations') return { route: 'unknown' };
    if (id === undefined) return method === 'POST' ? { route: 'createConversation' } : { route: 'unknown' };
    if (sub === 'activities') {
      if (subId === undefined) return method === 'POST' ? { route: 'sendToConversation', conversationId: id } : { route: 'unknown' };
      const route = ({ POST: 'replyToActivity', PUT: 'updateActivity', DELETE: 'deleteActivity' } as const)[method as 'POST' | 'PUT' | 'DELETE'];
      return route ? { route, conversationId: id, activityId: subId } : { route: 'unknown' };
    }
    if (sub === 'members' && method === 'GET') {
      return subId === undefined ? { route: 'getConversationMembers', conversationId: id } : { route: 'getConversationMember', conversationId: id, memberId: subId };
    }
    if (sub === 'pagedmembers' && method === 'GET' && subId === undefined) return { route: 'getConversationPagedMembers', conversationId: id };
    return { route: 'unknown' };
  };

  const connector = (matched: Matched, body: unknown, bytes: number, query: URLSearchParams): { status: number; body: unknown } => {
    const conversationId = matched.conversationId;
    switch (matched.route) {
      case 'createConversation': {
        if (!isObject(body)) throw new ConnectorError(400, 'BadArgument', 'Conversation parameters are required.');
        const channelData = isObject(body.channelData) ? body.channelData : {};
        const tenant = stringOr(body.tenantId) ?? (isObject(channelData.tenant) ? stringOr(channelData.tenant.id) : undefined);
        // Teams documents neither answer's code or wording; these are the fake's.
        if (!tenant) throw new ConnectorError(400, 'BadArgument', 'Tenant ID is required.');
        if (tenant !== tenantId) throw new ConnectorError(403, 'BotNotInConversationRoster', 'The bot is not part of the conversation roster.');
        const channelRef = isObject(channelData.channel) ? stringOr(channelData.channel.id) : undefined;
        if (channelRef) {
          const place = requirePlace(channelRef);
          if (place.kind !== 'channel') throw new ConnectorError(400, 'BadArgument', 'channelData.channel.id is not a channel.');
          checkRate(channelRef);
          const activity = isObject(body.activity) ? requireActivity(body.activity) : undefined;
          if (!activity) throw new ConnectorError(400, 'BadArgument', 'An activity is required to start a thread in a channel.');
          checkSize(bytes);
          const root = postBotMessage({ ...place, rootId: undefined }, activity, 'createConversation');
          if (!root) throw new ConnectorError(400, 'BadArgument', 'Only message activities start a thread.');
          return { status: 201, body: { id: root.conversationId, activityId: root.id } };
        }
        const members = Array.isArray(body.members) ? body.members.filter(isObject) : [];
        if (body.isGroup === true || members.length !== 1) throw new ConnectorError(400, 'BadArgument', 'Bots can only create 1:1 conversations with one member.');
        const user = findUser(stringOr(members[0]?.id) ?? '');
        if (!user) throw new ConnectorError(400, 'MemberNotFoundInConversation', 'The member was not found in the tenant.');
        if (!installedForUsers.has(user.id)) throw new ConnectorError(403, 'BotNotInConversationRoster', 'The bot is not part of the conversation roster.');
        const id = personalConversationId(user);
        checkRate(id);
        const activity = isObject(body.activity) ? requireActivity(body.activity) : undefined;
        if (activity) checkSize(bytes);
        const posted = activity ? postBotMessage({ kind: 'personal', id, user }, activity, 'createConversation') : undefined;
        return { status: 201, body: posted ? { id, activityId: posted.id } : { id } };
      }
      case 'sendToConversation':
      case 'replyToActivity': {
        const place = requirePlace(conversationId ?? '');
        checkRate(place.id);
        const activity = requireActivity(body);
        checkSize(bytes);
        const replyToId = matched.route === 'replyToActivity' ? matched.activityId : stringOr(activity.replyToId);
        const posted = postBotMessage(place, activity, matched.route, replyToId);
        return { status: posted ? 201 : 200, body: { id: posted?.id ?? '' } };
      }
      case 'updateActivity':
      case 'deleteActivity': {
        const place = requirePlace(conversationId ?? '');
        checkRate(place.id);
        const stored = messages.get(matched.activityId ?? '');
        const samePlace = stored && (place.kind === 'personal' ? stored.conversationId === place.id : stored.channelId === place.channel.id);
        if (!stored || stored.deleted || !samePlace) throw new ConnectorError(404, 'ActivityNotFoundInConversation', 'Conversation not found.');
        if (!stored.fromBot) throw new ConnectorError(403, 'NotEnoughPermissions', 'The bot can only edit or delete its own messages.');
        if (matched.route === 'deleteActivity') {
          stored.deleted = true;
          return { status: 200, body: undefined };
        }
        const activity = requireActivity(body);
        checkSize(bytes);
        reviseMessage(stored, { ...activity, from: stored.activity.from, conversation: stored.activity.conversation }, 'updateActivity');
        return { status: 200, body: { id: stored.id } };
      }
      case 'getConversationMembers':
      case 'getConversationPagedMembers':
      case 'getConversationMember': {
        const place = requirePlace(conversationId ?? '');
        checkRate(place.id);
        const roster = rosterOf(place);
        if (matched.route === 'getConversationMembers') return { status: 200, body: roster.map(member) };
        if (matched.route === 'getConversationMember') {
          const found = roster.find((user) => user.id === matched.memberId || user.aadObjectId === matched.memberId?.toLowerCase());
          if (!found) throw new ConnectorError(404, 'MemberNotFoundInConversation', 'The member was not found in the conversation.');
          return { status: 200, body: member(found) };
        }
        const pageSize = Math.min(500, Math.max(1, Number(query.get('pageSize') ?? 200) || 200));
        const offset = Number(Buffer.from(query.get('continuationToken') ?? '', 'base64url').toString() || 0);
        const page = roster.slice(offset, offset + pageSize);
        const next = offset + pageSize < roster.length ? Buffer.from(String(offset + pageSize)).toString('base64url') : undefined;
        return { status: 200, body: { members: page.map(member), ...(next ? { continuationToken: next } : {}) } };
      }
      case 'fetchTeamDetails':
      case 'fetchChannelList': {
        const team = teams.get(matched.teamId ?? '');
        if (!team) throw new ConnectorError(404, 'ConversationNotFound', 'Conversation not found.');
        if (!installedInTeams.has(team.id)) throw new ConnectorError(403, 'BotNotInConversationRoster', 'The bot is not part of the conversation roster.');
        if (matched.route === 'fetchChannelList') return { status: 200, body: { conversations: team.channels.map((channel) => ({ id: channel.id, ...(channel.name ? { name: channel.name } : {}) })) } };
        return { status: 200, body: { id: team.id, name: team.name, aadGroupId: team.aadGroupId, channelCount: team.channels.length, memberCount: team.members.length, type: 'standard' } };
      }
      default:
        throw new ConnectorError(404, 'BadArgument', 'Unknown API.');
    }
  };

  // --- HTTP server --------------------------------------------------------------------------------------------
  let origin = '';
  const channelMetadataPath = '/v1/.well-known/openidconfiguration';
  const channelKeysPath = '/v1/.well-known/keys';
  const emulatorMetadataPath = '/common/v2.0/.well-known/openid-configuration';
  const emulatorKeysPath = '/common/discovery/v2.0/keys';

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', origin);
    const method = req.method ?? 'GET';
    const raw = await readBody(req);
    const bytes = Buffer.byteLength(raw);
    let body: unknown = undefined;
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
    }

    if (method === 'GET' && (url.pathname === channelMetadataPath || url.pathname === channelKeysPath)) {
      const route: FakeRoute = url.pathname === channelMetadataPath ? 'openIdMetadata' : 'keys';
      const call: RecordedCall = { route, method, path: url.pathname, body: undefined, bytes: 0, at: Date.now(), status: 0, response: undefined };
      calls.push(call);
      const fault = takeFault(route);
      if (fault?.delayMs && !(await holdOpen(res, fault.delayMs))) return;
      const error = fault ? faultError(fault) : undefined;
      const answer = error
        ? { status: error.status, body: { error: { code: error.code, message: error.message } } }
        : route === 'openIdMetadata'
          ? {
              status: 200,
              body: {
                issuer: BOT_FRAMEWORK_API,
                authorization_endpoint: 'https://invalid.botframework.com',
                jwks_uri: `${origin}${channelKeysPath}`,
                id_token_signing_alg_values_supported: ['RS256'],
                token_endpoint_auth_methods_supported: ['private_key_jwt'],
              },
            }
          : { status: 200, body: { keys: [jwk(channelKey, { endorsements })] } };
      call.status = answer.status;
      call.response = answer.body;
      sendJson(res, answer.status, answer.body);
      record(call);
      return;
    }
    if (method === 'GET' && url.pathname === emulatorMetadataPath) {
      sendJson(res, 200, { ...entraOpenIdConfiguration(origin, '{tenantid}'), jwks_uri: `${origin}${emulatorKeysPath}` });
      return;
    }
    if (method === 'GET' && url.pathname === emulatorKeysPath) {
      sendJson(res, 200, { keys: [jwk(loginKey)] });
      return;
    }
    if (!url.pathname.startsWith(serviceUrlPath)) {
      const note = (route: 'loginMetadata', path: string, status: number): void => {
        const call: RecordedCall = { route, method, path, body: undefined, bytes: 0, at: Date.now(), status, response: undefined };
        calls.push(call);
        record(call);
      };
      if (await handleLogin(req, res, url, raw, { origin, tenantId, key: loginKey, token: tokenEndpoint, note })) return;
      sendJson(res, 404, { error: { code: 'NotFound', message: `No ${method} ${url.pathname}` } });
      return;
    }

    const segments = url.pathname.slice(serviceUrlPath.length).split('/').filter(Boolean).map((segment) => decodeURIComponent(segment));
    const matched = matchConnector(method, segments);
    const call: RecordedCall = {
      route: matched.route,
      method,
      path: url.pathname,
      ...(matched.conversationId !== undefined ? { conversationId: matched.conversationId } : {}),
      ...(matched.activityId !== undefined ? { activityId: matched.activityId } : {}),
      ...(matched.memberId !== undefined ? { memberId: matched.memberId } : {}),
      body,
      bytes,
      at: Date.now(),
      status: 0,
      response: undefined,
    };
    calls.push(call);
    const finish = (status: number, answer: unknown, headers: Record<string, string> = {}): void => {
      call.status = status;
      call.response = answer;
      if (headers['Retry-After']) call.retryAfter = Number(headers['Retry-After']);
      sendJson(res, status, answer, headers);
      record(call);
    };

    const appIdOfToken = authenticateConnectorCall(req.headers.authorization);
    if (!appIdOfToken) return finish(401, DENIED);
    call.appId = appIdOfToken;
    if (matched.route === 'unknown') return finish(404, { error: { code: 'BadArgument', message: `No ${method} ${url.pathname}` } });
    try {
      const fault = takeFault(matched.route);
      if (fault?.delayMs && !(await holdOpen(res, fault.delayMs))) {
        record(call);
        return;
      }
      const error = fault ? faultError(fault) : undefined;
      if (error) throw error;
      const answer = connector(matched, body, bytes, url.searchParams);
      finish(answer.status, answer.body);
    } catch (error) {
      if (!(error instanceof ConnectorError)) throw error;
      finish(error.status, { error: { code: error.code, message: error.message } }, error.headers);
    }
  };

  const server: Server = createServer(readTestTls(), (req, res) => {
    void handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'ServiceError', message: `fake Bot Framework: ${String(error)}` } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const serviceUrl = `${origin}${serviceUrlPath}`;

  // --- channel tokens and the driver --------------------------------------------------------------------------
  const signChannelToken = (tokenOptions: ChannelTokenOptions = {}): string => {
    const notBefore = tokenOptions.notBefore ?? nowSeconds();
    return signJwt(
      {
        serviceurl: tokenOptions.serviceUrl ?? serviceUrl,
        nbf: notBefore,
        exp: notBefore + (tokenOptions.lifetimeSeconds ?? 3600),
        iss: tokenOptions.issuer ?? BOT_FRAMEWORK_API,
        aud: tokenOptions.audience ?? appId,
        ...tokenOptions.extraClaims,
      },
      { privateKey: tokenOptions.privateKey ?? channelKey.privateKey, kid: tokenOptions.kid ?? channelKey.kid, x5t: tokenOptions.kid ?? channelKey.kid },
    );
  };

  const clientInfo = { locale: 'en-US', country: 'US', platform: 'Web', timezone: 'Europe/London', type: 'clientInfo' };
  const account = (user: TeamsUser): { id: string; name: string; aadObjectId: string } => ({ id: user.id, name: user.name, aadObjectId: user.aadObjectId });
  const recipient = { id: botId, name: botName };
  const envelope = (): Partial<Activity> => ({
    timestamp: new Date().toISOString() as unknown as Date,
    localTimestamp: new Date().toISOString() as unknown as Date,
    channelId: 'msteams',
    serviceUrl,
    recipient,
    locale: 'en-US',
    localTimezone: 'Europe/London',
  });
  const personalConversation = (user: TeamsUser): Activity['conversation'] => ({ conversationType: 'personal', tenantId, id: personalConversationId(user) }) as Activity['conversation'];
  const channelData = (channel: TeamsChannel): Record<string, unknown> => ({
    teamsChannelId: channel.id,
    teamsTeamId: channel.teamId,
    channel: { id: channel.id },
    team: { id: channel.teamId },
    tenant: { id: tenantId },
  });
  const invokeId = (): string => `f:${randomInt(1e9, 1e10)}${randomInt(1e8, 1e9)}`;
  const escapeHtml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

  const driver = (endpoint: string): TeamsDriver => {
    const post = async (activity: Partial<Activity>, postOptions: PostOptions = {}): Promise<TeamsResult> => {
      const token = postOptions.token === undefined ? signChannelToken({ serviceUrl: activity.serviceUrl ?? serviceUrl }) : postOptions.token;
      const conversation = activity.conversation as { id?: string } | undefined;
      const headers: Record<string, string> = {
        'Content-Type': 'application/json; charset=utf-8',
        'User-Agent': 'Microsoft-SkypeBotApi (Microsoft-BotFramework/3.0)',
        ...(conversation?.id ? { 'x-ms-conversation-id': conversation.id } : {}),
        'x-ms-tenant-id': tenantId,
        ...(token !== null ? { Authorization: `Bearer ${token}` } : {}),
      };
      try {
        const response = await fetch(endpoint, {
          method: 'POST',
          headers,
          body: JSON.stringify(activity),
          signal: AbortSignal.timeout(postOptions.timeoutMs ?? 15_000),
        });
        const text = await response.text();
        let parsed: unknown = text;
        if (text && (response.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(text) as unknown;
        return { status: response.status, body: parsed, activity, timedOut: false };
      } catch (error) {
        if (error instanceof DOMException && error.name === 'TimeoutError') return { status: 0, body: undefined, activity, timedOut: true };
        throw error;
      }
    };

    return {
      post,

      personalMessage: async ({ from, text = 'dbaccess', attachments }, postOptions) => {
        installedForUsers.add(from.id);
        const activity: Partial<Activity> = {
          text,
          textFormat: 'plain',
          attachments: attachments ?? [{ contentType: 'text/html', content: `<p>${escapeHtml(text)}</p>` }],
          type: 'message',
          id: nextMessageId(),
          ...envelope(),
          from: account(from),
          conversation: personalConversation(from),
          entities: [clientInfo],
          channelData: { tenant: { id: tenantId } },
        };
        storeMessage({ id: activity.id ?? '', conversationId: personalConversationId(from), fromBot: false, activity, via: 'user' });
        return post(activity, postOptions);
      },

      channelMessage: async ({ from, channel, text, threadRootId, mention = true }, postOptions) => {
        if (!mention) throw new Error('Teams delivers a channel message to a bot only when the bot is @mentioned (or the app holds ChannelMessage.Read.Group consent)');
        const team = teams.get(channel.teamId);
        if (!team || !installedInTeams.has(team.id)) throw new Error(`the bot is not installed in the team of channel ${channel.id}: Teams would not deliver this message`);
        const id = nextMessageId();
        const rootId = threadRootId ?? id;
        const mentionText = `<at>${botName}</at>`;
        const activity: Partial<Activity> = {
          text: `${mentionText} ${text}`,
          textFormat: 'plain',
          attachments: [
            {
              contentType: 'text/html',
              content: `<div><div><span itemscope="" itemtype="http://schema.skype.com/Mention" itemid="0">${escapeHtml(botName)}</span>&nbsp;${escapeHtml(text)}</div></div>`,
            },
          ],
          type: 'message',
          id,
          ...envelope(),
          from: account(from),
          conversation: { isGroup: true, conversationType: 'channel', tenantId, id: `${channel.id};messageid=${rootId}` } as Activity['conversation'],
          ...(threadRootId ? { replyToId: threadRootId } : {}),
          entities: [{ mentioned: recipient, text: mentionText, type: 'mention' }, clientInfo],
          channelData: channelData(channel),
        };
        storeMessage({ id, conversationId: `${channel.id};messageid=${rootId}`, channelId: channel.id, threadRootId: rootId, fromBot: false, activity, via: 'user' });
        return post(activity, postOptions);
      },

      cardAction: async ({ from, message, verb, inputs = {}, trigger = 'manual' }, postOptions) => {
        const stored = messages.get(message.id);
        if (!stored || stored.deleted) throw new Error(`message ${message.id} is not in the conversation: nobody can click its buttons`);
        const action = findExecuteAction(stored.activity.attachments, verb);
        if (!action) throw new Error(`message ${message.id} has no Action.Execute with verb '${verb}'`);
        const place = resolvePlace(stored.conversationId);
        const activity: Partial<Activity> = {
          name: 'adaptiveCard/action',
          type: 'invoke',
          id: invokeId(),
          ...envelope(),
          from: account(from),
          conversation:
            place?.kind === 'channel'
              ? ({ isGroup: true, conversationType: 'channel', tenantId, id: stored.conversationId } as Activity['conversation'])
              : ({ conversationType: 'personal', tenantId, id: stored.conversationId } as Activity['conversation']),
          entities: [clientInfo],
          channelData: {
            ...(place?.kind === 'channel' ? channelData(place.channel) : { tenant: { id: tenantId } }),
            source: { name: 'message' },
            legacy: { replyToId: stored.id },
          },
          replyToId: stored.id,
          value: {
            action: {
              type: 'Action.Execute',
              ...(typeof action.id === 'string' ? { id: action.id } : {}),
              ...(typeof action.title === 'string' ? { title: action.title } : {}),
              verb,
              data: { ...(isObject(action.data) ? action.data : {}), ...inputs },
            },
            trigger,
          },
        };
        const result = await post(activity, postOptions);
        // Teams replaces the card in place with the one an invoke response carries.
        if (result.status === 200 && isObject(result.body) && result.body.statusCode === 200 && result.body.type === 'application/vnd.microsoft.card.adaptive') {
          reviseMessage(stored, { ...stored.activity, attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: result.body.value }] }, 'invokeResponse');
        }
        return result;
      },

      installationUpdate: async ({ from, action, team }, postOptions) => {
        if (team) setInstalled(team, action === 'add');
        else setInstalled(from, action === 'add');
        const activity: Partial<Activity> = {
          action,
          type: 'installationUpdate',
          id: invokeId(),
          ...envelope(),
          from: account(from),
          conversation: team
            ? ({ isGroup: true, conversationType: 'channel', tenantId, id: team.id } as Activity['conversation'])
            : personalConversation(from),
          entities: [clientInfo],
          channelData: team
            ? { settings: { selectedChannel: { id: team.general.id } }, channel: { id: team.general.id }, team: { id: team.id, name: team.name, aadGroupId: team.aadGroupId }, tenant: { id: tenantId }, source: { name: 'message' } }
            : { tenant: { id: tenantId }, source: { name: 'message' } },
        };
        return post(activity, postOptions);
      },

      conversationUpdate: async ({ from, team, botAdded, botRemoved, membersAdded = [], membersRemoved = [] }, postOptions) => {
        if (botAdded) setInstalled(team ?? from, true);
        if (team) {
          for (const user of membersAdded) if (!team.members.includes(user)) team.members.push(user);
          team.members = team.members.filter((user) => !membersRemoved.includes(user));
        }
        // Teams lists members without names here.
        const added = [...(botAdded ? [{ id: botId }] : []), ...membersAdded.map((user) => ({ id: user.id, aadObjectId: user.aadObjectId }))] as NonNullable<Activity['membersAdded']>;
        const removed = [...(botRemoved ? [{ id: botId }] : []), ...membersRemoved.map((user) => ({ id: user.id, aadObjectId: user.aadObjectId }))] as NonNullable<Activity['membersRemoved']>;
        const eventType = added.length > 0 ? 'teamMemberAdded' : 'teamMemberRemoved';
        const activity: Partial<Activity> = {
          ...(added.length > 0 ? { membersAdded: added } : {}),
          ...(removed.length > 0 ? { membersRemoved: removed } : {}),
          type: 'conversationUpdate',
          id: invokeId(),
          ...envelope(),
          from: account(from),
          conversation: team ? ({ isGroup: true, conversationType: 'channel', tenantId, id: team.id } as Activity['conversation']) : personalConversation(from),
          channelData: team
            ? { team: { aadGroupId: team.aadGroupId, name: team.name, id: team.id }, eventType, tenant: { id: tenantId } }
            : { tenant: { id: tenantId } },
        };
        const result = await post(activity, postOptions);
        if (botRemoved) setInstalled(team ?? from, false);
        return result;
      },
    };
  };

  return {
    url: origin,
    serviceUrl,
    openIdMetadataUrl: `${origin}${channelMetadataPath}`,
    emulatorOpenIdMetadataUrl: `${origin}${emulatorMetadataPath}`,
    appId,
    appPassword,
    appType,
    tenantId,
    botId,
    botName,
    channelKeyId: channelKey.kid,
    authConfig: (overrides = {}) => ({
      MicrosoftAppId: appId,
      MicrosoftAppPassword: appPassword,
      MicrosoftAppType: appType,
      MicrosoftAppTenantId: tenantId,
      ToBotFromChannelOpenIdMetadataUrl: `${origin}${channelMetadataPath}`,
      ToBotFromChannelTokenIssuer: BOT_FRAMEWORK_API,
      ToBotFromEmulatorOpenIdMetadataUrl: `${origin}${emulatorMetadataPath}`,
      ToChannelFromBotLoginUrl: `${origin}/${appType === 'SingleTenant' ? tenantId : 'botframework.com'}`,
      ToChannelFromBotOAuthScope: BOT_FRAMEWORK_API,
      OAuthUrl: BOT_FRAMEWORK_API,
      CallerId: 'urn:botframework:azure',
      ValidateAuthority: true,
      ...overrides,
    }),
    env: () => ({
      MICROSOFT_APP_ID: appId,
      MICROSOFT_APP_PASSWORD: appPassword,
      MICROSOFT_APP_TYPE: appType,
      MICROSOFT_APP_TENANT_ID: tenantId,
      MICROSOFT_OPENID_METADATA_URL: `${origin}${channelMetadataPath}`,
      MICROSOFT_LOGIN_URL: `${origin}/${appType === 'SingleTenant' ? tenantId : 'botframework.com'}`,
    }),
    loginAuthority: (tenant = appType === 'SingleTenant' ? tenantId : 'botframework.com') => `${origin}/${tenant}`,
    signChannelToken,
    addUser,
    addTeam,
    addChannel,
    personalConversationId,
    setInstalled,
    bot: driver,
    calls,
    callsTo: (route) => calls.filter((call) => call.route === route),
    waitFor: (route, predicate = () => true, timeoutMs = 5000) => {
      const done = calls.find((call) => call.route === route && call.status !== 0 && predicate(call));
      if (done) return Promise.resolve(done);
      return new Promise((resolve, reject) => {
        const waiter = {
          route,
          predicate,
          resolve: (call: RecordedCall) => {
            clearTimeout(timer);
            resolve(call);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          const seen = calls.filter((call) => call.route === route).map((call) => `${call.method} ${call.path} -> ${call.status}`);
          reject(new Error(`fake Bot Framework: no matching ${route} within ${timeoutMs} ms (saw: ${seen.join('; ') || 'none'})`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    tokenRequests,
    messagesIn,
    botMessagesIn: (conversationId) => messagesIn(conversationId).filter((message) => message.fromBot),
    message: (activityId) => messages.get(activityId),
    failNext: (route, fault = { status: 500 }) => {
      const queue = faults.get(route) ?? [];
      queue.push({ ...fault, count: fault.count ?? 1 });
      faults.set(route, queue);
    },
    revokeIssuedTokens: () => {
      for (const id of issuedTokenIds) revokedTokenIds.add(id);
    },
    resolve: (value) => {
      const visit = (node: unknown, depth: number): unknown => {
        if (depth > 3) return node;
        if (Array.isArray(node)) return node.map((item) => visit(item, depth + 1));
        if (!isObject(node)) return node;
        const id = typeof node.id === 'string' ? node.id : undefined;
        if (id && 'userPrincipalName' in node && users.has(id)) return users.get(id);
        if (id && 'general' in node && teams.has(id)) return teams.get(id);
        if (id && 'teamId' in node && channels.has(id)) return channels.get(id);
        if (id && 'history' in node && messages.has(id)) return messages.get(id);
        return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, visit(value, depth + 1)]));
      };
      return visit(value, 0);
    },
    personalReference: (user) => ({
      activityId: undefined,
      user: account(user),
      bot: recipient,
      conversation: personalConversation(user) as ConversationReference['conversation'],
      channelId: 'msteams',
      locale: 'en-US',
      serviceUrl,
    }),
    close: async () => {
      for (const waiter of waiters) waiters.delete(waiter);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The Action.Execute with this verb anywhere in the message's Adaptive Cards (actions, selectAction, ActionSets). */
function findExecuteAction(attachments: unknown, verb: string): Record<string, unknown> | undefined {
  const visit = (node: unknown): Record<string, unknown> | undefined => {
    if (Array.isArray(node)) {
      for (const item of node) {
        const found = visit(item);
        if (found) return found;
      }
      return undefined;
    }
    if (!isObject(node)) return undefined;
    if (node.type === 'Action.Execute' && node.verb === verb) return node;
    for (const value of Object.values(node)) {
      const found = visit(value);
      if (found) return found;
    }
    return undefined;
  };
  if (!Array.isArray(attachments)) return undefined;
  return visit(attachments.filter((attachment) => isObject(attachment) && attachment.contentType === 'application/vnd.microsoft.card.adaptive').map((attachment) => (attachment as { content?: unknown }).content));
}
