import cron from 'node-cron';
import { z } from 'zod';
import { unsafeName } from './remote-path';

// Options of one poll source, as written in the GATEWAY_CONFIG file's `polls` list (snake_case,
// like the rest of that file). The code takes the parsed, defaulted output (`PollSourceOptions`).

type Env = Readonly<Record<string, string | undefined>>;

/** URL-safe, the same rule as push source names: it is stored as webhook_events.source. */
const SOURCE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const ENV_REFERENCE = /^env:([A-Za-z_][A-Za-z0-9_]*)$/;

/** A secret written literally or as `env:VAR_NAME`, resolved through the env given to the loader. */
export const secret = (env: Env) =>
  z
    .string()
    .min(1, 'must not be empty')
    .transform((text, ctx) => {
      const reference = ENV_REFERENCE.exec(text);
      if (!reference) return text;
      const value = env[reference[1]!];
      if (!value?.trim()) {
        ctx.addIssue({ code: 'custom', message: `environment variable ${reference[1]} is not set` });
        return z.NEVER;
      }
      return value;
    });

const MiB = 1024 * 1024;

function commonOptions() {
  return {
    name: z
      .string()
      .regex(SOURCE_NAME, 'must be 1-63 characters of a-z, 0-9, "-" and "_", starting with a letter or digit'),
    /** node-cron expression; SPS asks integrators to poll no more often than every 30 minutes. */
    schedule: z
      .string()
      .default('*/30 * * * *')
      .refine((expr) => cron.validate(expr), 'not a valid cron expression'),
    /** The remote folder to take files from: SPS puts files for you in out/ (testout/ while testing). */
    directory: z
      .string()
      .default('out/')
      .transform((dir) => (dir.endsWith('/') ? dir : `${dir}/`))
      .refine(
        (dir) =>
          dir
            .slice(0, -1)
            .split('/')
            .every((segment) => unsafeName(segment) === undefined),
        'must be a relative folder such as "out/"',
      ),
    /** Only files whose name starts with this are taken (e.g. "PO" for purchase orders). */
    entry_name_prefix: z.string().min(1).optional(),
    /**
     * Larger files are left on the server and reported in the run. At most 64 MiB: a file is held
     * in memory, and its event (raw file plus parsed JSON) is a few times its size.
     */
    max_file_bytes: z
      .number()
      .int()
      .positive()
      .max(64 * MiB, 'must be at most 67108864 (64 MiB)')
      .default(5 * MiB),
    /**
     * Time budget for parsing one file (on the parser worker thread). A file that spends it is
     * stored raw as x12/invalid and reported as parse_timeout; a 5 MiB 850 parses in well under it.
     */
    parse_timeout_ms: z.number().int().min(1).max(600_000).default(20_000),
    /** Most files taken in one run; the rest wait for the next run. */
    max_files_per_run: z.number().int().positive().max(100_000).default(1000),
    /** Most files downloaded at once. */
    concurrency: z.number().int().min(1).max(32).default(4),
    /** A run that stops heart-beating for this long is considered dead and its lock can be taken over. */
    lease_seconds: z.number().int().min(1).max(86_400).default(300),
  };
}

/** Options of the SPS Transaction REST API (v5) source. */
function spsRestOptions(env: Env) {
  return z
    .strictObject({
      ...commonOptions(),
      kind: z.literal('sps-rest'),
      base_url: z.url({ protocol: /^https?$/ }).default('https://api.spscommerce.com'),
      token_url: z.url({ protocol: /^https?$/ }).default('https://auth.spscommerce.com/oauth/token'),
      client_id: secret(env),
      client_secret: secret(env),
      /** Sent with the client-credentials request (SPS's identity provider expects it); null sends none. */
      audience: z.string().min(1).nullable().default('api://api.spscommerce.com/'),
      scope: z.string().min(1).optional(),
      /** `limit` of each listing page. */
      page_size: z.number().int().min(1).max(1000).default(100),
      request_timeout_ms: z.number().int().positive().default(30_000),
      /** Retries of one request after a 429, a 5xx or a network error. */
      max_retries: z.number().int().min(0).max(10).default(4),
      retry_base_ms: z.number().int().positive().default(1000),
      /** Longest wait between two tries; a longer Retry-After gives up instead of waiting. */
      retry_max_ms: z.number().int().positive().default(60_000),
    })
    .refine((o) => o.retry_base_ms <= o.retry_max_ms, {
      // The wait is capped at the maximum: a larger base was silently never used.
      error: (issue) => {
        const o = issue.input as { retry_base_ms: number; retry_max_ms: number };
        return `retry_base_ms (${o.retry_base_ms}) must not exceed retry_max_ms (${o.retry_max_ms}): raise retry_max_ms or lower retry_base_ms`;
      },
      path: ['retry_base_ms'],
    });
}

