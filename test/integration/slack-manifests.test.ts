import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

type Manifest = {
  features: { slash_commands: Array<Record<string, unknown>>; shortcuts?: unknown[]; [key: string]: unknown };
  oauth_config: { scopes: { bot: string[] } };
  settings: { event_subscriptions: { bot_events: string[]; request_url?: string }; interactivity: { is_enabled: boolean; request_url?: string }; socket_mode_enabled: boolean };
  [key: string]: unknown;
};
const read = (name: string) => parse(readFileSync(new URL(`../../manifests/slack/${name}`, import.meta.url), 'utf8')) as Manifest;
const http = read('app-manifest.yaml');
const socket = read('app-manifest.socket-mode.yaml');

/** The manifest with every URL taken out: what the two ways in should share. */
function withoutUrls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUrls);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).filter(([key]) => key !== 'url' && key !== 'request_url').map(([key, inner]) => [key, withoutUrls(inner)]));
}

/** The two Slack app manifests: one app, reached over HTTP (a public URL) or over Socket Mode (none). */
describe('Slack app manifests', () => {
  it('agree on scopes, commands, shortcuts and events', () => {
    expect(socket.oauth_config.scopes.bot).toEqual(http.oauth_config.scopes.bot);
    expect(withoutUrls(socket.features.slash_commands)).toEqual(withoutUrls(http.features.slash_commands));
    expect(socket.features.shortcuts ?? []).toEqual(http.features.shortcuts ?? []);
    expect(socket.settings.event_subscriptions.bot_events).toEqual(http.settings.event_subscriptions.bot_events);
    expect(socket.settings.interactivity.is_enabled).toBe(true);
    expect(http.features.slash_commands.map((command) => command.command)).toEqual(['/dbaccess']);
  });

  it('differ only in the way in: request URLs over HTTP, Socket Mode without them', () => {
    expect(http.settings.socket_mode_enabled).toBe(false);
    expect(socket.settings.socket_mode_enabled).toBe(true);
    expect(withoutUrls({ ...socket, settings: { ...socket.settings, socket_mode_enabled: false } })).toEqual(withoutUrls(http));
    // Over HTTP every URL is Slack's one endpoint; in Socket Mode there is none (Slack would call it instead of the socket).
    const urls = (manifest: Manifest) => JSON.stringify(manifest).match(/"(?:request_)?url":"[^"]*"/g) ?? [];
    expect(new Set(urls(http))).toEqual(new Set(['"url":"https://YOUR-HOST/slack/events"', '"request_url":"https://YOUR-HOST/slack/events"']));
    expect(urls(socket)).toEqual([]);
  });
});
