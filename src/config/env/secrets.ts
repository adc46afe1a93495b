import { z } from 'zod';
import { providerModules, type ProviderModule } from '../../../providers';
import { loadKeyring, type Keyring } from '../../control/crypto';
import { ConfigError } from '../errors';
import { decimalNumber, secretList } from './fields';

// Secrets: the env-configured sources' signing secrets, the API tokens, and the master key that
// seals secrets stored in the database (with the backstop re-read of runtime-managed sources).

export const secretsVariables = z.object({
  SHOPIFY_WEBHOOK_SECRET: secretList,
  EASYPOST_WEBHOOK_SECRET: secretList,
  KEYCLOAK_EVENTS_SECRET: secretList,
  OPS_API_TOKEN: secretList,
  /** Read-only token(s) accepted on /metrics only (OPS_API_TOKEN works there too). */
  METRICS_TOKEN: secretList,
  /** Master key sealing secrets stored in the database: 32 random bytes, base64 (src/control/crypto.ts). */
  GATEWAY_MASTER_KEY: z.string().optional(),
  GATEWAY_MASTER_KEY_FILE: z.string().optional(),
  /** The key before a rotation, still accepted for reading until `keys rotate` has re-sealed everything. */
  GATEWAY_MASTER_KEY_PREVIOUS: z.string().optional(),
  /** Backstop re-read of runtime-managed sources, besides NOTIFY. */
  CONTROL_REFRESH_SECONDS: decimalNumber(z.number().positive().max(3600)).default(5),
});

export type SecretsEnv = z.infer<typeof secretsVariables>;

export interface SecretSettings {
  secrets: { shopify: string[]; easypost: string[]; keycloak: string[] };
  opsTokens: string[];
  /** Tokens accepted on /metrics only, besides the ops tokens. */
  metricsTokens: string[];
  /** Runtime-managed sources (src/control): secrets' master keys, and the backstop re-read interval. */
  control: { keyring?: Keyring; refreshMs: number };
}

/**
 * The secret settings from their validated variables; the master keys are loaded here, so a bad
 * key is a ConfigError.
 */
export function secretSettings(e: SecretsEnv): SecretSettings {
  let keyring: Keyring | undefined;
  try {
    keyring = loadKeyring({
      key: e.GATEWAY_MASTER_KEY,
      keyFile: e.GATEWAY_MASTER_KEY_FILE,
      previous: e.GATEWAY_MASTER_KEY_PREVIOUS,
    });
  } catch (err) {
    throw new ConfigError(`Invalid configuration: ${(err as Error).message}`);
  }
  return {
    control: { keyring, refreshMs: e.CONTROL_REFRESH_SECONDS * 1000 },
    secrets: {
      shopify: e.SHOPIFY_WEBHOOK_SECRET,
      easypost: e.EASYPOST_WEBHOOK_SECRET,
      keycloak: e.KEYCLOAK_EVENTS_SECRET,
    },
    opsTokens: e.OPS_API_TOKEN,
    metricsTokens: e.METRICS_TOKEN,
  };
}

/** The env-configured sources' secrets, checked as their provider checks a config-file secret. */
export function envSecretProblems(e: SecretsEnv): string[] {
  const variables = {
    SHOPIFY_WEBHOOK_SECRET: 'shopify',
    EASYPOST_WEBHOOK_SECRET: 'easypost',
    KEYCLOAK_EVENTS_SECRET: 'keycloak',
  } as const;
  return Object.entries(variables).flatMap(([variable, provider]) => {
    const module: ProviderModule = providerModules[provider];
    return e[variable as keyof typeof variables].flatMap((secret, index) => {
      const problem = module.checkSecret(secret, module.options.parse({}));
      // Never the secret itself: its position in the comma-separated list.
      return problem
        ? [`${variable}${e[variable as keyof typeof variables].length > 1 ? ` (secret ${index + 1})` : ''}: ${problem}`]
        : [];
    });
  });
}
