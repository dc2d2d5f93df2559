import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { toolInputSchema } from '../../src/front/tool-calls.ts';
import { allTools, enabledTools } from '../../src/tools/registry.ts';

interface ReferenceTool {
  name: string;
  default?: boolean;
  inputSchema: Record<string, unknown>;
  annotations: Record<string, boolean>;
}

const reference = JSON.parse(readFileSync(new URL('../fixtures/reference-playwright-mcp-1.65.1-tools.json', import.meta.url), 'utf8')) as (ReferenceTool & { capability: string })[];
const core = reference.filter((tool) => tool.capability === 'core');
const optional = reference.filter((tool) => tool.capability !== 'core');

/** Reference tools we do not have, and why they cannot work in this server: none now. */
const SKIPPED_TOOLS: Record<string, string> = {};

/** Tools of ours that @playwright/mcp does not have, and why they may exist. */
const EXTRA_TOOLS: Record<string, string> = {
  browser_open: 'opens a browser and returns its handle, with its own options (headless, viewport); @playwright/mcp has one browser per client, set up with server flags',
  browser_list: 'lists the caller\'s browsers and their handles',
};

/** Parameters of ours beyond the reference's, on every tool: `browser`, the handle of the browser to act in. */
const EXTRA_PROPERTIES = ['browser'];

/** The schema with what may differ (descriptions) removed and `required` order-free. */
function comparable(schema: unknown, extras: string[] = []): unknown {
  if (Array.isArray(schema)) return schema.map((item) => comparable(item));
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'description' || key === '$schema') continue;
    if (key === 'required') out[key] = [...(value as string[])].sort();
    else if (key === 'properties') {
      out[key] = Object.fromEntries(Object.entries(value as Record<string, unknown>)
        .filter(([name]) => !extras.includes(name))
        .map(([name, property]) => [name, comparable(property)]));
    } else out[key] = comparable(value);
  }
  return out;
}

/** The reference's annotations without the title, which we keep apart (Tool.title). */
function hints(ref: ReferenceTool): Record<string, unknown> {
  const { title: _title, ...rest } = ref.annotations as Record<string, unknown>;
  return rest;
}

describe('core tools match @playwright/mcp 1.65.1', () => {
  const ours = new Map(enabledTools(['unsafe-code']).map((tool) => [tool.name, tool]));

  for (const ref of core) {
    test(`${ref.name} has the reference's parameters, types, enums, required list and hints, without --caps`, () => {
      const tool = ours.get(ref.name);
      assert.ok(tool, `${ref.name} is missing`);
      assert.deepEqual(comparable(toolInputSchema(tool), EXTRA_PROPERTIES), comparable(ref.inputSchema));
      assert.deepEqual(tool.annotations, hints(ref));
      // Running arbitrary code on the server is ours to gate: 1.65.1 lists it by default, we need --caps unsafe-code.
      if (ref.name !== 'browser_run_code_unsafe') assert.ok(enabledTools([]).some((t) => t.name === ref.name), 'listed without any capability');
    });
  }

  test('every tool parameter has a description written for a model', () => {
    for (const tool of allTools) {
      const properties = (toolInputSchema(tool).properties ?? {}) as Record<string, { description?: string }>;
      for (const [name, property] of Object.entries(properties)) {
        assert.ok(property.description && property.description.length > 10, `${tool.name}.${name} has no description`);
      }
    }
  });

  test('every tool but browser_open and browser_list takes an optional browser handle mirrored into the Mcp-Param-Browser header', () => {
    for (const tool of allTools) {
      const schema = toolInputSchema(tool) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
      const browser = schema.properties?.browser;
      if (tool.name === 'browser_open' || tool.name === 'browser_list') {
        assert.equal(browser, undefined, `${tool.name} takes no browser`);
        continue;
      }
      assert.ok(browser, `${tool.name} takes browser`);
      assert.equal(browser.type, 'string');
      assert.equal(browser['x-mcp-header'], 'Browser');
      assert.ok(!(schema.required ?? []).includes('browser'), `${tool.name}: browser is optional`);
    }
  });

  test('browser_run_code_unsafe is listed only with --caps unsafe-code and says it is unsafe', () => {
    assert.equal(enabledTools([]).some((tool) => tool.name === 'browser_run_code_unsafe'), false);
    const tool = enabledTools(['unsafe-code']).find((t) => t.name === 'browser_run_code_unsafe');
    assert.ok(tool);
    assert.match(tool.description, /Unsafe/);
    assert.match(tool.description, /--caps unsafe-code/);
    assert.equal(enabledTools([]).length, enabledTools(['unsafe-code']).length - 1);
  });
});

describe('optional tools match @playwright/mcp 1.65.1', () => {
  const ours = new Map(allTools.map((tool) => [tool.name, tool]));

  for (const ref of optional.filter((tool) => !(tool.name in SKIPPED_TOOLS))) {
    test(`${ref.name} has the reference's parameters and is enabled by --caps ${ref.capability}`, () => {
      const tool = ours.get(ref.name);
      assert.ok(tool, `${ref.name} is missing`);
      assert.deepEqual(comparable(toolInputSchema(tool), EXTRA_PROPERTIES), comparable(ref.inputSchema));
      assert.equal(tool.capability, ref.capability);
      assert.deepEqual(tool.annotations, hints(ref));
      assert.equal(enabledTools([]).some((t) => t.name === ref.name), false, 'not listed without its capability');
    });
  }

  test('the only reference tools we lack are the skipped ones, each with its reason', () => {
    const missing = reference.filter((tool) => !ours.has(tool.name)).map((tool) => tool.name).sort();
    assert.deepEqual(missing, Object.keys(SKIPPED_TOOLS).sort());
    assert.equal(reference.length, 72, 'the whole 1.65.1 list: 25 core tools and 47 optional ones');
  });

  test('no tool beyond the reference (core and optional) except the listed extras', () => {
    const known = new Set([...core.map((tool) => tool.name), ...optional.map((tool) => tool.name), ...Object.keys(EXTRA_TOOLS)]);
    assert.deepEqual(allTools.map((tool) => tool.name).filter((name) => !known.has(name)), []);
  });
});
