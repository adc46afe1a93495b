// Remote names are hostile input: a listing entry `out/../../admin/thing` once made the gateway GET
// and DELETE /admin/thing with its bearer token. A file is taken only when it is a direct child of
// the configured folder and its name is plain: letters, digits and . _ - + = @ , ~ ( ) and space,
// not starting with a dot, at most 255 characters. That allow-list leaves no room for `..`, `/`,
// `\`, percent-encodings, NUL or other control characters, or look-alike Unicode slashes. Anything
// else is refused and reported on the run (the file stays on the server).

const SAFE_NAME = /^[A-Za-z0-9_+=@,~()-][A-Za-z0-9._+=@,~() -]*$/;
const MAX_NAME = 255;

/** Why `name` is not a plain file name, or undefined when it is one. */
export function unsafeName(name: string): string | undefined {
  if (name.length === 0) return 'the name is empty';
  if (name.length > MAX_NAME) return `the name is longer than ${MAX_NAME} characters`;
  if (!SAFE_NAME.test(name)) {
    return 'the name has a character other than letters, digits and . _ - + = @ , ~ ( ) or space, or starts with a dot';
  }
  return undefined;
}

/** A remote path quoted for a message: JSON-escaped (control characters visible) and shortened. */
export function quotePath(path: string): string {
  const shown = path.length > 120 ? `${path.slice(0, 120)}…` : path;
  return JSON.stringify(shown);
}

/** `text` without trailing slashes, in one pass (the regex /\/+$/ is quadratic on runs of slashes). */
export function trimTrailingSlashes(text: string): string {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0x2f) end--;
  return text.slice(0, end);
}

/**
 * The entry's file name when `path` is a plain file directly inside `directory` (which ends with
 * "/"), else the reason it is refused.
 */
export function childName(directory: string, path: string): { name: string } | { refusal: string } {
  if (!path.startsWith(directory)) {
    return { refusal: `${quotePath(path)} is not inside ${directory}: refused` };
  }
  const name = path.slice(directory.length);
  const problem = unsafeName(name);
  return problem ? { refusal: `${quotePath(path)} is refused: ${problem}` } : { name };
}
