import { parse as parseYaml, YAMLParseError } from 'yaml';
import { DuplicateJsonKeyError } from './exact-filters';
import { SourcesFileError } from './file-types';

/**
 * A syntax error by line and column only. The parsers' own messages quote the offending line
 * (yaml prints it with a caret under it, V8 quotes the JSON around the error), and in this file
 * that line may hold a secret.
 */
export function syntaxError(path: string, format: string, text: string, err: unknown): SourcesFileError {
  // yaml's guard against an alias bomb (`b: [*a, *a, …]` nested: "billion laughs") throws a
  // ReferenceError without a position; it was reported as a bare "is not valid YAML".
  if (err instanceof ReferenceError && /alias count/.test(err.message))
    return new SourcesFileError(
      `${path} is not valid YAML: its aliases (*name) expand to too many values (yaml's limit against alias bombs); write the repeated values out, or repeat each anchor fewer times`,
    );
  const at = format === 'YAML' ? yamlPosition(err) : jsonPosition(text, err);
  const code =
    err instanceof YAMLParseError ? ` (${err.code})` : err instanceof DuplicateJsonKeyError ? ' (DUPLICATE_KEY)' : '';
  const where = at ? ` at line ${at.line}, column ${at.col}` : '';
  return new SourcesFileError(
    `${path} is not valid ${format}${where}${code}; the line is not shown because it may hold a secret`,
  );
}

function yamlPosition(err: unknown): { line: number; col: number } | undefined {
  return err instanceof YAMLParseError ? err.linePos?.[0] : undefined;
}

/**
 * V8 gives an offset for some JSON errors ("… in JSON at position 7") and none for others
 * ("Unexpected token 's', "{"a": s…" is not valid JSON"); then the yaml parser, restricted to
 * JSON's scalars, finds the spot.
 */
function jsonPosition(text: string, err: unknown): { line: number; col: number } | undefined {
  const offset = /at position (\d+)/.exec(err instanceof Error ? err.message : '')?.[1];
  if (offset !== undefined) {
    const before = text.slice(0, Number(offset));
    return { line: before.split('\n').length, col: Number(offset) - before.lastIndexOf('\n') };
  }
  try {
    parseYaml(text, { schema: 'json' });
  } catch (yamlErr) {
    return yamlPosition(yamlErr);
  }
  return undefined;
}
