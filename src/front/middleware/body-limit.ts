import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { refuse } from './refuse.ts';

/**
 * Refuses (413) a request body larger than `maxBytes`, whether it declares its length or streams
 * it chunked, before anything buffers or parses it.
 */
export function requestBodyLimit(maxBytes: number): MiddlewareHandler {
  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: (c) => refuse(c, 'PAYLOAD_TOO_LARGE', `Payload Too Large: the request body exceeds ${maxBytes} bytes`),
  });
  return async function requestBodyLimit(c, next) {
    return limit(c, next);
  };
}
