import { startConsole } from './console.js';
import { startSlack } from './slack.js';
import { startTeams } from './teams.js';
import type { Platform, StartDriver } from './types.js';

export type { Button, Draft, Person, Platform, PlatformDriver, Shown, Told, Where } from './types.js';

/**
 * Every chat platform the acceptance suite runs on. A new platform adds its driver (a `StartDriver`
 * over its real interface, reading back what people see) and one line here; `Record<Platform, …>`
 * makes a forgotten one a compile error, and every case of test/acceptance then runs on it.
 */
export const PLATFORMS = { slack: startSlack, teams: startTeams, console: startConsole } satisfies Record<Platform, StartDriver>;

export const platforms = Object.entries(PLATFORMS).map(([platform, start]) => ({ platform: platform as Platform, start }));
