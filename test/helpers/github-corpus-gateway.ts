import type { DatabaseKind } from './database';
import { startCorpusHarness } from './corpus-gateway';
import { githubDelivery, type GithubExample } from './github-corpus';
import { post } from './signers';

export { DESTINATION_SECRET, type EventDetail } from './corpus-gateway';

/** The secret of every GitHub source of the corpus tests (typed into the hook's settings). */
export const CORPUS_SECRET = 'github-corpus-secret';

/**
 * A real gateway with the source `github` (and `extraSources`, each a sources-file entry whose
 * destinations are built with the receiver's URL), whose `github` events all go to the destination
 * `sink`: a real HTTP receiver. Returns what the GitHub corpus tests do with it.
 */
export async function startCorpusGateway(kind: DatabaseKind, extraSources: (sinkUrl: string) => object[] = () => []) {
  const harness = await startCorpusHarness(
    kind,
    (url) => [{ name: 'github', provider: 'github', secrets: [CORPUS_SECRET] }, ...extraSources(url)],
    ['github'],
  );
  return {
    ...harness,
    /** Runs `run` for every example, a few at a time; results in order. */
    each: <R>(items: readonly GithubExample[], run: (ex: GithubExample) => Promise<R>) => harness.each(items, run),
    /** Sends `body` as a delivery of the example's event to `source`, signed and with GitHub's headers. */
    send: async (
      ex: Pick<GithubExample, 'event'>,
      body: Buffer,
      options: Parameters<typeof githubDelivery>[3] = {},
      source = 'github',
    ) =>
      post(
        `${harness.gw.url}/api/webhooks/${source}`,
        body,
        await githubDelivery(CORPUS_SECRET, ex.event, body, options),
      ),
    /** Waits until every event id of `github` is `completed` (a `failed` one fails at once). */
    allCompleted: (ids: number[]) => harness.allCompleted('github', ids),
  };
}

export type CorpusGateway = Awaited<ReturnType<typeof startCorpusGateway>>;
