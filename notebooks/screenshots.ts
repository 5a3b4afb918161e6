/**
 * The README's images: renders the report of the committed results (`results/`) offline in
 * headless Chromium and saves one PNG per chart under `results/screenshots/`, named after the
 * chart's section (`pretraining_loss.png`, `table5.png`, `layers.png`, `zeroshot.png`, ...),
 * then the same for the small-scale protocol's report (`results/protocol`: `protocol_*.png`,
 * `label_budget.png`). Run after committing new results: `deno task screenshots`.
 *
 * Needs Chromium (`$GPT1_CHROMIUM`, default /usr/bin/chromium; `.ci/run` installs it).
 * @module
 */
import { join } from "node:path";
import { chromium } from "playwright-core";
import { layoutSections } from "../lib/sections.ts";
import { protocolSections } from "../lib/protocol_report.ts";
import { writeReport } from "../lib/report.ts";
import { REPO_ROOT } from "../lib/fsutil.ts";
import { committedLayout } from "../lib/runs.ts";

/** The file a chart's image goes to, from its title; null for charts the README does not show. */
export function screenshotName(title: string): string | null {
  const t = title.toLowerCase();
  if (t.includes("transformer vs the lstm")) return "pretraining_lstm.png";
  if (t.includes("loss") && !t.includes("layers")) return "pretraining_loss.png";
  if (t.includes("table 5")) return "table5.png";
  if (t.includes("layers")) return "layers.png";
  if (t.includes("zero-shot")) return "zeroshot.png";
  return null;
}

/** The image of a chart of the protocol's report, from its title; null for the others. */
export function protocolScreenshotName(title: string): string | null {
  const t = title.toLowerCase();
  if (t.startsWith("validation loss")) return "protocol_pretraining.png";
  if (t.startsWith("table 5 under the protocol")) return "protocol_table5.png";
  if (t.startsWith("label budget")) return "label_budget.png";
  if (t.startsWith("layers transferred")) return "protocol_layers.png";
  if (t.startsWith("zero-shot additions")) return "protocol_zeroshot_additions.png";
  if (t.includes("zero-shot")) return "protocol_zeroshot.png";
  return null;
}

/** Renders one report in Chromium and saves the charts `nameOf` names as PNGs in `out`. */
async function shoot(html: string, out: string, nameOf: (title: string) => string | null) {
  const browser = await chromium.launch({
    executablePath: Deno.env.get("GPT1_CHROMIUM") ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.route(/^https?:/, (route) => route.abort());
    await page.goto(`file://${html}`, { waitUntil: "load", timeout: 60_000 });
    await page.evaluate(() =>
      (globalThis as unknown as { gpt1Figures?: Promise<unknown> }).gpt1Figures
    );
    const figs = page.locator(".gpt1-figure");
    const seen = new Set<string>();
    for (let i = 0; i < await figs.count(); i++) {
      const fig = figs.nth(i);
      const title = (await fig.locator(".gtitle").first().textContent().catch(() => "")) ?? "";
      const name = nameOf(title);
      console.log(`${name && !seen.has(name) ? name : "(skipped)"}: ${title}`);
      if (!name || seen.has(name)) continue;
      seen.add(name);
      await fig.screenshot({ path: join(out, name) });
    }
  } finally {
    await browser.close();
  }
}

if (import.meta.main) {
  const out = join(REPO_ROOT, "results", "screenshots");
  await Deno.mkdir(out, { recursive: true });
  const html = join(REPO_ROOT, "results", "_scratch", "report-screenshots.html");
  await writeReport(html, await layoutSections(committedLayout()), {
    title: "gpt1-lab: the committed results",
  });
  await shoot(html, out, screenshotName);
  const html2 = join(REPO_ROOT, "results", "_scratch", "report-screenshots-protocol.html");
  await writeReport(html2, await protocolSections(join(REPO_ROOT, "results", "protocol")), {
    title: "gpt1-lab: the small-scale protocol",
  });
  await shoot(html2, out, protocolScreenshotName);
}
