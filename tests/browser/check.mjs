// Opens gradwell's HTML reports in headless Chromium and checks that they work.
//
//     node check.mjs --chromium PATH --out DIR [--timeout MS] NAME=FILE.html...
//
// Each report is opened from file:// and must
//   - finish rendering (`<html data-rendered="true">`) within the timeout;
//   - log no console error, throw no uncaught exception, fail no request and make no
//     request outside file: (a report works offline);
//   - have at least one chart, every chart (`.gw-chart`) drawn with `data-points` ≥ 1;
//   - answer the mouse: hovering over each chart's plot area changes a value shown on the
//     page (its legend or tooltip), and clicking a legend entry (uPlot's `.u-legend
//     tr.u-series`) marks it hidden (`u-off`) and changes the plot.
// A full-page screenshot of each report is saved as DIR/NAME.png.
//
// Before the reports, the checker checks itself: `fixtures/contract.html` keeps the
// contract and must pass; the same page with each fault turned on (a console error, an
// uncaught exception, an empty chart, an undrawn chart, rendering that never finishes, a
// missing file, a network request, no hover, no legend toggle) must fail for that
// reason; and the first report with a console error injected must fail. A checker that
// cannot fail would pass anything.
//
// Exit status: 0 when every check holds, 1 when one fails, 2 on a usage error.

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURE = join(HERE, "fixtures", "contract.html");
/** How long the self-test waits for a page that never finishes rendering. */
const STALL_TIMEOUT_MS = 1500;

function usage(why) {
  console.error(`check.mjs: ${why}`);
  console.error("usage: node check.mjs --chromium PATH --out DIR [--timeout MS] NAME=FILE.html...");
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { chromium: null, out: null, timeout: 30000, reports: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--chromium") opts.chromium = value();
    else if (a === "--out") opts.out = value();
    else if (a === "--timeout") {
      const v = value();
      opts.timeout = Number(v);
      if (!Number.isInteger(opts.timeout) || opts.timeout <= 0) {
        usage(`--timeout must be a positive whole number of milliseconds, not \`${v}\``);
      }
    } else if (a.startsWith("--")) usage(`unknown option \`${a}\``);
    else {
      const eq = a.indexOf("=");
      if (eq <= 0) usage(`a report is NAME=FILE.html, not \`${a}\``);
      const [name, file] = [a.slice(0, eq), a.slice(eq + 1)];
      if (!/^[A-Za-z0-9_.-]+$/.test(name)) usage(`report name \`${name}\`: letters, digits, _ . - only`);
      if (!existsSync(file)) usage(`report ${name}: no file ${file}`);
      opts.reports.push({ name, file: resolve(file) });
    }
  }
  if (!opts.chromium) usage("--chromium PATH is required");
  if (!opts.out) usage("--out DIR is required");
  return opts;
}

/** Waits until the page has painted twice (a redraw after a click has landed). */
const frames = page =>
  page.evaluate(() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))));

/** The box (viewport coordinates) of the element a chart plots into. */
async function plotBox(chart) {
  for (const sel of [".u-over", "canvas", "svg"]) {
    const el = chart.locator(sel).first();
    if ((await el.count()) > 0) {
      await el.scrollIntoViewIfNeeded();
      const box = await el.boundingBox();
      if (box && box.width > 4 && box.height > 4) return box;
    }
  }
  await chart.scrollIntoViewIfNeeded();
  return chart.boundingBox();
}

/**
 * Opens `url` and returns its problems, each `{ kind, message }` (none: the page passes),
 * and the charts found. With `screenshot`, saves a full-page PNG there.
 */
async function checkPage(browser, url, { timeout, screenshot }) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  const add = (kind, message) => problems.push({ kind, message });
  page.on("console", m => {
    if (m.type() === "error") add("console", `console error: ${m.text()}`);
  });
  page.on("pageerror", e => add("pageerror", `uncaught exception: ${e.message}`));
  // Requests leaving the machine are refused (and reported once, not again as failed).
  const refused = new Set();
  await context.route("**/*", route => {
    const u = route.request().url();
    if (/^(file|data|blob|about):/.test(u)) return route.continue();
    refused.add(u);
    add("network", `request outside the file (a report must work offline): ${u}`);
    return route.abort();
  });
  page.on("requestfailed", r => {
    if (refused.has(r.url())) return;
    add("request", `request failed: ${r.url()} (${r.failure()?.errorText ?? "no reason given"})`);
  });
  let charts = [];
  try {
    await page.goto(url, { waitUntil: "load", timeout });
    try {
      await page.waitForFunction(() => document.documentElement.dataset.rendered === "true", null, {
        timeout,
      });
    } catch {
      add("timeout", `rendering did not finish within ${timeout} ms (<html data-rendered="true"> never set)`);
    }
    charts = await page.$$eval(".gw-chart", els =>
      els.map(e => ({ id: e.id, points: e.getAttribute("data-points") })),
    );
    if (charts.length === 0) add("nochart", "no chart (`.gw-chart`) in the page");
    for (const c of charts) {
      if (!/^chart-[a-z0-9-]+$/.test(c.id)) add("id", `a chart's id \`${c.id}\` is not chart-<slug>`);
      if (c.points === null) add("undrawn", `chart ${c.id} was not drawn (no data-points)`);
      else if (!/^[0-9]+$/.test(c.points)) add("undrawn", `chart ${c.id}: data-points="${c.points}" is not a count`);
      else if (Number(c.points) === 0) add("empty", `chart ${c.id} drew no point (data-points="0")`);
    }
    if (problems.length === 0) await interact(page, charts, add);
    if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  } catch (e) {
    add("load", `the page could not be checked: ${e.message.split("\n")[0]}`);
  }
  await context.close();
  return { problems, charts };
}

