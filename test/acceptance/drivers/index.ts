import { startConsole } from './console.js';
import { startSlack } from './slack.js';
import { startTeams } from './teams.js';
import type { Platform, StartDriver } from './types.js';

export type { Button, Draft, Person, Platform, PlatformDriver, Shown, Told, Where } from './types.js';

/** Every chat platform the acceptance suite runs on: a platform missing here does not run the suite. */
export const PLATFORMS = { slack: startSlack, teams: startTeams, console: startConsole } satisfies Record<Platform, StartDriver>;

export const platforms = Object.entries(PLATFORMS).map(([platform, start]) => ({ platform: platform as Platform, start }));
