import type { Database } from '../db/client';
import { open, seal, type Keyring } from './crypto';
import { openDestination, sealDestination } from './destination-catalog';
import { createDestinationStore } from './destination-store';
import { createControlStore } from './store';

export interface RekeyResult {
  /** Secrets re-sealed under the current key. */
  resealed: number;
  /** Already under the current key. */
  current: number;
  /** Sealed with a key this process does not have (ids): left as they are. */
  unreadable: number[];
  /** Destinations (their secret and headers, sealed together) in the same three states. */
  destinations: { resealed: number; current: number; unreadable: string[] };
}

/**
 * Re-seals every stored secret under the keyring's current key (`webhook-gateway keys rotate`).
 * Runs while the gateway serves: every instance already holds the new key as current and the old
 * as GATEWAY_MASTER_KEY_PREVIOUS, so each secret is readable before, during and after; each row is
 * updated on its own, guarded by the key id it was read with.
 */
export async function rekeySecrets(database: Database, keyring: Keyring): Promise<RekeyResult> {
  const store = createControlStore(database);
  const result: RekeyResult = {
    resealed: 0,
    current: 0,
    unreadable: [],
    destinations: { resealed: 0, current: 0, unreadable: [] },
  };
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
  const destinations = createDestinationStore(database);
  for (const row of await destinations.list()) {
    const counts = result.destinations;
    if (row.sealed.keyId === keyring.current.id) {
      counts.current += 1;
      continue;
    }
    let opened;
    try {
      opened = openDestination(keyring, row.name, row.sealed);
    } catch {
      counts.unreadable.push(row.name);
      continue;
    }
    if (await destinations.reseal(row.name, row.sealed.keyId, sealDestination(keyring, row.name, opened)))
      counts.resealed += 1;
  }
  return result;
}
