import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env.js';
import { PUBLIC_CLOUD, teamsCloudFromEnv } from './teams-authentication.js';

const env = (vars: Record<string, string>) => loadConfig({ MICROSOFT_APP_ID: 'app', MICROSOFT_APP_PASSWORD: 'secret', ...vars }).env;

describe('the Bot Framework cloud from the environment', () => {
  it('is the public cloud when nothing is set, with the tenant of a SingleTenant bot as its authority', () => {
    expect(teamsCloudFromEnv(env({}))).toEqual({
      openIdMetadataUrl: PUBLIC_CLOUD.openIdMetadataUrl,
      channelIssuer: 'https://api.botframework.com',
      loginUrl: 'https://login.microsoftonline.com/botframework.com',
      knownAuthorities: [],
      tokenUrl: undefined,
      oauthScope: 'https://api.botframework.com',
    });
    expect(teamsCloudFromEnv(env({ MICROSOFT_APP_TYPE: 'SingleTenant', MICROSOFT_APP_TENANT_ID: 'f00d' })).loginUrl).toBe('https://login.microsoftonline.com/f00d');
  });

  it('trusts the login URL’s host as a known authority (no instance discovery at login.microsoftonline.com), or the hosts listed', () => {
    const sovereign = env({
      MICROSOFT_LOGIN_URL: 'https://login.microsoftonline.us/MicrosoftServices.onmicrosoft.us/',
      MICROSOFT_OPENID_METADATA_URL: 'https://login.botframework.azure.us/v1/.well-known/openidconfiguration',
      MICROSOFT_CHANNEL_ISSUER: 'https://api.botframework.us',
      MICROSOFT_OAUTH_SCOPE: 'https://api.botframework.us',
    });
    expect(teamsCloudFromEnv(sovereign)).toEqual({
      openIdMetadataUrl: 'https://login.botframework.azure.us/v1/.well-known/openidconfiguration',
      channelIssuer: 'https://api.botframework.us',
      loginUrl: 'https://login.microsoftonline.us/MicrosoftServices.onmicrosoft.us',
      knownAuthorities: ['login.microsoftonline.us'],
      tokenUrl: undefined,
      oauthScope: 'https://api.botframework.us',
    });
    const listed = env({ MICROSOFT_LOGIN_URL: 'https://login.example:8443/t1', MICROSOFT_KNOWN_AUTHORITIES: 'login.example:8443, login2.example', MICROSOFT_TOKEN_URL: 'https://login.example:8443/t1/token' });
    expect(teamsCloudFromEnv(listed)).toMatchObject({ knownAuthorities: ['login.example:8443', 'login2.example'], tokenUrl: 'https://login.example:8443/t1/token' });
  });

  it('refuses an http: authority and a malformed host list, naming the variable', () => {
    expect(() => env({ MICROSOFT_LOGIN_URL: 'http://127.0.0.1:8080/t1' })).toThrow(/MICROSOFT_LOGIN_URL: an https:\/\/ URL/);
    expect(() => env({ MICROSOFT_KNOWN_AUTHORITIES: 'https://login.example/' })).toThrow(/MICROSOFT_KNOWN_AUTHORITIES/);
  });
});
