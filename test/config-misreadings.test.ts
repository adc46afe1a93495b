import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/env';
import { killAllStarted, startBuilt } from './helpers/started-process';

// Settings a mistyping operator wrote that the gateway used to accept and then read otherwise than
// meant: each is now read as meant, or refused at start-up naming the variable or the file's spot.
vi.setConfig({ testTimeout: 120_000 });
const dir = mkdtempSync(join(tmpdir(), 'gw-config-misreadings-'));
afterEach(killAllStarted);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const problem = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('configuration was accepted');
};

describe('environment variables', () => {
  it('spaces around a value are ignored, as they are for numbers', () => {
    const config = loadConfig({ HOST: ' 127.0.0.1 ', DATA_DIR: ' ./data ', LOG_LEVEL: 'info ', TRACING: ' otlp' });
    expect(config.host).toBe('127.0.0.1');
    expect(config.database.dataDir).toBe('./data');
    expect(config.logLevel).toBe('info');
    expect(config.tracing.enabled).toBe(true);
  });

  it('a DATABASE_URL of another database is refused, without quoting its password', () => {
    for (const url of ['mysql://app:hunter2pass@db:3306/app', 'http://app:hunter2pass@db/app']) {
      const message = problem({ DATABASE_URL: url });
      expect(message).toMatch(/DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/);
      expect(message).not.toContain('hunter2pass');
    }
    expect(loadConfig({ DATABASE_URL: 'postgresql://app@db:5432/app' }).database.url).toBe(
      'postgresql://app@db:5432/app',
    );
  });

  it('a timeout longer than a Node timer can wait is refused (it would fire after 1 ms)', () => {
    for (const name of ['SHUTDOWN_TIMEOUT_MS', 'DB_WRITE_TIMEOUT_MS', 'REQUEST_TIMEOUT_MS', 'HEADERS_TIMEOUT_MS']) {
      expect(problem({ [name]: '3000000000' })).toMatch(new RegExp(`${name}: must be at most 2147483647 `));
    }
    expect(problem({ REJECTION_LOG_INTERVAL_SECONDS: '3000000' })).toMatch(
      /REJECTION_LOG_INTERVAL_SECONDS: must be at most 2147483 /,
    );
    expect(loadConfig({ SHUTDOWN_TIMEOUT_MS: '2147483647' }).shutdownTimeoutMs).toBe(2_147_483_647);
  });

  it('a burst without its rate is refused: the limit it seems to set is off', () => {
    expect(problem({ RATE_LIMIT_BURST: '20' })).toMatch(
      /RATE_LIMIT_BURST \(20\) is set but RATE_LIMIT_PER_SECOND is not, so there is no limit: set RATE_LIMIT_PER_SECOND too/,
    );
    expect(problem({ UNVERIFIED_RATE_LIMIT_BURST: '5' })).toMatch(
      /^Invalid configuration: UNVERIFIED_RATE_LIMIT_BURST \(5\)/,
    );
    expect(loadConfig({ RATE_LIMIT_BURST: '20', RATE_LIMIT_PER_SECOND: '2' }).rateLimit).toEqual({
      perSecond: 2,
      burst: 20,
    });
  });

  it('a retry base above the retry maximum is refused, naming both and their values', () => {
    expect(problem({ RETRY_BASE_MS: '120000', RETRY_MAX_MS: '60000' })).toMatch(
      /^Invalid configuration: RETRY_BASE_MS \(120000\) must not exceed RETRY_MAX_MS \(60000\)/,
    );
    // Against the other's default too: RETRY_MAX_MS defaults to 1 h, RETRY_BASE_MS to 5 s.
    expect(problem({ RETRY_MAX_MS: '1000' })).toMatch(/RETRY_BASE_MS \(5000\) must not exceed RETRY_MAX_MS \(1000\)/);
    expect(loadConfig({ RETRY_BASE_MS: '60000', RETRY_MAX_MS: '60000' }).worker).toMatchObject({
      retryBaseMs: 60_000,
      retryMaxMs: 60_000,
    });
  });

  it.each(['0x10', '1e3', '5.0', '+5', '0b1', '0o7', 'Infinity', '-1', '1_000', '16 workers'])(
    'a whole-number setting written %s is refused with the value as read, not reinterpreted',
    (value) => {
      for (const name of ['WORKER_CONCURRENCY', 'PORT', 'RETRY_BASE_MS', 'REJECTION_LOG_INTERVAL_SECONDS']) {
        expect(problem({ [name]: value })).toContain(
          `${name}: ${JSON.stringify(value)} is not a plain decimal number: write digits 0-9 only, e.g. 50`,
        );
      }
    },
  );

  it('a setting that takes a fraction takes one after a point, but no other spelling', () => {
    const config = loadConfig({
      RATE_LIMIT_PER_SECOND: '2.5',
      CONTROL_REFRESH_SECONDS: '0.5',
      WORKER_CONCURRENCY: '016',
    });
    expect(config.rateLimit).toEqual({ perSecond: 2.5, burst: 3 });
    expect(config.control.refreshMs).toBe(500);
    expect(config.worker.concurrency).toBe(16);
    for (const value of ['1e1', '0x10', '.5', '5.', '+2'])
      expect(problem({ CONTROL_REFRESH_SECONDS: value })).toContain(
        `CONTROL_REFRESH_SECONDS: ${JSON.stringify(value)} is not a plain decimal number: write digits 0-9 with an optional fraction`,
      );
  });

  it('a setting written in the wrong case is named in the near-miss warnings', () => {
    expect(loadConfig({ port: '8080', Worker_Concurrency: '5' }).unknownVariables).toEqual([
      { name: 'port', suggestion: 'PORT' },
      { name: 'Worker_Concurrency', suggestion: 'WORKER_CONCURRENCY' },
    ]);
  });

  it('the real process refuses a bad DATABASE_URL with exit 2 and one line', async () => {
    const proc = startBuilt([], { DATABASE_URL: 'mysql://app:hunter2pass@db/app', DATA_DIR: join(dir, 'data') });
    const { code } = await proc.exited;
    expect(code, proc.output()).toBe(2);
    expect(proc.output().trim().split('\n'), proc.output()).toHaveLength(1);
    expect(proc.output()).toMatch(/DATABASE_URL: must be a postgres:\/\//);
    expect(proc.output()).not.toContain('hunter2pass');
  });
});

describe('GATEWAY_CONFIG file', () => {
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('a JSON key repeated with different values is refused with its line, as YAML refuses it', () => {
    const path = write(
      'repeated.json',
      '{"sources": [\n  {"name": "orders", "provider": "shopify",\n   "name": "refunds", "secrets": ["shpss_not_quoted"]}]}',
    );
    const message = problem({ GATEWAY_CONFIG: path });
    expect(message).toMatch(/repeated\.json is not valid JSON at line 3, column \d+ \(DUPLICATE_KEY\)/);
    expect(message).not.toContain('shpss_not_quoted');
  });

  it('a YAML alias bomb is refused, saying that its aliases expand too far', () => {
    const levels = ['a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (const [name, before] of [...'bcdefghi'].map((c, i) => [c, 'abcdefgh'[i]!]))
      levels.push(`${name}: &${name} [${Array(9).fill(`*${before}`).join(', ')}]`);
    const path = write('bomb.yaml', `${levels.join('\n')}\nsources: []\n`);
    expect(problem({ GATEWAY_CONFIG: path })).toMatch(
      /bomb\.yaml is not valid YAML: its aliases \(\*name\) expand to too many values/,
    );
  });

  it('a key repeated with the same value is still read', () => {
    const path = write(
      'same.json',
      '{"sources": [{"name": "orders", "provider": "shopify", "name": "orders", "secrets": ["shpss_x"]}]}',
    );
    expect(loadConfig({ GATEWAY_CONFIG: path }).sources.map((s) => s.name)).toEqual(['orders']);
  });
});
