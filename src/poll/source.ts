// The pull-source abstraction, beside the push providers: a remote place that holds files for us
// until we acknowledge them. A source only moves bytes; the poll job decides what to store and
// when to acknowledge.

/** One file waiting on the remote side. */
export interface RemoteFile {
  /** Path as the remote names it (`out/PO_123.edi`); stored as the event's webhook id. */
  path: string;
  /** The last path segment. */
  name: string;
  /** Size in bytes when the listing tells it. */
  size?: number;
  /**
   * Set when the listing named something that is not a plain file directly in the folder (see
   * remote-path.ts): it is never downloaded or deleted, only reported. `path` is then quoted.
   */
  refusal?: string;
}

/** One connection's worth of work (an SFTP session; for REST, a view on the shared client). */
export interface PullSession {
  /** Every file in the configured directory (all pages), in the remote's order. */
  list(signal: AbortSignal): AsyncIterable<RemoteFile>;
  /** The file's bytes; throws FileTooLargeError past `maxBytes` without reading the rest. */
  download(file: RemoteFile, maxBytes: number, signal: AbortSignal): Promise<Buffer>;
  /** Removes the file remotely. Called only after its event is committed; a file already gone is fine. */
  acknowledge(file: RemoteFile, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export interface PullSource {
  readonly kind: string;
  connect(signal: AbortSignal): Promise<PullSession>;
}

/** A problem with one file that the run reports and moves past; `code` is stable. */
export class RemoteFileError extends Error {
  override name = 'RemoteFileError';
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The file is over the configured limit; it is left on the server. */
export class FileTooLargeError extends RemoteFileError {
  override name = 'FileTooLargeError';
  constructor(path: string, maxBytes: number, size?: number) {
    super(
      'file_too_large',
      `${path} is ${size === undefined ? 'larger than' : `${size} bytes, over`} max_file_bytes (${maxBytes}); ` +
        'it was left on the server: raise max_file_bytes or fetch it by hand',
    );
  }
}
