import { ConfidentialClientApplication } from '@azure/msal-node';
import { ConfigurationBotFrameworkAuthentication } from 'botbuilder';
import { MsalServiceClientCredentialsFactory, type BotFrameworkAuthentication } from 'botframework-connector';

/** MSAL's client as botframework-connector types it (its CommonJS typings; the same class at run time). */
type MsalClient = ConstructorParameters<typeof MsalServiceClientCredentialsFactory>[1];

/**
 * Where the Bot Framework lives: the public cloud by default, or a sovereign cloud, or any Bot Framework
 * reached over the network. Every endpoint is explicit, both ways:
 * - channel -> bot: the OpenID metadata (and through it the signing keys) and the issuer of channel tokens;
 * - bot -> channel: the login authority MSAL asks for tokens, the hosts it trusts as authorities without
 *   asking login.microsoftonline.com (instance discovery), optionally the token endpoint itself, and the
 *   scope of those tokens.
 */
export interface TeamsCloud {
  openIdMetadataUrl: string;
  channelIssuer: string;
  /** The authority, e.g. https://login.microsoftonline.com/botframework.com or .../<tenant id>. */
  loginUrl: string;
  /** Authority hosts (host[:port]) MSAL trusts as they are: no instance discovery. */
  knownAuthorities: string[];
  /** The token endpoint; without it MSAL reads it from the authority's OpenID configuration. */
  tokenUrl?: string | undefined;
  oauthScope: string;
}

export const PUBLIC_CLOUD = {
  openIdMetadataUrl: 'https://login.botframework.com/v1/.well-known/openidconfiguration',
  channelIssuer: 'https://api.botframework.com',
  loginHost: 'https://login.microsoftonline.com',
  oauthScope: 'https://api.botframework.com',
} as const;

export interface TeamsCloudEnv {
  MICROSOFT_APP_TYPE: 'MultiTenant' | 'SingleTenant' | 'UserAssignedMSI';
  MICROSOFT_APP_TENANT_ID?: string | undefined;
  MICROSOFT_OPENID_METADATA_URL?: string | undefined;
  MICROSOFT_CHANNEL_ISSUER?: string | undefined;
  MICROSOFT_LOGIN_URL?: string | undefined;
  MICROSOFT_KNOWN_AUTHORITIES?: string | undefined;
  MICROSOFT_TOKEN_URL?: string | undefined;
  MICROSOFT_OAUTH_SCOPE?: string | undefined;
}

/** The cloud from the environment: public values for what is not set; the login URL's host is a known authority. */
export function teamsCloudFromEnv(env: TeamsCloudEnv): TeamsCloud {
  const tenant = env.MICROSOFT_APP_TYPE === 'SingleTenant' && env.MICROSOFT_APP_TENANT_ID ? env.MICROSOFT_APP_TENANT_ID : 'botframework.com';
  const loginUrl = (env.MICROSOFT_LOGIN_URL ?? `${PUBLIC_CLOUD.loginHost}/${tenant}`).replace(/\/+$/, '');
  const listed = (env.MICROSOFT_KNOWN_AUTHORITIES ?? '').split(',').map((host) => host.trim()).filter(Boolean);
  return {
    openIdMetadataUrl: env.MICROSOFT_OPENID_METADATA_URL ?? PUBLIC_CLOUD.openIdMetadataUrl,
    channelIssuer: env.MICROSOFT_CHANNEL_ISSUER ?? PUBLIC_CLOUD.channelIssuer,
    loginUrl,
    knownAuthorities: listed.length > 0 ? listed : env.MICROSOFT_LOGIN_URL ? [new URL(loginUrl).host] : [],
    tokenUrl: env.MICROSOFT_TOKEN_URL,
    oauthScope: env.MICROSOFT_OAUTH_SCOPE ?? PUBLIC_CLOUD.oauthScope,
  };
}

export interface TeamsApp {
  appId: string;
  appPassword: string;
  appType: 'MultiTenant' | 'SingleTenant' | 'UserAssignedMSI';
  appTenantId?: string | undefined;
}

/**
 * botbuilder's authentication with every endpoint of `cloud`. For an app with a password the bot's tokens come
 * from our own MSAL client, configured with the known authorities (and the token endpoint when given):
 * botbuilder's own client takes only an authority, so MSAL would ask login.microsoftonline.com about any other
 * host (`endpoints_resolution_error` where that host is unknown or unreachable).
 */
export function createTeamsAuthentication(app: TeamsApp, cloud: TeamsCloud): BotFrameworkAuthentication {
  const credentials = app.appType === 'UserAssignedMSI' || !app.appId
    ? undefined
    : new MsalServiceClientCredentialsFactory(app.appId, new ConfidentialClientApplication({
        auth: {
          clientId: app.appId,
          clientSecret: app.appPassword,
          authority: cloud.loginUrl,
          ...(cloud.knownAuthorities.length > 0 ? { knownAuthorities: cloud.knownAuthorities } : {}),
          ...(cloud.tokenUrl ? { authorityMetadata: JSON.stringify(authorityMetadata(cloud.loginUrl, cloud.tokenUrl)) } : {}),
        },
      }) as unknown as MsalClient);
  return new ConfigurationBotFrameworkAuthentication(
    {
      MicrosoftAppId: app.appId,
      MicrosoftAppPassword: app.appPassword,
      MicrosoftAppType: app.appType,
      ...(app.appTenantId ? { MicrosoftAppTenantId: app.appTenantId } : {}),
      // Once one endpoint is given botbuilder defaults none of the others: all of them, always.
      ToBotFromChannelOpenIdMetadataUrl: cloud.openIdMetadataUrl,
      ToBotFromChannelTokenIssuer: cloud.channelIssuer,
      // dbaccess accepts channel tokens only (the inbound check refuses any other issuer first).
      ToBotFromEmulatorOpenIdMetadataUrl: cloud.openIdMetadataUrl,
      ToChannelFromBotLoginUrl: cloud.loginUrl,
      ToChannelFromBotOAuthScope: cloud.oauthScope,
      // The user token service (OAuth sign-in cards), which dbaccess does not use.
      OAuthUrl: PUBLIC_CLOUD.oauthScope,
      CallerId: 'urn:botframework:azure',
      ValidateAuthority: true,
    },
    credentials,
  );
}

/** What MSAL needs of an authority's OpenID configuration, so that it asks nothing before the token request. */
function authorityMetadata(loginUrl: string, tokenUrl: string): Record<string, string> {
  return {
    token_endpoint: tokenUrl,
    authorization_endpoint: `${loginUrl}/oauth2/v2.0/authorize`,
    end_session_endpoint: `${loginUrl}/oauth2/v2.0/logout`,
    issuer: `${loginUrl}/v2.0`,
    jwks_uri: `${loginUrl}/discovery/v2.0/keys`,
  };
}
