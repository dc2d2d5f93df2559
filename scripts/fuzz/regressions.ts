// The defects earlier runs found, as cases their properties try first whatever the seed.
import fc from 'fast-check';
import { mcpHeadersArb, type McpCase } from './mcp-cases.ts';
import { V1, V2, type Target } from './target.ts';
import { HANDLE } from './tool-cases.ts';
import { Raw } from './values.ts';

/**
 * Cases each property tries first, whatever the seed: the defects earlier runs found, so the short
 * form fails on them until they are fixed (and guards against their return afterwards).
 */
export function regressions(target: Target): Record<string, unknown[]> {
  const plain = (era: 'v1' | 'modern', text: string): McpCase => ({
    era, method: 'POST', headers: fc.sample(mcpHeadersArb(target, era, false), 1)[0], body: { kind: 'text', text }, chunked: false, useSession: false,
  });
  const nested2048 = new Raw('{"a":'.repeat(2048) + '1' + '}'.repeat(2048));
  return {
    // A JSON `null` body: HTTP 500 "Cannot read properties of null (reading 'id')".
    [`mcp ${V1} bodies`]: [plain('v1', 'null')],
    [`mcp ${V2} bodies`]: [plain('modern', 'null')],
    // Non-object `arguments` in a session: -32603 with a raw zod dump instead of -32602.
    [`args ${V1} not an object`]: [{ tool: 'browser_snapshot', arguments: null }],
    // An extra property nested 2048 deep: the worker cannot deserialize the call and exits (WORKER_CRASHED).
    [`args ${V2} browser_snapshot`]: [{ nested: nested2048, browser: HANDLE }],
    // A browser argument starting with U+FEFF, mirrored correctly: the server's decoder drops the BOM, -32020.
    [`args ${V2} browser_close`]: [{ browser: '\ufeff' }],
    // A filename with a lone surrogate: written, then answered with "URI malformed [INTERNAL]" (a note, not a failure).
    [`args ${V1} browser_snapshot`]: [{ filename: 'x\ud800.md' }],
  };
}
