import { describe, expect, it } from 'vitest';
import { CAPTURE_READERS } from './capture-engines.js';
import { CAPTURE_METHODS } from './capture-types.js';

describe('capture readers by engine', () => {
  it.each(Object.entries(CAPTURE_METHODS))('%s reads every method the catalog allows it, each from one place', (engine, methods) => {
    const reader = CAPTURE_READERS[engine as keyof typeof CAPTURE_READERS];
    expect(reader).toBeDefined();
    for (const method of methods.filter((name) => name !== 'none')) {
      const logs = Object.values(reader!.logs).filter((log) => log.methods.includes(method));
      const totals = reader!.totals?.method === method ? 1 : 0;
      expect(logs.length + totals, method).toBe(1);
    }
  });

});
