import { z } from 'zod';
import { GatewayError } from '../src/errors';
import {
  configuredIdentityHead,
  identifyConfigured,
  identityHeaders,
  identityOptions,
  identityPaths,
  identityProblems,
} from './identity';
import { basicCredentialMatches, decodeStrict, requireHeaders, secretLengthProblem } from './signature';
import { defineProvider, type RequestHead } from './types';

const BASIC = /^Basic\s+(\S+)$/i;

/** HTTP Basic authentication: each secret is a "user:password" pair, compared in constant time. */
export const basicAuth = defineProvider({
  name: 'basic-auth',
  options: z.strictObject({ ...identityOptions }).superRefine((o, ctx) => {
    for (const p of identityProblems(o)) ctx.addIssue({ code: 'custom', path: [p.path], message: p.message });
  }),
  checkSecret: (secret) => {
    const colon = secret.indexOf(':');
    if (colon <= 0) return 'a basic-auth secret is written user:password';
    // The user name is rarely secret; the password is what must not be guessable.
    return secretLengthProblem(Buffer.byteLength(secret.slice(colon + 1), 'utf8'), 'the password');
  },
  create: (o) => ({
    name: 'basic-auth',
    keptHeaders: ['content-type', 'user-agent', ...identityHeaders(o)].filter((h) => h !== 'authorization'),
    identityPaths: identityPaths(o),

    verifyHead: checkBasic,

    verify(request, secrets) {
      checkBasic(request, secrets);
      return { signed: request.rawBody };
    },

    identifyHead: configuredIdentityHead(o),
    identify: (request, verification) => identifyConfigured(o, request, verification, 'basic-auth'),
  }),
});

function checkBasic(request: RequestHead, secrets: readonly string[]): void {
  const { authorization } = requireHeaders(request.headers, ['authorization'], 'signature');
  const encoded = BASIC.exec(authorization)?.[1];
  const credential = encoded ? decodeStrict(encoded, 'base64') : null;
  // Raw bytes are hashed as sent (no lossy UTF-8 decoding), then compared with the UTF-8 and, where
  // it differs, the ISO-8859-1 bytes of each "user:password" (basicCredentialMatches says why).
  if (!credential || !basicCredentialMatches(credential, secrets)) {
    throw new GatewayError(401, 'invalid_credentials', 'Basic credentials in authorization are not accepted', {
      headers: { 'www-authenticate': 'Basic realm="webhooks"' },
    });
  }
}
