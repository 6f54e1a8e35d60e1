import { describe, expect, it } from 'vitest';
import { ENGINES } from '../credentials/engines/registry.js';

describe('capture readers by engine', () => {
  it.each(ENGINES.map((engine) => [engine.name, engine] as const))('%s reads every method it supports, each from one place', (_name, engine) => {
    for (const method of engine.captureMethods.filter((name) => name !== 'none')) {
      const logs = Object.values(engine.capture?.logs ?? {}).filter((log) => (log.methods as readonly string[]).includes(method));
      const totals = engine.capture?.totals?.method === method ? 1 : 0;
      expect(logs.length + totals, method).toBe(1);
    }
  });
});
