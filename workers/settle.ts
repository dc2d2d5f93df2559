import type { Page, Request } from 'playwright-core';
import type { SettleOptions } from '../src/tools/tool.ts';
import type { ModalStates } from './modal-states.ts';
import type { PopupTracker } from './popup-tracker.ts';
import type { RendererRequests, RequestWatch } from './renderer-requests.ts';

/** Most time spent waiting for what an action started (a navigation, requests), ms. */
export const SETTLE_CAP_MS = 3000;
/** Time left before the call's deadline for rendering the result (snapshot), ms. */
const RENDER_RESERVE_MS = 750;
/** Longest wait for the round trip that surfaces late page events, ms. */
const ROUND_TRIP_CAP_MS = 250;

function isMainNavigation(page: Page, request: Request): boolean {
  try {
    return request.isNavigationRequest() && request.frame() === page.mainFrame();
  } catch {
    return false;
  }
}

/**
 * Runs `action` on `page` and waits only for what it started: a main-frame navigation until the
 * new document's DOMContentLoaded, the requests issued meanwhile until they finish, and popups
 * until they are pages, all within SETTLE_CAP_MS and before `deadline`. Requests are counted both
 * from Playwright's events and as the renderer starts them (`watched.requests`, see
 * renderer-requests.ts). A click on a static page pays for turning that watch on and one round
 * trip to the page, no sleep. Returns as soon as a modal state opens: a dialog blocks the page,
 * so neither the action nor the page can finish until a tool handles it.
 */
export async function settle(page: Page, watched: { modals: ModalStates; requests?: RendererRequests }, popups: PopupTracker | undefined, action: () => Promise<unknown>, deadline: number, options: SettleOptions = {}): Promise<void> {
  const { modals } = watched;
  const pending = new Set<Request>();
  let navigation: Request | undefined;
  let navigationDone = false;
  let wake = () => {};
  const changed = () => wake();
  const onRequest = (request: Request) => {
    pending.add(request);
    if (isMainNavigation(page, request)) {
      navigation = request;
      navigationDone = false;
    }
    changed();
  };
  const onDone = (request: Request) => {
    pending.delete(request);
    if (request === navigation && request.failure()) navigationDone = true;
    changed();
  };
  const onLoaded = () => {
    if (navigation) navigationDone = true;
    changed();
  };
  page.on('request', onRequest);
  page.on('requestfinished', onDone);
  page.on('requestfailed', onDone);
  page.on('domcontentloaded', onLoaded);
  page.on('close', changed);
  const stopPopups = popups?.onChange(changed);
  const roundTrip = options.roundTrip !== false;
  let watching: Promise<RequestWatch | undefined> | undefined;
  let renderer: RequestWatch | undefined;
  const modal = modals.next();
  let modalOpened = false;
  void modal.opened.then(() => {
    modalOpened = true;
  });
  const raceModal = async (work: Promise<unknown>, capMs?: number) => {
    let timer: NodeJS.Timeout | undefined;
    const capped = capMs === undefined ? [] : [new Promise((resolve) => {
      timer = setTimeout(resolve, Math.max(0, capMs));
    })];
    try {
      await Promise.race([work, modal.opened, ...capped]);
    } finally {
      clearTimeout(timer);
    }
  };
  try {
    // Without the round trip (navigations, followed to DOMContentLoaded) there is no barrier to
    // keep. Behind a dialog the renderer answers nothing until the action closes it: the watch
    // then starts alongside the action and may miss what the page does first (Playwright's own
    // events still see it, a little later).
    watching = roundTrip ? watched.requests?.watch(changed) : undefined;
    if (!options.closesDialog) renderer = await watching;
    const acting = action();
    // If a modal state wins, the action finishes (or fails) once a tool clears it.
    acting.catch(() => {});
    await raceModal(acting);
    if (modalOpened) return;
    renderer ??= await watching;
    // Some events (a file chooser opening) arrive just after an input action returns; one round
    // trip to the page lets them in before the result is rendered. The one on the watch's own
    // session makes every request the action started known (see renderer-requests.ts).
    if (roundTrip) await raceModal(Promise.all([page.evaluate(() => 0).catch(() => {}), renderer?.barrier()]), ROUND_TRIP_CAP_MS);
    const end = Math.min(Date.now() + SETTLE_CAP_MS, deadline - RENDER_RESERVE_MS);
    while (!modalOpened && !page.isClosed() && Date.now() < end) {
      const waitingForNavigation = navigation !== undefined && !navigationDone;
      if (!waitingForNavigation && pending.size === 0 && !renderer?.pending && !popups?.pending) break;
      await raceModal(new Promise<void>((resolve) => {
        wake = resolve;
      }), end - Date.now());
    }
  } finally {
    modal.dispose();
    // Also a watch that came too late to be used (a dialog opened first).
    void watching?.then((watch) => watch?.stop());
    stopPopups?.();
    page.off('request', onRequest);
    page.off('requestfinished', onDone);
    page.off('requestfailed', onDone);
    page.off('domcontentloaded', onLoaded);
    page.off('close', changed);
  }
}
