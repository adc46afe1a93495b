import { z } from 'zod';
import { ConfigError } from '../config/errors';
import { checkJsonata } from './jsonata-engine';
import { createTransformPool, type TransformPool } from './pool';
import {
  MAX_TRANSFORM_CODE,
  TRANSFORM_LANGUAGES,
  describePosition,
  type Transform,
  type TransformOutcome,
} from './types';

export * from './types';

let shared: TransformPool | undefined;
/** The process's transform threads, started on first use (unref'd: they never keep the process alive). */
export const transformPool = (): TransformPool => (shared ??= createTransformPool());

/**
 * A destination's `transform`, checked when saved. JSONata is compiled here (synchronously, so the
 * config file's parse refuses it too); JavaScript is compiled in the sandbox by checkTransform.
 * Problems carry `params.code = "invalid_transform"` so the API answers with that code.
 */
export const transformSchema = z
  .strictObject({
    language: z.enum(TRANSFORM_LANGUAGES, { error: 'must be "jsonata" or "javascript"' }),
    code: z
      .string()
      .min(1, 'must not be empty')
      .max(MAX_TRANSFORM_CODE, `must be at most ${MAX_TRANSFORM_CODE} characters`),
  })
  .superRefine((value, ctx) => {
    if (value.language !== 'jsonata') return;
    const check = checkJsonata(value.code);
    if (!check.ok)
      ctx.addIssue({
        code: 'custom',
        path: ['code'],
        message: `invalid JSONata: ${check.message}${describePosition(check.position)}`,
        params: { code: 'invalid_transform', position: check.position },
      });
  });

/** Compiles a JavaScript transform in the sandbox and runs its top level; JSONata as transformSchema does. */
export async function checkTransform(transform: Transform): Promise<TransformOutcome> {
  if (transform.language === 'jsonata') return checkJsonata(transform.code);
  return transformPool().check(transform);
}

/**
 * The config file's JavaScript transforms (destinations' and sources'), checked in the sandbox
 * before the gateway starts (the file's parse is synchronous and checks only JSONata): a script that
 * does not compile or does not define transform stops the start with its line and column, like an
 * invalid filter.
 */
export async function checkFileTransforms(
  destinations: readonly { name: string; transform?: Transform }[],
  sources: readonly { name: string; transform?: Transform }[] = [],
): Promise<void> {
  const all = [
    ...destinations.map((d) => ({ ...d, kind: 'destination' })),
    ...sources.map((s) => ({ ...s, kind: 'source' })),
  ];
  for (const { name, transform, kind } of all) {
    if (transform?.language !== 'javascript') continue;
    const check = await checkTransform(transform);
    if (!check.ok)
      throw new ConfigError(
        `GATEWAY_CONFIG ${kind} "${name}": transform.code: invalid JavaScript: ${check.message}${describePosition(check.position)}`,
      );
  }
}
