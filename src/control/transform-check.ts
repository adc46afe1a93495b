import { badRequest } from '../errors';
import { checkTransform, describePosition, transformSchema, type Transform } from '../transform';

/** JavaScript is compiled (and its top level run) in the sandbox: 400 invalid_transform with the line and column. */
export async function checkScript(transform: Transform | null | undefined): Promise<void> {
  if (!transform || transform.language !== 'javascript') return;
  const check = await checkTransform(transform);
  if (!check.ok)
    throw badRequest(
      'invalid_transform',
      `transform.code: invalid JavaScript: ${check.message}${describePosition(check.position)}`,
    );
}

/**
 * A source entry's `transform`, checked as a destination's is before anything is saved: its shape and
 * JSONata here, JavaScript in the sandbox; every problem is a 400 invalid_transform saying where
 * (`transform.code: invalid JSONata: … (at offset 16)`). Undefined or null (removed): nothing to check.
 */
export async function checkEntryTransform(value: unknown): Promise<void> {
  if (value === undefined || value === null) return;
  const parsed = transformSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw badRequest('invalid_transform', `${['transform', ...issue.path].join('.')}: ${issue.message}`);
  }
  await checkScript(parsed.data);
}
