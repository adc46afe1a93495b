import { providerModules, type ProviderModule } from '../../providers';
import type { SourceSecret } from '../config/file';
import { badRequest, notFound } from '../errors';
import { fingerprint, generateSecret, requireKeyring, seal, type Keyring } from './crypto';
import type { Registry } from './registry';
import { createSecretOperations } from './secret-service';
import { conflict, createSourceSteps, type Change } from './source-steps';
import type { ControlStore, SourceRow } from './store';
import type { BackoffPolicy } from '../worker/backoff';
import { checkEntryTransform } from './transform-check';
import { sourceView, type SourceView } from './view';

export type { Change } from './source-steps';
export { DEFAULT_OVERLAP_SECONDS } from './secret-service';

export interface SourceServiceDeps {
  store: ControlStore;
  registry: Registry;
  keyring?: Keyring;
  /** RETRY_BASE_MS and RETRY_MAX_MS: a source's retry must not start above where it is capped. */
  retryDefaults?: BackoffPolicy;
  /** INGEST_BODY_BUDGET_BYTES: a source's max_body_bytes must fit in it. */
  ingestBodyBudgetBytes?: number;
}

const NAMING = 'name, provider and secrets are set at creation; name cannot change';

/**
 * The control plane's operations on sources, shared by the ops API (and through it the CLI and
 * UI). Every change is one guarded statement, then the local registry is refreshed so the answer
 * already reflects it here; other instances follow on the NOTIFY.
 */
export function createSourceService(deps: SourceServiceDeps) {
  const { store, registry } = deps;

  const steps = createSourceSteps(deps);
  const { view, managed, refuseFileSource, guarded, validate, change } = steps;

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

    // rotateSecret, signingSource, revokeSecret (src/control/secret-service.ts).
    ...createSecretOperations(deps, steps),
  };
}

export type SourceService = ReturnType<typeof createSourceService>;
