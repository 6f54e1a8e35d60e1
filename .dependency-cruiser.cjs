/**
 * The layer rules of ARCHITECTURE.md ("Layers"), checked by `npm run lint` (and so by CI).
 * Dependencies point one way: adapters (chat, http, jobs, cli) -> modules -> lib; config is read by
 * everyone and reads no module; the composition root (app) wires everything.
 * Tests may reach in anywhere: they are excluded from every rule but the cycle check.
 */
const tests = '(\\.test\\.ts$|^test/)';
const adapters = '^src/(chat|http|jobs|app|cli)/|^src/main\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import cycles hide which layer owns what and break initialisation order; move the shared part down a layer.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'modules-not-to-adapters',
      severity: 'error',
      comment: 'The domain imports nothing from chat, HTTP, jobs, the CLI or the composition root: declare a port (a type) in the module and implement it outside.',
      from: { path: '^src/modules/', pathNot: tests },
      to: { path: adapters },
    },
    {
      name: 'config-not-to-modules',
      severity: 'error',
      comment: 'config is read by every layer: it holds the schemas and constants itself and imports no module or adapter.',
      from: { path: '^src/config/', pathNot: tests },
      to: { path: `^src/modules/|${adapters}` },
    },
    {
      name: 'lib-only-lib',
      severity: 'error',
      comment: 'lib has no domain knowledge: it imports nothing of ours outside lib.',
      from: { path: '^src/lib/', pathNot: tests },
      to: { path: '^src/', pathNot: '^src/lib/' },
    },
    {
      name: 'adapters-scope-through-modules',
      severity: 'error',
      comment: 'Chat, HTTP, job and CLI code scope their work through src/modules/tenants/tenant-scope.ts, not the database client underneath it.',
      from: { path: '^src/(chat|http|jobs|cli)/', pathNot: tests },
      to: { path: '^src/db/tenant-scope\\.ts$' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve is a typo or a missing dependency.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
