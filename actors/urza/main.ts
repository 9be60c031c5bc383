import type { ActorDefinition } from "../runtime/actor-types.ts";
import { type CatalogView, openCatalogView } from "../runtime/catalog-view.ts";
import { isProcessEntry, runMain } from "../runtime/main-entry.ts";
import { openArtifactSource } from "./artifact-source.ts";
import { publishLibrary } from "./catalog-publisher.ts";
import { KernelCache } from "./kernel-cache.ts";
import { prewarmKernel } from "./kernel-prewarm.ts";
import { buildLibrary, libraryConfigs } from "./library.ts";
import type { KernelFailure, VerifiedKernel } from "./prefetch.ts";
import { answerPrefetchWithTelemetry } from "./prefetch-endpoint.ts";
import { PrewarmSamples } from "./prewarm-samples.ts";
import { urzaStoresCheck } from "./store-checks.ts";

/** Prewarm latencies kept per blueprint for the p50/p95 of KernelArtifactReady (the original kept 20). */
const PREWARM_SAMPLES = 20;

/**
 * Urza: preflight checks that the catalog bucket and the kernel store exist; `start` builds the
 * blueprint library, publishes it (INFO `urza.library.published` with the counts; a failure fails the
 * start, exit 1, CRITICAL `urza.lifecycle.failed`), loads the shared catalog view (kept current by a
 * watch of the catalog bucket; one that does not load fails the start the same way), then serves `urza.prefetch` in
 * queue group `urza` through the concurrent mailbox `prefetch`, with a kernel cache of
 * `urza.kernelCacheBytes` (read at start).
 */
export const actor: ActorDefinition = {
  name: "urza",
  preflight: [urzaStoresCheck],
  async start(ctx) {
    const library = buildLibrary(libraryConfigs(), Date.now());
    let report: Awaited<ReturnType<typeof publishLibrary>>;
    try {
      report = await publishLibrary(ctx.bus, library, { prewarm: prewarmKernel });
    } catch (err) {
      throw new Error(`urza library publish failed: ${(err as Error).message}`, { cause: err });
    }
    ctx.telemetry.event("urza.library.published", {
      level: "INFO",
      description: `library of ${library.length} blueprints: ${report.added} added, ${report.changed} changed, ${report.unchanged} unchanged`,
      attributes: {
        added: String(report.added),
        changed: String(report.changed),
        unchanged: String(report.unchanged),
        artifacts_stored: String(report.artifactsStored),
        updates_published: String(report.updatesPublished),
        not_in_library: String(report.notInLibrary.length),
      },
    });
    ctx.log.info({ ...report, notInLibrary: report.notInLibrary.length }, "urza library published");
    let catalog: CatalogView;
    try {
      catalog = await openCatalogView(ctx);
    } catch (err) {
      throw new Error(`urza catalog view did not load: ${(err as Error).message}`, { cause: err });
    }
    const deps = {
      catalog,
      artifacts: await openArtifactSource(ctx.bus),
      prewarm: prewarmKernel,
      samples: new PrewarmSamples(PREWARM_SAMPLES),
      cache: new KernelCache<VerifiedKernel | KernelFailure>(ctx.settings().urza.kernelCacheBytes),
    };
    ctx.serve("urzaPrefetch", (req) => answerPrefetchWithTelemetry(req, deps, ctx), {
      queue: "urza",
      mailbox: "prefetch",
      mode: "concurrent",
    });
  },
};

if (isProcessEntry(import.meta.url)) await runMain(actor);
