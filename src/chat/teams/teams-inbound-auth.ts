import { createPublicKey, verify, type KeyObject } from 'node:crypto';

/**
 * The check of every activity's Bearer token before botbuilder sees it. botbuilder checks the same claims,
 * but answers a bad signature or a token not yet valid with HTTP 500 (jsonwebtoken's errors are no
 * AuthenticationError) and writes stack traces and the channel's PEM keys with console.error. Here each
 * refusal is one short reason, and nothing of the token or the keys is in it.
 *
 * Accepted: `Bearer <RS256/384/512 JWT>` from the channel's issuer, signed by a key of the channel's OpenID
 * metadata that endorses the activity's channel, within its `nbf`..`exp` (5 minutes' skew, as botbuilder),
 * for this bot (`aud`), for the activity's service URL (`serviceurl`). Emulator and skill tokens are refused.
 */
export interface InboundAuthOptions {
  appId: string;
  issuer: string;
  openIdMetadataUrl: string;
  /** Longer Authorization headers are refused unread. Channel tokens are about 1.5 KB. */
  maxHeaderBytes?: number;
  /** Keys are reloaded after this long, and at most once a minute for an unknown key id. */
  keysTtlMs?: number;
}

export type InboundVerdict = { ok: true } | { ok: false; status: 401 | 503; reason: string };

interface SigningKey {
  key: KeyObject;
  endorsements: string[] | undefined;
}

const CLOCK_SKEW_SECONDS = 300;
const ALGORITHMS: Record<string, string> = { RS256: 'sha256', RS384: 'sha384', RS512: 'sha512' };
const JWT = /^Bearer ([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/;

export function createInboundAuth(options: InboundAuthOptions) {
  const maxHeaderBytes = options.maxHeaderBytes ?? 8192;
  const keysTtlMs = options.keysTtlMs ?? 24 * 3600_000;
  let keys = new Map<string, SigningKey>();
  let loadedAt = 0;
  let loading: Promise<void> | undefined;

  async function load(): Promise<void> {
    const metadata = await getJson(options.openIdMetadataUrl);
    const jwksUri = typeof metadata.jwks_uri === 'string' ? metadata.jwks_uri : '';
    if (!jwksUri) throw new Error('the OpenID metadata names no jwks_uri');
    const jwks = await getJson(jwksUri);
    const next = new Map<string, SigningKey>();
    for (const jwk of Array.isArray(jwks.keys) ? (jwks.keys as Array<Record<string, unknown>>) : []) {
      if (typeof jwk.kid !== 'string' || jwk.kty !== 'RSA') continue;
      try {
        const key = createPublicKey({ key: { kty: 'RSA', n: jwk.n, e: jwk.e } as never, format: 'jwk' });
        next.set(jwk.kid, { key, endorsements: Array.isArray(jwk.endorsements) ? jwk.endorsements.filter((e): e is string => typeof e === 'string') : undefined });
      } catch {
        // A key we cannot read signs nothing we accept.
      }
    }
    keys = next;
    loadedAt = Date.now();
  }

  async function keyFor(kid: string): Promise<SigningKey | undefined> {
    const stale = Date.now() - loadedAt > keysTtlMs;
    const unknownAndOld = !keys.has(kid) && Date.now() - loadedAt > 60_000;
    if (stale || unknownAndOld) {
      loading ??= load().finally(() => {
        loading = undefined;
      });
      try {
        await loading;
      } catch (error) {
        if (loadedAt === 0) throw error;
      }
    }
    return keys.get(kid);
  }

  const refuse = (reason: string): InboundVerdict => ({ ok: false, status: 401, reason });

  async function check(authorization: string | string[] | undefined, activity: { channelId?: unknown; serviceUrl?: unknown } | undefined): Promise<InboundVerdict> {
    if (authorization === undefined || authorization === '') return refuse('no Authorization header');
    if (Array.isArray(authorization)) return refuse('more than one Authorization header');
    if (Buffer.byteLength(authorization) > maxHeaderBytes) return refuse(`Authorization header over ${maxHeaderBytes} bytes`);
    const parts = JWT.exec(authorization);
    if (!parts) return refuse('Authorization is not a Bearer JWT');
    const [, headerPart = '', payloadPart = '', signaturePart = ''] = parts;
    const header = decodeJson(headerPart);
    const claims = decodeJson(payloadPart);
    if (!header || !claims) return refuse('Authorization is not a Bearer JWT');
    const algorithm = typeof header.alg === 'string' ? ALGORITHMS[header.alg] : undefined;
    if (!algorithm) return refuse('token signing algorithm not allowed');
    if (claims.iss !== options.issuer) return refuse('token from another issuer');
    if (typeof header.kid !== 'string') return refuse('token without a key id');
    let key: SigningKey | undefined;
    try {
      key = await keyFor(header.kid);
    } catch (error) {
      return { ok: false, status: 503, reason: `cannot load the Bot Framework signing keys: ${oneLine(error)}` };
    }
    if (!key) return refuse('token signed with an unknown key id');
    if (!verify(algorithm, Buffer.from(`${headerPart}.${payloadPart}`), key.key, Buffer.from(signaturePart, 'base64url'))) return refuse('token signature does not verify');
    const now = Math.floor(Date.now() / 1000);
    if (typeof claims.exp !== 'number') return refuse('token without an expiry');
    if (claims.exp + CLOCK_SKEW_SECONDS <= now) return refuse('token expired');
    if (typeof claims.nbf === 'number' && claims.nbf - CLOCK_SKEW_SECONDS > now) return refuse('token not yet valid');
    if (claims.aud !== options.appId) return refuse('token for another audience');
    const channelId = typeof activity?.channelId === 'string' ? activity.channelId : '';
    if (key.endorsements && key.endorsements.length > 0 && !key.endorsements.includes(channelId)) return refuse('signing key not endorsed for the activity\'s channel');
    if (typeof claims.serviceurl !== 'string') return refuse('token without a serviceurl claim');
    if (claims.serviceurl !== activity?.serviceUrl) return refuse('token serviceurl does not match the activity\'s serviceUrl');
    return { ok: true };
  }

  return { check };
}

export type InboundAuth = ReturnType<typeof createInboundAuth>;

function decodeJson(part: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

async function getJson(url: string): Promise<Record<string, unknown>> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000), headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`${new URL(url).host} answered ${response.status}`);
  const body = (await response.json()) as unknown;
  if (typeof body !== 'object' || body === null) throw new Error(`${new URL(url).host} answered no JSON object`);
  return body as Record<string, unknown>;
}

/** The first line of an error's message, short: no stack, no body. */
export function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return (message.split('\n')[0] ?? '').slice(0, 200);
}
