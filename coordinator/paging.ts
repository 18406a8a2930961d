/**
 * Paged listings of the coordinator API (`?limit=N&cursor=C`, DESIGN.md "Coordinator HTTP API"):
 * newest first, and `nextCursor` (opaque to clients: the id of the page's last item) fetches the
 * page after it, or is null on the last page. Without `limit` a listing is the whole collection, as
 * it was before paging existed.
 */
import { ValidationError } from "../core/validation-error.ts";

/** Most items one page may ask for. */
export const MAX_PAGE_LIMIT = 1000;

export interface PageRequest {
  readonly limit: number;
  readonly cursor: string | null;
}

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

/** The page request of `?limit=&cursor=`, or null when `limit` is absent. Throws a ValidationError naming the parameter. */
export function pageRequest(query: { limit?: string; cursor?: string }): PageRequest | null {
  if (query.limit === undefined) {
    if (query.cursor !== undefined) throw new ValidationError("cursor", "'cursor' (query parameter) needs 'limit' too, e.g. ?limit=50&cursor=...");
    return null;
  }
  const limit = Number(query.limit);
  if (!/^[0-9]{1,4}$/.test(query.limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw new ValidationError("limit", `'limit' (query parameter) must be an integer in [1, ${MAX_PAGE_LIMIT}], current value is ${JSON.stringify(query.limit.slice(0, 20))}`);
  }
  const cursor = query.cursor ?? null;
  if (cursor !== null && !/^[A-Za-z0-9_:-]{1,200}$/.test(cursor)) {
    throw new ValidationError("cursor", "'cursor' (query parameter) must be the nextCursor of an earlier page");
  }
  return { limit, cursor };
}

/**
 * The page of `ids` (already newest first) after `request.cursor`. Throws a ValidationError when
 * the cursor names no item (it was never a cursor, or its item is gone).
 */
export function pageOfIds(ids: readonly string[], request: PageRequest): Page<string> {
  let start = 0;
  if (request.cursor !== null) {
    const at = ids.indexOf(request.cursor);
    if (at < 0) throw new ValidationError("cursor", `'cursor' (query parameter) ${JSON.stringify(request.cursor)} names no item of this listing`);
    start = at + 1;
  }
  const items = ids.slice(start, start + request.limit);
  const more = start + request.limit < ids.length;
  return { items, nextCursor: more ? items[items.length - 1] : null };
}

/** Newest first by `createdAt`, ties by id (descending): the order of every paged listing. */
export function newestFirst<T extends { readonly id: string; readonly createdAt: string }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => (a.createdAt === b.createdAt ? (a.id < b.id ? 1 : a.id > b.id ? -1 : 0) : a.createdAt < b.createdAt ? 1 : -1));
}

/** A page of whole records (sorted here, newest first): for collections listed from their records. */
export function pageOf<T extends { readonly id: string; readonly createdAt: string }>(items: readonly T[], request: PageRequest): Page<T> {
  const sorted = newestFirst(items);
  const byId = new Map(sorted.map((item) => [item.id, item]));
  const page = pageOfIds(sorted.map((item) => item.id), request);
  return { items: page.items.map((id) => byId.get(id)!), nextCursor: page.nextCursor };
}
