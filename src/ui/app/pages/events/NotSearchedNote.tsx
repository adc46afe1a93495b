import type { NotSearched } from '../../api/types';

/**
 * One line naming the sources a filter left out (the answer's `not_searched`), so an empty or
 * short list is not read as "never received" when the search did not look there.
 */
export function NotSearchedNote({ notSearched }: { notSearched: NotSearched | undefined }) {
  if (!notSearched) return null;
  const { sources } = notSearched;
  const one = sources.length === 1;
  return (
    <p class="muted not-searched" role="note">
      {`Not searched: ${sources.join(', ')} — ${one ? 'it reads' : 'they read'} the filtered topic or webhook id from a masked payload path; an admin can search ${one ? 'it' : 'them'}.`}
    </p>
  );
}
