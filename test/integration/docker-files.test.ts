import { accessSync, constants, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkConfiguration } from '../../src/config/config-check.js';
import { catalogEngines } from '../../src/modules/credentials/engines/catalog-rules.js';
import { loadConfig } from '../../src/config/env.js';

/**
 * No Docker engine runs here, so the image and the compose file cannot be started in tests. These
 * checks keep them consistent with the app: what the compose file and the example env give the app
 * is a valid configuration for the example catalog, and the image keeps its shape (two stages,
 * non-root, health check on /readyz, the CLI on the PATH). Lint: README, Docker.
 */
const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  env_file?: string;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}

/** KEY=value lines as docker compose reads an env file (comments and blank lines skipped). */
function envFile(text: string): Record<string, string> {
  return Object.fromEntries(
    text.split('\n').filter((line) => /^[A-Z_][A-Z0-9_]*=/.test(line)).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

describe('docker-compose.yml and .env.example', () => {
  const compose = parse(read('docker-compose.yml')) as { services: Record<string, Service>; volumes: Record<string, unknown> };
  const { app, postgres, redis } = compose.services;

  it('runs the app on PostgreSQL 15 and Redis 7, each with a health check the app waits for', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['app', 'postgres', 'redis']);
    expect(postgres!.image).toBe('postgres:15');
    expect(redis!.image).toBe('redis:7');
    expect(redis!.command).toEqual(expect.arrayContaining(['--maxmemory-policy', 'noeviction']));
    expect(app!.build).toBe('.');
    for (const service of [app, postgres, redis]) expect(service!.healthcheck?.test.length).toBeGreaterThan(1);
    expect(app!.healthcheck!.test.join(' ')).toContain('/readyz');
    expect(app!.depends_on).toEqual({ postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
    expect(Object.keys(compose.volumes).sort()).toEqual(['app-data', 'postgres-data', 'redis-data']);
  });

  it('mounts the catalog where DBACCESS_CONFIG points, and connects to its own postgres and redis', () => {
    const env = app!.environment!;
    expect(app!.volumes).toContain(`./dbaccess.yaml:${env.DBACCESS_CONFIG}:ro`);
    expect(app!.volumes).toContain('app-data:/data');
    const database = new URL(env.DATABASE_URL!.replace(/\$\{POSTGRES_PASSWORD[^}]*\}/, 'pw'));
    expect([database.hostname, database.port, database.username, database.pathname]).toEqual([
      'postgres', '5432', postgres!.environment!.POSTGRES_USER, `/${postgres!.environment!.POSTGRES_DB}`,
    ]);
    expect(postgres!.environment!.POSTGRES_PASSWORD).toMatch(/^\$\{POSTGRES_PASSWORD:\?/);
    expect(new URL(env.REDIS_URL!).hostname).toBe('redis');
    expect(app!.env_file).toBe('.env');
  });

  it('copied as it is, turns on no chat platform and holds no token: the console stays on', () => {
    const example = envFile(read('.env.example'));
    expect(Object.keys(example).filter((name) => /^(SLACK|MICROSOFT|VAULT|ANTHROPIC|AUDIT_EXPORT)_|TOKEN|SECRET|_ADMIN_URL$/.test(name))).toEqual([]);
    const { env } = loadConfig(example);
    expect([env.SLACK_BOT_TOKEN, env.MICROSOFT_APP_ID, env.CONSOLE]).toEqual([undefined, undefined, 'auto']);
  });

  it('gives the app a valid configuration for the example catalog from .env.example, its commented examples filled in', () => {
    // The admin references the example catalog names are commented examples: uncommented, they are what the catalog needs.
    const example = envFile(read('.env.example').replace(/^# ([A-Z_]+_ADMIN_URL=)/gm, '$1'));
    const password = example.POSTGRES_PASSWORD!;
    const appEnv = Object.fromEntries(Object.entries(app!.environment!).map(([name, value]) => [name, value.replace(/\$\{POSTGRES_PASSWORD[^}]*\}/, password)]));
    // Compose's `environment` wins over `env_file`; the catalog path is the example's, as mounted.
    const environment = { ...example, ...appEnv, DBACCESS_CONFIG: new URL('dbaccess.example.yaml', root).pathname };
    expect(() => loadConfig(environment)).not.toThrow();
    const check = checkConfiguration({ source: environment, engines: catalogEngines });
    expect(check.findings.filter((finding) => finding.severity === 'problem')).toEqual([]);
    expect(check.summary).toMatch(/dbaccess\.example\.yaml: \d+ databases? /);
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));

  it('builds in two stages and runs as the unprivileged node user, with a health check on /readyz', () => {
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/^FROM node:20-bookworm-slim AS build$/m);
    expect(runtime).toMatch(/^COPY --from=build \/app\/node_modules \.\/node_modules$/m);
    expect(runtime.indexOf('USER node')).toBeLessThan(runtime.indexOf('CMD ["npm", "start"]'));
    expect(runtime).toMatch(/^HEALTHCHECK [^\n]*\\\n\s+CMD \[.*\/readyz/m);
  });

  it('puts the CLI in the image and on the PATH, as the package bin names it', () => {
    const pkg = JSON.parse(read('package.json')) as { bin: Record<string, string>; dependencies: Record<string, string> };
    expect(pkg.bin).toEqual({ dbaccess: 'bin/dbaccess.js' });
    expect(pkg.dependencies.tsx).toBeDefined();
    const launcher = read(pkg.bin.dbaccess!);
    expect(launcher.startsWith('#!/usr/bin/env node\n')).toBe(true);
    accessSync(new URL(pkg.bin.dbaccess!, root), constants.X_OK);
    expect(runtime).toMatch(/^COPY bin \.\/bin$/m);
    expect(runtime).toContain('ln -s /app/bin/dbaccess.js /usr/local/bin/dbaccess');
    expect(read('.dockerignore')).not.toMatch(/^bin\/?$/m);
  });
});
