import type { BrowserContext, BrowserContextOptions, LaunchOptions, Route } from 'playwright-core';
import { EgressPolicy, type EgressRules } from '../src/security/egress-policy.ts';
import { blockedPage, startEgressProxy, type EgressProxy, type OnRefused } from './egress-proxy.ts';
import { playwrightProxy } from './upstream-proxy.ts';

/** Every refusal goes to stderr, which the front logs with the session's id. */
const logRefusal: OnRefused = (target, reason) => {
  process.stderr.write(`egress blocked ${target.slice(0, 500)}: ${reason}\n`);
};

/**
 * What the session's browser may reach. Two layers:
 * - with origin lists or --block-private-networks, request interception on the context refuses
 *   blocked schemes (file:, ...) and blocked origins up front, with a readable page for a
 *   refused navigation (without them, the tools' checks and Chromium's own rules suffice);
 * - when origin lists or --block-private-networks are set, a forward proxy in this process
 *   carries every connection and vets it again, because Chromium follows redirects without
 *   consulting the route handler, and resolves host names itself after any earlier check.
 */
export class Egress {
  private constructor(
    readonly policy: EgressPolicy,
    private readonly proxy: EgressProxy | undefined,
    private readonly onRefused: OnRefused,
    /** --proxy-server, which the browser uses directly when no egress proxy runs. */
    private readonly upstream: { server: string; bypass?: string } | undefined,
    private readonly remote: boolean,
  ) {}

  /**
   * Builds the policy and, when the network is filtered, starts the proxy. A `remote` browser (on
   * a Playwright browser server) cannot reach a proxy on this host's loopback: request
   * interception alone enforces the policy there (docs/security.md, remote browsers).
   * `upstream` (--proxy-server) comes after the egress proxy, or is the browser's proxy when none runs.
   */
  static async start(rules: EgressRules, options: { remote?: boolean; onRefused?: OnRefused; upstream?: { server: string; bypass?: string } } = {}): Promise<Egress> {
    const onRefused = options.onRefused ?? logRefusal;
    const policy = new EgressPolicy(rules);
    const remote = options.remote ?? false;
    const proxy = policy.filtersNetwork && !remote ? await startEgressProxy(policy, onRefused, options.upstream) : undefined;
    return new Egress(policy, proxy, onRefused, options.upstream, remote);
  }

  /** Options to merge into `chromium.launch`. */
  launchOptions(): Pick<LaunchOptions, 'proxy'> & { args: string[] } {
    if (!this.proxy) return this.upstream ? { proxy: playwrightProxy(this.upstream.server, this.upstream.bypass), args: [] } : { args: [] };
    // Playwright adds <-loopback> to the bypass list, so loopback traffic is proxied too.
    // WebRTC's UDP would go around the proxy; keep it to proxied paths only.
    return { proxy: { server: this.proxy.server }, args: ['--force-webrtc-ip-handling-policy=disable_non_proxied_udp'] };
  }

  /** Options to merge into `browser.newContext`. */
  contextOptions(): Pick<BrowserContextOptions, 'serviceWorkers' | 'proxy'> {
    // A browser on a browser server takes --proxy-server per context: its launch is the server's.
    const proxy = this.remote && this.upstream ? { proxy: playwrightProxy(this.upstream.server, this.upstream.bypass) } : {};
    // A service worker's fetches are not seen by request interception.
    return this.policy.filtersNetwork ? { serviceWorkers: 'block', ...proxy } : proxy;
  }

  /**
   * Installs the request check on a new context (call once per context, before any page loads)
   * when there is more to check than Chromium checks itself. With no origin list and no
   * --block-private-networks only schemes are refused, and a web page cannot load or navigate to
   * the refused ones anyway (file:, chrome:, view-source:... are not reachable from web content),
   * while the tools check what a client asks for; so the context goes unintercepted: request
   * interception turns Chromium's HTTP cache off for the whole context and costs every request
   * a round trip to this process. (With filters, a remote browser has interception alone: no proxy.)
   */
  async install(context: BrowserContext): Promise<void> {
    if (!this.policy.filtersNetwork) return;
    await context.route('**/*', (route) => this.screen(route));
  }

  private async screen(route: Route): Promise<void> {
    const request = route.request();
    const url = request.url();
    const kind = request.isNavigationRequest() ? 'navigation' : 'request';
    const reason = await this.policy.check(url, kind).catch((error: Error) => `the egress check failed: ${error.message}`);
    try {
      if (!reason) {
        await route.fallback();
        return;
      }
      this.onRefused(url, reason);
      if (kind === 'navigation' && /^https?:/i.test(url)) {
        await route.fulfill({ status: 403, contentType: 'text/html; charset=utf-8', body: blockedPage(url, reason) });
      } else {
        await route.abort('blockedbyclient');
      }
    } catch {
      // The page or the request went away while we checked.
    }
  }

  /** Stops the proxy; the browser must be closed first or its connections just drop. */
  async close(): Promise<void> {
    await this.proxy?.close();
  }
}
