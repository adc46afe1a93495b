import type { FileDestination, SourceConfig } from '../config/file';
import { checkScript } from './transform-check';
import { GatewayError, badRequest, notFound } from '../errors';
import { fingerprint, requireKeyring, type Keyring } from './crypto';
import { sealDestination, type DestinationCatalog } from './destination-catalog';
import { CreateInput, entry, parse, PatchInput } from './destination-input';
import type { DestinationRow, DestinationStore } from './destination-store';
import { patchedWrite, rotatedWrite } from './destination-writes';
import { databaseDestinationView, fileDestinationViews, type DestinationView } from './destination-view';
import type { Registry } from './registry';
import type { Guarded } from './store';
import type { OutboundPolicy } from '../outbound/policy';

/** What changed, for the audit log: views carry a fingerprint and header names, never a secret. */
export interface DestinationChange {
  action: string;
  destination: string;
  before: DestinationView | null;
  after: DestinationView | null;
  /** The signing secret, returned once (create without one, rotate-secret). */
  secret?: string;
}

export interface DestinationServiceDeps {
  store: DestinationStore;
  catalog: DestinationCatalog;
  registry: Registry;
  fileSources: readonly SourceConfig[];
  fileDestinations: readonly FileDestination[];
  keyring?: Keyring;
  /** A URL whose host is a refused IP address is answered 400 (a host name is checked when it is resolved). */
  outbound?: OutboundPolicy;
}

const conflict = (code: string, message: string) => new GatewayError(409, code, message);

/** A new Standard Webhooks signing secret: whsec_ and 32 random bytes in base64. */
const newSecret = () => `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64')}`;

/**
 * The control plane's operations on destinations (ops API, and through it CLI and UI). Each change
 * is one guarded statement; the local registry (and with it the destination catalog) is then
 * re-read so the answer reflects it here, other instances follow on the NOTIFY.
 */