/** The hover and legend checks of every chart. */
async function interact(page, charts, add) {
  const text = () => page.evaluate(() => document.body.innerText);
  let legends = 0;
  for (const { id } of charts) {
    const chart = page.locator(`[id="${id}"]`);
    // Hover: the text the page shows (legend values, a tooltip) must change when the mouse
    // moves onto the plot and across it.
    await page.mouse.move(0, 0);
    await frames(page);
    const box = await plotBox(chart);
    const before = await text();
    const seen = [];
    for (const fx of [0.25, 0.75]) {
      await page.mouse.move(box.x + fx * box.width, box.y + box.height / 2);
      await frames(page);
      seen.push(await text());
    }
    if (seen.every(t => t === before)) {
      add("hover", `hovering over chart ${id} changes no value on the page (legend or tooltip)`);
    }
    // Legend: clicking a series' entry marks it off and changes the plot; a second click
    // restores it. uPlot's live legend has the x value in its first row.
    const rows = chart.locator(".u-legend tr.u-series");
    const n = await rows.count();
    if (n === 0) continue;
    legends++;
    const row = rows.nth(n >= 2 ? 1 : 0);
    const label = (await row.innerText()).split("\t")[0].trim();
    await page.mouse.move(0, 0);
    await frames(page);
    const shot = async () => page.screenshot({ clip: await plotBox(chart) });
    const plotBefore = await shot();
    await row.locator("th").first().click();
    await page.mouse.move(0, 0);
    await frames(page);
    const off = await row.evaluate(e => e.classList.contains("u-off"));
    const plotAfter = await shot();
    if (!off) add("toggle", `clicking legend entry \`${label}\` of chart ${id} does not mark it hidden (u-off)`);
    else if (plotBefore.equals(plotAfter)) {
      add("toggle", `clicking legend entry \`${label}\` of chart ${id} leaves the plot unchanged`);
    }
    await row.locator("th").first().click();
    await page.mouse.move(0, 0);
    await frames(page);
  }
  if (charts.length > 0 && legends === 0) add("toggle", "no chart has a legend (`.u-legend tr.u-series`) to click");
}

const show = problems => problems.map(p => `\n    - ${p.message}`).join("");

/** The checker's own test: the fixture passes, each fault of it fails for its reason. */
async function selfTest(browser, opts) {
  const cases = [
    ["", null],
    ["console-error", "console"],
    ["throw", "pageerror"],
    ["empty", "empty"],
    ["undrawn", "undrawn"],
    ["stall", "timeout"],
    ["missing-file", "request"],
    ["network", "network"],
    ["no-hover", "hover"],
    ["no-toggle", "toggle"],
  ];
  const base = pathToFileURL(FIXTURE).href;
  let ok = true;
  for (const [flag, kind] of cases) {
    const timeout = flag === "stall" ? STALL_TIMEOUT_MS : opts.timeout;
    const { problems } = await checkPage(browser, flag ? `${base}?${flag}` : base, { timeout });
    const what = flag ? `fixture with ${flag}` : "fixture";
    if (kind === null && problems.length > 0) {
      console.log(`self-test FAIL: the ${what} should pass:${show(problems)}`);
      ok = false;
    } else if (kind !== null && !problems.some(p => p.kind === kind)) {
      console.log(`self-test FAIL: the ${what} should fail with a ${kind} problem; got:${show(problems) || " none"}`);
      ok = false;
    } else {
      console.log(`self-test ok: ${what} ${kind ? `fails (${kind})` : "passes"}`);
    }
  }
  // A real report with a console error injected must fail too.
  if (opts.reports.length > 0) {
    const { name, file } = opts.reports[0];
    const html = readFileSync(file, "utf8");
    const inject = '<script>console.error("a deliberate console error")</script>';
    const at = html.lastIndexOf("</body>");
    const mutated = at < 0 ? html + inject : html.slice(0, at) + inject + html.slice(at);
    const copy = join(dirname(file), ".browser-test-console-error.html");
    writeFileSync(copy, mutated);
    const { problems } = await checkPage(browser, pathToFileURL(copy).href, opts);
    rmSync(copy, { force: true });
    if (problems.some(p => p.kind === "console")) {
      console.log(`self-test ok: report ${name} with a console error injected fails (console)`);
    } else {
      console.log(`self-test FAIL: report ${name} with a console error injected should fail; got:${show(problems) || " none"}`);
      ok = false;
    }
  }
  return ok;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  mkdirSync(opts.out, { recursive: true });
  const browser = await chromium.launch({ executablePath: opts.chromium, headless: true });
  let ok;
  try {
    ok = await selfTest(browser, opts);
    for (const { name, file } of opts.reports) {
      const screenshot = join(opts.out, `${name}.png`);
      const { problems, charts } = await checkPage(browser, pathToFileURL(file).href, {
        timeout: opts.timeout,
        screenshot,
      });
      const points = charts.reduce((n, c) => n + (Number(c.points) || 0), 0);
      if (problems.length === 0) {
        console.log(`ok: report ${name}: ${charts.length} charts, ${points} points drawn; screenshot ${screenshot}`);
      } else {
        console.log(`FAIL: report ${name} (${file}):${show(problems)}`);
        ok = false;
      }
    }
  } finally {
    await browser.close();
  }
  console.log(`screenshots in ${resolve(opts.out)}`);
  process.exit(ok ? 0 : 1);
}

await main();
