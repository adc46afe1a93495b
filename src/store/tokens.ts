import { createHash, randomBytes } from 'node:crypto';
import { and, asc, eq, isNull, lt, or, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { apiTokens, type ApiTokenRow, type Role } from '../db/schema-access';

/**
 * Token format: `gwt_` + 43 base64url characters (32 random bytes). The fixed prefix lets secret
 * scanners (GitHub push protection, gitleaks, trufflehog custom rules) find a leaked token.
 */
export const TOKEN_PREFIX = 'gwt_';
export const TOKEN_PATTERN = /^gwt_[A-Za-z0-9_-]{43}$/;

/**
 * SHA-256, not bcrypt/argon2: a token is 256 random bits, so there is nothing to guess and no
 * dictionary to slow down; a slow hash would only cost CPU on every request.
 */
export const hashToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

/** What an operator may see of a token: never the token or its hash. */
export const displayPrefix = (token: string) => `${token.slice(0, TOKEN_PREFIX.length + 4)}…`;

export interface NewToken {
  name: string;
  role: Role;
  expiresAt?: Date | null;
}

export type TokenCreateResult = { status: 'created'; token: string; row: ApiTokenRow } | { status: 'name_taken' };

/** How often a token's last_used_at is written at most (one UPDATE a minute, not one per request). */
const TOUCH_INTERVAL = sql`interval '1 minute'`;

export function createTokenStore({ db }: Database) {
  return {
    async create(input: NewToken): Promise<TokenCreateResult> {
      const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
      const rows = await db
        .insert(apiTokens)
        .values({
          name: input.name,
          role: input.role,
          hash: hashToken(token),
          prefix: displayPrefix(token),
          expiresAt: input.expiresAt ?? null,
        })
        .onConflictDoNothing({ target: apiTokens.name })
        .returning();
      return rows[0] ? { status: 'created', token, row: rows[0] } : { status: 'name_taken' };
    },

    async list(): Promise<ApiTokenRow[]> {
      return db.select().from(apiTokens).orderBy(asc(apiTokens.name));
    },

    async byName(name: string): Promise<ApiTokenRow | undefined> {
      return (await db.select().from(apiTokens).where(eq(apiTokens.name, name)))[0];
    },

    async byHash(hash: string): Promise<ApiTokenRow | undefined> {
      return (await db.select().from(apiTokens).where(eq(apiTokens.hash, hash)))[0];
    },

    /** Revokes a token now; revoking one already revoked keeps its first revocation time. */
    async revoke(name: string): Promise<ApiTokenRow | undefined> {
      const rows = await db
        .update(apiTokens)
        .set({ revokedAt: sql`coalesce(${apiTokens.revokedAt}, now())` })
        .where(eq(apiTokens.name, name))
        .returning();
      return rows[0];
    },

    /** Records a use, at most once a minute per token (the condition makes other calls no-ops). */
    async touch(id: number): Promise<void> {
      await db
        .update(apiTokens)
        .set({ lastUsedAt: sql`now()` })
        .where(
          and(
            eq(apiTokens.id, id),
            or(isNull(apiTokens.lastUsedAt), lt(apiTokens.lastUsedAt, sql`now() - ${TOUCH_INTERVAL}`)),
          ),
        );
    },
  };
}

export type TokenStore = ReturnType<typeof createTokenStore>;
