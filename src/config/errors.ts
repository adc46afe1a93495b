/** Invalid configuration: the process reports the message and exits with code 2. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * The gateway cannot start for a reason outside its configuration (port in use, database down,
 * DATA_DIR held by another process): the CLI prints the message, which says what to do, and exits 2.
 */
export class StartupError extends Error {
  override name = 'StartupError';
}
