import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { FileTooLargeError, NotARegularFileError, readTextFileLimited } from '../config/read-text-file';
import { GatewayError } from '../errors';

/**
 * Secrets at rest: AES-256-GCM under a master key the database never sees. Each ciphertext keeps
 * the id of the key that sealed it (so `keys rotate` knows what to re-encrypt and a process holding
 * old and new key reads both), its own random 96-bit IV and the 128-bit tag. The source name is
 * the additional authenticated data: a ciphertext copied to another source's row fails to open.
 */
export interface MasterKey {
  /** First 16 hex digits of sha256(key): names the key without revealing it. */
  readonly id: string;
  readonly key: Buffer;
}

export interface Keyring {
  /** Seals new secrets. */
  readonly current: MasterKey;
  /** Still opens secrets sealed before a rotation (GATEWAY_MASTER_KEY_PREVIOUS). */
  readonly previous?: MasterKey;
}

export interface SealedSecret {
  keyId: string;
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

export const HOW_TO_MAKE_A_KEY =
  'set GATEWAY_MASTER_KEY to 32 random bytes in base64 (make one with `openssl rand -base64 32`) or GATEWAY_MASTER_KEY_FILE to a file holding it';

/** A base64 text of exactly 32 bytes, or an explanation naming the variable. */
export function parseMasterKey(text: string, variable: string): MasterKey {
  const trimmed = text.trim();
  const key = Buffer.from(trimmed, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || key.length !== 32) {
    throw new Error(
      `${variable} must be 32 random bytes in base64 (44 characters; make one with \`openssl rand -base64 32\`), got ${key.length} bytes`,
    );
  }
  return { id: createHash('sha256').update(key).digest('hex').slice(0, 16), key };
}

/**
 * Most bytes read from GATEWAY_MASTER_KEY_FILE. The key is 44 characters of base64 (a newline and
 * some whitespace around it are fine); 64 KiB is far past any key file and still a trivial read.
 */
export const MAX_MASTER_KEY_FILE_BYTES = 64 * 1024;

/** The keyring from the validated settings; undefined when no master key is configured. */
export function loadKeyring(settings: { key?: string; keyFile?: string; previous?: string }): Keyring | undefined {
  // Both set: the variable won and the file was ignored, so secrets were sealed with a key other
  // than the one the operator moved to the file.
  if (settings.key && settings.keyFile)
    throw new Error(
      'GATEWAY_MASTER_KEY and GATEWAY_MASTER_KEY_FILE are both set: set one of them (the key itself, or the file holding it)',
    );
  let text = settings.key;
  let variable = 'GATEWAY_MASTER_KEY';
  if (!text && settings.keyFile) {
    variable = `GATEWAY_MASTER_KEY_FILE (${settings.keyFile})`;
    text = readMasterKeyFile(settings.keyFile, variable);
  }
  if (!text) {
    if (settings.previous)
      throw new Error(`GATEWAY_MASTER_KEY_PREVIOUS is set but there is no current key: ${HOW_TO_MAKE_A_KEY}`);
    return undefined;
  }
  const current = parseMasterKey(text, variable);
  const previous = settings.previous ? parseMasterKey(settings.previous, 'GATEWAY_MASTER_KEY_PREVIOUS') : undefined;
  return previous && previous.id !== current.id ? { current, previous } : { current };
}

/** The key file's text; what is wrong with the file otherwise, never a byte of what it holds. */
function readMasterKeyFile(path: string, variable: string): string {
  try {
    return readTextFileLimited(path, MAX_MASTER_KEY_FILE_BYTES);
  } catch (err) {
    if (err instanceof FileTooLargeError)
      throw new Error(
        `${variable} is ${err.message}, not a key file (it holds 44 characters of base64): check the path`,
        { cause: err },
      );
    if (err instanceof NotARegularFileError)
      throw new Error(`${variable} is ${err.message}: point it at the file holding the key`, { cause: err });
    throw new Error(`cannot read ${variable}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err });
  }
}

/** Refuses, with how to fix it, when there is nothing to encrypt with. */
export function requireKeyring(keyring: Keyring | undefined): Keyring {
  if (!keyring) {
    throw new GatewayError(
      409,
      'master_key_missing',
      `Secrets are stored encrypted and this gateway has no master key: ${HOW_TO_MAKE_A_KEY}, on every instance, then restart`,
    );
  }
  return keyring;
}

export function seal(keyring: Keyring, source: string, secret: string): SealedSecret {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyring.current.key, iv);
  cipher.setAAD(Buffer.from(source, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return { keyId: keyring.current.id, iv, tag: cipher.getAuthTag(), ciphertext };
}

/** Thrown when no key of the keyring opens a secret (wrong key, or the row was altered). */
export class SecretUnreadableError extends Error {
  override name = 'SecretUnreadableError';
}

export function open(keyring: Keyring, source: string, sealed: SealedSecret): string {
  const key = [keyring.current, keyring.previous].find((k) => k?.id === sealed.keyId);
  if (!key)
    throw new SecretUnreadableError(`secret sealed with master key ${sealed.keyId}, which this process does not have`);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, sealed.iv);
    decipher.setAAD(Buffer.from(source, 'utf8'));
    decipher.setAuthTag(sealed.tag);
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretUnreadableError(
      `secret of source ${source} does not authenticate under master key ${sealed.keyId}`,
    );
  }
}

/**
 * Names a secret without revealing it: 12 hex digits of sha256, enough to tell secrets apart
 * and compare with the sender's, far too few to search for the secret.
 */
export const fingerprint = (secret: string) => createHash('sha256').update(secret, 'utf8').digest('hex').slice(0, 12);

/**
 * A new random secret in the first form the provider accepts: 32 random bytes as base64url (most
 * providers), hex or base64 (generic-hmac with those encodings), whsec_… (Standard Webhooks) or
 * user:password (basic auth).
 */
export function generateSecret(accepts: (candidate: string) => boolean): string | undefined {
  const bytes = randomBytes(32);
  const candidates = [
    bytes.toString('base64url'),
    bytes.toString('hex'),
    bytes.toString('base64'),
    `whsec_${bytes.toString('base64')}`,
    `gateway:${bytes.toString('base64url')}`,
  ];
  return candidates.find(accepts);
}
