import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SECRETS, startTestGateway, type TestGateway } from './gateway';
import { providerSources, providerSourcesDocument } from './provider-signers';

/**
 * A web-only gateway with every provider's source, and the environment of the shell a developer
 * runs it from — what `send` and `trigger` read their secrets and sources from. The sources file is
 * written into `dir`, which the caller creates and removes.
 */
export async function startGatewayForCli(dir: string): Promise<{ gw: TestGateway; env: Record<string, string> }> {
  const gw = await startTestGateway('pglite', { sources: providerSources() }, { role: 'web' });
  const config = join(dir, 'gateway.json');
  writeFileSync(config, JSON.stringify(providerSourcesDocument()));
  // What a developer has in the shell that runs the gateway: its secrets and its sources file.
  const env = {
    GATEWAY_CONFIG: config,
    SHOPIFY_WEBHOOK_SECRET: SECRETS.shopify,
    EASYPOST_WEBHOOK_SECRET: SECRETS.easypost,
    KEYCLOAK_EVENTS_SECRET: SECRETS.keycloak,
  };
  return { gw, env };
}