/** Options of the SPS SFTP source: the same out/ directory convention over SFTP. */
function spsSftpOptions(env: Env) {
  return z
    .strictObject({
      ...commonOptions(),
      kind: z.literal('sps-sftp'),
      host: z.string().min(1),
      port: z.number().int().min(1).max(65_535).default(22),
      username: z.string().min(1),
      password: secret(env).optional(),
      /** OpenSSH or PEM private key text (use env:VAR for it). */
      private_key: secret(env).optional(),
      passphrase: secret(env).optional(),
      /** `SHA256:…` as printed by `ssh-keygen -lf`; any other host key is refused. */
      host_fingerprint: z
        .string()
        .regex(/^SHA256:[A-Za-z0-9+/]{43}=?$/, 'must be "SHA256:<base64>" as printed by ssh-keygen -lf')
        .optional(),
      /** Accept whatever host key the server presents (a man in the middle included). Test set-ups only. */
      insecure_accept_any_host_key: z.boolean().default(false),
      connect_timeout_ms: z.number().int().positive().default(20_000),
      /**
       * Longest wait for the answer to one SFTP request (a directory read, a chunk of a download, a
       * remove). Past it the connection is ended and what was waiting fails; the next run retries.
       */
      operation_timeout_ms: z.number().int().positive().max(600_000).default(60_000),
      /**
       * Most directory entries one listing reads. SFTP lists the whole folder before taking any file
       * (files are taken in name order), so without a bound a huge or hostile folder is read into
       * memory whole; past it the run fails with the reason and takes nothing.
       */
      max_listing_entries: z.number().int().positive().max(1_000_000).default(100_000),
    })
    .refine((o) => o.password || o.private_key, { message: 'set password or private_key', path: ['password'] })
    .superRefine((o, ctx) => {
      if (o.host_fingerprint && o.insecure_accept_any_host_key) {
        ctx.addIssue({
          code: 'custom',
          path: ['insecure_accept_any_host_key'],
          message: 'set host_fingerprint or insecure_accept_any_host_key, not both',
        });
      } else if (!o.host_fingerprint && !o.insecure_accept_any_host_key) {
        ctx.addIssue({
          code: 'custom',
          path: ['host_fingerprint'],
          message:
            `required: the server's host key fingerprint, printed by \`ssh-keyscan -p ${o.port} ${o.host} | ssh-keygen -lf -\` ` +
            '(check it against what your SFTP provider publishes); or set insecure_accept_any_host_key: true to skip the check',
        });
      }
    });
}

/** The schema of one poll source; secrets written as `env:VAR` are resolved through `env`. */
export function pollSourceSchema(env: Env = {}) {
  return z.discriminatedUnion('kind', [spsRestOptions(env), spsSftpOptions(env)]);
}

/** The `polls` list: every source by a distinct name. */
export function pollSourcesSchema(env: Env = {}) {
  return z.array(pollSourceSchema(env)).superRefine((sources, ctx) => {
    const seen = new Set<string>();
    sources.forEach((source, index) => {
      if (seen.has(source.name)) {
        ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `duplicate poll source name "${source.name}"` });
      }
      seen.add(source.name);
    });
  });
}

export type PollSourceInput = z.input<ReturnType<typeof pollSourceSchema>>;
export type PollSourceOptions = z.output<ReturnType<typeof pollSourceSchema>>;
export type SpsRestOptions = Extract<PollSourceOptions, { kind: 'sps-rest' }>;
export type SpsSftpOptions = Extract<PollSourceOptions, { kind: 'sps-sftp' }>;
