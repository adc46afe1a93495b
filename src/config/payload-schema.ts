import { z } from 'zod';
import { compileLinearPattern, PatternError, type LinearPattern } from './linear-pattern';

type JsonSchema = Parameters<typeof z.fromJSONSchema>[0];

/** Where a pattern sits in the operator's schema (a JSON pointer), and its text. */
interface FoundPattern {
  at: string;
  source: string;
}

// Keywords whose value is a subschema or a list of them, and those mapping names to subschemas: the
// places a `pattern` can hide (JSON Schema 2020-12 core §10, plus draft-7's spellings).
const SUBSCHEMA = new Set([
  'items',
  'prefixItems',
  'additionalItems',
  'additionalProperties',
  'contains',
  'propertyNames',
  'not',
  'if',
  'then',
  'else',
  'allOf',
  'anyOf',
  'oneOf',
  'unevaluatedItems',
  'unevaluatedProperties',
  'contentSchema',
]);
const SUBSCHEMA_MAP = new Set([
  'properties',
  'patternProperties',
  'dependentSchemas',
  'dependencies',
  '$defs',
  'definitions',
]);

const pointer = (segment: string) => segment.replace(/~/g, '~0').replace(/\//g, '~1');
const shown = (source: string) => JSON.stringify(source.length > 80 ? `${source.slice(0, 80)}…` : source);

/** Every `pattern` and `patternProperties` name in the schema, with where it is. */
function findPatterns(schema: unknown, at: string, found: FoundPattern[]): FoundPattern[] {
  if (Array.isArray(schema)) {
    schema.forEach((item, i) => findPatterns(item, `${at}/${i}`, found));
    return found;
  }
  if (typeof schema !== 'object' || schema === null) return found;
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'pattern') {
      if (typeof value !== 'string') throw new PatternError(`${at}/pattern: must be a string (a regular expression)`);
      found.push({ at: `${at}/pattern`, source: value });
    } else if (SUBSCHEMA.has(key)) {
      findPatterns(value, `${at}/${pointer(key)}`, found);
    } else if (SUBSCHEMA_MAP.has(key) && typeof value === 'object' && value !== null && !Array.isArray(value)) {
      for (const [name, sub] of Object.entries(value)) {
        const where = `${at}/${key}/${pointer(name)}`;
        if (key === 'patternProperties') found.push({ at: where, source: name });
        findPatterns(sub, where, found);
      }
    }
  }
  return found;
}

/**
 * Runs `convert` while the global RegExp hands out the linear-time matcher compiled for each of
 * the operator's pattern texts, and a real RegExp for anything else. zod's fromJSONSchema compiles
 * `pattern` and `patternProperties` with `new RegExp(text)` deep inside, partly into closures that
 * no walk of the returned schema could reach (propertyNames, additionalProperties: false). The
 * conversion is synchronous: nothing else runs while the constructor is swapped. An operator's
 * pattern asked for with flags the matcher does not implement is refused (fail closed).
 */
function withLinearPatterns<T>(patterns: ReadonlyMap<string, LinearPattern>, convert: () => T): T {
  const native = globalThis.RegExp;
  const linearFor = (args: unknown[]): LinearPattern | undefined => {
    const [source, flags] = args;
    const linear = typeof source === 'string' ? patterns.get(source) : undefined;
    if (linear && flags !== undefined && flags !== '' && flags !== 'u')
      throw new PatternError(
        `pattern ${shown(source as string)} was asked for with flags "${String(flags)}", which the linear-time engine does not apply`,
      );
    return linear;
  };
  globalThis.RegExp = new Proxy(native, {
    construct: (target, args: unknown[], newTarget) =>
      linearFor(args) ?? (Reflect.construct(target, args, newTarget) as object),
    apply: (target, self, args: unknown[]) => linearFor(args) ?? (Reflect.apply(target, self, args) as RegExp),
  });
  try {
    return convert();
  } finally {
    globalThis.RegExp = native;
  }
}

/**
 * The schema with `type: integer` spelled `type: number, multipleOf: 1` — the same set by JSON
 * Schema's definition (a number with a zero fractional part, 2020-12 validation §6.1.1) — because
 * zod's fromJSONSchema turns `integer` into z.number().int(), which refuses every integer beyond
 * 2^53 − 1: a schema declaring Shopify's ids (~8.2e17) `integer` failed every event for good
 * (`Too big: expected int to be <=9007199254740991`). In a type list the `multipleOf` applies to the
 * number branch only (zod expands a list into one branch per type). A schema that already has a
 * fractional `multipleOf` keeps `integer` (integer-and-multiple-of-0.5 is not one multipleOf of
 * zod's), so it keeps the 2^53 − 1 limit (docs/destinations.md#payload-schemas-and-big-numbers).
 */
export function integersAsWholeNumbers(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(integersAsWholeNumbers);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (SUBSCHEMA.has(key)) out[key] = integersAsWholeNumbers(value);
    else if (SUBSCHEMA_MAP.has(key) && typeof value === 'object' && value !== null && !Array.isArray(value))
      out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, integersAsWholeNumbers(sub)]));
    else out[key] = value;
  }
  const { type, multipleOf } = out;
  const types = Array.isArray(type) ? type : [type];
  if (!types.includes('integer') || (typeof multipleOf === 'number' && !Number.isInteger(multipleOf))) return out;
  const numberTypes = types.includes('number')
    ? types.filter((t) => t !== 'integer')
    : types.map((t) => (t === 'integer' ? 'number' : t));
  out.type = Array.isArray(type) ? numberTypes : 'number';
  // `number` listed beside `integer` already admits every number: no multipleOf for it.
  if (!types.includes('number') && multipleOf === undefined) out.multipleOf = 1;
  return out;
}

/**
 * A payload schema (config `schemas:`) from its JSON Schema, with every `pattern` and
 * `patternProperties` name matched by RE2 in linear time (docs/destinations.md#patterns-in-payload-schemas).
 * Throws PatternError naming the pattern's place (`/properties/sku/pattern: …`) when one cannot be
 * used, and zod's error when the schema itself cannot be converted.
 */
export function payloadSchemaFromJSONSchema(schema: Record<string, unknown>): z.ZodType {
  const patterns = new Map<string, LinearPattern>();
  for (const { at, source } of findPatterns(schema, '', [])) {
    // zod skips an empty pattern (it matches every string anyway).
    if (source === '' || patterns.has(source)) continue;
    try {
      patterns.set(source, compileLinearPattern(source));
    } catch (err) {
      if (!(err instanceof PatternError)) throw err;
      throw new PatternError(`${at || '/'}: pattern ${shown(source)} ${err.message}`);
    }
  }
  const converted = integersAsWholeNumbers(schema) as JsonSchema;
  if (patterns.size === 0) return z.fromJSONSchema(converted) as z.ZodType;
  return withLinearPatterns(patterns, () => z.fromJSONSchema(converted) as z.ZodType);
}
