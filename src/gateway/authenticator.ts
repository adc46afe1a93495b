import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/env';
import { describeError } from '../errors';
import { createAuthenticator, type Authenticator } from '../ops/auth';
import type { TokenStore } from '../store/tokens';

/**
 * The bearer-token check of every listener a gateway process opens (the web app, a worker's own
 * listener): OPS_API_TOKEN, METRICS_TOKEN and the tokens stored in the database, so a token
 * answers the same wherever it is presented.
 */
export function createGatewayAuthenticator(deps: {
  config: GatewayConfig;
  tokens: TokenStore;
  logger: Logger;
}): Authenticator {
  return createAuthenticator({
    bootstrapTokens: deps.config.opsTokens,
    metricsTokens: deps.config.metricsTokens,
    tokens: deps.tokens,
    onError: (err) => deps.logger.warn({ err: describeError(err) }, 'could not record a token use'),
  });
}
