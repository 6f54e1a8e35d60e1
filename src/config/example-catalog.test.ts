import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCatalog, parseCatalog } from './catalog.js';

describe('shipped catalog example', () => {
  it('is valid', () => {
    const view = parseCatalog(readFileSync(new URL('../../dbaccess.example.yaml', import.meta.url), 'utf8'));
    expect(view.database('orders')?.levels).toEqual(['read', 'write']);
  });

  it('a missing catalog file starts without databases instead of failing', () => {
    const catalogs = loadCatalog('/nonexistent/dbaccess.yaml');
    expect(catalogs.source).toBeUndefined();
    expect(catalogs.databases()).toEqual([]);
    expect(catalogs.forTenant('slack', 'T0ANY').catalog.databases).toEqual([]);
  });
});
