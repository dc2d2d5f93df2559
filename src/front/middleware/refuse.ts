import type { Context } from 'hono';
import { FleetError, type ErrorCode } from '../../errors.ts';

/**
 * A guard's refusal: the JSON-RPC error body MCP clients expect, with the HTTP status of `code`.
 * Guards answer before the SDK sees the request, so there is no request id to echo.
 */
export function refuse(c: Context, code: ErrorCode, message: string, headers: Record<string, string> = {}): Response {
  const error = new FleetError(code, message);
  return c.json(error.toJsonRpc(null), error.status as 400, headers);
}
