import { accessSync, constants, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkConfiguration } from '../../src/config/config-check.js';
import { catalogEngines } from '../../src/modules/credentials/engines/catalog-rules.js';
import { loadConfig } from '../../src/config/env.js';

/**
 * The image is built and run only where a Docker engine answers (docker-image.test.ts); the trial's
 * start runs under Node in docker-entrypoint.test.ts. These checks keep the files consistent with the
 * app: what the compose files and the example env give the app is a valid configuration, and the
 * image keeps its shape (two stages, non-root, health check on /readyz, the CLI on the PATH, the
 * entrypoint as its command). Lint: README, Docker.
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
  ports?: string[];
  init?: boolean;
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
    expect(runtime.indexOf('USER node')).toBeLessThan(runtime.indexOf('CMD ['));
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

describe('docker-compose.try.yml, the Dockerfile and bin/docker-entrypoint.js', () => {
  const compose = parse(read('docker-compose.try.yml')) as { name: string; services: Record<string, Service>; volumes: Record<string, unknown> };
  const trial = compose.services.try!;
  const env = trial.environment as Record<string, string | null>;
  const dockerfile = read('Dockerfile');
  const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
  const entrypoint = read('bin/docker-entrypoint.js');

  it('is the one service of its own project: no .env, no PostgreSQL or Redis to set up', () => {
    expect(compose.name).toBe('dbaccess-try');
    expect(Object.keys(compose.services)).toEqual(['try']);
    expect(trial.build).toBe('.');
    expect(trial.env_file).toBeUndefined();
    expect(trial.init).toBe(true);
    // The sandbox: the embedded PostgreSQL (no DATABASE_URL) and no catalog file in the image.
    expect(Object.keys(env).filter((name) => /DATABASE_URL|REDIS_URL|DBACCESS_CONFIG/.test(name))).toEqual([]);
    expect(read('.dockerignore')).toMatch(/^dbaccess\.yaml$/m);
  });

  it('keeps the token file in the volume that is the image\'s DATA_DIR', () => {
    const [volume, path] = trial.volumes![0]!.split(':');
    expect(trial.volumes).toHaveLength(1);
    expect(Object.keys(compose.volumes)).toEqual([volume]);
    expect(runtime).toMatch(new RegExp(`^\\s+DATA_DIR=${path}( |\\\\|$)`, 'm'));
    expect(runtime).toContain(`VOLUME ["${path}"]`);
    expect(dirname(env.CONSOLE_TOKEN_FILE!)).toBe(path);
  });

  it('publishes the port the app listens on, beyond the container\'s loopback, on the host\'s loopback only', () => {
    expect(trial.ports).toHaveLength(1);
    const [hostAddress, hostPort, containerPort] = trial.ports![0]!.split(':');
    expect(hostAddress).toBe('127.0.0.1');
    // The entrypoint prints the address with PORT: the host's port must be the same.
    expect([hostPort, containerPort]).toEqual([env.PORT, env.PORT]);
    expect(runtime).toMatch(new RegExp(`^EXPOSE ${env.PORT}$`, 'm'));
    expect(env.HOST).toBe('0.0.0.0');
  });

  it('names only variables the app or the entrypoint reads, and holds no token', () => {
    // Passed from the shell when set there (null), never written in the file.
    expect(env.CONSOLE_TOKEN).toBeNull();
    const given = Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== null));
    const { env: app } = loadConfig({ ...given, CONSOLE_TOKEN: 'a-token-the-entrypoint-generated-0123456789' });
    expect([app.HOST, app.PORT, app.CONSOLE, app.DATABASE_URL]).toEqual(['0.0.0.0', Number(env.PORT), 'on', undefined]);
    // What the entrypoint reads, as its one destructuring of process.env names it; its PORT default is the app's.
    const reads = /const \{ ([^}]+) \} = process\.env;/.exec(entrypoint)![1]!.split(',').map((part) => part.trim().split(/[\s:=]/)[0]!);
    expect(reads).toEqual(['CONSOLE_TOKEN', 'CONSOLE_TOKEN_FILE', 'PORT']);
    expect(entrypoint).toContain(`PORT = '${loadConfig({}).env.PORT}'`);
    for (const name of Object.keys(env)) expect(name in app || reads.includes(name), name).toBe(true);
  });

  it('runs the entrypoint as the image\'s command, and both compose files are linted', () => {
    expect(runtime).toMatch(/^CMD \["node", "bin\/docker-entrypoint\.js"\]$/m);
    expect(entrypoint.startsWith('#!/usr/bin/env node\n')).toBe(true);
    accessSync(new URL('bin/docker-entrypoint.js', root), constants.X_OK);
    // It starts what `npm start` starts.
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe('node bin/start.js');
    expect(entrypoint).toContain("await import('./start.js');");
    expect(pkg.scripts['lint:docker']).toMatch(/dclint@[\d.]+ docker-compose\.yml docker-compose\.try\.yml/);
  });
});
