import type { Logger } from 'pino';
import { toProtection } from '../config/processing';
import type { Destination } from '../deliver/destinations';
import { describeError } from '../errors';
import { open, seal, type Keyring, type SealedSecret } from './crypto';
import type { DestinationRow, DestinationStore } from './destination-store';

/** A destination's sealed part: the signing secret and the headers (values may be credentials). */
export interface DestinationSecrets {
  secret: string;
  headers: Record<string, string>;
}

/** A database destination as the worker and the API see it right now. */
export interface RuntimeDestination {
  row: DestinationRow;
  /** Undefined when its sealed part cannot be opened (no or wrong master key): deliveries fail. */
  destination?: Destination;
  problem?: string;
}

/**
 * The additional authenticated data of a destination's ciphertext: a ciphertext copied to another
 * destination's row, or to a source secret, fails to open. Source names cannot contain ':'.
 */
const aad = (name: string) => `destination:${name}`;

export const sealDestination = (keyring: Keyring, name: string, secrets: DestinationSecrets): SealedSecret =>
  seal(keyring, aad(name), JSON.stringify(secrets));

export const openDestination = (keyring: Keyring, name: string, sealed: SealedSecret): DestinationSecrets =>
  JSON.parse(open(keyring, aad(name), sealed)) as DestinationSecrets;

/**
 * The snapshot of database destinations, re-read with the source registry (on each
 * "gateway_control" NOTIFY and its backstop interval) and swapped whole.
 */
export function createDestinationCatalog(deps: { store: DestinationStore; keyring?: Keyring; logger: Logger }) {
  let snapshot = new Map<string, RuntimeDestination>();
  // Looked up at every attempt: indexed by source when the snapshot is built.
  let bySource = new Map<string, RuntimeDestination[]>();
  const logged = new Set<string>();

  const build = (row: DestinationRow): RuntimeDestination => {
    try {
      if (!deps.keyring) throw new Error('no master key');
      const { secret, headers } = openDestination(deps.keyring, row.name, row.sealed);
      return {
        row,
        destination: {
          name: row.name,
          url: row.url,
          secret,
          timeoutMs: row.timeoutMs,
          headers,
          filter: row.filter ?? undefined,
          transform: row.transform ?? undefined,
          ruleVersion: row.ruleVersion,
          version: row.version,
          ...toProtection({ rate_limit: row.rateLimit, circuit: row.circuit }),
        },
      };
    } catch (err) {
      const problem = describeError(err);
      const key = `${row.name}:${row.sealed.keyId}:${row.version}`;
      if (!logged.has(key)) {
        logged.add(key);
        deps.logger.error(
          { destination: row.name, keyId: row.sealed.keyId, problem },
          'a stored destination cannot be decrypted; set the master key that sealed it',
        );
      }
      return { row, problem: 'its secret cannot be decrypted: this instance lacks the master key that sealed it' };
    }
  };

  return {
    async load(): Promise<void> {
      const rows = await deps.store.list();
      const next = new Map(rows.map((row) => [row.name, build(row)]));
      const index = new Map<string, RuntimeDestination[]>();
      for (const d of next.values())
        for (const source of d.row.sources) index.set(source, [...(index.get(source) ?? []), d]);
      snapshot = next;
      bySource = index;
    },
    get: (name: string) => snapshot.get(name),
    /**
     * A destination not in the snapshot, read from the database and added to it: one created on
     * another instance a moment ago, before this one heard the NOTIFY, is not answered 404.
     */
    async lookup(name: string): Promise<RuntimeDestination | undefined> {
      const known = snapshot.get(name);
      if (known) return known;
      const row = await deps.store.get(name);
      // A load that swapped the destination in meanwhile is kept.
      if (!row || snapshot.has(name)) return snapshot.get(name);
      const found = build(row);
      snapshot = new Map(snapshot).set(name, found);
      const index = new Map(bySource);
      for (const source of row.sources) index.set(source, [...(index.get(source) ?? []), found]);
      bySource = index;
      return found;
    },
    all: (): RuntimeDestination[] => [...snapshot.values()],
    /** The database destinations attached to a source. */
    attachedTo: (source: string): RuntimeDestination[] => bySource.get(source) ?? [],
  };
}

export type DestinationCatalog = ReturnType<typeof createDestinationCatalog>;
