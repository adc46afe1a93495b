import { z } from 'zod';
import { headerName, toleranceSeconds } from './options';
import {
  configuredIdentityHead,
  identifyConfigured,
  identityHeaders,
  identityOptions,
  identityPaths,
  identityProblems,
} from './identity';
import {
  assertHmac,
  checkTimestamp,
  decodeKey,
  decodeSignatures,
  invalidSignature,
  requireHeaders,
  secretLengthProblem,
  signedBytes,
} from './signature';
import { defineProvider, type InboundRequest, type RequestHead } from './types';

const PLACEHOLDERS = ['body', 'timestamp', 'nonce', 'id', 'path', 'query'] as const;
type Placeholder = (typeof PLACEHOLDERS)[number];
type TemplatePart = { literal: string } | { placeholder: Placeholder };

/** Splits "{timestamp}.{body}" into literal text and placeholders; unknown placeholders are null. */
function parseTemplate(template: string): TemplatePart[] | null {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const match of template.matchAll(/\{([a-z_]+)\}/g)) {
    const name = match[1] as Placeholder;
    if (!PLACEHOLDERS.includes(name)) return null;
    if (match.index > last) parts.push({ literal: template.slice(last, match.index) });
    parts.push({ placeholder: name });
    last = match.index + match[0].length;
  }
  if (last < template.length) parts.push({ literal: template.slice(last) });
  return parts;
}

const uses = (parts: TemplatePart[], name: Placeholder) =>
  parts.filter((p) => 'placeholder' in p && p.placeholder === name).length;

const options = z
  .strictObject({
    algorithm: z.enum(['sha1', 'sha256', 'sha512']).default('sha256'),
    /** How the signature is written in its header. */
    encoding: z.enum(['hex', 'base64']).default('hex'),
    /** How the configured secrets turn into key bytes: as written (utf8), or decoded. */
    secret_encoding: z.enum(['utf8', 'hex', 'base64']).default('utf8'),
    signature_header: headerName,
    /** Text before the signature in its header, e.g. "sha256=". */
    signature_prefix: z.string().default(''),
    /** What is signed: literal text and {body} {timestamp} {nonce} {id} {path} {query}. */
    signed_payload: z.string().default('{body}'),
    timestamp_header: headerName.optional(),
    timestamp_unit: z.enum(['s', 'ms']).default('s'),
    tolerance_seconds: toleranceSeconds,
    /** A header whose value may be accepted only once per source. */
    nonce_header: headerName.optional(),
    /**
     * Opt-outs for senders that send a nonce or id without signing it. Anyone who captured a
     * request can then resend it with a fresh nonce or id and it is stored again: only a signed
     * timestamp still bounds such replays. Off by default; a config error says so.
     */
    allow_unsigned_nonce: z.boolean().default(false),
    allow_unsigned_id: z.boolean().default(false),
    ...identityOptions,
  })
  .superRefine((o, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    for (const problem of identityProblems(o)) issue(problem.path, problem.message);
    const parts = parseTemplate(o.signed_payload);
    if (!parts) {
      issue('signed_payload', `unknown placeholder; use ${PLACEHOLDERS.map((p) => `{${p}}`).join(' ')}`);
      return;
    }
    if (uses(parts, 'body') !== 1) issue('signed_payload', 'must contain {body} exactly once');
    // An unsigned timestamp proves nothing: the tolerance check would be on a value anyone can change.
    if (o.timestamp_header && !uses(parts, 'timestamp')) {
      issue('signed_payload', 'must contain {timestamp} when timestamp_header is set, or the timestamp is not signed');
    }
    if (uses(parts, 'timestamp') && !o.timestamp_header)
      issue('timestamp_header', 'required by {timestamp} in signed_payload');
    if (uses(parts, 'nonce') && !o.nonce_header) issue('nonce_header', 'required by {nonce} in signed_payload');
    if (uses(parts, 'id') && !o.id_header) issue('id_header', 'required by {id} in signed_payload');
    // An unsigned nonce or id is replay protection anyone can defeat: resend a captured request
    // with a fresh value and it is a new event. Refused unless the operator says the sender
    // really does not sign it.
    if (o.nonce_header && !uses(parts, 'nonce') && !o.allow_unsigned_nonce) {
      issue(
        'nonce_header',
        `${unsignedMessage('nonce')}, or set allow_unsigned_nonce: true if the sender does not sign its nonce`,
      );
    }
    if (o.id_header && !uses(parts, 'id') && !o.allow_unsigned_id) {
      issue('id_header', `${unsignedMessage('id')}, or set allow_unsigned_id: true if the sender does not sign its id`);
    }
    if (o.allow_unsigned_nonce && (!o.nonce_header || uses(parts, 'nonce'))) {
      issue('allow_unsigned_nonce', 'only applies to a nonce_header that is not in signed_payload');
    }
    if (o.allow_unsigned_id && (!o.id_header || uses(parts, 'id'))) {
      issue('allow_unsigned_id', 'only applies to an id_header that is not in signed_payload');
    }
  });

