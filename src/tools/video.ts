import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { z } from 'zod';
import { defineTool, type ToolAnnotations, type ToolContext } from './tool.ts';

// The video tools of @playwright/mcp's devtools group (--caps devtools; devtools.ts lists them):
// a screencast of every tab saved as WebM, and the overlays drawn for it (chapter cards, action
// annotations). A recording belongs to its BrowserContext and ends with it.

const READS: ToolAnnotations = { readOnlyHint: true, destructiveHint: false, openWorldHint: true };

/** `2026-01-31T12-00-00-000Z`: a file-name-safe time for default names. */
const stamp = () => new Date().toISOString().replace(/[:.]/g, '-');

/** Where the worker keeps a video until it is complete: its own TMPDIR. */
const workerTemp = (ctx: ToolContext) => ctx.settings.tempDir ?? tmpdir();

const browserContext = async (ctx: ToolContext): Promise<BrowserContext> => (await ctx.currentPage()).context();

/** Each action waits this long for the cursor to travel there (start_video with `cursor`), ms, as in @playwright/mcp. */
const CURSOR_MS = 800;
const MAX_VIDEO_SIDE = 4096;
const MAX_FPS = 60;

interface TabVideo { page: Page; temp: string; name: string }

/** A video recording of every tab, those opened while it runs included. */
interface VideoRecording {
  name: string;
  size?: { width: number; height: number };
  fps?: number;
  cursor: boolean;
  tabs: TabVideo[];
  notes: string[];
  onPage: (page: Page) => void;
}

const videos = new WeakMap<BrowserContext, VideoRecording>();

/** `name` for the first tab, `name-2.webm`, `name-3.webm`… for the next ones. */
function tabVideoName(name: string, index: number): string {
  return index === 0 ? name : `${name.slice(0, -'.webm'.length)}-${index + 1}.webm`;
}

/** Starts the screencast of `page` into a file of the worker's own; stop copies it into the output directory. */
async function startTabVideo(ctx: ToolContext, recording: VideoRecording, page: Page): Promise<void> {
  const temp = join(workerTemp(ctx), `screencast-${randomUUID()}.webm`);
  // A tab that --record video already films shares its screencast: a smaller size than that one
  // gives Playwright an empty file, so the lease's size is used.
  const size = page.video() ? undefined : recording.size;
  await page.screencast.start({ path: temp, size, fps: recording.fps });
  if (recording.cursor) await page.screencast.showActions({ cursor: 'pointer', duration: CURSOR_MS, style: { title: 'display: none' } });
  if (videos.get(page.context()) !== recording) {
    // browser_stop_video ran while this tab was starting.
    await page.screencast.stop().catch(() => {});
    await rm(temp, { force: true });
    return;
  }
  recording.tabs.push({ page, temp, name: tabVideoName(recording.name, recording.tabs.length) });
}

/** Saves the video of a tab that closed while recording, which screencast.stop() can no longer reach. */
async function saveClosedTabVideo(page: Page, path: string): Promise<boolean> {
  // Playwright finishes the video when the tab closes and keeps it on the client's Screencast;
  // only its private field leads there. Without it (another Playwright version) the video is lost.
  const artifact = (page.screencast as unknown as { _artifact?: { saveAs(path: string): Promise<void> } })._artifact;
  if (typeof artifact?.saveAs !== 'function') return false;
  await artifact.saveAs(path);
  return true;
}

function ffmpegMissing(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /ffmpeg/i.test(message) && /doesn't exist|not found|install/i.test(message);
}

