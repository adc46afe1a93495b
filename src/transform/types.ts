// The shapes of a destination's transformation (docs/destinations.md#transformations), with no
// runtime imports: the config file, the API, the worker and the transform thread all read them.

export const TRANSFORM_LANGUAGES = ['jsonata', 'javascript'] as const;
export type TransformLanguage = (typeof TRANSFORM_LANGUAGES)[number];

/** What a destination's `transform` holds: an expression or a script that computes the body posted. */
export interface Transform {
  language: TransformLanguage;
  code: string;
}

/** Longest `code` accepted (characters). */
export const MAX_TRANSFORM_CODE = 64 * 1024;
/** Each run must end within this; a JSONata run past it has its thread terminated. */
export const TRANSFORM_DEADLINE_MS = 1000;
/** The outcome's message for a run stopped at its deadline. */
export const DEADLINE_MESSAGE = `did not finish within ${TRANSFORM_DEADLINE_MS} ms`;
/** Memory of one run: the QuickJS runtime's limit, and the heap of the JSONata thread. */
export const TRANSFORM_MEMORY_MB = 32;
/** Largest body a transformation may produce (bytes of its JSON text). */
export const MAX_TRANSFORM_OUTPUT = 4 * 1024 * 1024;

/** The transform version recorded for a source of GATEWAY_CONFIG, which has no versions (the file is the truth). */
export const FILE_TRANSFORM_VERSION = 0;

/** The error text of a delivery whose transformation failed starts with this; it is never retried for the same rule version. */
export const TRANSFORMATION_FAILED = 'transformation_failed';

/** What a transformation receives: one object, the same in both languages. */
export interface TransformInput {
  topic: string;
  headers: Readonly<Record<string, string>>;
  /** The payload parsed as JSON; its text when it is not JSON; null when it is not UTF-8 either. */
  body: unknown;
  event: { id: number | null; source: string; webhookId: string; receivedAt: string };
}

/** Where in the code a problem is: line and column (1-based), or a character offset (JSONata). */
export type TransformPosition = { line: number; column?: number } | { offset: number };

export type TransformOutcome =
  { ok: true; body: string } | { ok: false; message: string; position?: TransformPosition };

/** "line 3, column 14" or "offset 12": appended to messages so the user finds the problem. */
export function describePosition(position: TransformPosition | undefined): string {
  if (!position) return '';
  if ('offset' in position) return ` (at offset ${position.offset})`;
  return position.column === undefined
    ? ` (at line ${position.line})`
    : ` (at line ${position.line}, column ${position.column})`;
}