export function createDestinationService(deps: DestinationServiceDeps) {
  const { store, catalog, registry } = deps;
  const fileViews = () => fileDestinationViews(deps.fileSources, deps.fileDestinations, new Map());
  const fileNames = () => new Set(fileViews().map((v) => v.name));

  // Found with lookup: one created on another instance a moment ago is read, not answered 404.
  const view = async (name: string): Promise<DestinationView | null> => {
    const found = await catalog.lookup(name);
    if (!found) return null;
    return databaseDestinationView(found, (await store.health([name])).get(name));
  };
  /** 409 for a name of GATEWAY_CONFIG that is not a runtime destination. */
  const refuseFileDestination = (name: string) => {
    if (!catalog.get(name) && fileNames().has(name))
      throw conflict(
        'managed_by_file',
        `Destination "${name}" is declared in GATEWAY_CONFIG: change it there and restart the gateway (the API, the CLI and \`webhook-gateway apply\` manage only destinations stored in the database)`,
      );
  };
  const managed = async (name: string) => {
    refuseFileDestination(name);
    const found = await catalog.lookup(name);
    if (found) return found;
    throw notFound('destination_not_found', `No destination named "${name}"`);
  };
  const guarded = <T>(name: string, result: Guarded<T>): T => {
    if (result.ok) return result.value;
    if (result.reason === 'missing') throw notFound('destination_not_found', `No destination named "${name}"`);
    throw new GatewayError(
      412,
      'version_mismatch',
      `Destination "${name}" changed since the version you sent in If-Match; it is now version ${result.version}: GET it again and retry`,
    );
  };
  const checkUrl = (url: string | undefined) => {
    const refusal = url === undefined ? undefined : deps.outbound?.urlRefusal(url);
    if (refusal) throw badRequest('invalid_destination', `url: ${refusal}`);
  };
  const checkSources = async (sources: readonly string[]) => {
    const found = await Promise.all(sources.map((s) => registry.lookup(s)));
    const unknown = sources.filter((_, i) => !found[i]);
    if (unknown.length)
      throw badRequest(
        'invalid_destination',
        `sources: no push source named ${unknown.map((s) => `"${s}"`).join(', ')}; create it first or fix the name`,
      );
  };
  const change = async (
    action: string,
    name: string,
    before: DestinationView | null,
    mutate: () => Promise<unknown>,
    secret?: string,
  ): Promise<DestinationChange> => {
    await mutate();
    await registry.refresh();
    return { action, destination: name, before, after: await view(name), ...(secret ? { secret } : {}) };
  };

  return {
    async list(): Promise<DestinationView[]> {
      const files = fileViews();
      const names = [...files.map((f) => f.name), ...catalog.all().map((d) => d.row.name)];
      const health = await store.health(names);
      const database = catalog.all().map((d) => databaseDestinationView(d, health.get(d.row.name)));
      return [...fileDestinationViews(deps.fileSources, deps.fileDestinations, health), ...database].sort((a, b) =>
        a.name.localeCompare(b.name),
      );
    },

    async get(name: string): Promise<DestinationView> {
      const found = await view(name);
      if (found) return found;
      const file = fileDestinationViews(deps.fileSources, deps.fileDestinations, await store.health([name])).find(
        (v) => v.name === name,
      );
      if (file) return file;
      throw notFound('destination_not_found', `No destination named "${name}"`);
    },

    /** Creates it; without `secret` one is generated and returned once. */
    async create(input: unknown, origin: 'api' | 'apply' = 'api'): Promise<DestinationChange> {
      const wanted = parse(CreateInput, input);
      checkUrl(wanted.url);
      if (fileNames().has(wanted.name))
        throw conflict(
          'destination_exists',
          `name: "${wanted.name}" is a destination of GATEWAY_CONFIG; choose another name`,
        );
      await checkSources(wanted.sources);
      await checkScript(wanted.transform);
      const keyring = requireKeyring(deps.keyring);
      const secret = wanted.secret ?? newSecret();
      const headers = wanted.headers ?? {};
      const created = await store.create(
        wanted.name,
        {
          url: wanted.url,
          timeoutMs: wanted.timeout_ms,
          headerNames: Object.keys(headers).sort(),
          filter: wanted.filter ?? null,
          transform: wanted.transform ?? null,
          rateLimit: wanted.rate_limit ?? null,
          circuit: wanted.circuit ?? null,
          sources: wanted.sources,
          sealed: {
            value: sealDestination(keyring, wanted.name, { secret, headers }),
            fingerprint: fingerprint(secret),
            newSecret: true,
          },
        },
        origin,
      );
      if (!created)
        throw conflict(
          'destination_exists',
          `name: a destination named "${wanted.name}" already exists; choose another name or PATCH it`,
        );
      return change(
        'destination.create',
        wanted.name,
        null,
        async () => {},
        wanted.secret === undefined ? secret : undefined,
      );
    },

    /**
     * Changes url, timeout_ms, headers (replaced whole; null removes them), filter, transform,
     * rate_limit, circuit (null removes each) or the sources.
     */
    async update(name: string, input: unknown, ifVersion?: number): Promise<DestinationChange> {
      refuseFileDestination(name);
      const patch = parse(PatchInput, input);
      checkUrl(patch.url);
      if (patch.sources) await checkSources(patch.sources);
      await checkScript(patch.transform);
      const keyring = patch.headers === undefined ? undefined : requireKeyring(deps.keyring);
      // Built from the stored row, locked until written (not from this instance's catalog, which
      // may not have heard yet of a change another instance just made).
      const build = (current: DestinationRow) => patchedWrite(name, current, patch, keyring);
      const before = await view(name);
      return change('destination.update', name, before, async () =>
        guarded(name, await store.update(name, build, ifVersion)),
      );
    },

    async setPaused(name: string, paused: boolean, ifVersion?: number): Promise<DestinationChange> {
      await managed(name);
      const before = await view(name);
      return change(paused ? 'destination.pause' : 'destination.resume', name, before, async () =>
        guarded(name, await store.setPaused(name, paused, ifVersion)),
      );
    },

    async remove(name: string, ifVersion?: number): Promise<DestinationChange> {
      await managed(name);
      const before = await view(name);
      return change('destination.delete', name, before, async () => guarded(name, await store.remove(name, ifVersion)));
    },

    /** Replaces the signing secret at once (given, or generated and returned once). */
    async rotateSecret(name: string, given: string | undefined, ifVersion?: number): Promise<DestinationChange> {
      refuseFileDestination(name);
      const secret = given === undefined ? newSecret() : parse(entry.shape.secret, given);
      const keyring = requireKeyring(deps.keyring);
      // Everything but the secret is kept as stored now (the row is locked until written).
      const build = (current: DestinationRow) => rotatedWrite(name, current, secret, keyring);
      const before = await view(name);
      return change(
        'destination.rotate_secret',
        name,
        before,
        async () => guarded(name, await store.update(name, build, ifVersion)),
        given === undefined ? secret : undefined,
      );
    },
  };
}

export type DestinationService = ReturnType<typeof createDestinationService>;