const startVideo = defineTool({
  name: 'browser_start_video',
  title: 'Start video',
  capability: 'devtools',
  description: 'Start recording a WebM video of every tab, those opened later included. browser_stop_video saves one file per tab in the session output directory.',
  input: z.object({
    filename: z.string().optional().describe('File name for the video in the session output directory, ending in .webm; further tabs get -2, -3… Default: video-<time>.webm'),
    size: z.object({
      width: z.number().describe('Video width in pixels'),
      height: z.number().describe('Video height in pixels'),
    }).optional().describe('Video size in pixels; defaults to the viewport scaled to fit 800x800'),
    fps: z.number().optional().describe('Frames per second, at most 60; defaults to 25'),
    cursor: z.boolean().optional().describe('Draw a mouse cursor that travels to each action point; every action then waits 800 ms for it'),
  }),
  annotations: READS,
  async handle(ctx, args, response) {
    let name = args.filename?.trim() || `video-${stamp()}.webm`;
    if (!extname(name)) name += '.webm';
    if (extname(name).toLowerCase() !== '.webm') throw new Error(`The video is WebM: filename must end in .webm, not ${JSON.stringify(extname(name))}.`);
    if (args.size) {
      for (const [side, value] of Object.entries(args.size)) {
        if (!Number.isInteger(value) || value < 2 || value > MAX_VIDEO_SIDE) throw new Error(`size.${side} must be a whole number of pixels from 2 to ${MAX_VIDEO_SIDE}, not ${value}.`);
      }
    }
    if (args.fps !== undefined && !(args.fps > 0 && args.fps <= MAX_FPS)) throw new Error(`fps must be above 0 and at most ${MAX_FPS}, not ${args.fps}.`);
    const page = await ctx.currentPage();
    const context = page.context();
    if (videos.has(context)) throw new Error('Video recording has already been started; call browser_stop_video first.');
    const recording: VideoRecording = {
      name, size: args.size, fps: args.fps, cursor: args.cursor ?? false, tabs: [], notes: [],
      onPage: (tab) => {
        startTabVideo(ctx, recording, tab).catch((error: Error) => {
          recording.notes.push(`A tab opened while recording could not be filmed: ${error.message.split('\n')[0]}`);
        });
      },
    };
    videos.set(context, recording);
    try {
      await mkdir(workerTemp(ctx), { recursive: true });
      for (const tab of ctx.tabs()) await startTabVideo(ctx, recording, tab);
    } catch (error) {
      videos.delete(context);
      for (const tab of recording.tabs) {
        await tab.page.screencast.stop().catch(() => {});
        await rm(tab.temp, { force: true });
      }
      if (ffmpegMissing(error)) {
        throw new Error('Video recording needs ffmpeg, and this server hands it to browsers only when it runs with --record video (or both). ' +
          'Ask its operator, or use browser_start_tracing, whose trace has a screenshot of every action.');
      }
      throw error;
    }
    context.on('page', recording.onPage);
    const lines = [`Video recording started (${recording.tabs.length} tab${recording.tabs.length === 1 ? '' : 's'}).`];
    if (args.size && ctx.tabs().some((tab) => tab.video())) lines.push('Note: this server already films every tab (--record video), so the video has that recording\'s size; `size` was ignored.');
    response.addResult(lines.join('\n'));
    response.addCode(`await page.screencast.start({ path: ${JSON.stringify(name)}${args.size ? `, size: ${JSON.stringify(args.size)}` : ''}${args.fps ? `, fps: ${args.fps}` : ''} });`);
  },
});

const stopVideo = defineTool({
  name: 'browser_stop_video',
  title: 'Stop video',
  capability: 'devtools',
  description: 'Stop the video started with browser_start_video and save one WebM file per tab in the session output directory.',
  input: z.object({}),
  annotations: READS,
  timeoutMs: (_args, deadlines) => deadlines.timeoutNavigation,
  async handle(ctx, _args, response) {
    const context = await browserContext(ctx);
    const recording = videos.get(context);
    if (!recording) throw new Error('No video is being recorded; call browser_start_video first (a closed browser\'s video ends with it).');
    videos.delete(context);
    context.off('page', recording.onPage);
    const lines: string[] = [];
    for (const tab of recording.tabs) {
      try {
        if (!tab.page.isClosed()) {
          await tab.page.screencast.stop();
          if (recording.cursor) await tab.page.screencast.hideActions();
        } else if (!await saveClosedTabVideo(tab.page, tab.temp)) {
          recording.notes.push(`The video of a tab closed while recording (${tab.name}) was lost.`);
        }
        if (existsSync(tab.temp)) {
          // The name is confined to the output directory only now; a refused one must not lose the video.
          const path = await ctx.writeOutput(tab.name, '').catch(async (error: Error) => {
            const fallback = tabVideoName(`video-${stamp()}.webm`, recording.tabs.indexOf(tab));
            recording.notes.push(`${tab.name} was refused (${error.message.split('\n')[0]}); saved as ${fallback} instead.`);
            return ctx.writeOutput(fallback, '');
          });
          await copyFile(tab.temp, path);
          lines.push(`- [Video](${path})`);
        }
      } catch (error) {
        recording.notes.push(`The video ${tab.name} could not be saved: ${(error as Error).message.split('\n')[0]}`);
      } finally {
        await rm(tab.temp, { force: true });
      }
    }
    response.addResult([lines.length ? 'Video recording stopped.' : 'No videos were recorded.', ...lines, ...recording.notes].join('\n'));
    response.addCode('await page.screencast.stop();');
  },
});

