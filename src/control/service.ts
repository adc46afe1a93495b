import { providerModules, type ProviderModule, type ProviderName } from '../../providers';
import { parseSourceEntry, SourcesFileError, type SourceConfig, type SourceSecret } from '../config/file';
import { GatewayError, badRequest, notFound } from '../errors';
import { versionMismatch } from '../ops/if-match';
import type { TestEventSource } from '../senders/test-event';
import { fingerprint, generateSecret, requireKeyring, seal, type Keyring } from './crypto';
import type { Registry } from './registry';
import type { ControlStore, Guarded, SourceRow } from './store';
import { checkEntryTransform } from './transform-check';
import { sourceView, type SourceView } from './view';

/** What changed, for the audit log: views carry fingerprints, never a secret. */
export interface Change {
  action: string;
  source: string;
  before: SourceView | null;
  after: SourceView | null;
}

export interface SourceServiceDeps {
  store: ControlStore;
  registry: Registry;
  keyring?: Keyring;
}

export const DEFAULT_OVERLAP_SECONDS = 24 * 60 * 60;

const conflict = (code: string, message: string) => new GatewayError(409, code, message);
const NAMING = 'name, provider and secrets are set at creation; name cannot change';

/**
 * The control plane's operations on sources, shared by the ops API (and through it the CLI and
 * UI). Every change is one guarded statement, then the local registry is refreshed so the answer
 * already reflects it here; other instances follow on the NOTIFY.
 */
