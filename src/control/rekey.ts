import type { Database } from '../db/client';
import { open, seal, type Keyring } from './crypto';
import { createControlStore } from './store';

export interface RekeyResult {
  /** Secrets re-sealed under the current key. */
  resealed: number;
  /** Already under the current key. */
  current: number;
  /** Sealed with a key this process does not have (ids): left as they are. */
  unreadable: number[];
}

/**
 * Re-seals every stored secret under the keyring's current key (`webhook-gateway keys rotate`).
 * Runs while the gateway serves: every instance already holds the new key as current and the old
 * as GATEWAY_MASTER_KEY_PREVIOUS, so each secret is readable before, during and after; each row is
 * updated on its own, guarded by the key id it was read with.
 */
export async function rekeySecrets(database: Database, keyring: Keyring): Promise<RekeyResult> {
  const store = createControlStore(database);
  const result: RekeyResult = { resealed: 0, current: 0, unreadable: [] };
  for (const secret of await store.listSecrets()) {
    if (secret.keyId === keyring.current.id) {
      result.current += 1;
      continue;
    }
    let value: string;
    try {
      value = open(keyring, secret.source, secret);
    } catch {
      result.unreadable.push(secret.id);
      continue;
    }
    if (await store.reseal(secret.id, secret.keyId, seal(keyring, secret.source, value))) result.resealed += 1;
  }
  return result;
}
