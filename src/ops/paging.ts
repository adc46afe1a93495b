/** A keyset-paged list query: the last id already shown (`cursor`) and the page size. */
export interface PageQuery {
  cursor?: string;
  limit: number;
}

/**
 * Reads one page of a newest-first list. One row more than the page is asked for, so whether a
 * next page exists is known without a count; the next cursor is the last id on this page.
 */
export async function readPage<Row extends { id: number }>(
  q: PageQuery,
  list: (range: { beforeId: number | undefined; limit: number }) => Promise<Row[]>,
): Promise<{ page: Row[]; nextCursor: string | null }> {
  const rows = await list({ beforeId: q.cursor ? Number(q.cursor) : undefined, limit: q.limit + 1 });
  const page = rows.slice(0, q.limit);
  return { page, nextCursor: rows.length > q.limit ? String(page[page.length - 1]!.id) : null };
}

/** An optional ISO date-time from a query string, as a Date. */
export const optionalDate = (text: string | undefined) => (text ? new Date(text) : undefined);
