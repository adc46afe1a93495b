import { providerModules, type ProviderModule, type ProviderName } from '../../providers';
import { badRequest, notFound } from '../errors';
import type { TestEventSource } from '../senders/test-event';
import { fingerprint, generateSecret, requireKeyring, seal } from './crypto';
import type { SourceServiceDeps } from './service';
import { conflict, type Change, type SourceSteps } from './source-steps';

export const DEFAULT_OVERLAP_SECONDS = 24 * 60 * 60;

/** The source service's operations on a source's secrets: rotate, pick one to sign with, revoke. */
export function createSecretOperations(deps: SourceServiceDeps, steps: SourceSteps) {
  const { store, registry } = deps;
  const { view, managed, guarded, validate, change } = steps;

  return {
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
