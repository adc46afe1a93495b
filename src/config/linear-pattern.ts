import { RE2JS } from 're2js';

/**
 * A regular expression written by an operator and run over strings a sender chose, compiled for
 * RE2 (re2js) instead of V8's backtracking engine: matching takes time linear in the input, so
 * `^(a+)+$` over `aaaa…!` answers at once where a RegExp would hold the one JS thread for hours
 * (30 `a`s: minutes). Shaped like the RegExp it stands in for: `test` (an unanchored search, as
 * RegExp#test and JSON Schema's `pattern` are), `source`, `lastIndex` and `toString`.
 */
export class LinearPattern {
  /** Kept for callers that reset it before `test` as they would a RegExp's; RE2 has no state. */
  lastIndex = 0;
  readonly flags = 'u';
  readonly #compiled: RE2JS;

  constructor(
    readonly source: string,
    compiled: RE2JS,
  ) {
    this.#compiled = compiled;
  }

  test(text: string): boolean {
    return this.#compiled.test(String(text));
  }

  toString(): string {
    return `/${this.source}/${this.flags}`;
  }
}

/** A pattern the gateway will not run: the message says which construct and why. */
export class PatternError extends Error {
  override name = 'PatternError';
  readonly code = 'unusable_pattern';
}

// RE2's own messages name the construct it met; the common ones get a sentence saying what to do.
const BACKREFERENCE = 'uses a backreference (\\1 or \\k<name>), which has no linear-time implementation';
const REASONS: [RegExp, string][] = [
  [
    /`\(\?[=!]/,
    'uses a lookahead ((?=…) or (?!…)), which has no linear-time implementation; match the text itself instead',
  ],
  [
    /invalid capture in lookbehind/,
    'captures a group inside a lookbehind ((?<=(…))), which has no linear-time implementation; use (?:…)',
  ],
  [/invalid repeat count/, 'repeats more than 1000 times ({n} counts multiply when nested); use + or * instead'],
];

/**
 * Whether `source` refers back to a group (`\1`…`\9` outside a class, `\k<name>`). Scanned here
 * because re2js's translation reads `\k<name>` as the letters "k<name>", which would match other
 * strings than the operator meant instead of being refused.
 */
function hasBackreference(source: string): boolean {
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      const next = source[i + 1] ?? '';
      if ((!inClass && next >= '1' && next <= '9') || (next === 'k' && source[i + 2] === '<')) return true;
      i++;
    } else if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
  }
  return false;
}

/**
 * Compiles `source` (ECMA-262 syntax, as JSON Schema writes patterns) for the linear-time engine.
 * Throws PatternError when it is not a valid JavaScript regular expression or uses what RE2 cannot
 * run in linear time (lookahead, backreferences): refused when the configuration is read, not
 * discovered at the first event.
 */
export function compileLinearPattern(source: string): LinearPattern {
  try {
    // Compiling a RegExp runs nothing: it only proves the text is ECMA-262, as zod required before.
    new RegExp(source);
  } catch (err) {
    throw new PatternError(`is not a valid regular expression: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (hasBackreference(source)) throw new PatternError(BACKREFERENCE);
  try {
    // translateRegExp turns the ECMA-only spellings (\u00e9, \u{1F600}, (?<name>…), [^], \cJ) into
    // RE2's; LOOKBEHINDS lets the (captureless) lookbehinds RE2 can run in linear time through.
    return new LinearPattern(source, RE2JS.compile(RE2JS.translateRegExp(source), RE2JS.LOOKBEHINDS));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const reason = REASONS.find(([test]) => test.test(message))?.[1];
    throw new PatternError(
      reason ?? `cannot be run by the linear-time engine (RE2): ${message.replace(/^error parsing regexp: /, '')}`,
    );
  }
}
