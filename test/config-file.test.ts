import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/env';
import { MAX_CONFIG_FILE_BYTES } from '../src/config/read-text-file';
import { spawnGateway } from './helpers/process';
import { killAllStarted, startBuilt } from './helpers/started-process';

// The GATEWAY_CONFIG file: loaded and validated once by loadConfig, with env: secrets resolved
// through the env it is given. Every problem stops start-up with a message naming the field.
describe('GATEWAY_CONFIG file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(killAllStarted);
  let files = 0;
  const write = (content: unknown, extension = 'json') => {
    const path = join(dir, `config-${(files += 1)}.${extension}`);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };
  const load = (content: unknown, env: Record<string, string> = {}, extension = 'json') =>
    loadConfig({ GATEWAY_CONFIG: write(content, extension), ...env });
  const problem = (content: unknown, env: Record<string, string> = {}, extension = 'json') => {
    try {
      load(content, env, extension);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('configuration was accepted');
  };

  it('without GATEWAY_CONFIG there are no file sources (the env-only set-up)', () => {
    expect(loadConfig({ SHOPIFY_WEBHOOK_SECRET: 's' }).sources).toEqual([]);
  });

  const noProcessing = {
    destinations: [],
    retry: undefined,
    schemas: {},
    mask: [],
    tenantContext: undefined,
    aggregateIdPath: undefined,
  };

  it('a JSON file gives validated sources with defaults, env: secrets resolved and not_after parsed', () => {
    const { sources } = load(
      {
        sources: [
          {
            name: 'billing',
            provider: 'stripe',
            secrets: ['env:STRIPE_WEBHOOK_SECRET', { value: 'whsec_previous', not_after: '2026-03-01T00:00:00Z' }],
          },
          { name: 'hooks', provider: 'github', secrets: ['literal-secret-0123'] },
        ],
      },
      { STRIPE_WEBHOOK_SECRET: 'whsec_from_env' },
    );
    expect(sources).toEqual([
      {
        name: 'billing',
        provider: 'stripe',
        secrets: [{ value: 'whsec_from_env' }, { value: 'whsec_previous', notAfter: new Date('2026-03-01T00:00:00Z') }],
        options: { tolerance_seconds: 300 },
        processing: noProcessing,
      },
      {
        name: 'hooks',
        provider: 'github',
        secrets: [{ value: 'literal-secret-0123' }],
        options: {},
        processing: noProcessing,
      },
    ]);
  });

  it('a YAML file gives the same sources as the equivalent JSON', () => {
    const yaml = `
sources:
  - name: honey
    provider: generic-hmac
    secrets: [env:HONEY_SECRET]
    signature_header: X-Honey-Signature
    signature_prefix: "sha256="
    signed_payload: "{timestamp}.{body}"
    timestamp_header: X-Honey-Timestamp
    id_header: X-Honey-Delivery-Id
    allow_unsigned_id: true
`;
    const json = {
      sources: [
        {
          name: 'honey',
          provider: 'generic-hmac',
          secrets: ['env:HONEY_SECRET'],
          signature_header: 'X-Honey-Signature',
          signature_prefix: 'sha256=',
          signed_payload: '{timestamp}.{body}',
          timestamp_header: 'X-Honey-Timestamp',
          id_header: 'X-Honey-Delivery-Id',
          allow_unsigned_id: true,
        },
      ],
    };
    const env = { HONEY_SECRET: 'honey-secret-0123456789' };
    const fromYaml = load(yaml, env, 'yaml').sources;
    expect(fromYaml).toEqual(load(json, env).sources);
    expect(fromYaml[0]!.options).toMatchObject({
      algorithm: 'sha256',
      encoding: 'hex',
      signature_header: 'x-honey-signature',
      tolerance_seconds: 300,
    });
  });

  const source = (extra: Record<string, unknown>) => ({
    sources: [{ name: 'src', provider: 'github', secrets: ['github-secret-0123456789'], ...extra }],
  });
  const generic = (extra: Record<string, unknown>) =>
    source({ provider: 'generic-hmac', signature_header: 'X-Sig', ...extra });

  it.each([
    [
      'an unknown provider',
      source({ provider: 'gitlab' }),
      'sources[0].provider (source "src"): must be one of "shopify", "easypost"',
    ],
    [
      'an env: secret whose variable is not set',
      source({ secrets: ['env:MISSING_SECRET'] }),
      'sources[0].secrets[0] (source "src"): environment variable MISSING_SECRET is not set',
    ],
    [
      'a misspelled option',
      source({ provider: 'stripe', secrets: ['whsec_x'], tolerence_seconds: 60 }),
      'sources[0] (source "src"): unknown key "tolerence_seconds"; the keys allowed here are',
    ],
    [
      'an option out of range',
      source({ provider: 'stripe', secrets: ['whsec_x'], tolerance_seconds: 0 }),
      'sources[0].tolerance_seconds (source "src"): must be at least 1',
    ],
    [
      'a name that is not URL-safe',
      source({ name: 'My Hooks' }),
      'sources[0].name (source "My Hooks"): must be 1-63 characters',
    ],
    [
      'two sources with one name',
      { sources: [source({}).sources[0], source({}).sources[0]] },
      'sources[1].name (source "src"): duplicate source name "src"',
    ],
    ['an empty secret list', source({ secrets: [] }), 'sources[0].secrets (source "src"): list at least one secret'],
    [
      'a secret that is neither a string nor an object',
      source({ secrets: [42] }),
      'sources[0].secrets[0] (source "src"): must be a string or { "value", "not_after" }',
    ],
    [
      'a not_after that is not an ISO time',
      source({ secrets: [{ value: 's', not_after: 'next week' }] }),
      'sources[0].secrets[0].not_after (source "src"): must be an ISO 8601 date and time with a zone',
    ],
    [
      'a Stripe secret without whsec_',
      source({ provider: 'stripe', secrets: ['sk_live_0123'] }),
      'sources[0].secrets[0] (source "src"): a Stripe signing secret starts with whsec_',
    ],
    [
      'a Standard Webhooks secret that is not base64',
      source({ provider: 'standard-webhooks', secrets: ['whsec_not base64!'] }),
      'sources[0].secrets[0] (source "src"): a Standard Webhooks secret is whsec_ followed by base64',
    ],
    [
      "a Standard Webhooks sender's private key (whsk_)",
      source({ provider: 'standard-webhooks', secrets: [`whsk_${Buffer.alloc(32, 7).toString('base64')}`] }),
      'sources[0].secrets[0] (source "src"): this is the sender\'s private signing key (whsk_)',
    ],
    [
      'a Standard Webhooks public key that is not 32 bytes',
      source({ provider: 'standard-webhooks', secrets: [`whpk_${Buffer.alloc(31, 7).toString('base64')}`] }),
      'sources[0].secrets[0] (source "src"): a Standard Webhooks public key is whpk_ followed by the base64 of a 32-byte ed25519 key',
    ],
    [
      'a basic-auth secret without a colon',
      source({ provider: 'basic-auth', secrets: ['password-only'] }),
      'sources[0].secrets[0] (source "src"): a basic-auth secret is written user:password',
    ],
    [
      'an API key source with neither header nor query',
      source({ provider: 'api-key' }),
      'sources[0].header (source "src"): set exactly one of header or query',
    ],
    [
      'a generic template that does not sign the body',
      generic({ signed_payload: '{timestamp}', timestamp_header: 'X-Ts' }),
      'sources[0].signed_payload (source "src"): must contain {body} exactly once',
    ],
    [
      'a generic template with an unknown placeholder',
      generic({ signed_payload: '{body}{url}' }),
      'sources[0].signed_payload (source "src"): unknown placeholder',
    ],
    [
      'a generic timestamp header that is not signed',
      generic({ timestamp_header: 'X-Ts' }),
      'must contain {timestamp} when timestamp_header is set',
    ],
    [
      'a generic {nonce} without nonce_header',
      generic({ signed_payload: '{nonce}.{body}' }),
      'sources[0].nonce_header (source "src"): required by {nonce} in signed_payload',
    ],
    [
      'a generic secret that is not valid in secret_encoding',
      generic({ secret_encoding: 'hex', secrets: ['zz'] }),
      'sources[0].secrets[0] (source "src"): not valid hex (secret_encoding)',
    ],
    // #12.13: secrets under 16 bytes are refused where the operator chooses them, saying why and how.
    [
      'a short GitHub secret',
      source({ secrets: ['hunter2-secret'] }),
      'sources[0].secrets[0] (source "src"): secret is shorter than 16 bytes, short enough to be guessed; generate one with `openssl rand -hex 32` and set the same value at the sender',
    ],
    [
      'a short Keycloak secret',
      source({ provider: 'keycloak', secrets: ['ofj09saP4'] }),
      'sources[0].secrets[0] (source "src"): secret is shorter than 16 bytes',
    ],
    [
      'a short EasyPost webhook_secret',
      source({ provider: 'easypost', secrets: ['easypost-s3cret'] }),
      'sources[0].secrets[0] (source "src"): secret is shorter than 16 bytes',
    ],
    [
      'a short API key',
      source({ provider: 'api-key', header: 'X-Api-Key', secrets: ['key-1234'] }),
      'sources[0].secrets[0] (source "src"): secret is shorter than 16 bytes',
    ],
    [
      'a short Basic password behind a long user name',
      source({ provider: 'basic-auth', secrets: ['a-very-long-user-name:pass1234'] }),
      'sources[0].secrets[0] (source "src"): the password is shorter than 16 bytes',
    ],
    [
      'a generic hex key of 15 bytes',
      generic({ secret_encoding: 'hex', secrets: ['00112233445566778899aabbccddee'] }),
      'sources[0].secrets[0] (source "src"): the decoded hex key is shorter than 16 bytes',
    ],
    [
      'a Standard Webhooks key of 12 bytes',
      source({ provider: 'standard-webhooks', secrets: [`whsec_${Buffer.alloc(12, 7).toString('base64')}`] }),
      'sources[0].secrets[0] (source "src"): the decoded key is shorter than 16 bytes',
    ],
    [
      'an id taken from two places',
      generic({ id_header: 'X-Id', id_path: 'id', allow_unsigned_id: true }),
      'sources[0].id_path (source "src"): set id_header or id_path, not both',
    ],
    [
      'a generic nonce_header that is not signed',
      generic({ nonce_header: 'X-Nonce' }),
      'sources[0].nonce_header (source "src"): {nonce} is not in signed_payload, so a captured request replayed with a fresh nonce would be accepted as new; add {nonce} to signed_payload, or set allow_unsigned_nonce: true',
    ],
    [
      'a generic id_header that is not signed',
      generic({ id_header: 'X-Delivery' }),
      'sources[0].id_header (source "src"): {id} is not in signed_payload, so a captured request replayed with a fresh id would be accepted as new; add {id} to signed_payload, or set allow_unsigned_id: true',
    ],
    [
      'allow_unsigned_nonce without an unsigned nonce',
      generic({ signed_payload: '{nonce}.{body}', nonce_header: 'X-Nonce', allow_unsigned_nonce: true }),
      'sources[0].allow_unsigned_nonce (source "src"): only applies to a nonce_header that is not in signed_payload',
    ],
    [
      'allow_unsigned_id without an id_header',
      generic({ allow_unsigned_id: true }),
      'sources[0].allow_unsigned_id (source "src"): only applies to an id_header that is not in signed_payload',
    ],
    [
      'a keycloak jwks_url without audience',
      source({ provider: 'keycloak', jwks_url: 'https://sso.example/realms/a/protocol/openid-connect/certs' }),
      'sources[0].audience (source "src"): required with jwks_url',
    ],
    [
      'a keycloak audience without jwks_url',
      source({ provider: 'keycloak', audience: 'gw' }),
      'sources[0].audience (source "src"): only applies with jwks_url',
    ],
    [
      'a keycloak jwks_url with credentials',
      source({ provider: 'keycloak', jwks_url: 'https://u:p@sso.example/certs', audience: 'gw' }),
      'sources[0].jwks_url (source "src"): must not contain credentials',
    ],
    [
      'a keycloak HMAC algorithm p2 does not have',
      source({ provider: 'keycloak', algorithm: 'md5' }),
      'sources[0].algorithm (source "src"): must be one of',
    ],
    [
      'a shopify dedupe that is not a Shopify id',
      source({ provider: 'shopify', dedupe: 'body' }),
      'sources[0].dedupe (source "src"): must be one of',
    ],
    ['a file without a sources list', { source: [] }, 'unknown key "source"; the keys allowed here are sources,'],
  ])('rejects %s, naming the field', (_name, document, expected) => {
    const message = problem(document);
    expect(message).toMatch(/^Invalid GATEWAY_CONFIG: .*config-\d+\.json: /);
    expect(message).toContain(expected);
  });

  it('a top-level destinations list: env: secrets resolved, each with its sources; a bad URL names the field', () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const erp = { name: 'erp', url: 'https://erp.test/hooks', secret: 'env:ERP_SECRET', sources: ['shopify'] };
    const { destinations } = load({ destinations: [erp] }, { ERP_SECRET: secret });
    expect(destinations).toEqual([{ ...erp, secret, timeoutMs: 10_000, headers: undefined }]);
    expect(problem({ destinations: [{ ...erp, url: 'https://u:p@erp.test/x', secret }] })).toMatch(
      /destinations\[0\]\.url: must not contain credentials/,
    );
    expect(
      problem({
        destinations: [
          { ...erp, secret },
          { ...erp, secret },
        ],
      }),
    ).toMatch(/destination names must be unique/);
  });

  it('accepts svix as the name of the Standard Webhooks provider', () => {
    const { sources } = load({
      sources: [{ name: 'clerk', provider: 'svix', secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'] }],
    });
    expect(sources[0]).toMatchObject({ provider: 'svix', options: { tolerance_seconds: 300 } });
  });

  it('a keycloak source verifying realm JWTs needs no secret; other sources still do', () => {
    const jwks = {
      name: 'kc',
      provider: 'keycloak',
      jwks_url: 'https://sso.example/realms/a/protocol/openid-connect/certs',
      audience: 'gw',
    };
    expect(load({ sources: [jwks] }).sources[0]).toMatchObject({
      secrets: [],
      options: { audience: 'gw', algorithm: 'sha256' },
    });
    expect(problem({ sources: [{ name: 'kc', provider: 'keycloak' }] })).toContain(
      'sources[0].secrets (source "kc"): list at least one secret',
    );
  });

  it('secrets the provider issues are never refused for their length (Stripe, Shopify)', () => {
    const { sources } = load({
      sources: [
        { name: 'billing', provider: 'stripe', secrets: ['whsec_short'] },
        { name: 'shop', provider: 'shopify', secrets: ['shpss_short'] },
      ],
    });
    expect(sources.map((s) => s.name)).toEqual(['billing', 'shop']);
  });

  it('a short secret in an environment variable stops start-up, naming the variable and never the secret', () => {
    expect(() => loadConfig({ KEYCLOAK_EVENTS_SECRET: 'kc-secret' })).toThrow(
      /^Invalid configuration: KEYCLOAK_EVENTS_SECRET: secret is shorter than 16 bytes, short enough to be guessed; generate one with `openssl rand -hex 32`/,
    );
    const message = (() => {
      try {
        loadConfig({ EASYPOST_WEBHOOK_SECRET: 'easypost-webhook-secret-1,tiny-secret' });
      } catch (err) {
        return (err as Error).message;
      }
    })();
    expect(message).toContain('EASYPOST_WEBHOOK_SECRET (secret 2): secret is shorter than 16 bytes');
    expect(message).not.toContain('tiny-secret');
    expect(
      loadConfig({ SHOPIFY_WEBHOOK_SECRET: 'shpss_short', KEYCLOAK_EVENTS_SECRET: 'keycloak-events-secret-1' }).secrets
        .keycloak,
    ).toEqual(['keycloak-events-secret-1']);
  });

  it('never repeats a secret in an error', () => {
    const message = problem(source({ provider: 'stripe', secrets: ['sk_live_do_not_print_me'] }));
    expect(message).not.toContain('sk_live_do_not_print_me');
  });

  it('rejects a file that is not valid JSON, naming the file', () => {
    expect(problem('{"sources": [')).toMatch(/config-\d+\.json is not valid JSON at line 1, column \d+; /);
  });

  it('rejects a file that is not valid YAML, naming the file', () => {
    expect(problem('sources:\n  - name: [unclosed\n', {}, 'yml')).toMatch(
      /config-\d+\.yml is not valid YAML at line \d+, column \d+ \([A-Z_]+\); /,
    );
  });

  it('rejects a file of another format', () => {
    expect(problem('sources = []', {}, 'toml')).toMatch(/config-\d+\.toml must be a \.json, \.yaml or \.yml file/);
  });

  it('rejects a file that does not exist', () => {
    expect(() => loadConfig({ GATEWAY_CONFIG: join(dir, 'absent.json') })).toThrow(
      /cannot read .*absent\.json: ENOENT/,
    );
  });

  it('refuses a file larger than 4 MiB without reading it whole, naming the file', () => {
    // Valid JSON: the size alone is the problem (a wrong path to a dump, or /dev/zero).
    const padded = `${JSON.stringify({ sources: [] })}${' '.repeat(MAX_CONFIG_FILE_BYTES)}`;
    expect(problem(padded)).toMatch(
      /config-\d+\.json is larger than 4194304 bytes, more than a configuration file holds: check the path/,
    );
    // Exactly at the limit it is still read.
    expect(load(`${JSON.stringify({ sources: [] })}`.padEnd(MAX_CONFIG_FILE_BYTES, ' ')).sources).toEqual([]);
  });

  it('refuses /dev/zero (a file that never ends) instead of reading until memory runs out', () => {
    const zero = join(dir, 'zero.json');
    symlinkSync('/dev/zero', zero);
    expect(() => loadConfig({ GATEWAY_CONFIG: zero })).toThrow(
      /zero\.json is a character device, not a regular file: give the path of the configuration file itself/,
    );
  });

  it('refuses a FIFO at once instead of waiting for a writer that never comes (exit 2)', async () => {
    const fifo = join(dir, 'fifo.yaml');
    execFileSync('mkfifo', [fifo]);
    // A real process: a read that waited for a writer would block it, not this test runner.
    const proc = startBuilt([], { GATEWAY_CONFIG: fifo, DATA_DIR: join(dir, 'data-fifo') });
    expect((await proc.exited).code).toBe(2);
    expect(proc.output()).toContain('fifo.yaml is a FIFO (named pipe), not a regular file');
  });

  it('a bad file stops the real process at start-up with exit code 2 and the field named', async () => {
    const path = write(source({ provider: 'stripe', secrets: ['whsec_x'], tolerance_seconds: -1 }));
    const proc = spawnGateway([], { GATEWAY_CONFIG: path, DATA_DIR: join(dir, 'data') });
    expect((await proc.exited).code).toBe(2);
    expect(proc.output()).toContain('sources[0].tolerance_seconds (source "src"): must be at least 1');
  });
});
