import type { ComponentChildren } from 'preact';
import type { Resource } from '../hooks/useResource';
import { Notice } from './format';

/**
 * The frame of everything a page loads from the API: marked busy while loading, the error if the
 * load failed, a line while nothing has arrived yet, then the content drawn from the data.
 */
export function Loaded<T>({
  resource,
  loading,
  children,
}: {
  resource: Resource<T>;
  /** Shown until the first answer arrives (nothing when left out). */
  loading?: string;
  /** Drawn once data has arrived (a load that answered undefined, say not asked for, draws nothing). */
  children: (data: Exclude<T, undefined>) => ComponentChildren;
}) {
  return (
    <div aria-busy={resource.loading}>
      {resource.error ? <Notice kind="error">{resource.error.message}</Notice> : null}
      {loading && resource.loading && resource.data === undefined ? <p class="muted">{loading}</p> : null}
      {resource.data !== undefined ? children(resource.data as Exclude<T, undefined>) : null}
    </div>
  );
}
