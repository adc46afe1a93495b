import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/env';
import { spawnGateway } from './helpers/process';

// Security review #12.11 (a syntax error echoed the offending line, secret included) and #12.4
// (credentials in a destination URL): both are refused at start-up without quoting the secret.

const SECRET = 'whsec_S3cretValueThatMustNotLeak0000';

describe('config errors never quote a secret', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-secure-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let files = 0;
  const write = (content: string, extension: string) => {
    const path = join(dir, `config-${(files += 1)}.${extension}`);
    writeFileSync(path, content);
    return path;
  };
  const problem = (content: string, extension: string) => {
    try {
      loadConfig({ GATEWAY_CONFIG: write(content, extension) });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('configuration was accepted');
  };

  it('a YAML syntax error stops the real process with line and column only', async () => {
    const yaml = ['sources:', '  - name: billing', '    provider: stripe', `    secrets: [${SECRET}`, ''].join('\n');
    const path = write(yaml, 'yaml');
    const proc = spawnGateway([], { GATEWAY_CONFIG: path, DATA_DIR: join(dir, 'data') });
    expect((await proc.exited).code).toBe(2);
    expect(proc.output()).toMatch(
      /is not valid YAML at line \d+, column \d+ \([A-Z_]+\); the line is not shown because it may hold a secret/,
    );
    expect(proc.output()).not.toContain('S3cretValue');
  });

  it.each([
    [
      'an unquoted value',
      `{"sources": [{"name": "b", "provider": "stripe", "secrets": [${SECRET}]}]}`,
      ' at line 1, column 62',
    ],
    ['an unterminated string', `{"sources": [{"name": "b",\n  "secrets": ["${SECRET}`, ' at line 2, column 52'],
    // V8 gives no position for this one and the locating parser accepts it: no location then.
    ['a trailing comma', `{"sources": [{"name": "b", "provider": "stripe",\n "secrets": ["${SECRET}",]}]}`, ''],
  ])('a JSON syntax error (%s) names line and column only', (_what, json, where) => {
    const message = problem(json, 'json');
    expect(message).toMatch(
      new RegExp(`config-\\d+\\.json is not valid JSON${where}; the line is not shown because it may hold a secret$`),
    );
    expect(message).not.toContain('S3cretValue');
  });

  it('a destination URL with credentials is refused, pointing to headers, without quoting them', () => {
    const message = problem(
      JSON.stringify({
        sources: [
          {
            name: 'shop',
            provider: 'shopify',
            secrets: ['shop-secret'],
            destinations: [
              { name: 'erp', url: 'https://erp-user:Hunter2Password@erp.example.test/hooks', secret: SECRET },
            ],
          },
        ],
      }),
      'json',
    );
    expect(message).toContain(
      'sources[0].destinations[0].url (source "shop"): must not contain credentials (user:password@); send them in headers instead',
    );
    expect(message).not.toContain('Hunter2Password');
    expect(message).not.toContain('erp-user');
  });
});
