import { describe, expect, it } from 'vitest';
import { pollSourceSchema, pollSourcesSchema } from '../src/poll/config';
import { useIssueMessages } from '../src/validation/issue-message';

const problems = (result: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) =>
  result.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];

// The messages loadConfig gives these schemas: the gateway's own, not zod's defaults.
useIssueMessages();

describe('poll source options', () => {
  it('applies the documented defaults and resolves env: secrets', () => {
    const options = pollSourceSchema({ SPS_ID: 'id-1', SPS_SECRET: 's3cret' }).parse({
      name: 'sps',
      kind: 'sps-rest',
      client_id: 'env:SPS_ID',
      client_secret: 'env:SPS_SECRET',
    });
    expect(options).toEqual({
      name: 'sps',
      kind: 'sps-rest',
      schedule: '*/30 * * * *',
      directory: 'out/',
      max_file_bytes: 5 * 1024 * 1024,
      parse_timeout_ms: 20_000,
      max_files_per_run: 1000,
      concurrency: 4,
      lease_seconds: 300,
      base_url: 'https://api.spscommerce.com',
      token_url: 'https://auth.spscommerce.com/oauth/token',
      client_id: 'id-1',
      client_secret: 's3cret',
      audience: 'api://api.spscommerce.com/',
      page_size: 100,
      request_timeout_ms: 30_000,
      max_retries: 4,
      retry_base_ms: 1000,
      retry_max_ms: 60_000,
    });
  });

  it('a retry base above its maximum is refused naming both (the wait is capped: the base was never used)', () => {
    const source = { name: 'sps', kind: 'sps-rest', client_id: 'x', client_secret: 'y' };
    expect(problems(pollSourceSchema({}).safeParse({ ...source, retry_base_ms: 120_000 }))).toEqual([
      'retry_base_ms: retry_base_ms (120000) must not exceed retry_max_ms (60000): raise retry_max_ms or lower retry_base_ms',
    ]);
    expect(pollSourceSchema({}).safeParse({ ...source, retry_base_ms: 5000, retry_max_ms: 5000 }).success).toBe(true);
  });

  it('an SFTP source needs a password or a private key; the port defaults to 22', () => {
    const schema = pollSourceSchema({ KEY: '-----BEGIN OPENSSH PRIVATE KEY-----\n…' });
    const pinned = { host_fingerprint: `SHA256:${'A'.repeat(43)}` };
    expect(
      problems(
        schema.safeParse({ name: 'f', kind: 'sps-sftp', host: 'sftp.example.com', username: 'acme', ...pinned }),
      ),
    ).toEqual(['password: set password or private_key']);
    const parsed = schema.parse({
      name: 'f',
      kind: 'sps-sftp',
      host: 'sftp.example.com',
      username: 'acme',
      private_key: 'env:KEY',
      directory: 'testout',
      ...pinned,
    });
    expect(parsed).toMatchObject({ port: 22, directory: 'testout/', private_key: expect.stringContaining('OPENSSH') });
  });

  it('names every problem: bad cron, unset variable, escaping folder, unknown key, bad fingerprint', () => {
    const result = pollSourcesSchema({}).safeParse([
      { name: 'a', kind: 'sps-rest', client_id: 'x', client_secret: 'env:MISSING', schedule: 'every minute' },
      {
        name: 'b',
        kind: 'sps-sftp',
        host: 'h',
        username: 'u',
        password: 'p',
        directory: '../etc',
        insecure_accept_any_host_key: true,
      },
      { name: 'c', kind: 'sps-rest', client_id: 'x', client_secret: 'y', entry_prefix: 'PO' },
      { name: 'd', kind: 'sps-sftp', host: 'h', username: 'u', password: 'p', host_fingerprint: 'aa:bb' },
      { name: 'e', kind: 'sps-rest', client_id: 'x', client_secret: 'y', directory: 'out\\..\\admin' },
      { name: 'f', kind: 'sps-rest', client_id: 'x', client_secret: 'y', directory: 'out/%2e%2e/' },
    ]);
    expect(problems(result)).toEqual([
      '0.schedule: not a valid cron expression',
      '0.client_secret: environment variable MISSING is not set',
      '1.directory: must be a relative folder such as "out/"',
      expect.stringMatching(/^2: unknown key "entry_prefix"; the keys allowed here are /),
      '3.host_fingerprint: must be "SHA256:<base64>" as printed by ssh-keygen -lf',
      '4.directory: must be a relative folder such as "out/"',
      '5.directory: must be a relative folder such as "out/"',
    ]);
  });

  it('an SFTP source pins the host key, or says explicitly that it accepts any', () => {
    const sftp = { name: 'f', kind: 'sps-sftp', host: 'sftp.example.com', port: 2222, username: 'acme', password: 'p' };
    expect(problems(pollSourceSchema({}).safeParse(sftp))).toEqual([
      "host_fingerprint: required: the server's host key fingerprint, printed by `ssh-keyscan -p 2222 sftp.example.com | ssh-keygen -lf -` (check it against what your SFTP provider publishes); or set insecure_accept_any_host_key: true to skip the check",
    ]);
    expect(
      problems(
        pollSourceSchema({}).safeParse({
          ...sftp,
          host_fingerprint: `SHA256:${'A'.repeat(43)}`,
          insecure_accept_any_host_key: true,
        }),
      ),
    ).toEqual(['insecure_accept_any_host_key: set host_fingerprint or insecure_accept_any_host_key, not both']);
    expect(pollSourceSchema({}).parse({ ...sftp, insecure_accept_any_host_key: true })).toMatchObject({
      insecure_accept_any_host_key: true,
    });
  });

  it('two sources with one name are refused', () => {
    const source = { name: 'sps', kind: 'sps-rest', client_id: 'x', client_secret: 'y' };
    expect(problems(pollSourcesSchema({}).safeParse([source, { ...source, directory: 'testout/' }]))).toEqual([
      '1.name: duplicate poll source name "sps"',
    ]);
  });
});
