import { z } from 'zod';
import { unauthorized } from '../src/errors';
import { headerName } from './options';
import {
  configuredIdentityHead,
  identifyConfigured,
  identityHeaders,
  identityOptions,
  identityPaths,
  identityProblems,
} from './identity';
import { credentialMatches, MAX_HEADER_CHARS, requireHeaders, utf8SecretProblem } from './signature';
import { defineProvider, type RequestHead } from './types';

/** An API key in a header (optionally after a prefix such as "Bearer ") or in a query parameter. */
export const apiKey = defineProvider({
  name: 'api-key',
  options: z
    .strictObject({
      header: headerName.optional(),
      /** Text before the key in the header, e.g. "Bearer ". */
      prefix: z.string().default(''),
      query: z.string().min(1).optional(),
      ...identityOptions,
    })
    .superRefine((o, ctx) => {
      const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
      if (!o.header === !o.query) issue('header', 'set exactly one of header or query');
      if (o.prefix && !o.header) issue('prefix', 'only applies to a key sent in a header');
      for (const p of identityProblems(o)) issue(p.path, p.message);
    }),
  checkSecret: utf8SecretProblem,
  create: (o) => {
    const where = o.header ?? `query parameter ${o.query}`;
    const presentedKey = (request: RequestHead): string => {
      if (o.header) {
        const value = requireHeaders(request.headers, [o.header], 'signature')[o.header]!;
        return value.startsWith(o.prefix) ? value.slice(o.prefix.length).trim() : '';
      }
      const values = new URLSearchParams(request.query).getAll(o.query!);
      if (values.length === 0 || !values[0])
        throw unauthorized('missing_signature', `Required query parameter missing: ${o.query}`);
      // Two keys are ambiguous (which one would a proxy or a log have seen?), so neither is tried.
      if (values.length > 1)
        throw unauthorized('invalid_credentials', `Query parameter ${o.query} is given more than once`);
      if (values[0].length > MAX_HEADER_CHARS)
        throw unauthorized('invalid_credentials', `Query parameter ${o.query} is too long`);
      return values[0];
    };
    const checkKey = (request: RequestHead, secrets: readonly string[]): void => {
      const key = presentedKey(request);
      if (!key || !credentialMatches(key, secrets)) {
        throw unauthorized('invalid_credentials', `API key in ${where} is not accepted`);
      }
    };
    return {
      name: 'api-key',
      keptHeaders: ['content-type', 'user-agent', ...identityHeaders(o)].filter((h) => h !== o.header),
      identityPaths: identityPaths(o),
      credentialQueryParams: o.query ? [o.query] : [],

      verifyHead: checkKey,

      verify(request, secrets) {
        checkKey(request, secrets);
        return { signed: request.rawBody };
      },

      identifyHead: configuredIdentityHead(o),
      identify: (request, verification) => identifyConfigured(o, request, verification, 'api-key'),
    };
  },
});