/** Longest chapter card, ms: the call waits for it to go away. */
const MAX_CHAPTER_MS = 30_000;
const CHAPTER_MS = 2000;

const videoChapter = defineTool({
  name: 'browser_video_chapter',
  title: 'Video chapter',
  capability: 'devtools',
  description: 'Show a full-page chapter card with a title over a blurred page in the selected tab, e.g. to mark a section of a video; the call returns once it is gone.',
  input: z.object({
    title: z.string().describe('Chapter title shown on the card'),
    duration: z.number().optional().describe(`How long the card stays, in milliseconds, at most ${MAX_CHAPTER_MS}; defaults to ${CHAPTER_MS}`),
  }),
  annotations: READS,
  timeoutMs: (args, deadlines) => Math.min(Math.max(args.duration ?? CHAPTER_MS, 0), MAX_CHAPTER_MS) + deadlines.timeoutAction,
  async handle(ctx, args, response) {
    if (args.duration !== undefined && !(args.duration >= 0 && args.duration <= MAX_CHAPTER_MS)) {
      throw new Error(`duration must be from 0 to ${MAX_CHAPTER_MS} ms, not ${args.duration}.`);
    }
    const page = await ctx.currentPage();
    await page.screencast.showChapter(args.title, { duration: args.duration });
    response.addResult(`Chapter '${args.title}' added.`);
    response.addCode(`await page.screencast.showChapter(${JSON.stringify(args.title)}${args.duration !== undefined ? `, { duration: ${args.duration} }` : ''});`);
  },
});

const videoShowActions = defineTool({
  name: 'browser_video_show_actions',
  title: 'Show action overlays',
  capability: 'devtools',
  description: 'Annotate every later action in the selected tab with a callout naming it and, when styled, a marker at the action point and a box over the target, ' +
    'for videos. Each action waits for its annotation, so keep the duration short.',
  input: z.object({
    duration: z.number().optional().describe('How long each annotation stays, in milliseconds (each action waits for it), at most half the action timeout; defaults to 500'),
    position: z.enum(['top-left', 'top', 'top-right', 'bottom-left', 'bottom', 'bottom-right']).optional().describe('Where the action title goes on the page; defaults to top-right'),
    cursor: z.enum(['none', 'pointer']).optional().describe('"pointer" (default) draws a mouse pointer moving from one action point to the next; "none" draws no cursor'),
    style: z.object({
      point: z.string().optional().describe('CSS declarations of the marker centred on the action point, e.g. "width: 20px; height: 20px; border-radius: 50%; background: red"; none when omitted'),
      highlight: z.string().optional().describe('CSS declarations of the box over the target element, e.g. "outline: 2px solid #333"; none when omitted'),
      title: z.string().optional().describe('CSS declarations of the action title, e.g. "font-size: 16px"'),
    }).optional().describe('CSS styles of the annotation parts'),
  }),
  annotations: READS,
  async handle(ctx, args, response) {
    const limit = Math.floor(ctx.settings.timeoutAction / 2);
    if (args.duration !== undefined && !(args.duration >= 0 && args.duration <= limit)) {
      throw new Error(`duration must be from 0 to ${limit} ms (half the action timeout, since every action waits for its annotation), not ${args.duration}.`);
    }
    const page = await ctx.currentPage();
    await page.screencast.showActions({ duration: args.duration, position: args.position, cursor: args.cursor, style: args.style });
    response.addResult('Action annotations enabled.');
    response.addCode(`await page.screencast.showActions(${JSON.stringify(Object.fromEntries(Object.entries(args).filter(([key, v]) => v !== undefined && key !== 'browser')))});`);
  },
});

const videoHideActions = defineTool({
  name: 'browser_video_hide_actions',
  title: 'Hide action overlays',
  capability: 'devtools',
  description: 'Stop annotating actions in the selected tab (undoes browser_video_show_actions).',
  input: z.object({}),
  annotations: READS,
  async handle(ctx, _args, response) {
    await (await ctx.currentPage()).screencast.hideActions();
    response.addResult('Action annotations disabled.');
    response.addCode('await page.screencast.hideActions();');
  },
});

/** Videos of every tab and the overlays drawn for them. */
export const videoTools = [startVideo, stopVideo, videoChapter, videoShowActions, videoHideActions];
