import { parseSourcesDocument } from '../../src/config/file';

/**
 * API-key sources reading their webhook id from `order.ref` and topic from `meta.kind`, each
 * masking the paths given (none: the same fields in clear), for the masked-identity filter tests.
 */
export function maskedIdentitySources(apiKey: string, masks: Record<string, string[]>) {
  const entry = (name: string, mask: string[]) => ({
    name,
    provider: 'api-key',
    secrets: [apiKey],
    header: 'x-api-key',
    id_path: 'order.ref',
    topic_path: 'meta.kind',
    ...(mask.length ? { mask } : {}),
  });
  return parseSourcesDocument({ sources: Object.entries(masks).map(([name, mask]) => entry(name, mask)) }, {});
}
