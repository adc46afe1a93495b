import { extname } from 'node:path';
import { parseGatewayDocument } from './file-document';
import { SourcesFileError, type Env, type GatewayFile, type SourceConfig } from './file-types';
import { syntaxError } from './file-syntax-error';
import { parseConfigText } from './exact-filters';
import { FileTooLargeError, NotARegularFileError, readTextFileLimited } from './read-text-file';

// The file's parts: its types (file-types.ts), its schema (file-schema.ts), a parsed document
// into sources (file-document.ts), syntax errors without the line (file-syntax-error.ts).
export {
  SourcesFileError,
  type FileDestination,
  type GatewayFile,
  type SourceConfig,
  type SourceSecret,
} from './file-types';
export { parseGatewayDocument, parseSourceEntry, parseSourcesDocument } from './file-document';

/** Reads and validates the GATEWAY_CONFIG file's push sources. */
export function loadSourcesFile(path: string, env: Env): SourceConfig[] {
  return loadGatewayFile(path, env).sources;
}

/** Reads and validates the GATEWAY_CONFIG file (.json, .yaml or .yml). */
export function loadGatewayFile(path: string, env: Env): GatewayFile {
  const format = { '.json': 'JSON', '.yaml': 'YAML', '.yml': 'YAML' }[extname(path).toLowerCase()];
  if (!format) throw new SourcesFileError(`${path} must be a .json, .yaml or .yml file`);
  let text: string;
  try {
    text = readTextFileLimited(path);
  } catch (err) {
    if (err instanceof FileTooLargeError)
      throw new SourcesFileError(`${path} is ${err.message}, more than a configuration file holds: check the path`);
    if (err instanceof NotARegularFileError)
      throw new SourcesFileError(`${path} is ${err.message}: give the path of the configuration file itself`);
    throw new SourcesFileError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let document: unknown;
  try {
    // Filters' numbers exact (src/config/exact-filters.ts), every other number as JSON.parse reads it.
    document = parseConfigText(text, format as 'JSON' | 'YAML');
  } catch (err) {
    if (err instanceof SourcesFileError) throw new SourcesFileError(`${path}: ${err.message}`);
    throw syntaxError(path, format, text, err);
  }
  try {
    return parseGatewayDocument(document, env);
  } catch (err) {
    if (err instanceof SourcesFileError) throw new SourcesFileError(`${path}: ${err.message}`);
    throw err;
  }
}
