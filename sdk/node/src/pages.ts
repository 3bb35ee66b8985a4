/** Cursor pages as one async iterator: `for await (const room of pulse.rooms.listAll())`. */

export interface Page<T> {
  data: T[];
  nextCursor?: string | null;
}

/** Every item of every page, fetching the next page only when the loop reaches it. */
export async function* allItems<T>(
  fetchPage: (cursor: string | undefined) => Promise<Page<T>>,
  cursor?: string,
): AsyncGenerator<T, void, undefined> {
  let next: string | undefined = cursor;
  for (;;) {
    const page = await fetchPage(next);
    yield* page.data;
    if (!page.nextCursor) return;
    next = page.nextCursor;
  }
}
