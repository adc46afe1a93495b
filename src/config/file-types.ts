import type { ProviderName } from '../../providers';
import type { PollSourceOptions } from '../poll/config';
import type { AlertsConfig } from '../alerts/config';
import type { ProcessingConfig } from './processing';

/** One verification secret; `notAfter` ends its rotation overlap (checked per request, not at load). */
export interface SourceSecret {
  readonly value: string;
  readonly notAfter?: Date;
}

/** A push source declared in the GATEWAY_CONFIG file, validated and with secrets resolved. */
export interface SourceConfig {
  readonly name: string;
  readonly provider: ProviderName;
  readonly secrets: readonly SourceSecret[];
  /** The provider's own options, as parsed by its module (snake_case keys, defaults applied). */
  readonly options: Readonly<Record<string, unknown>>;
  /** Destinations, retry policy, payload schemas and masking (see src/config/processing.ts). */
  readonly processing: ProcessingConfig;
}

/** A problem with the file: its path, format or content. The message names the file and the field. */
export class SourcesFileError extends Error {
  override name = 'SourcesFileError';
}

/** The environment `env:VAR_NAME` secrets are resolved from. */
export type Env = Readonly<Record<string, string | undefined>>;

/** A top-level destination of the file. */
export type FileDestination = ProcessingConfig['destinations'][number] & { sources: string[] };

/** What the GATEWAY_CONFIG file declares. */
export interface GatewayFile {
  sources: SourceConfig[];
  /** The top-level `destinations:` list, each with the sources it serves. */
  destinations: FileDestination[];
  polls: PollSourceOptions[];
  alerts: AlertsConfig;
}
