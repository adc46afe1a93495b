import { isLosslessNumber } from 'lossless-json';
import { parse as parseYaml, type ScalarTag, type Tags } from 'yaml';
import { InexactJsonError, numberOrExact, parseExact } from '../json/exact-values';
import { SourcesFileError } from './file-types';
import { inexactNumbers } from './inexact-numbers';

// A config file's numbers, read without rounding (JSON by parseExact, YAML with intAsBigInt and
// exactFloats), are
// kept exact only where the gateway compares them on their digits: destinations' filters (a
// Shopify id of ~8e17 in `filter` must not match the ~128 ids that round to the same double).
// Everywhere else (timeouts, limits, tenant_context, JSON Schemas) they become the plain numbers
// JSON.parse gave before, so nothing else sees a LosslessNumber or a bigint.

type Doc = { destinations?: unknown; sources?: unknown };

/**
 * The document with exact numbers kept in `destinations[].filter` and `sources[].destinations[].filter`.
 * Throws SourcesFileError for a number a source's tenant_context would not keep
 * (src/config/inexact-numbers.ts).
 */
export function exactOnlyInFilters(document: unknown): unknown {
  if (!isRecord(document)) return plain(document);
  const { destinations, sources, ...rest } = document as Doc & Record<string, unknown>;
  if (Array.isArray(sources)) refuseInexactNumbers(sources);
  return {
    ...(plain(rest) as object),
    ...(destinations !== undefined ? { destinations: withExactFilters(destinations) } : {}),
    ...(sources !== undefined
      ? {
          sources: Array.isArray(sources)
            ? sources.map((s) =>
                isRecord(s) && s.destinations !== undefined
                  ? { ...(plain(s) as object), destinations: withExactFilters(s.destinations) }
                  : plain(s),
              )
            : plain(sources),
        }
      : {}),
  };
}

function refuseInexactNumbers(sources: unknown[]): void {
  const problems = sources.flatMap((s, i) => {
    const name = isRecord(s) && typeof s.name === 'string' ? ` (source "${s.name}")` : '';
    return inexactNumbers(s).map((problem) => `sources[${i}]${name}.${problem}`);
  });
  if (problems.length > 0) throw new SourcesFileError(problems.join('; '));
}

function withExactFilters(list: unknown): unknown {
  if (!Array.isArray(list)) return plain(list);
  return list.map((d) =>
    isRecord(d) && d.filter !== undefined ? { ...(plain(d) as object), filter: exact(d.filter) } : plain(d),
  );
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !isLosslessNumber(v);

/** Every number a plain number, as JSON.parse (or YAML without intAsBigInt) reads it. */
function plain(value: unknown): unknown {
  if (isLosslessNumber(value)) return Number(value.value);
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(plain);
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

/** Every number exact: a YAML bigint becomes a number when one holds it, else a LosslessNumber. */
function exact(value: unknown): unknown {
  if (typeof value === 'bigint') return numberOrExact(value.toString());
  if (Array.isArray(value)) return value.map(exact);
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, exact(v)]));
  return value;
}

/**
 * YAML's decimal and exponent floats (the core schema's own patterns), read as numberOrExact reads
 * JSON's: `820982911946154508.0` or `8.20982911946154508e17` in a filter keep their value, where
 * the core schema's parseFloat gave 820982911946154500 (intAsBigInt covers plain integers only).
 * Put before the core schema's tags, so they are tried first; `.inf` and `.nan` stay the core's.
 */
const exactFloats = (tags: Tags): Tags => [
  exactFloat(/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/),
  exactFloat(/^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/),
  ...tags,
];

function exactFloat(test: RegExp): ScalarTag {
  return {
    tag: 'tag:yaml.org,2002:float',
    default: true,
    test,
    identify: isLosslessNumber,
    resolve: (text: string) => numberOrExact(jsonNumberText(text)),
  };
}

/** A YAML float in JSON's number syntax: YAML also writes `+1.5`, `.5`, `-.5`, `1.` and `1.e3`. */
const jsonNumberText = (yamlFloat: string) =>
  yamlFloat
    .replace(/^\+/, '')
    .replace(/^(-?)\./, '$10.')
    .replace(/\.(?=[eE]|$)/, '');

/** A JSON object in the config file repeats a key with different values (`at position N`, as V8 says). */
export class DuplicateJsonKeyError extends SyntaxError {
  override name = 'DuplicateJsonKeyError';
}

/**
 * A config file's text as a document, numbers as exactOnlyInFilters says. Throws the parsers'
 * syntax errors. A JSON key repeated with different values is one too, as YAML's DUPLICATE_KEY:
 * JSON.parse kept the last (`"name": "a", …, "name": "b"` made a source "b"). JSON nested beyond
 * what lossless-json parses is read by JSON.parse, as it always was.
 */
export function parseConfigText(text: string, format: 'JSON' | 'YAML'): unknown {
  if (format === 'YAML') return exactOnlyInFilters(parseYaml(text, { intAsBigInt: true, customTags: exactFloats }));
  try {
    return exactOnlyInFilters(parseExact(text));
  } catch (err) {
    if (!(err instanceof InexactJsonError)) throw err;
    const duplicate = /Duplicate key .* at position (\d+)/.exec(err.message);
    if (duplicate) throw new DuplicateJsonKeyError(`repeated key at position ${duplicate[1]}`);
    return exactOnlyInFilters(JSON.parse(text));
  }
}
