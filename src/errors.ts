/** Stable error codes. They cross the IPC boundary as `{ code, message }` and are matched by code. */
export const ERROR_CODES = {
  BAD_REQUEST: { status: 400, rpc: -32600 },
  PARSE_ERROR: { status: 400, rpc: -32700 },
  UNAUTHORIZED: { status: 401, rpc: -32001 },
  FORBIDDEN: { status: 403, rpc: -32003 },
  SESSION_NOT_FOUND: { status: 404, rpc: -32001 },
  NOT_ACCEPTABLE: { status: 406, rpc: -32600 },
  PAYLOAD_TOO_LARGE: { status: 413, rpc: -32600 },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, rpc: -32600 },
  SESSION_LIMIT: { status: 503, rpc: -32002 },
  BROWSER_LIMIT: { status: 503, rpc: -32002 },
  LOW_MEMORY: { status: 503, rpc: -32002 },
  SHUTTING_DOWN: { status: 503, rpc: -32002 },
  DRAINING: { status: 503, rpc: -32002 },
  WORKER_START_FAILED: { status: 503, rpc: -32603 },
  WORKER_CRASHED: { status: 500, rpc: -32603 },
  BROWSER_CRASHED: { status: 500, rpc: -32603 },
  TOOL_TIMEOUT: { status: 504, rpc: -32603 },
  CANCELLED: { status: 499, rpc: -32800 },
  INVALID_ARGUMENTS: { status: 400, rpc: -32602 },
  UNKNOWN_TOOL: { status: 400, rpc: -32602 },
  TOOL_FAILED: { status: 500, rpc: -32603 },
  MODAL_STATE: { status: 409, rpc: -32603 },
  PAGE_LIMIT: { status: 409, rpc: -32603 },
  NOT_ALLOWED: { status: 403, rpc: -32603 },
  SESSION_CLOSED: { status: 410, rpc: -32603 },
  BROWSER_NOT_FOUND: { status: 404, rpc: -32602 },
  BROWSER_REQUIRED: { status: 400, rpc: -32602 },
  HEADER_MISMATCH: { status: 400, rpc: -32020 },
  PROTOCOL_MISMATCH: { status: 500, rpc: -32603 },
  INTERNAL: { status: 500, rpc: -32603 },
} as const satisfies Record<string, { status: number; rpc: number }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The shape an error takes on the wire (IPC and logs). */
export interface WireError {
  code: ErrorCode;
  message: string;
}

/** The one error class of the project: a stable `code` maps to an HTTP status and a JSON-RPC code. */
export class FleetError extends Error {
  readonly code: ErrorCode;
  /** Seconds after which a refused client may try again (503s). */
  readonly retryAfter?: number;

  constructor(code: ErrorCode, message: string, options: { retryAfter?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'FleetError';
    this.code = code;
    this.retryAfter = options.retryAfter;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  get rpcCode(): number {
    return ERROR_CODES[this.code].rpc;
  }

  toWire(): WireError {
    return { code: this.code, message: this.message };
  }

  static fromWire(wire: WireError): FleetError {
    const code = wire.code in ERROR_CODES ? wire.code : 'INTERNAL';
    return new FleetError(code, wire.message);
  }

  /** A JSON-RPC error response body, for refusals that happen before the SDK sees the request. */
  toJsonRpc(id: string | number | null = null): { jsonrpc: '2.0'; id: string | number | null; error: { code: number; message: string; data: { code: ErrorCode } } } {
    return { jsonrpc: '2.0', id, error: { code: this.rpcCode, message: this.message, data: { code: this.code } } };
  }
}

/** Wraps anything thrown into a FleetError, keeping FleetErrors as they are. */
export function toFleetError(error: unknown, fallback: ErrorCode = 'INTERNAL'): FleetError {
  if (error instanceof FleetError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new FleetError(fallback, message, { cause: error });
}