export function createSourceService(deps: SourceServiceDeps) {
  const { store, registry } = deps;

  // Sources are found with registry.lookup: one created on another instance a moment ago, before
  // this one heard of it, is read from the database rather than answered 404.
  const view = async (name: string): Promise<SourceView | null> => {
    const source = await registry.lookup(name);
    if (!source) return null;
    const held = source.paused ? ((await store.onHold()).get(name) ?? 0) : 0;
    return sourceView(source, held);
  };

  /** A database source, or the right error for a file one or none. */
  const managed = async (name: string) => {
    const source = await registry.lookup(name);
    if (!source) throw notFound('source_not_found', `No source named "${name}"`);
    refuseFileSource(name);
    return source;
  };
  /** 409 for a name this instance serves from its file or environment. */
  const refuseFileSource = (name: string) => {
    if (registry.resolve(name)?.managedBy === 'file') {
      throw conflict(
        'managed_by_file',
        `Source "${name}" comes from GATEWAY_CONFIG or the environment: change it there and restart the gateway ` +
          '(the API, the CLI and `webhook-gateway apply` manage only sources stored in the database)',
      );
    }
  };

  const guarded = <T>(name: string, result: Guarded<T>): T => {
    if (result.ok) return result.value;
    if (result.reason === 'missing') throw notFound('source_not_found', `No source named "${name}"`);
    throw versionMismatch(`Source "${name}"`, result.version);
  };

  const validate = (entry: Record<string, unknown>, requireSecrets: boolean): SourceConfig => {
    // Inline destinations carry a signing secret, which would sit in clear in the stored spec:
    // runtime destinations are stored encrypted and attached instead (src/control/destination-*.ts).
    if (entry.destinations !== undefined) {
      throw badRequest(
        'invalid_source',
        'destinations: create them with POST /api/destinations (or a "destinations:" list in apply -f) and attach this source there',
      );
    }
    try {
      return parseSourceEntry(entry, {}, { requireSecrets });
    } catch (err) {
      if (err instanceof SourcesFileError) throw badRequest('invalid_source', err.message);
      throw err;
    }
  };

  const change = async (action: string, name: string, before: SourceView | null, mutate: () => Promise<unknown>) => {
    await mutate();
    await registry.refresh();
    return { action, source: name, before, after: await view(name) } satisfies Change;
  };

  return {
    list: async (): Promise<SourceView[]> => {
      const held = await store.onHold();
      return registry.all().map((s) => sourceView(s, held.get(s.name) ?? 0));
    },
    get: async (name: string): Promise<SourceView> => {
      const found = await view(name);
      if (!found) throw notFound('source_not_found', `No source named "${name}"`);
      return found;
    },

    /**
     * Creates a source from a config-file entry. Without secrets (and a provider that needs one)
     * a random one is generated and returned once as `secret`.
     */
    async create(body: unknown, origin: 'api' | 'apply' = 'api'): Promise<Change & { secret?: string }> {
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        throw badRequest('invalid_source', 'source: send a JSON object, as one entry of the config file\'s "sources"');
      const entry = body as Record<string, unknown>;
      await checkEntryTransform(entry.transform);
      const config = validate(entry, false);
      if (registry.isReserved(config.name)) {
        throw conflict(
          'source_exists',
          `name: "${config.name}" is a source of GATEWAY_CONFIG, the environment or a poll; choose another name`,
        );
      }
      const keyring = requireKeyring(deps.keyring);
      const module: ProviderModule = providerModules[config.provider];
      // Each given secret keeps its not_after, as in a config file: one past its end never verifies.
      let values: SourceSecret[] = [...config.secrets];
      let generated: string | undefined;
      if (values.length === 0 && !module.secretsOptional(config.options)) {
        generated = generateSecret((candidate) => module.checkSecret(candidate, config.options) === undefined);
        if (!generated)
          throw badRequest(
            'invalid_source',
            `secrets: the gateway cannot make a secret for provider ${config.provider}; give one`,
          );
        values = [{ value: generated }];
      } else if (values.length > 0) {
        validate(entry, true); // checks each secret's form as the provider wants it
      }
      const { name: _n, provider, secrets: _s, ...spec } = entry;
      const created = await store.createSource(
        { name: config.name, provider: String(provider), spec, origin },
        values.map(({ value, notAfter }) => ({
          sealed: seal(keyring, config.name, value),
          fingerprint: fingerprint(value),
          notAfter,
        })),
      );
      if (!created)
        throw conflict(
          'source_exists',
          `name: a source named "${config.name}" already exists; choose another name or PATCH it`,
        );
      await registry.refresh();
      return {
        action: 'source.create',
        source: config.name,
        before: null,
        after: await view(config.name),
        ...(generated ? { secret: generated } : {}),
      };
    },

    /**
     * JSON merge patch of the entry (null removes a key); name and secrets are not patched here.
     * Merged into the stored entry, locked until written: a patch without If-Match cannot undo a
     * change another instance made a moment before this one's snapshot heard of it.
     */
    async update(name: string, patch: unknown, ifVersion?: number): Promise<Change> {
      refuseFileSource(name);
      if (typeof patch !== 'object' || patch === null || Array.isArray(patch))
        throw badRequest('invalid_source', 'source: send a JSON object of the keys to change');
      const { name: newName, secrets, ...rest } = patch as Record<string, unknown>;
      if (newName !== undefined && newName !== name) throw badRequest('invalid_source', `name: ${NAMING}`);
      if (secrets !== undefined)
        throw badRequest(
          'invalid_source',
          'secrets: use POST /api/sources/{name}/rotate-secret or DELETE /api/sources/{name}/secrets/{id}',
        );
      // Checked before the row is locked (a script runs in the sandbox); a stored one passed already.
      await checkEntryTransform(rest.transform);
      const merge = async (stored: SourceRow) => {
        const merged: Record<string, unknown> = { provider: stored.provider, ...stored.spec };
        for (const [key, value] of Object.entries(rest)) {
          if (value === null) delete merged[key];
          else merged[key] = value;
        }
        validate({ ...merged, name }, false);
        const { provider, ...spec } = merged;
        return { provider: String(provider), spec };
      };
      const before = await view(name);
      return change('source.update', name, before, async () =>
        guarded(name, await store.updateSource(name, merge, ifVersion)),
      );
    },

    async setPaused(name: string, paused: boolean, ifVersion?: number): Promise<Change> {
      await managed(name);
      const before = await view(name);
      return change(paused ? 'source.pause' : 'source.resume', name, before, async () =>
        guarded(name, await store.setPaused(name, paused, ifVersion)),
      );
    },

    async remove(name: string, ifVersion?: number): Promise<Change> {
      await managed(name);
      const before = await view(name);
      return change('source.delete', name, before, async () =>
        guarded(name, await store.deleteSource(name, ifVersion)),
      );
    },

    /**
     * Adds a secret (given, or generated and returned once); every older one stays valid for
     * `overlapSeconds` more, so senders can switch without a rejected request.
     */
    async rotateSecret(
      name: string,
      input: { secret?: string; overlapSeconds: number; keep?: string[] },
      ifVersion?: number,
    ): Promise<Change & { secret?: string; secret_id: number }> {
      const source = await managed(name);
      const keyring = requireKeyring(deps.keyring);
      const config = validate({ ...source.row!.spec, name, provider: source.row!.provider }, false);
      const module: ProviderModule = providerModules[config.provider as ProviderName];
      let value = input.secret;
      if (value !== undefined) {
        const problem = module.checkSecret(value, config.options);
        if (problem) throw badRequest('invalid_secret', `secret: ${problem}`);
      } else {
        value = generateSecret((candidate) => module.checkSecret(candidate, config.options) === undefined);
        if (!value)
          throw badRequest(
            'invalid_secret',
            `secret: the gateway cannot make a secret for provider ${config.provider}; give one`,
          );
      }
      const before = await view(name);
      let secretId = 0;
      const result = await change('source.rotate_secret', name, before, async () => {
        secretId = guarded(
          name,
          await store.rotateSecret(
            name,
            { sealed: seal(keyring, name, value), fingerprint: fingerprint(value) },
            input.overlapSeconds,
            ifVersion,
            input.keep,
          ),
        ).id;
      });
      return { ...result, secret_id: secretId, ...(input.secret === undefined ? { secret: value } : {}) };
    },

    /**
     * What a test event is signed with: a database source's newest valid secret (the one senders
     * are moving to), a file source's first valid one (as `webhook-gateway send` picks).
     */
    async signingSource(name: string): Promise<TestEventSource> {
      const source = await registry.lookup(name);
      if (!source) throw notFound('source_not_found', `No source named "${name}"`);
      const now = Date.now();
      const valid = source.secrets.filter((s) => !s.notAfter || s.notAfter.getTime() > now);
      const secret = source.managedBy === 'database' ? valid.at(-1) : valid[0];
      if (!secret && source.provider.verifiesWithoutSecrets) {
        throw conflict(
          'cannot_sign',
          `Source "${name}" verifies tokens signed with its sender's own key, which the gateway does not hold: trigger an event at the sender instead`,
        );
      }
      if (!secret) {
        throw conflict(
          'no_valid_secret',
          source.managedBy === 'database'
            ? `Source "${name}" has no valid secret to sign with: POST /api/sources/${name}/rotate-secret adds one`
            : `Source "${name}" has no valid secret to sign with: give it one in GATEWAY_CONFIG or the environment`,
        );
      }
      return { name, provider: source.providerName, options: source.options, secret: secret.value };
    },

    async revokeSecret(name: string, id: number, ifVersion?: number): Promise<Change> {
      await managed(name);
      const before = await view(name);
      return change('source.revoke_secret', name, before, async () => {
        if (!guarded(name, await store.revokeSecret(name, id, ifVersion)))
          throw notFound('secret_not_found', `Source "${name}" has no secret with id ${id}`);
      });
    },
  };
}

export type SourceService = ReturnType<typeof createSourceService>;