const unsignedMessage = (what: 'nonce' | 'id') =>
  `{${what}} is not in signed_payload, so a captured request replayed with a fresh ${what} would be accepted as new; add {${what}} to signed_payload`;

type Options = z.output<typeof options>;

/**
 * Generic HMAC: a configurable declaration (algorithm, encodings, header, prefix, a template of the
 * signed bytes, an optional signed timestamp and a nonce) verified by the shared routine.
 */
export const genericHmac = defineProvider({
  name: 'generic-hmac',
  options,
  create: (o: Options) => {
    const template = parseTemplate(o.signed_payload)!;
    const credentialHeaders = [o.signature_header, o.timestamp_header, o.nonce_header].filter((h) => h !== undefined);
    const signsId = uses(template, 'id') > 0;
    const readHead = (request: RequestHead) => readCredentialHeaders(request, o, credentialHeaders, signsId);
    const worthKeeping = [o.timestamp_header, o.nonce_header, ...identityHeaders(o)].filter((h) => h !== undefined);
    return {
      name: 'generic-hmac',
      replayWindowSeconds: o.timestamp_header ? o.tolerance_seconds : undefined,
      keptHeaders: [...new Set(['content-type', 'user-agent', ...worthKeeping])].filter(
        (h) => h !== o.signature_header,
      ),
      identityPaths: identityPaths(o),

      // The headers alone are checked before the body is read; the HMAC needs the body.
      verifyHead(request) {
        readHead(request);
      },

      verify(request, secrets) {
        const { values, presented } = readHead(request);
        const signed = signedBytes(...template.map((part) => fill(part, request, values, o)));
        assertHmac({
          header: o.signature_header,
          algorithm: o.algorithm,
          keys: secrets.map((secret) => decodeKey(secret, o.secret_encoding)).filter((key) => key !== null),
          signed,
          presented,
        });
        const nonce = o.nonce_header ? { header: o.nonce_header, value: values[o.nonce_header]! } : undefined;
        return { signed, nonce };
      },

      identifyHead: configuredIdentityHead(o),
      identify: (request, verification) => identifyConfigured(o, request, verification, 'generic-hmac'),
    };
  },
  checkSecret: (secret, o) => {
    const key = decodeKey(secret, o.secret_encoding);
    if (!key) return `not valid ${o.secret_encoding} (secret_encoding)`;
    return secretLengthProblem(
      key.length,
      o.secret_encoding === 'utf8' ? 'secret' : `the decoded ${o.secret_encoding} key`,
    );
  },
});

/**
 * Everything the credential headers alone decide, in the order verify has always checked them:
 * signature, timestamp and nonce headers present and within the length bound, the signature's
 * prefix, the timestamp within the tolerance, a signed id header present, the signature valid in
 * its encoding. Returns the headers' values (the id's too when signed) and the decoded signature.
 * Called before the body is read (verifyHead) and again by verify.
 */
function readCredentialHeaders(
  request: RequestHead,
  o: Options,
  credentialHeaders: readonly string[],
  signsId: boolean,
): { values: Record<string, string>; presented: Buffer[] } {
  const values = requireHeaders(request.headers, credentialHeaders, 'signature');
  const header = values[o.signature_header]!;
  if (!header.startsWith(o.signature_prefix)) throw invalidSignature(o.signature_header);
  if (o.timestamp_header) {
    checkTimestamp(values[o.timestamp_header]!, {
      header: o.timestamp_header,
      toleranceSeconds: o.tolerance_seconds,
      unit: o.timestamp_unit,
    });
  }
  if (signsId) values[o.id_header!] = requireHeaders(request.headers, [o.id_header!], 'signature')[o.id_header!]!;
  const presented = decodeSignatures(o.signature_header, o.encoding, [header.slice(o.signature_prefix.length)]);
  return { values, presented };
}

/** One part of the signed bytes; headers come from the already-checked values. */
function fill(
  part: TemplatePart,
  request: InboundRequest,
  values: Record<string, string>,
  o: Options,
): string | Buffer {
  if ('literal' in part) return part.literal;
  switch (part.placeholder) {
    case 'body':
      return request.rawBody;
    case 'timestamp':
      return values[o.timestamp_header!]!;
    case 'nonce':
      return values[o.nonce_header!]!;
    case 'id':
      return values[o.id_header!]!;
    case 'path':
      return request.path;
    case 'query':
      return request.query;
  }
}
